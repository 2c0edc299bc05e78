package agent

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/autografo/autografo/agent/auth"
	"github.com/autografo/autografo/agent/protocol"
	"github.com/autografo/autografo/agent/store"
)

// route is what a request type needs and does: the permission the session
// must hold, and the handler. A handler replies itself on success; an
// error it returns becomes the error reply.
type route struct {
	perm   auth.Permission
	handle func(s *Session, ctx context.Context, env protocol.Envelope, req any) error
}

// routes is every request the browser may make after hello, each with its
// permission: deny by default. A test checks it against protocol's list of
// request types, both ways.
var routes = map[string]route{
	protocol.TypeDevicesList:  {auth.View, (*Session).devicesList},
	protocol.TypeActsList:     {auth.View, (*Session).actsList},
	protocol.TypeActResume:    {auth.View, (*Session).actResume},
	protocol.TypePageGet:      {auth.View, (*Session).pageGet},
	protocol.TypeActOpen:      {auth.Capture, (*Session).actOpen},
	protocol.TypeSheetPrint:   {auth.Capture, (*Session).sheetPrint},
	protocol.TypeCaptureStart: {auth.Capture, (*Session).captureStart},
	protocol.TypeCaptureStop:  {auth.Capture, (*Session).captureCancel},
	protocol.TypePageTurn:     {auth.Capture, (*Session).pageTurn},
	protocol.TypePageRemove:   {auth.Capture, (*Session).pageRemove},
	protocol.TypePageMove:     {auth.Capture, (*Session).pageMove},
	protocol.TypeSignerUnable: {auth.Capture, (*Session).signerUnable},
	protocol.TypeSignatureOK:  {auth.Capture, (*Session).signatureOverride},
	protocol.TypeActCancel:    {auth.Capture, (*Session).actCancel},
	protocol.TypeDocumentMake: {auth.Export, (*Session).documentBuild},
	protocol.TypeActDeliver:   {auth.Export, (*Session).actDeliver},
	protocol.TypeActRelease:   {auth.Export, (*Session).actRelease},
	protocol.TypeActConfirm:   {auth.Export, (*Session).actConfirm},
	protocol.TypeActDelete:    {auth.Admin, (*Session).actDelete},
	protocol.TypeTemplateSave: {auth.Admin, (*Session).templateSave},
}

func reply(typ, id string) protocol.Envelope { return protocol.Envelope{Type: typ, ID: id} }

func (s *Session) devicesList(_ context.Context, env protocol.Envelope, _ any) error {
	s.send(protocol.Devices{Envelope: reply(protocol.TypeDevices, env.ID), Devices: devicesOf(s.a.scanners.Devices())})
	return nil
}

func (s *Session) actsList(ctx context.Context, env protocol.Envelope, _ any) error {
	acts, err := s.a.opts.Store.Pending(ctx)
	if err != nil {
		return storeErr(err)
	}
	list := make([]protocol.Act, 0, len(acts))
	for _, act := range acts {
		if !s.id.Sees(act.Comune) {
			continue
		}
		v, err := s.a.viewOf(ctx, act)
		if err != nil {
			return storeErr(err)
		}
		list = append(list, v)
	}
	s.send(protocol.Acts{Envelope: reply(protocol.TypeActs, env.ID), Acts: list})
	return nil
}

