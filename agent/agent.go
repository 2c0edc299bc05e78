// Package agent holds the acts and runs their captures: the lifecycle
// between the browser sessions, the scanners and the store. Every decision
// about an act is taken from, and kept in, the store: a restart in any
// state carries on where the act was. It knows devices only through the
// scanner model and the manager; cmd/autografo decides which drivers exist.
package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/autografo/autografo/agent/auth"
	"github.com/autografo/autografo/agent/protocol"
	"github.com/autografo/autografo/agent/seal"
	"github.com/autografo/autografo/agent/store"
	"github.com/autografo/autografo/scanner"
	"github.com/autografo/autografo/scanner/manager"
	"github.com/autografo/autografo/scanner/pipeline"
	"github.com/autografo/autografo/scanner/sheet"
)

// Scanners is what the agent needs of the device manager.
type Scanners interface {
	Devices() []scanner.Info
	Subscribe() (<-chan []scanner.Info, func())
	Scan(ctx context.Context, id scanner.ID, req scanner.Request) (*manager.Job, error)
}

var _ Scanners = (*manager.Manager)(nil)

// Options tune an Agent.
type Options struct {
	Logger  *slog.Logger
	Version string // shown to the browser in welcome
	// MaxPageBytes bounds one page as the device sends it (default 64 MiB).
	MaxPageBytes int64
	// MaxPagePixels bounds the decoded size of a page (default 120 Mpx, a
	// 600 dpi A3 page with margin).
	MaxPagePixels int
	// PreviewWidth is the width of page previews in pixels (default 320).
	PreviewWidth int
	// Auth authenticates each browser session. Required: without it every
	// hello is refused.
	Auth Authenticator
	// MaxCaptures bounds the captures running at once (default 4).
	MaxCaptures int
	// Store keeps acts and pages durably. Required.
	Store Store
	// Retention is how long images stay after ANSC confirmed the act
	// (default 7 days).
	Retention time.Duration
	// Layout says where the signers' boxes are on a scanned page (nil, or
	// none returned: the page is analysed for how it lies only).
	Layout func(scanner.Page) []pipeline.Box
	// Sealer seals every document (the workstation seal); nil: unsealed.
	Sealer Sealer
	// Attester signs the officer's attestation of conformity; nil: acts
	// cannot be attested here.
	Attester Attester
	// AttesterDown, with no Attester, is why the configured attester cannot
	// be used (a PIN the card refused): attestations fail with it.
	AttesterDown error
	// AttestGender is how attestations speak of the officer: "f", "m", or
	// "" (by name, no gender).
	AttestGender string
	// AttestDocuments names, per act kind, the paper document an
	// attestation says the pages copy ("processo verbale di matrimonio");
	// kinds not named here get the default of paperDocument.
	AttestDocuments map[string]string
	// Office names the office in attestations, e.g. "Comune di Borgo Sereno".
	Office string
	// LayoutDir keeps the layout templates, one per act kind (none: no
	// templates).
	LayoutDir string
	// LabelRules find the signers' boxes in a preview's text (default:
	// sheet.DefaultRules, the Italian labels).
	LabelRules []sheet.LabelRule
	// Pdftoppm renders printed pages again, so that their print is taken
	// away from the boxes (default: pdftoppm from PATH).
	Pdftoppm string
	// Printed, when set, is told of every act's pages to print once they
	// are kept: the stamped PDF and where everyone signs. cmd gives them
	// to the simulated scanner, whose feeder then holds them.
	Printed func(pdf []byte, layout sheet.Layout)
	// DocumentBudget bounds a document's size (default 9.5 MB).
	DocumentBudget int
}

