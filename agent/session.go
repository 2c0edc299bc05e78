package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/autografo/autografo/agent/auth"
	"github.com/autografo/autografo/agent/protocol"
	"github.com/autografo/autografo/agent/store"
)

// Sender delivers messages to one browser connection. It must not block: a
// connection that cannot keep up is cut off by its implementation.
type Sender interface {
	Send(msg any)
	SendBlob(h protocol.BlobHeader, data []byte)
	// Close ends the connection after what is queued has been sent.
	Close(reason error)
}

// Session is one browser connection's view of the agent.
type Session struct {
	a      *Agent
	out    Sender
	log    *slog.Logger
	origin string
	tab    string // names this connection in the journal of deliveries
	hello  bool
	authed atomic.Bool
	id     auth.Identity
	mu     sync.Mutex
	unsub  func()
	done   chan struct{}
	closed sync.Once
}

// NewSession starts a session for a browser connection from origin that
// reports to out. Nothing but hello is served until it authenticates. Close
// it when the connection ends.
func (a *Agent) NewSession(out Sender, log *slog.Logger, origin string) *Session {
	if log == nil {
		log = a.log
	}
	return &Session{a: a, out: out, log: log, origin: origin, tab: newID("tab-"), done: make(chan struct{})}
}

// Authenticated reports whether the session's hello was accepted.
func (s *Session) Authenticated() bool { return s.authed.Load() }

// required lists the permission each request needs. Anything not listed
// here is refused once authenticated.
var required = map[string]auth.Permission{
	protocol.TypeDevicesList:  auth.View,
	protocol.TypePageGet:      auth.View,
	protocol.TypeActOpen:      auth.Capture,
	protocol.TypeCaptureStart: auth.Capture,
	protocol.TypeCaptureStop:  auth.Capture,
	protocol.TypeActsList:     auth.View,
	protocol.TypeActResume:    auth.View,
	protocol.TypeActConfirm:   auth.Capture,
	protocol.TypeActDeliver:   auth.Export,
	protocol.TypeActRelease:   auth.Export,
	protocol.TypeDocumentMake: auth.Capture,
	protocol.TypeSheetPrint:   auth.Capture,
}

// authenticate checks the hello's credentials. A refusal closes the
// connection: a guess costs a new connection, which the server limits.
func (s *Session) authenticate(env protocol.Envelope, h *protocol.Hello) bool {
	if s.a.opts.Auth == nil {
		s.log.Warn("refused session: no authenticator configured")
		s.replyError(env.ID, protocol.CodeUnauthorized)
		s.out.Close(errors.New("unauthenticated"))
		return false
	}
	id, session, err := s.a.opts.Auth.Authenticate(auth.Credentials{
		Ticket: h.Ticket, Pair: h.Pair, Code: h.Code, Session: h.Session,
	}, s.origin)
	if err != nil {
		s.log.Warn("refused session", "reason", err)
		s.replyError(env.ID, protocol.CodeUnauthorized)
		s.out.Close(fmt.Errorf("authentication failed: %w", err))
		return false
	}
	s.id = id
	s.authed.Store(true)
	s.log.Info("session authenticated", "via", id.Via, "operator", id.Operator, "comune", id.Comune,
		"permissions", id.Perms.String(), "ticket", id.TicketID)
	s.hello = true
	s.out.Send(protocol.Welcome{
		Envelope: protocol.Envelope{Type: protocol.TypeWelcome, ID: env.ID},
		Version:  protocol.Version, Agent: "autografo " + s.a.opts.Version,
		Operator: id.Operator, Permissions: id.Perms.Names(), Session: session,
		Devices: devicesOf(s.a.scanners.Devices()),
	})
	s.watchDevices()
	return true
}

// Close ends the session. Captures it started go on: their pages are kept in
// the act.
func (s *Session) Close() {
	s.closed.Do(func() {
		close(s.done)
		s.mu.Lock()
		if s.unsub != nil {
			s.unsub()
		}
		s.mu.Unlock()
	})
}