// actResume sends an act as it stands and, for each stored page, a
// page.ready with its preview and its page.analysis with the signatures:
// how a reloaded tab takes an act up again, verdicts included.
func (s *Session) actResume(ctx context.Context, env protocol.Envelope, req any) error {
	act, err := s.act(ctx, req.(*protocol.ActRef).Act)
	if err != nil {
		return err
	}
	rec, err := s.a.record(ctx, act)
	if err != nil {
		return storeErr(err)
	}
	v, err := s.a.viewOf(ctx, act)
	if err != nil {
		return storeErr(err)
	}
	s.send(protocol.ActInfo{Envelope: reply(protocol.TypeActResumed, env.ID), Act: v})
	if !rec.fixed() {
		// Not fixed yet: where each page would go now.
		order, _ := documentOrder(rec.pages)
		for i := range rec.pages {
			rec.pages[i].Position = order[rec.pages[i].Index]
		}
	}
	for _, p := range rec.pages {
		_, data, err := s.a.opts.Store.Page(ctx, act.ID, p.Index)
		if err != nil {
			s.log.Error("reading a stored page failed", "act", act.ID, "page", p.Index, "err", err)
			continue
		}
		img, err := decodeImage(data, strings.TrimPrefix(p.MediaType, "image/"))
		if err != nil {
			continue
		}
		preview, err := makePreview(img, s.a.opts.PreviewWidth)
		if err != nil {
			continue
		}
		b := blob{id: newID("blob-"), mediaType: "image/jpeg", data: preview}
		s.send(protocol.PageReady{Envelope: protocol.Envelope{Type: protocol.TypePageReady}, Act: act.ID, Page: pageInfo(p), Preview: b.id}, b)
		pa, ok := analysisOf(p)
		if !ok {
			continue
		}
		var verdicts []store.Verdict
		for _, d := range rec.decisions {
			if d.Page != p.Index {
				continue
			}
			crop, err := s.a.opts.Store.Crop(ctx, act.ID, d.Page, d.Role)
			if err != nil {
				s.log.Error("reading a signature crop failed", "act", act.ID, "page", d.Page, "role", d.Role, "err", err)
			}
			verdicts = append(verdicts, store.Verdict{Decision: d, Crop: crop})
		}
		msg, blobs := analysisMessage(p, pa, verdicts, "", displayNames(rec.signers))
		s.send(msg, blobs...)
	}
	return nil
}

func (s *Session) pageGet(ctx context.Context, env protocol.Envelope, req any) error {
	r := req.(*protocol.PageGet)
	act, err := s.act(ctx, r.Act)
	if err != nil {
		return err
	}
	p, data, err := s.a.opts.Store.Page(ctx, act.ID, r.Page)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: page %d of %s", errPageNotFound, r.Page, act.ID)
	}
	if err != nil {
		return storeErr(err)
	}
	b := blob{id: newID("blob-"), mediaType: p.MediaType, data: data}
	s.send(protocol.PageBlob{Envelope: reply(protocol.TypePage, env.ID), Act: act.ID, Page: pageInfo(p), Blob: b.id}, b)
	return nil
}

func (s *Session) actOpen(ctx context.Context, env protocol.Envelope, req any) error {
	act, err := s.a.openAct(ctx, req.(*protocol.ActOpen), s.who(), s.comune())
	if err != nil {
		return err
	}
	v, err := s.a.viewOf(ctx, act)
	if err != nil {
		return storeErr(err)
	}
	s.send(protocol.ActOpened{Envelope: reply(protocol.TypeActOpened, env.ID), Act: v})
	s.a.publishAct(act.Comune, v)
	return nil
}

func (s *Session) sheetPrint(ctx context.Context, env protocol.Envelope, req any) error {
	r := req.(*protocol.SheetPrint)
	act, err := s.act(ctx, r.Act)
	if err != nil {
		return err
	}
	ready, b, err := s.a.printSheet(ctx, act, r, s.who())
	if err != nil {
		return err
	}
	ready.ID = env.ID
	s.send(ready, b)
	return nil
}

func (s *Session) captureStart(ctx context.Context, env protocol.Envelope, req any) error {
	r := req.(*protocol.CaptureStart)
	act, err := s.act(ctx, r.Act)
	if err != nil {
		return err
	}
	id, err := s.a.startCapture(ctx, r, act, s.who())
	if err != nil {
		return err
	}
	s.send(protocol.CaptureRef{Envelope: reply(protocol.TypeCaptureStarted, env.ID), Act: act.ID, Capture: id})
	return nil
}

func (s *Session) captureCancel(_ context.Context, env protocol.Envelope, req any) error {
	r := req.(*protocol.CaptureRef)
	if err := s.a.cancelCapture(r.Capture, s.id.Sees); err != nil {
		return err
	}
	s.send(protocol.CaptureRef{Envelope: reply(protocol.TypeCaptureCanceled, env.ID), Capture: r.Capture})
	return nil
}

// reason is an officer's or operator's stated reason: required, bounded.
func reason(r string) (string, error) {
	r = strings.TrimSpace(r)
	if n := utf8.RuneCountInString(r); n < 3 || n > 500 || !utf8.ValidString(r) {
		return "", fmt.Errorf("%w: a reason of 3 to 500 characters is required", errBadRequest)
	}
	return r, nil
}

