package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/autografo/autografo/agent/auth"
	"github.com/autografo/autografo/agent/document"
	"github.com/autografo/autografo/agent/protocol"
	"github.com/autografo/autografo/agent/seal"
	"github.com/autografo/autografo/agent/store"
)

// Sealer seals documents (the workstation seal); nil leaves them unsealed.
type Sealer interface {
	Seal(doc []byte, info seal.Info) ([]byte, error)
}

// Attester signs with the officer's key (a smart card, or a PKCS#12 file);
// Name is the officer's name on the certificate.
type Attester interface {
	Sealer
	Name() string
}

// documentRequest says which document to build: format is "pdf", "jpg" or
// "tif"; attest asks for the officer's attestation.
type documentRequest struct {
	format string
	attest bool
}

// builtDoc is a document made from an act's record.
type builtDoc struct {
	data []byte
	info protocol.DocumentInfo
}

// stored is the document as the store keeps it, its info beside it.
func (d builtDoc) stored(act string) store.Document {
	info, _ := json.Marshal(d.info)
	return store.Document{Act: act, Name: d.info.Name, MediaType: d.info.MediaType, Info: info}
}

func documentInfoOf(d store.Document) (protocol.DocumentInfo, bool) {
	var info protocol.DocumentInfo
	if len(d.Info) == 0 || json.Unmarshal(d.Info, &info) != nil {
		return info, false
	}
	return info, true
}

var (
	errDocument = errors.New("document cannot be made")
	errTooBig   = errors.New("document too large")
	// errCertExpired: the seal's or the officer's certificate is not
	// valid now; nothing is signed with it.
	errCertExpired = errors.New("certificate not valid now")
	// errCertUnfit: the seal's or the officer's certificate was not issued
	// for signing documents; nothing is signed with it.
	errCertUnfit = errors.New("certificate not for signing documents")
)

// signingErr sorts a failure to sign: a certificate not valid now or not
// for signing, or the document.
func signingErr(what string, err error) error {
	switch {
	case errors.Is(err, seal.ErrExpired):
		return fmt.Errorf("%w: %s: %w", errCertExpired, what, err)
	case errors.Is(err, seal.ErrKeyUsage):
		return fmt.Errorf("%w: %s: %w", errCertUnfit, what, err)
	}
	return fmt.Errorf("%w: %s: %w", errDocument, what, err)
}