// Handle processes one text frame from the browser. Every failure becomes an
// error reply; nothing a page sends can stop the agent.
func (s *Session) Handle(ctx context.Context, data []byte) {
	env, req, err := protocol.DecodeRequest(data)
	if err != nil {
		code := protocol.CodeBadMessage
		switch {
		case errors.Is(err, protocol.ErrUnknownType):
			code = protocol.CodeUnknownType
		case errors.Is(err, protocol.ErrTooLarge):
			code = protocol.CodeTooLarge
		}
		s.log.Warn("refused message from browser", "code", code, "err", err)
		s.replyError(env.ID, code)
		return
	}
	if !s.hello && env.Type != protocol.TypeHello {
		s.replyError(env.ID, protocol.CodeNoHello)
		return
	}
	if perm, ok := required[env.Type]; ok && !s.id.Perms.Has(perm) {
		s.log.Warn("refused request: permission", "type", env.Type, "operator", s.id.Operator, "permissions", s.id.Perms.String())
		s.replyError(env.ID, protocol.CodeForbidden)
		return
	}
	if s.hello && !s.id.Expires.IsZero() && time.Now().After(s.id.Expires) {
		s.log.Warn("closing session: credential expired", "operator", s.id.Operator)
		s.replyError(env.ID, protocol.CodeUnauthorized)
		s.out.Close(errors.New("session expired"))
		return
	}
	reply := protocol.Envelope{ID: env.ID}
	switch env.Type {
	case protocol.TypeHello:
		r := req.(*protocol.Hello)
		if !slices.Contains(r.Versions, protocol.Version) {
			s.log.Warn("refused hello", "versions", r.Versions)
			s.replyError(env.ID, protocol.CodeUnsupportedVer)
			return
		}
		if s.hello {
			s.replyError(env.ID, protocol.CodeBadMessage) // one hello per connection
			return
		}
		s.authenticate(env, r)
	case protocol.TypeDevicesList:
		reply.Type = protocol.TypeDevices
		s.out.Send(protocol.Devices{Envelope: reply, Devices: devicesOf(s.a.scanners.Devices())})
	case protocol.TypeActOpen:
		info, err := s.a.openAct(ctx, req.(*protocol.ActOpen), s.id.Operator)
		if err != nil {
			s.log.Warn("act refused", "code", errorFor(err).Code, "err", err)
			if errors.Is(err, protocol.ErrBadMessage) {
				s.replyError(env.ID, protocol.CodeBadMessage)
			} else {
				s.replyErr(env.ID, err)
			}
			return
		}
		reply.Type = protocol.TypeActOpened
		s.out.Send(protocol.ActOpened{Envelope: reply, Act: info})
	case protocol.TypeCaptureStart:
		r := req.(*protocol.CaptureStart)
		id, err := s.a.startCapture(r, s.id.Operator, s.out)
		if err != nil {
			s.log.Warn("capture refused", "act", r.Act, "device", r.Device, "err", err)
			s.replyErr(env.ID, err)
			return
		}
		reply.Type = protocol.TypeCaptureStarted
		s.out.Send(protocol.CaptureRef{Envelope: reply, Act: r.Act, Capture: id})
	case protocol.TypeCaptureStop:
		r := req.(*protocol.CaptureRef)
		if err := s.a.cancelCapture(r.Capture); err != nil {
			s.replyErr(env.ID, err)
			return
		}
		reply.Type = protocol.TypeCaptureCanceled
		s.out.Send(protocol.CaptureRef{Envelope: reply, Capture: r.Capture})
	case protocol.TypePageGet:
		r := req.(*protocol.PageGet)
		info, data, ok := s.a.pageOf(ctx, r.Act, r.Page)
		if !ok {
			s.replyError(env.ID, protocol.CodePageNotFound)
			return
		}
		blob := newID("blob-")
		reply.Type = protocol.TypePage
		s.out.Send(protocol.PageBlob{Envelope: reply, Act: r.Act, Page: info, Blob: blob})
		s.out.SendBlob(protocol.BlobHeader{Blob: blob, MediaType: info.MediaType}, data)
	case protocol.TypeActsList:
		acts, err := s.a.opts.Store.Pending(ctx)
		if err != nil {
			s.replyErr(env.ID, fmt.Errorf("%w: %w", errStore, err))
			return
		}
		list := make([]protocol.Act, 0, len(acts))
		for _, a := range acts {
			list = append(list, actInfo(a))
		}
		reply.Type = protocol.TypeActs
		s.out.Send(protocol.Acts{Envelope: reply, Acts: list})
	case protocol.TypeActResume:
		s.resume(ctx, reply, req.(*protocol.ActRef))
	case protocol.TypeActConfirm:
		r := req.(*protocol.ActRef)
		if len(r.Attachment) > 128 {
			s.replyError(env.ID, protocol.CodeBadMessage)
			return
		}
		err := s.a.opts.Store.SetState(ctx, r.Act, store.StateConfirmed, s.id.Operator,
			map[string]any{"attachment": r.Attachment, "stato": 3})
		if s.replyAct(ctx, reply, protocol.TypeActConfirmed, r.Act, err) {
			s.log.Info("act confirmed", "act", r.Act, "attachment", r.Attachment, "operator", s.id.Operator)
		}
	case protocol.TypeActDeliver:
		r := req.(*protocol.ActRef)
		if err := s.a.opts.Store.Deliver(ctx, r.Act, s.id.Operator, s.tab); err != nil {
			s.log.Info("delivery refused", "act", r.Act, "code", errorFor(err).Code)
			s.replyErr(env.ID, err)
			return
		}
		act, err := s.a.opts.Store.Act(ctx, r.Act)
		if err != nil {
			s.replyErr(env.ID, err)
			return
		}
		pages, err := s.a.opts.Store.Pages(ctx, r.Act)
		if err != nil {
			s.replyErr(env.ID, fmt.Errorf("%w: %w", errStore, err))
			return
		}
		infos := make([]protocol.PageInfo, 0, len(pages))
		for _, p := range pages {
			infos = append(infos, pageInfo(p))
		}
		s.log.Info("act delivered", "act", r.Act, "tab", s.tab, "operator", s.id.Operator)
		reply.Type = protocol.TypeActDelivered
		s.out.Send(protocol.ActDelivered{Envelope: reply, Act: actInfo(act), Pages: infos})
	case protocol.TypeSheetPrint:
		r := req.(*protocol.SheetPrint)
		if _, err := s.a.opts.Store.Act(ctx, r.Act); err != nil {
			s.replyErr(env.ID, err)
			return
		}
		s.a.printSheet(ctx, s.id.Operator, s.out, r, env.ID)
	case protocol.TypeDocumentMake:
		r := req.(*protocol.DocumentBuild)
		if _, err := s.a.opts.Store.Act(ctx, r.Act); err != nil {
			s.replyErr(env.ID, err)
			return
		}
		switch r.Format {
		case "", "pdf", "jpg", "tif":
		default:
			s.replyError(env.ID, protocol.CodeBadFormat)
			return
		}
		// Building may take a second when pages are re-encoded: off the
		// connection's reader, owned by the agent so that shutdown waits.
		if s.a.ctx.Err() != nil {
			s.replyError(env.ID, protocol.CodeShuttingDown)
			return
		}
		s.a.wg.Add(1)
		go func() {
			defer s.a.wg.Done()
			s.a.buildDocument(s.a.ctx, r.Act, s.id.Operator, s.out, documentRequest{format: r.Format, attest: r.Attest, replyTo: env.ID})
		}()
	case protocol.TypeActRelease:
		r := req.(*protocol.ActRef)
		err := s.a.opts.Store.Release(ctx, r.Act, s.id.Operator, "upload not completed")
		s.replyAct(ctx, reply, protocol.TypeActReleased, r.Act, err)
	default:
		// DecodeRequest and this switch must list the same types; a gap is
		// our bug, reported as such rather than crashing the agent.
		s.log.Error("unhandled request type", "type", env.Type)
		s.replyError(env.ID, protocol.CodeInternal)
	}
}