// Store is what the agent needs of the durable store.
type Store interface {
	CreateAct(ctx context.Context, a store.Act, signers []store.Signer, by store.Actor) error
	Move(ctx context.Context, act string, to store.State, by store.Actor, why string, detail map[string]any) (store.Act, error)
	EndCapture(ctx context.Context, act string, to store.State, by store.Actor, why, interrupted string, detail map[string]any) (store.Act, error)
	AddPage(ctx context.Context, p store.Page, data []byte, by store.Actor) (store.Page, error)
	PutAnalysis(ctx context.Context, act string, page int, analysis json.RawMessage, verdicts []store.Verdict, by store.Actor) error
	MarkChecked(ctx context.Context, act string, order store.PageOrder, by store.Actor) (store.Act, error)
	MakeReady(ctx context.Context, d store.Document, data []byte, why string, by store.Actor) (store.Act, store.Document, error)
	ReplaceReadyDocument(ctx context.Context, d store.Document, data []byte, by store.Actor) (store.Document, error)
	MarkPrinted(ctx context.Context, act string, layout, pdf []byte, by store.Actor) (store.Act, error)
	MarkUnable(ctx context.Context, act, role, reason string, by store.Actor) (store.Act, error)
	Override(ctx context.Context, act, role, reason string, by store.Actor) (store.Act, error)
	TurnPage(ctx context.Context, act string, page, turn int, by store.Actor) (store.Act, error)
	ArrangePage(ctx context.Context, act string, c store.PageChange, order func([]store.Page) store.PageOrder, by store.Actor) (store.Act, error)
	Deliver(ctx context.Context, act, token string, by store.Actor) (store.Act, error)
	Release(ctx context.Context, act, token, reason string, force bool, by store.Actor) (store.Act, error)
	Confirm(ctx context.Context, act, token, attachment string, by store.Actor) (store.Act, error)
	Cancel(ctx context.Context, act, reason string, by store.Actor) (store.Act, error)
	Delete(ctx context.Context, act, reason string, by store.Actor) (store.Act, error)
	Purge(ctx context.Context, cutoff time.Time, by store.Actor) (int, error)

	Act(ctx context.Context, id string) (store.Act, error)
	Pending(ctx context.Context) ([]store.Act, error)
	InState(ctx context.Context, states ...store.State) ([]store.Act, error)
	CountInState(ctx context.Context, states ...store.State) (int, error)
	Signers(ctx context.Context, act string) ([]store.Signer, error)
	Page(ctx context.Context, act string, idx int) (store.Page, []byte, error)
	Pages(ctx context.Context, act string) ([]store.Page, error)
	Decisions(ctx context.Context, act string) ([]store.Decision, error)
	Crop(ctx context.Context, act string, page int, role string) ([]byte, error)
	PutDocument(ctx context.Context, d store.Document, data []byte, by store.Actor) (store.Document, error)
	DocumentData(ctx context.Context, act, name string) (store.Document, []byte, error)
	DocumentMeta(ctx context.Context, act, name string) (store.Document, error)
}

var _ Store = (*store.Store)(nil)

// Authenticator turns the credentials of a hello into an identity.
type Authenticator interface {
	Authenticate(c auth.Credentials, origin string) (auth.Identity, string, error)
}

// Agent owns the acts and their captures.
type Agent struct {
	scanners Scanners
	log      *slog.Logger
	opts     Options

	// ctx is the parent of all background work; cancelled on shutdown.
	ctx    context.Context
	cancel context.CancelFunc
	// analysing admits one page analysis at a time: on a two-core laptop a
	// second would only slow the first, and the capture's own work.
	analysing chan struct{}
	// decoded counts the captured pages handed to their analysis with
	// their pixels (handOver).
	decoded atomic.Int32
	// settling serializes the decisions that move acts on after their
	// pages were analysed or their record changed (checked, ready).
	settling sync.Mutex
	// sending keeps a message and the binary frames it announces together
	// on every connection, whichever goroutine sends them.
	sending sync.Mutex

	mu       sync.Mutex
	closing  bool           // Shutdown began: no new background work
	work     sync.WaitGroup // background work, counted under mu
	captures map[string]*capture
	sessions map[*Session]struct{}

	// prints are the printed pages last rendered.
	prints printCache
}

type capture struct {
	id      string
	act     string
	comune  string
	replace int // the page the capture retakes, if any
	cancel  context.CancelFunc
}