// changed answers a request that changed an act's record, tells every
// session, and lets the act move on (a ready act is built again).
func (s *Session) changed(ctx context.Context, env protocol.Envelope, typ string, act store.Act) error {
	v, err := s.a.viewOf(ctx, act)
	if err != nil {
		return storeErr(err)
	}
	s.send(protocol.ActInfo{Envelope: reply(typ, env.ID), Act: v})
	s.a.publishAct(act.Comune, v)
	s.a.settleLater(act.ID, s.who())
	return nil
}

func (s *Session) signerUnable(ctx context.Context, env protocol.Envelope, req any) error {
	return s.markSigner(ctx, env, req.(*protocol.SignerMark), s.a.opts.Store.MarkUnable)
}

func (s *Session) signatureOverride(ctx context.Context, env protocol.Envelope, req any) error {
	return s.markSigner(ctx, env, req.(*protocol.SignerMark), s.a.opts.Store.Override)
}

func (s *Session) markSigner(ctx context.Context, env protocol.Envelope, r *protocol.SignerMark,
	mark func(ctx context.Context, act, role, reason string, by store.Actor) (store.Act, error)) error {
	act, err := s.act(ctx, r.Act)
	if err != nil {
		return err
	}
	why, err := reason(r.Reason)
	if err != nil {
		return err
	}
	changed, err := mark(ctx, act.ID, r.Role, why, s.who().by)
	if err != nil {
		return storeErr(err)
	}
	s.log.Info("signer marked", "type", env.Type, "act", act.ID, "role", r.Role, "operator", s.id.Operator)
	return s.changed(ctx, env, protocol.TypeActUpdated, changed)
}

func (s *Session) pageTurn(ctx context.Context, env protocol.Envelope, req any) error {
	r := req.(*protocol.PageTurn)
	act, err := s.act(ctx, r.Act)
	if err != nil {
		return err
	}
	if r.Turn%90 != 0 || r.Turn < 0 || r.Turn >= 360 {
		return fmt.Errorf("%w: turn %d", errBadRequest, r.Turn)
	}
	changed, err := s.a.opts.Store.TurnPage(ctx, act.ID, r.Page, r.Turn, s.who().by)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: page %d", errPageNotFound, r.Page)
	}
	if err != nil {
		return storeErr(err)
	}
	return s.changed(ctx, env, protocol.TypeActUpdated, changed)
}

func (s *Session) pageRemove(ctx context.Context, env protocol.Envelope, req any) error {
	r := req.(*protocol.PageRemove)
	why, err := reason(r.Reason)
	if err != nil {
		return err
	}
	return s.arrange(ctx, env, r.Act, store.PageChange{Page: r.Page, Remove: true, Reason: why})
}

func (s *Session) pageMove(ctx context.Context, env protocol.Envelope, req any) error {
	r := req.(*protocol.PageMove)
	return s.arrange(ctx, env, r.Act, store.PageChange{Page: r.Page, Before: r.Before})
}

// arrange applies the officer's change to a page; the document's pages
// are worked out again as the analysis does.
func (s *Session) arrange(ctx context.Context, env protocol.Envelope, actID string, c store.PageChange) error {
	act, err := s.act(ctx, actID)
	if err != nil {
		return err
	}
	order := func(pages []store.Page) store.PageOrder {
		o, _ := documentOrder(pages)
		return o
	}
	changed, err := s.a.opts.Store.ArrangePage(ctx, act.ID, c, order, s.who().by)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: page %d", errPageNotFound, c.Page)
	}
	if err != nil {
		return storeErr(err)
	}
	return s.changed(ctx, env, protocol.TypeActUpdated, changed)
}

func (s *Session) actCancel(ctx context.Context, env protocol.Envelope, req any) error {
	return s.endAct(ctx, env, req.(*protocol.ActReason), protocol.TypeActCancelled, s.a.opts.Store.Cancel)
}

func (s *Session) actDelete(ctx context.Context, env protocol.Envelope, req any) error {
	return s.endAct(ctx, env, req.(*protocol.ActReason), protocol.TypeActDeleted, s.a.opts.Store.Delete)
}