// replyAct answers a request that changed an act (err is the change's
// result) with the act as it is now; it reports whether it succeeded.
func (s *Session) replyAct(ctx context.Context, reply protocol.Envelope, typ, actID string, err error) bool {
	if err != nil {
		s.replyErr(reply.ID, err)
		return false
	}
	act, err := s.a.opts.Store.Act(ctx, actID)
	if err != nil {
		s.replyErr(reply.ID, err)
		return false
	}
	reply.Type = typ
	s.out.Send(protocol.ActInfo{Envelope: reply, Act: actInfo(act)})
	return true
}

// resume sends an act and, for each stored page, a page.ready with its
// preview: how a reloaded tab takes an act up again.
func (s *Session) resume(ctx context.Context, reply protocol.Envelope, r *protocol.ActRef) {
	act, err := s.a.opts.Store.Act(ctx, r.Act)
	if err != nil {
		s.replyErr(reply.ID, err)
		return
	}
	pages, err := s.a.opts.Store.Pages(ctx, r.Act)
	if err != nil {
		s.replyErr(reply.ID, fmt.Errorf("%w: %w", errStore, err))
		return
	}
	reply.Type = protocol.TypeActResumed
	s.out.Send(protocol.ActInfo{Envelope: reply, Act: actInfo(act)})
	for _, p := range pages {
		_, data, err := s.a.opts.Store.Page(ctx, r.Act, p.Index)
		if err != nil {
			s.log.Error("reading a stored page failed", "act", r.Act, "page", p.Index, "err", err)
			continue
		}
		img, _, err := image.Decode(bytes.NewReader(data))
		if err != nil {
			continue
		}
		preview, err := makePreview(img, s.a.opts.PreviewWidth)
		if err != nil {
			continue
		}
		blob := newID("blob-")
		s.out.Send(protocol.PageReady{Envelope: protocol.Envelope{Type: protocol.TypePageReady}, Act: r.Act, Page: pageInfo(p), Preview: blob})
		s.out.SendBlob(protocol.BlobHeader{Blob: blob, MediaType: "image/jpeg"}, preview)
	}
}

func (s *Session) replyError(id, code string) {
	s.out.Send(protocol.ErrorMessage{
		Envelope: protocol.Envelope{Type: protocol.TypeError, ID: id},
		Error:    protocol.Error{Code: code, Message: Italian(code)},
	})
}

func (s *Session) replyErr(id string, err error) {
	e := errorFor(err)
	s.out.Send(protocol.ErrorMessage{Envelope: protocol.Envelope{Type: protocol.TypeError, ID: id}, Error: e})
}

// watchDevices forwards device list changes until the session closes.
func (s *Session) watchDevices() {
	ch, unsub := s.a.scanners.Subscribe()
	s.mu.Lock()
	s.unsub = unsub
	s.mu.Unlock()
	go func() {
		for {
			select {
			case <-s.done:
				return
			case list := <-ch:
				s.out.Send(protocol.Devices{
					Envelope: protocol.Envelope{Type: protocol.TypeDevicesChanged},
					Devices:  devicesOf(list),
				})
			}
		}
	}()
}