// New returns an Agent over the scanners. Call Recover once the store is
// open, and Shutdown to stop.
func New(s Scanners, opts Options) *Agent {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxPageBytes <= 0 {
		opts.MaxPageBytes = 64 << 20
	}
	if opts.MaxPagePixels <= 0 {
		opts.MaxPagePixels = 120_000_000
	}
	if opts.PreviewWidth <= 0 {
		opts.PreviewWidth = 320
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.MaxCaptures <= 0 {
		opts.MaxCaptures = 4
	}
	if opts.Retention <= 0 {
		opts.Retention = 7 * 24 * time.Hour
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Agent{
		scanners: s, log: opts.Logger, opts: opts,
		ctx: ctx, cancel: cancel,
		captures:  make(map[string]*capture),
		sessions:  make(map[*Session]struct{}),
		analysing: make(chan struct{}, 1),
	}
}

var errShutdown = errors.New("agent shutting down")

// background runs fn in its own goroutine, owned by the agent: Shutdown
// cancels its context and waits for it. Once shutdown has begun, nothing
// new starts.
func (a *Agent) background(fn func(ctx context.Context)) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		return errShutdown
	}
	a.work.Add(1)
	go func() {
		defer a.work.Done()
		fn(a.ctx)
	}()
	return nil
}

// Shutdown refuses new work, cancels what runs, and waits for it to end
// or for ctx to expire. Only after it returns may the store be closed.
func (a *Agent) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	a.closing = true
	a.mu.Unlock()
	a.cancel()
	done := make(chan struct{})
	go func() { a.work.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("agent: background work still running at shutdown: %w", ctx.Err())
	}
}

// system is the agent itself as the journal names it: recovery at start,
// retention.
var system = actor{by: store.Actor{Operator: "autografo"}, perms: auth.View | auth.Capture}