// endAct cancels or deletes an act, for a stated reason; never while a
// capture of it runs.
func (s *Session) endAct(ctx context.Context, env protocol.Envelope, r *protocol.ActReason, typ string,
	end func(ctx context.Context, act, reason string, by store.Actor) (store.Act, error)) error {
	act, err := s.act(ctx, r.Act)
	if err != nil {
		return err
	}
	why, err := reason(r.Reason)
	if err != nil {
		return err
	}
	if act.State == store.StateCapturing {
		return errCaptureRunning
	}
	ended, err := end(ctx, act.ID, why, s.who().by)
	if err != nil {
		return storeErr(err)
	}
	s.log.Info("act ended", "type", env.Type, "act", act.ID, "operator", s.id.Operator)
	return s.changed(ctx, env, typ, ended)
}

func (s *Session) templateSave(_ context.Context, env protocol.Envelope, req any) error {
	r := req.(*protocol.TemplateSave)
	if err := s.a.saveTemplate(r.Kind, r.Layout); err != nil {
		return err
	}
	s.log.Info("layout template saved", "kind", r.Kind, "operator", s.id.Operator)
	s.send(protocol.TemplateSaved{Envelope: reply(protocol.TypeTemplateSaved, env.ID), Kind: r.Kind})
	return nil
}

// documentBuild gives the act's document: the one kept when it became
// ready (a PDF, unless asked otherwise), or another format, or the PDF
// with the officer's attestation, built now. Only an act that is ready
// (or later) has a document: one whose signatures are not all accounted
// for has none to give.
func (s *Session) documentBuild(ctx context.Context, env protocol.Envelope, req any) error {
	r := req.(*protocol.DocumentBuild)
	if r.Attest && !s.id.Perms.Has(auth.Attest) {
		return fmt.Errorf("%w: the attestation needs the attest permission", errForbidden)
	}
	act, err := s.act(ctx, r.Act)
	if err != nil {
		return err
	}
	switch r.Format {
	case "", "pdf", "jpg", "tif":
	default:
		return fmt.Errorf("%w: %q", errBadFormat, r.Format)
	}
	switch act.State {
	case store.StateReady, store.StateDelivered, store.StateConfirmed:
	default:
		return fmt.Errorf("%w: act %s is %s", store.ErrNothingToDeliver, act.ID, act.State)
	}
	if (r.Format == "" || r.Format == "pdf") && !r.Attest {
		d, data, err := s.a.opts.Store.DocumentData(ctx, act.ID, act.Document)
		if err != nil {
			return storeErr(err)
		}
		info, _ := documentInfoOf(d)
		return s.sendDocument(ctx, env.ID, act, info, data)
	}
	who := s.who()
	// Building may take a second when pages are re-encoded: off the
	// connection's reader, owned by the agent so that shutdown waits.
	return s.a.background(func(bctx context.Context) {
		rec, err := s.a.record(bctx, act)
		if err != nil {
			s.replyErrorFor(env.ID, act.ID, storeErr(err))
			return
		}
		doc, err := s.a.build(bctx, rec, documentRequest{format: r.Format, attest: r.Attest})
		if err != nil {
			s.replyErrorFor(env.ID, act.ID, err)
			return
		}
		wctx := context.WithoutCancel(bctx)
		if r.Attest && act.State == store.StateReady {
			// The attested PDF becomes the act's document: the one
			// delivered for the upload.
			_, err = s.a.opts.Store.ReplaceReadyDocument(wctx, doc.stored(act.ID), doc.data, who.by)
		} else {
			_, err = s.a.opts.Store.PutDocument(wctx, doc.stored(act.ID), doc.data, who.by)
		}
		if err != nil {
			s.replyErrorFor(env.ID, act.ID, storeErr(err))
			return
		}
		if err := s.sendDocument(wctx, env.ID, act, doc.info, doc.data); err != nil {
			s.replyErrorFor(env.ID, act.ID, err)
		}
	})
}

func (s *Session) replyErrorFor(id, act string, err error) {
	e := errorFor(err)
	s.log.Warn("document failed", "act", act, "code", e.Code, "err", err)
	s.send(protocol.DocumentFailed{Envelope: reply(protocol.TypeDocumentFailed, id), Act: act, Error: e})
}