// build makes the act's document from the pages its record puts in it, in
// their order, each turned upright as the record says; seals it, and adds
// the officer's attestation when asked.
func (a *Agent) build(ctx context.Context, r record, req documentRequest) (builtDoc, error) {
	format := req.format
	if format == "" {
		format = "pdf"
	}
	pages := r.documentPages()
	if len(pages) == 0 {
		return builtDoc{}, fmt.Errorf("%w: no page goes in the document", store.ErrNothingToDeliver)
	}
	inputs := make([]document.Input, 0, len(pages))
	for _, p := range pages {
		if ctx.Err() != nil {
			return builtDoc{}, ctx.Err()
		}
		_, data, err := a.opts.Store.Page(ctx, r.act.ID, p.Index)
		if err != nil {
			return builtDoc{}, storeErr(err)
		}
		inputs = append(inputs, document.Input{Data: data, MediaType: p.MediaType, DPI: p.DPI, Rotate: uprightTurn(p)})
	}
	act := r.act
	title := fmt.Sprintf("Processo verbale - %s", act.Kind)
	if act.Ref != "" {
		title += " " + act.Ref
	}
	var attestation *document.Attestation
	switch {
	case req.attest && format != "pdf":
		return builtDoc{}, fmt.Errorf("%w: only a PDF can carry the attestation", errBadFormat)
	case req.attest && a.opts.Attester == nil && a.opts.AttesterDown != nil:
		return builtDoc{}, fmt.Errorf("%w: %w", errNoAttester, a.opts.AttesterDown)
	case req.attest && a.opts.Attester == nil:
		return builtDoc{}, errNoAttester
	case req.attest:
		attestation = &document.Attestation{Officer: a.opts.Attester.Name(), Office: a.opts.Office, Act: a.paperDocument(act.Kind, act.Ref),
			Register: act.Register, Date: time.Now(), Gender: a.opts.AttestGender}
		if d, ok := a.opts.Attester.(interface{ OnDevice() bool }); ok {
			attestation.OnDevice = d.OnDevice()
		}
	}
	t0 := time.Now()
	var data []byte
	var err error
	mediaType, passThrough := "application/pdf", false
	switch format {
	case "jpg":
		mediaType = "image/jpeg"
		data, err = document.BuildJPG(inputs)
		passThrough = err == nil && len(inputs) == 1 && inputs[0].MediaType == "image/jpeg" && inputs[0].Rotate == 0
	case "tif":
		mediaType = "image/tiff"
		data, err = document.BuildTIFF(inputs, document.Options{Budget: a.opts.DocumentBudget})
	case "pdf":
		var res document.Result
		res, err = document.Build(inputs, document.Meta{Title: title, Created: act.Created, Attestation: attestation}, document.Options{Budget: a.opts.DocumentBudget})
		data, passThrough = res.PDF, res.PassThrough
	default:
		return builtDoc{}, fmt.Errorf("%w: %q", errBadFormat, format)
	}
	switch {
	case errors.Is(err, document.ErrTooLarge):
		return builtDoc{}, fmt.Errorf("%w: %w", errTooBig, err)
	case errors.Is(err, document.ErrFormat):
		return builtDoc{}, fmt.Errorf("%w: %w", errBadFormat, err)
	case err != nil:
		return builtDoc{}, fmt.Errorf("%w: %w", errDocument, err)
	}
	sealed := false
	// Every signature made carries the timestamp authority's token, unless
	// the authority could not be reached (a home visit with no network):
	// then the signature is made without one, rather than not at all, and
	// the document says so.
	signed, lastTimestamped, authority := 0, false, false
	sign := func(s Sealer, info seal.Info) ([]byte, error) {
		timestamped := timestamps(s)
		authority = authority || timestamped
		out, err := s.Seal(data, info)
		if errors.Is(err, seal.ErrTimestamp) {
			a.log.Warn("timestamp authority unreachable: signing without a timestamp", "act", act.ID, "reason", info.Reason, "err", err)
			info.NoTimestamp, timestamped = true, false
			out, err = s.Seal(data, info)
		}
		if err == nil {
			signed++
			lastTimestamped = timestamped
		}
		return out, err
	}
	// Only a PDF can carry the seal; JPG and TIF go as they are.
	if a.opts.Sealer != nil && format == "pdf" {
		if data, err = sign(a.opts.Sealer, seal.Info{Reason: "Sigillo della postazione Autografo"}); err != nil {
			return builtDoc{}, signingErr("seal", err)
		}
		sealed = true
	}
	if attestation != nil {
		// Last, so that the officer's signature covers the workstation seal.
		if data, err = sign(a.opts.Attester, seal.Info{Reason: "Attestazione di conformità all'originale analogico",
			Location: a.opts.Office, LastPage: true, Rect: document.SignatureRect}); err != nil {
			if errors.Is(err, seal.ErrToken) {
				return builtDoc{}, fmt.Errorf("%w: %w", errNoAttester, err)
			}
			return builtDoc{}, signingErr("attestation", err)
		}
	}
	name := strings.TrimSuffix(document.DefaultName(act.Kind, act.Ref, act.Created), ".pdf") + "." + format
	// What ANSC checks of the file (type matching the bytes, size, name)
	// is checked here, before anyone uploads it.
	if _, err := document.R006(data, mediaType, name, "", nil); errors.Is(err, document.ErrTooLarge) {
		return builtDoc{}, fmt.Errorf("%w: %w", errTooBig, err)
	} else if err != nil {
		return builtDoc{}, fmt.Errorf("%w: %w", errDocument, err)
	}
	digests := document.Digests(data)
	info := protocol.DocumentInfo{Name: name, MediaType: mediaType, Bytes: int64(len(data)), Pages: len(inputs),
		SHA256: digests.SHA256, SHA1: digests.SHA1, Sealed: sealed, PassThrough: passThrough}
	if attestation != nil {
		info.Attested, info.Officer = true, attestation.Officer
	}
	info.Timestamped = signed > 0 && lastTimestamped
	info.TimestampPending = signed > 0 && !lastTimestamped && authority
	_, info.MissingSheets = documentOrder(r.pages)
	a.log.Info("document built", "act", act.ID, "name", name, "bytes", len(data), "pages", len(inputs),
		"sealed", sealed, "attested", info.Attested, "timestamped", info.Timestamped, "pass_through", passThrough, "elapsed", time.Since(t0))
	return builtDoc{data: data, info: info}, nil
}

// timestamps tells whether a signer asks a timestamp authority.
func timestamps(s Sealer) bool {
	t, ok := s.(interface{ Timestamps() bool })
	return ok && t.Timestamps()
}

// laterTimestampRect is where, on the first page, the mark of a seal added
// later for its timestamp goes: beside the workstation seal's.
var laterTimestampRect = [4]float64{90, 12, 162, 36}

// RunTimestamps adds, every interval until ctx ends, a timestamped
// workstation seal to each ready act whose document could not be
// timestamped when it was made (the authority out of reach: a home visit
// with no network), and announces the document again. An act delivered
// meanwhile keeps the document it was delivered with.
func (a *Agent) RunTimestamps(ctx context.Context, interval time.Duration) {
	if a.opts.Sealer == nil || !timestamps(a.opts.Sealer) || interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		acts, err := a.opts.Store.InState(ctx, store.StateReady)
		if err != nil {
			a.logFailure(ctx, "listing ready acts for their timestamps failed", "", err)
			continue
		}
		for _, act := range acts {
			if done := a.timestampLater(ctx, act); !done {
				break // the authority is still out of reach: try again at the next round
			}
		}
	}
}