// Recover carries on, at start, the acts a stop or a crash interrupted: a
// capture that was running ends (its pages kept), pages not analysed are
// analysed, and acts whose pages all are move on to checked and ready.
func (a *Agent) Recover(ctx context.Context) error {
	capturing, err := a.opts.Store.InState(ctx, store.StateCapturing)
	if err != nil {
		return err
	}
	for _, act := range capturing {
		if err := a.endCapture(ctx, act.ID, system, "the agent restarted during the capture", protocol.CodeInterrupted); err != nil {
			a.log.Error("recovering an interrupted capture failed", "act", act.ID, "err", err)
		}
	}
	open, err := a.opts.Store.InState(ctx, store.StateCaptured, store.StateChecked)
	if err != nil {
		return err
	}
	for _, act := range open {
		pages, err := a.opts.Store.Pages(ctx, act.ID)
		if err != nil {
			return err
		}
		queued := 0
		for _, p := range pages {
			if !p.Analysed {
				a.queueAnalysis(act.ID, act.Comune, "", p.Index, system, nil)
				queued++
			}
		}
		a.log.Info("act resumed after restart", "act", act.ID, "state", act.State, "pages_to_analyse", queued)
		if queued == 0 {
			id := act.ID
			if err := a.background(func(ctx context.Context) { a.settle(ctx, id, system) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// RunRetention purges, every interval until ctx ends, the images of acts
// that ANSC confirmed longer ago than the retention period.
func (a *Agent) RunRetention(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := a.opts.Store.Purge(ctx, time.Now().Add(-a.opts.Retention), store.Actor{Operator: "retention"})
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Error("retention purge failed", "err", err)
		case n > 0:
			a.log.Info("retention purged confirmed acts", "acts", n, "retention", a.opts.Retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func newID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return prefix + hex.EncodeToString(b[:])
}

func devicesOf(infos []scanner.Info) []protocol.Device {
	out := make([]protocol.Device, 0, len(infos))
	for _, in := range infos {
		name := in.Model
		if in.Make != "" {
			name = in.Make + " " + in.Model
		}
		out = append(out, protocol.Device{ID: string(in.ID), Driver: in.Driver, Name: name})
	}
	return out
}

// blob is a binary frame announced by the message sent before it.
type blob struct {
	id, mediaType string
	data          []byte
}

// publish sends an event, and the binary frames it announces, to every
// session that sees acts of comune. Sessions without the permission need
// get only the text (a document's bytes go to export sessions only).
func (a *Agent) publish(comune string, need auth.Permission, msg any, blobs ...blob) {
	a.mu.Lock()
	targets := make([]*Session, 0, len(a.sessions))
	for s := range a.sessions {
		if s.id.Sees(comune) && s.id.Perms.Has(auth.View) {
			targets = append(targets, s)
		}
	}
	a.mu.Unlock()
	for _, s := range targets {
		if s.id.Perms.Has(need) {
			s.send(msg, blobs...)
		} else {
			s.send(msg)
		}
	}
}

// errorCodes maps the errors callers may meet to their stable codes; the
// first match wins, so causes come before the context errors they wrap.
var errorCodes = []struct {
	err  error
	code string
}{
	{scanner.ErrBusy, protocol.CodeDeviceBusy},
	{scanner.ErrGone, protocol.CodeDeviceGone},
	{scanner.ErrNoDocs, protocol.CodeNoDocuments},
	{scanner.ErrJammed, protocol.CodePaperJam},
	{scanner.ErrNotFound, protocol.CodeDeviceNotFound},
	{scanner.ErrUnsupported, protocol.CodeUnsupported},
	{scanner.ErrPermission, protocol.CodeDeviceDenied},
	{errBadPage, protocol.CodeBadPage},
	{errActNotFound, protocol.CodeActNotFound},
	{errSignerNotFound, protocol.CodeSignerNotFound},
	{store.ErrNoSigner, protocol.CodeSignerNotFound},
	{errPageNotFound, protocol.CodePageNotFound},
	{store.ErrNotFound, protocol.CodeActNotFound},
	{store.ErrAlreadyDelivered, protocol.CodeDelivered},
	{store.ErrAlreadyConfirmed, protocol.CodeConfirmed},
	{store.ErrNothingToDeliver, protocol.CodeNothingToSend},
	{store.ErrNotHolder, protocol.CodeNotHolder},
	{errCaptureRunning, protocol.CodeCaptureRunning},
	{store.ErrIllegalTransition, protocol.CodeIllegalState},
	{errStore, protocol.CodeStoreFailed},
	{errCaptureNotFound, protocol.CodeCaptureNotFound},
	{errTooManyJobs, protocol.CodeTooManyJobs},
	{errShutdown, protocol.CodeShuttingDown},
	{errForbidden, protocol.CodeForbidden},
	{errBadRequest, protocol.CodeBadMessage},
	{protocol.ErrBadMessage, protocol.CodeBadMessage},
	{errBadFormat, protocol.CodeBadFormat},
	{seal.ErrPINRefused, protocol.CodePINRefused},
	{errNoAttester, protocol.CodeNoAttester},
	{errCertExpired, protocol.CodeCertExpired},
	{errCertUnfit, protocol.CodeCertUnfit},
	{errSheet, protocol.CodeSheetFailed},
	{errTemplate, protocol.CodeTemplateFailed},
	{errTooBig, protocol.CodeDocumentTooBig},
	{errDocument, protocol.CodeDocumentFailed},
	{context.Canceled, protocol.CodeCanceled},
}

// errorFor turns an error into its stable code, Italian message and
// action.
func errorFor(err error) protocol.Error {
	code := protocol.CodeInternal
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			code = m.code
			break
		}
	}
	e := protocol.NewError(code)
	var ue *scanner.UnsupportedError
	if errors.As(err, &ue) {
		e.Message = unsupportedItalian(ue)
	}
	return e
}

// unsupportedItalian says what the device does not offer and what to
// choose instead: "Lo scanner non acquisisce a 600 dpi in grigi
// dall'alimentatore: scegliere 150 o 300 dpi."
func unsupportedItalian(e *scanner.UnsupportedError) string {
	from := map[scanner.Source]string{scanner.Platen: "dal vetro", scanner.Feeder: "dall'alimentatore"}[e.Request.Source]
	if e.Request.Duplex {
		from += " fronte e retro"
	}
	mode := map[scanner.ColorMode]string{scanner.Color: "a colori", scanner.Gray: "in grigi", scanner.BlackWhite: "in bianco e nero"}
	or := func(items []string) string {
		if len(items) <= 1 {
			return strings.Join(items, "")
		}
		return strings.Join(items[:len(items)-1], ", ") + " o " + items[len(items)-1]
	}
	switch e.Part {
	case scanner.UnsupportedSource:
		if e.Request.Source == scanner.Feeder {
			return "Lo scanner non ha l'alimentatore: mettere i fogli sul vetro e scegliere «Vetro»."
		}
		return "Lo scanner non ha il vetro: inserire i fogli nell'alimentatore e scegliere «Alimentatore»."
	case scanner.UnsupportedDuplex:
		return "Lo scanner non acquisisce fronte e retro: acquisire un lato alla volta."
	case scanner.UnsupportedColor:
		// Named as the page's choice of colour names them.
		choice := map[scanner.ColorMode]string{scanner.Color: "«Colori»", scanner.Gray: "«Grigi»", scanner.BlackWhite: "«Bianco e nero»"}
		var modes []string
		for _, m := range e.Colors {
			modes = append(modes, choice[m])
		}
		if len(modes) == 0 {
			return fmt.Sprintf("Lo scanner non acquisisce %s %s.", mode[e.Request.Color], from)
		}
		return fmt.Sprintf("Lo scanner non acquisisce %s %s: scegliere %s.", mode[e.Request.Color], from, or(modes))
	case scanner.UnsupportedResolution:
		var dpis []string
		for _, d := range e.Resolutions {
			dpis = append(dpis, strconv.Itoa(d))
		}
		return fmt.Sprintf("Lo scanner non acquisisce a %d dpi %s %s: scegliere %s dpi.", e.Request.DPI, mode[e.Request.Color], from, or(dpis))
	case scanner.UnsupportedWidth, scanner.UnsupportedHeight:
		side := map[scanner.Unsupported]string{scanner.UnsupportedWidth: "larghezza", scanner.UnsupportedHeight: "altezza"}[e.Part]
		mm := func(v float64) string { return strings.ReplaceAll(strconv.FormatFloat(v, 'f', -1, 64), ".", ",") }
		return fmt.Sprintf("%s lo scanner acquisisce fogli di %s fra %s e %s mm: scegliere un formato entro questi limiti.",
			capitalized(from), side, mm(e.MinMM), mm(e.MaxMM))
	}
	return protocol.Italian(protocol.CodeUnsupported)
}

var (
	errBadPage         = errors.New("bad page from device")
	errStore           = errors.New("storing failed")
	errActNotFound     = errors.New("act not found")
	errSignerNotFound  = errors.New("signer not found")
	errPageNotFound    = errors.New("page not found")
	errCaptureRunning  = errors.New("a capture is already running on this act")
	errCaptureNotFound = errors.New("capture not found")
	errTooManyJobs     = errors.New("too many captures running")
	errForbidden       = errors.New("not permitted for this session")
	errBadRequest      = errors.New("request out of bounds")
	errBadFormat       = errors.New("format not available")
	errNoAttester      = errors.New("no attester configured")
)

// storeErr marks a failure of the store itself, keeping the typed errors
// of the lifecycle visible to errorFor.
func storeErr(err error) error {
	if err == nil {
		return nil
	}
	var te *store.TransitionError
	switch {
	case errors.As(err, &te), errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrNoSigner),
		errors.Is(err, store.ErrAlreadyDelivered), errors.Is(err, store.ErrAlreadyConfirmed),
		errors.Is(err, store.ErrNothingToDeliver), errors.Is(err, store.ErrNotHolder),
		errors.Is(err, store.ErrIllegalTransition), errors.Is(err, context.Canceled):
		return err
	}
	return fmt.Errorf("%w: %w", errStore, err)
}