func (s *Session) sendDocument(ctx context.Context, id string, act store.Act, info protocol.DocumentInfo, data []byte) error {
	rec, err := s.a.record(ctx, act)
	if err != nil {
		return storeErr(err)
	}
	msg := rec.documentReady(info, id)
	b := blob{id: newID("blob-"), mediaType: info.MediaType, data: data}
	msg.Blob = b.id
	s.send(msg, b)
	return nil
}

func newToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// actDeliver hands a ready act to this tab, exactly once: the reply
// carries its document, the R006 fields and the delivery token.
func (s *Session) actDeliver(ctx context.Context, env protocol.Envelope, req any) error {
	act, err := s.act(ctx, req.(*protocol.ActRef).Act)
	if err != nil {
		return err
	}
	token := newToken()
	delivered, err := s.a.opts.Store.Deliver(ctx, act.ID, token, s.who().by)
	if err != nil {
		return storeErr(err)
	}
	s.mu.Lock()
	s.deliveries[act.ID] = token
	s.mu.Unlock()
	rec, err := s.a.record(ctx, delivered)
	if err != nil {
		return storeErr(err)
	}
	d, data, err := s.a.opts.Store.DocumentData(ctx, act.ID, delivered.Document)
	if err != nil {
		return storeErr(err)
	}
	info, _ := documentInfoOf(d)
	ready := rec.documentReady(info, "")
	v, err := s.a.viewOf(ctx, delivered)
	if err != nil {
		return storeErr(err)
	}
	infos := make([]protocol.PageInfo, 0, len(rec.pages))
	for _, p := range rec.documentPages() {
		infos = append(infos, pageInfo(p))
	}
	b := blob{id: newID("blob-"), mediaType: info.MediaType, data: data}
	s.log.Info("act delivered", "act", act.ID, "tab", s.tab, "operator", s.id.Operator)
	s.send(protocol.ActDelivered{Envelope: reply(protocol.TypeActDelivered, env.ID), Act: v, Pages: infos, Delivery: token,
		Document: info, R006: ready.R006, Exceptions: ready.Exceptions, Blob: b.id}, b)
	s.a.publishAct(act.Comune, v)
	return nil
}

// tokenFor is the delivery token a request presents, or the one this
// connection holds.
func (s *Session) tokenFor(act, presented string) string {
	if presented != "" {
		return presented
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deliveries[act]
}

func (s *Session) actRelease(ctx context.Context, env protocol.Envelope, req any) error {
	r := req.(*protocol.ActRelease)
	act, err := s.act(ctx, r.Act)
	if err != nil {
		return err
	}
	why := strings.TrimSpace(r.Reason)
	if why == "" {
		why = "upload not completed"
	} else if why, err = reason(why); err != nil {
		return err
	}
	token := s.tokenFor(act.ID, r.Delivery)
	// An administrator may release another tab's delivery (a tab closed
	// for good); anyone else only their own.
	force := s.id.Perms.Has(auth.Admin) && token == ""
	released, err := s.a.opts.Store.Release(ctx, act.ID, token, why, force, s.who().by)
	if err != nil {
		return storeErr(err)
	}
	s.mu.Lock()
	delete(s.deliveries, act.ID)
	s.mu.Unlock()
	return s.changed(ctx, env, protocol.TypeActReleased, released)
}

// attachmentID is ANSC's idAllegato as the app reports it.
var attachmentID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func (s *Session) actConfirm(ctx context.Context, env protocol.Envelope, req any) error {
	r := req.(*protocol.ActConfirm)
	act, err := s.act(ctx, r.Act)
	if err != nil {
		return err
	}
	if !attachmentID.MatchString(r.Attachment) {
		return fmt.Errorf("%w: attachment id %.80q", errBadRequest, r.Attachment)
	}
	confirmed, err := s.a.opts.Store.Confirm(ctx, act.ID, s.tokenFor(act.ID, r.Delivery), r.Attachment, s.who().by)
	if err != nil {
		return storeErr(err)
	}
	s.mu.Lock()
	delete(s.deliveries, act.ID)
	s.mu.Unlock()
	s.log.Info("act confirmed", "act", act.ID, "attachment", r.Attachment, "operator", s.id.Operator)
	return s.changed(ctx, env, protocol.TypeActConfirmed, confirmed)
}