// timestampLater seals the act's document again, with a timestamp, when it
// waits for one; it reports false when the authority could not be reached.
func (a *Agent) timestampLater(ctx context.Context, act store.Act) bool {
	// The info first: a round reads the bytes only of documents that
	// wait for a timestamp, not of every ready act.
	meta, err := a.opts.Store.DocumentMeta(ctx, act.ID, act.Document)
	if err != nil {
		a.logFailure(ctx, "reading a document for its timestamp failed", act.ID, err)
		return true
	}
	if info, ok := documentInfoOf(meta); !ok || !info.TimestampPending || info.MediaType != "application/pdf" {
		return true
	}
	d, data, err := a.opts.Store.DocumentData(ctx, act.ID, act.Document)
	if err != nil {
		a.logFailure(ctx, "reading a document for its timestamp failed", act.ID, err)
		return true
	}
	info, _ := documentInfoOf(d)
	stamped, err := a.opts.Sealer.Seal(data, seal.Info{Reason: "Marca temporale del documento, aggiunta quando l'autorità è stata raggiungibile",
		Rect: laterTimestampRect})
	if errors.Is(err, seal.ErrTimestamp) {
		a.log.Info("timestamp authority still unreachable", "act", act.ID, "err", err)
		return false
	}
	if err != nil {
		a.log.Error("adding a timestamp failed", "act", act.ID, "err", err)
		return true
	}
	digests := document.Digests(stamped)
	info.Bytes, info.SHA256, info.SHA1 = int64(len(stamped)), digests.SHA256, digests.SHA1
	info.Timestamped, info.TimestampPending = true, false
	doc := builtDoc{data: stamped, info: info}
	if _, err := a.opts.Store.ReplaceReadyDocument(context.WithoutCancel(ctx), doc.stored(act.ID), stamped, store.Actor{Operator: "timestamp"}); err != nil {
		a.logStale(ctx, "storing the timestamped document failed", act.ID, err)
		return true
	}
	rec, err := a.record(ctx, act)
	if err != nil {
		a.logFailure(ctx, "reading an act's record failed", act.ID, err)
		return true
	}
	a.log.Info("document timestamped later", "act", act.ID, "bytes", len(stamped))
	a.publish(act.Comune, auth.View, rec.documentReady(info, ""))
	return true
}

// paperDocuments name the paper document of each act kind the reference
// page offers, as an attestation says it.
var paperDocuments = map[string]string{
	"matrimonio":     "processo verbale di celebrazione del matrimonio",
	"unione_civile":  "processo verbale di costituzione dell'unione civile",
	"nascita":        "processo verbale di dichiarazione di nascita",
	"morte":          "processo verbale di dichiarazione di morte",
	"cittadinanza":   "processo verbale di giuramento per l'acquisto della cittadinanza",
	"carta_identita": "processo verbale per il rilascio della carta d'identità a domicilio",
	"altro":          "processo verbale",
}

// paperDocument is what an attestation says the pages copy: the office's
// own wording for the act's kind when it gave one, else the default, with
// the act's reference.
func (a *Agent) paperDocument(kind, ref string) string {
	doc, ok := a.opts.AttestDocuments[kind]
	if !ok {
		doc, ok = paperDocuments[kind]
	}
	if !ok {
		doc = "processo verbale (" + kind + ")"
	}
	if ref != "" {
		doc += " n. " + ref
	}
	return doc
}

// uprightTurn is the clockwise turn, as a PDF page's /Rotate, that shows a
// page upright: the officer's turn when there is one, else the quarter
// turn the pipeline found, when it is sure of it; else none (the page as
// scanned: the document never guesses). A skew within ±10° is left as
// scanned: straightening it would mean re-encoding the scanner's image for
// looks alone.
func uprightTurn(p store.Page) int {
	pa, _ := analysisOf(p)
	return uprightTurnOf(p, pa)
}

// uprightTurnOf is uprightTurn with the page's analysis at hand. A turn
// read from the page's code is sure even where the text gave too little
// to go on.
func uprightTurnOf(p store.Page, pa pageAnalysis) int {
	if p.Turn >= 0 {
		return p.Turn
	}
	if !(pa.Geometry.Trusted || pa.TurnFromCode) || !pa.Geometry.OrientationTrusted {
		return 0
	}
	return (360 - pa.Geometry.Orientation) % 360
}

// documentReady is the document.ready of the act's document, with the R006
// fields derived from its record.
func (r record) documentReady(info protocol.DocumentInfo, replyTo string) protocol.DocumentReady {
	lista, ecc := r.firmatari()
	tipo := document.TipoFile(info.MediaType)
	return protocol.DocumentReady{
		Envelope: protocol.Envelope{Type: protocol.TypeDocumentReady, ID: replyTo}, Act: r.act.ID, Document: info,
		R006:       protocol.R006Fields{Nomefile: info.Name, TipoFile: tipo, TipoAllegato: document.TipoAllegatoVerbale, ListaFirmatari: lista},
		Exceptions: ecc,
	}
}
