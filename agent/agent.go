// Package agent holds the acts and runs their captures: the state machine
// between the browser sessions and the scanners. It knows devices only
// through the scanner model and the manager; cmd/autografo decides which
// drivers exist.
package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png" // scanners may send PNG
	"io"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/image/draw"

	"github.com/autografo/autografo/agent/auth"
	"github.com/autografo/autografo/agent/protocol"
	"github.com/autografo/autografo/agent/store"
	"github.com/autografo/autografo/scanner"
	"github.com/autografo/autografo/scanner/jpegturbo"
	"github.com/autografo/autografo/scanner/manager"
	"github.com/autografo/autografo/scanner/pipeline"
	_ "github.com/autografo/autografo/scanner/pnm" // SANE pages arrive as PNM
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
	// Office names the office in attestations, e.g. "Comune di Borgo Sereno".
	Office string
	// LayoutDir keeps the layout templates, one per act kind (none: no
	// templates).
	LayoutDir string
	// LabelRules find the signers' boxes in a preview's text (default:
	// sheet.DefaultRules, the Italian labels).
	LabelRules []sheet.LabelRule
	// DocumentBudget bounds a document's size (default 9.5 MB).
	DocumentBudget int
}

// Store is what the agent needs of the durable store.
type Store interface {
	CreateAct(ctx context.Context, a store.Act) error
	AddPage(ctx context.Context, p store.Page, data []byte, operator string) (store.Page, error)
	SetState(ctx context.Context, act string, st store.State, operator string, detail map[string]any) error
	Act(ctx context.Context, id string) (store.Act, error)
	Pending(ctx context.Context) ([]store.Act, error)
	Page(ctx context.Context, act string, idx int) (store.Page, []byte, error)
	Pages(ctx context.Context, act string) ([]store.Page, error)
	Purge(ctx context.Context, cutoff time.Time, operator string) (int, error)
	Deliver(ctx context.Context, act, operator, tab string) error
	PutDocument(ctx context.Context, d store.Document, data []byte, operator string) (store.Document, error)
	PutDecision(ctx context.Context, d store.Decision, crop []byte, operator string) error
	DocumentData(ctx context.Context, act, name string) (store.Document, []byte, error)
	Release(ctx context.Context, act, operator, reason string) error
}

// Authenticator turns the credentials of a hello into an identity.
type Authenticator interface {
	Authenticate(c auth.Credentials, origin string) (auth.Identity, string, error)
}

// Agent owns the acts and their captures.
type Agent struct {
	scanners Scanners
	log      *slog.Logger
	opts     Options

	ctx    context.Context // parent of every capture; cancelled on shutdown
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// analysing admits one page analysis at a time: on a two-core laptop a
	// second would only slow the first, and the capture's own work.
	analysing chan struct{}

	mu       sync.Mutex
	running  map[string]string // act -> its capture: one at a time keeps page order
	captures map[string]*capture
	geometry map[string]map[int]pipeline.Geometry    // act -> page -> how it lies
	printed  map[string]map[int]protocol.PrintedPage // act -> page -> which printed page it is
	// analysed is signalled when an analysis ends; pending counts each
	// act's analyses not yet ended, so that its document waits for them.
	analysed *sync.Cond
	pending  map[string]int
}

// page is a page received from a device, checked, before it is stored.
type page struct {
	info protocol.PageInfo
	data []byte
}

type capture struct {
	id     string
	act    string
	cancel context.CancelFunc
}

// New returns an Agent over the scanners. Call Shutdown to stop captures.
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
	a := &Agent{
		scanners: s, log: opts.Logger, opts: opts,
		ctx: ctx, cancel: cancel,
		running: make(map[string]string), captures: make(map[string]*capture),
		analysing: make(chan struct{}, 1),
	}
	a.analysed = sync.NewCond(&a.mu)
	return a
}

// RunRetention purges, every interval until ctx ends, the images of acts
// that ANSC confirmed longer ago than the retention period.
func (a *Agent) RunRetention(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := a.opts.Store.Purge(ctx, time.Now().Add(-a.opts.Retention), "retention")
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

// Shutdown cancels every running capture and waits for them to end, or for
// ctx to expire.
func (a *Agent) Shutdown(ctx context.Context) error {
	a.cancel()
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("agent: captures still running at shutdown: %w", ctx.Err())
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
	{store.ErrNotFound, protocol.CodeActNotFound},
	{store.ErrAlreadyDelivered, protocol.CodeDelivered},
	{store.ErrAlreadyConfirmed, protocol.CodeConfirmed},
	{store.ErrNothingToDeliver, protocol.CodeNothingToSend},
	{errStore, protocol.CodeStoreFailed},
	{errCaptureRunning, protocol.CodeCaptureRunning},
	{errCaptureNotFound, protocol.CodeCaptureNotFound},
	{errTooManyJobs, protocol.CodeTooManyJobs},
	{errShutdown, protocol.CodeShuttingDown},
	{context.Canceled, protocol.CodeCanceled},
}

// errorFor turns an error into its stable code and Italian message.
func errorFor(err error) protocol.Error {
	code := protocol.CodeInternal
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			code = m.code
			break
		}
	}
	return protocol.Error{Code: code, Message: Italian(code)}
}

// Italian is the operator's message for a stable error code.
func Italian(code string) string {
	if m, ok := italian[code]; ok {
		return m
	}
	return italian[protocol.CodeInternal]
}

var italian = map[string]string{
	protocol.CodeBadMessage:      "La pagina ha inviato un messaggio non valido.",
	protocol.CodeTooLarge:        "La pagina ha inviato un messaggio troppo grande.",
	protocol.CodeUnknownType:     "Richiesta sconosciuta: aggiornare la pagina o Autografo.",
	protocol.CodeUnsupportedVer:  "Versione del protocollo non supportata: aggiornare la pagina o Autografo.",
	protocol.CodeNoHello:         "La pagina deve presentarsi prima di inviare richieste.",
	protocol.CodeUnauthorized:    "Accesso non autorizzato: questa pagina non è collegata ad Autografo. Collegarla di nuovo (comando «autografo open» o codice di abbinamento).",
	protocol.CodeForbidden:       "Operazione non consentita per questa sessione.",
	protocol.CodeTooManyJobs:     "Troppe acquisizioni in corso: attendere che una finisca.",
	protocol.CodeRateLimited:     "Troppe richieste in poco tempo: attendere un momento e riprovare.",
	protocol.CodeDeviceNotFound:  "Scanner non trovato: verificare che sia acceso e collegato.",
	protocol.CodeDeviceBusy:      "Lo scanner è occupato da un'altra acquisizione: attendere che finisca e riprovare.",
	protocol.CodeDeviceDenied:    "Il sistema non consente ad Autografo di usare questo scanner USB: manca la regola udev (vedere il README) o l'utente non ha i permessi.",
	protocol.CodeDeviceGone:      "Lo scanner si è scollegato durante l'acquisizione: ricollegarlo e riprovare. Le pagine già acquisite sono conservate.",
	protocol.CodeNoDocuments:     "Nessun foglio nell'alimentatore: inserire i fogli e riprovare.",
	protocol.CodePaperJam:        "Carta inceppata nell'alimentatore: rimuovere il foglio, reinserire le pagine mancanti e riprovare. Le pagine già acquisite sono conservate.",
	protocol.CodeUnsupported:     "Lo scanner non supporta le impostazioni scelte (origine, risoluzione o colore).",
	protocol.CodeActNotFound:     "Atto non trovato: riaprire l'atto e riprovare.",
	protocol.CodePageNotFound:    "Pagina non trovata.",
	protocol.CodeCaptureRunning:  "È già in corso un'acquisizione per questo atto.",
	protocol.CodeCaptureNotFound: "Acquisizione non trovata o già conclusa.",
	protocol.CodeBadPage:         "La pagina ricevuta dallo scanner è danneggiata o illeggibile: riprovare l'acquisizione. Le pagine già acquisite sono conservate.",
	protocol.CodeCanceled:        "Acquisizione annullata. Le pagine già acquisite sono conservate.",
	protocol.CodeShuttingDown:    "Autografo si sta chiudendo: acquisizione interrotta. Le pagine già acquisite sono conservate.",
	protocol.CodeInternal:        "Errore interno di Autografo: riprovare; se si ripete, rivolgersi all'assistenza.",
	protocol.CodeDelivered:       "Questo atto è già stato consegnato a un'altra scheda o finestra: completare l'invio ad ANSC da lì.",
	protocol.CodeConfirmed:       "Questo atto è già stato accettato da ANSC: non va inviato di nuovo.",
	protocol.CodeNothingToSend:   "L'atto non ha ancora pagine acquisite.",
	protocol.CodeDocumentFailed:  "Impossibile preparare il documento per ANSC: le pagine acquisite sono conservate. Riprovare o rivolgersi all'assistenza.",
	protocol.CodeDocumentTooBig:  "Il documento supererebbe i 10 MB anche con la qualità minima leggibile: acquisire in scala di grigi o a risoluzione più bassa.",
	protocol.CodeBadFormat:       "Formato non disponibile: PDF per ogni atto, JPG solo per un atto di una pagina, TIF per più pagine.",
	protocol.CodeSheetFailed:     "Impossibile preparare i fogli da stampare: il PDF non è utilizzabile (danneggiato, protetto o troppo grande).",
	protocol.CodePageNoCode:      "Su questa pagina non si legge il codice di stampa: controllare che sia la pagina giusta e che il codice non sia coperto.",
	protocol.CodePageOtherAct:    "Questa pagina appartiene a un altro atto: toglierla dalle pagine di questo.",
	protocol.CodePageOtherPrint:  "Questa pagina viene da una stampa precedente dell'atto: usare i fogli dell'ultima stampa.",
	protocol.CodeNoAttester:      "La firma dell'ufficiale per l'attestazione di conformità non è disponibile: verificare che la smart card sia inserita e configurata.",
	protocol.CodeStoreFailed:     "Impossibile salvare la pagina sul disco (disco pieno o guasto): l'ultima pagina non è stata acquisita. Liberare spazio e riprovare; le pagine già salvate sono al sicuro.",
}

var (
	errBadPage  = errors.New("bad page from device")
	errShutdown = errors.New("agent shutting down")
	errStore    = errors.New("storing failed")
)

// openAct registers a new act, durably.
func (a *Agent) openAct(ctx context.Context, req *protocol.ActOpen, operator string) (protocol.Act, error) {
	if req.Kind == "" || len(req.Kind) > 64 || len(req.Ref) > 128 || len(req.Signers) > 32 || len(req.Register) > 64 {
		return protocol.Act{}, fmt.Errorf("%w: act kind, ref, register or signers out of bounds", protocol.ErrBadMessage)
	}
	if req.Emergency && req.Register == "" {
		return protocol.Act{}, fmt.Errorf("%w: an emergency-register act needs its register number", protocol.ErrBadMessage)
	}
	for _, s := range req.Signers {
		if s.Role == "" || len(s.Role) > 32 || len(s.Name) > 200 {
			return protocol.Act{}, fmt.Errorf("%w: signer role or name out of bounds", protocol.ErrBadMessage)
		}
	}
	signers, _ := json.Marshal(req.Signers)
	sa := store.Act{ID: newID("act-"), Kind: req.Kind, Ref: req.Ref, Signers: signers, Operator: operator,
		Emergency: req.Emergency, Register: req.Register}
	if req.Emergency {
		sa.RegisterTime = time.Now()
		if req.RegisterTime != "" {
			t, err := time.Parse(time.RFC3339, req.RegisterTime)
			if err != nil {
				return protocol.Act{}, fmt.Errorf("%w: registerTime %q is not RFC 3339", protocol.ErrBadMessage, req.RegisterTime)
			}
			sa.RegisterTime = t
		}
	}
	if err := a.opts.Store.CreateAct(ctx, sa); err != nil {
		return protocol.Act{}, fmt.Errorf("%w: %w", errStore, err)
	}
	stored, err := a.opts.Store.Act(ctx, sa.ID)
	if err != nil {
		return protocol.Act{}, fmt.Errorf("%w: %w", errStore, err)
	}
	a.log.Info("act opened", "act", sa.ID, "kind", sa.Kind, "signers", len(req.Signers), "emergency", sa.Emergency)
	return actInfo(stored), nil
}

func actInfo(s store.Act) protocol.Act {
	var signers []protocol.Signer
	_ = json.Unmarshal(s.Signers, &signers)
	a := protocol.Act{ID: s.ID, Kind: s.Kind, Ref: s.Ref, Signers: signers, Pages: s.Pages, State: string(s.State),
		Emergency: s.Emergency, Register: s.Register, Created: s.Created.UTC().Format(time.RFC3339)}
	if !s.RegisterTime.IsZero() {
		a.RegisterTime = s.RegisterTime.UTC().Format(time.RFC3339)
	}
	return a
}

func pageInfo(p store.Page) protocol.PageInfo {
	return protocol.PageInfo{Index: p.Index, MediaType: p.MediaType, Width: p.Width, Height: p.Height, DPI: p.DPI,
		Bytes: p.Size, SHA256: p.SHA256}
}

func (a *Agent) pageOf(ctx context.Context, actID string, index int) (protocol.PageInfo, []byte, bool) {
	p, data, err := a.opts.Store.Page(ctx, actID, index)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			a.log.Error("reading a stored page failed", "act", actID, "page", index, "err", err)
		}
		return protocol.PageInfo{}, nil, false
	}
	return pageInfo(p), data, true
}

// startCapture reserves the act and the device, and runs the capture in its
// own goroutine, reporting to out. It returns once the device accepted the
// job, so that a busy device is an immediate error reply.
func (a *Agent) startCapture(req *protocol.CaptureStart, operator string, out Sender) (string, error) {
	sreq := scanner.Request{
		Source:    scanner.Source(req.Source),
		DPI:       req.DPI,
		Color:     scanner.ColorMode(req.Color),
		MediaType: "image/jpeg",
	}
	if sreq.Source != scanner.Platen && sreq.Source != scanner.Feeder {
		return "", fmt.Errorf("%w: source %q", scanner.ErrUnsupported, req.Source)
	}
	if sreq.Color != scanner.Color && sreq.Color != scanner.Gray {
		return "", fmt.Errorf("%w: colour %q", scanner.ErrUnsupported, req.Color)
	}
	if a.ctx.Err() != nil {
		return "", errShutdown
	}
	if _, err := a.opts.Store.Act(a.ctx, req.Act); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", errActNotFound
		}
		return "", fmt.Errorf("%w: %w", errStore, err)
	}
	id := newID("cap-")
	a.mu.Lock()
	if a.running[req.Act] != "" {
		a.mu.Unlock()
		return "", errCaptureRunning
	}
	if len(a.captures) >= a.opts.MaxCaptures {
		a.mu.Unlock()
		return "", errTooManyJobs
	}
	a.running[req.Act] = id
	ctx, cancel := context.WithCancel(a.ctx)
	a.captures[id] = &capture{id: id, act: req.Act, cancel: cancel}
	a.mu.Unlock()
	release := func() {
		a.mu.Lock()
		if a.running[req.Act] == id {
			delete(a.running, req.Act)
		}
		delete(a.captures, id)
		a.mu.Unlock()
	}

	job, err := a.scanners.Scan(ctx, scanner.ID(req.Device), sreq)
	if err != nil {
		cancel()
		release()
		return "", err
	}
	a.log.Info("capture started", "capture", id, "act", req.Act, "device", req.Device,
		"source", sreq.Source, "dpi", sreq.DPI, "color", sreq.Color)

	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer cancel()
		end := a.runCapture(ctx, id, req.Act, operator, job, out)
		// Free the device and the act before saying the capture ended: a
		// browser that retries on the event must find both free.
		if err := job.Close(); err != nil {
			a.log.Warn("closing scan job failed", "capture", id, "err", err)
		}
		release()
		out.Send(end)
		// After a complete capture, the act's document from all its pages.
		if done, ok := end.(protocol.CaptureDone); ok && done.Total > 0 {
			a.buildDocument(context.WithoutCancel(ctx), req.Act, operator, out, documentRequest{format: "pdf"})
		}
	}()
	return id, nil
}

var (
	errActNotFound     = errors.New("act not found")
	errCaptureRunning  = errors.New("a capture is already running on this act")
	errCaptureNotFound = errors.New("capture not found")
	errTooManyJobs     = errors.New("too many captures running")
)

func (a *Agent) cancelCapture(id string) error {
	a.mu.Lock()
	c, ok := a.captures[id]
	a.mu.Unlock()
	if !ok {
		return errCaptureNotFound
	}
	c.cancel()
	return nil
}

// runCapture takes pages from the job until the last one or an error, and
// returns the message that ends the capture. Each page is kept in the act
// before it is announced, so a failure later in the capture never loses a
// page the operator has seen.
func (a *Agent) runCapture(ctx context.Context, id, actID, operator string, job *manager.Job, out Sender) any {
	got := 0
	fail := func(err error) any {
		if a.ctx.Err() != nil && errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w: %w", errShutdown, err)
		}
		e := errorFor(err)
		a.log.Warn("capture failed", "capture", id, "act", actID, "pages", got, "code", e.Code, "err", err)
		if got > 0 {
			if err := a.opts.Store.SetState(context.Background(), actID, store.StateAnnounced, operator, nil); err != nil {
				a.log.Warn("marking act announced failed", "act", actID, "err", err)
			}
		}
		return protocol.CaptureFailed{
			Envelope: protocol.Envelope{Type: protocol.TypeCaptureFailed},
			Act:      actID, Capture: id, Pages: got, Error: e,
		}
	}
	for {
		n := a.pageCount(actID) + 1
		out.Send(protocol.CaptureProgress{
			Envelope: protocol.Envelope{Type: protocol.TypeCaptureProgress},
			Act:      actID, Capture: id, Page: n, Phase: protocol.PhaseScanning,
		})
		pg, err := job.NextPage(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(err)
		}
		var boxes []pipeline.Box
		if a.opts.Layout != nil {
			boxes = a.opts.Layout(pg)
		}
		p, preview, err := a.receivePage(ctx, pg, func(got, total int64) {
			out.Send(protocol.CaptureProgress{
				Envelope: protocol.Envelope{Type: protocol.TypeCaptureProgress},
				Act:      actID, Capture: id, Page: n, Phase: protocol.PhaseReceiving, Bytes: got, Total: total,
			})
		})
		if err != nil {
			return fail(err)
		}
		// Committed to disk before it is announced: a page the operator has
		// seen survives a crash or a power cut.
		stored, err := a.opts.Store.AddPage(context.WithoutCancel(ctx), store.Page{Act: actID, MediaType: p.info.MediaType,
			Width: p.info.Width, Height: p.info.Height, DPI: p.info.DPI}, p.data, operator)
		if err != nil {
			return fail(fmt.Errorf("%w: %w", errStore, err))
		}
		p.info = pageInfo(stored)
		idx := stored.Index
		got++
		blob := newID("blob-")
		a.log.Info("page captured", "capture", id, "act", actID, "page", idx,
			"bytes", p.info.Bytes, "width", p.info.Width, "height", p.info.Height)
		out.Send(protocol.PageReady{
			Envelope: protocol.Envelope{Type: protocol.TypePageReady},
			Act:      actID, Capture: id, Page: p.info, Preview: blob,
		})
		out.SendBlob(protocol.BlobHeader{Blob: blob, MediaType: "image/jpeg"}, preview)
		a.analyse(analysisJob{act: actID, capture: id, operator: operator, page: idx, data: p.data,
			mediaType: p.info.MediaType, dpi: p.info.DPI, boxes: boxes}, out)
	}
	if got > 0 {
		if err := a.opts.Store.SetState(context.Background(), actID, store.StateAnnounced, operator, nil); err != nil {
			a.log.Warn("marking act announced failed", "act", actID, "err", err)
		}
	}
	total := a.pageCount(actID)
	a.log.Info("capture done", "capture", id, "act", actID, "pages", got, "total", total)
	return protocol.CaptureDone{
		Envelope: protocol.Envelope{Type: protocol.TypeCaptureDone},
		Act:      actID, Capture: id, Pages: got, Total: total,
	}
}

func (a *Agent) pageCount(actID string) int {
	act, err := a.opts.Store.Act(context.Background(), actID)
	if err != nil {
		return 0
	}
	return act.Pages
}

// receivePage reads a page from the device with a size bound, checks that it
// is a whole image, and makes its preview.
func (a *Agent) receivePage(ctx context.Context, pg scanner.Page, progress func(got, total int64)) (*page, []byte, error) {
	defer pg.Body.Close()
	var buf bytes.Buffer
	if pg.Size > 0 && pg.Size <= a.opts.MaxPageBytes {
		buf.Grow(int(pg.Size))
	}
	r := &progressReader{r: io.LimitReader(pg.Body, a.opts.MaxPageBytes+1), total: max(pg.Size, 0), report: progress}
	if _, err := io.Copy(&buf, r); err != nil {
		return nil, nil, err
	}
	if int64(buf.Len()) > a.opts.MaxPageBytes {
		return nil, nil, fmt.Errorf("%w: more than %d bytes", errBadPage, a.opts.MaxPageBytes)
	}
	data := buf.Bytes()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errBadPage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > a.opts.MaxPagePixels {
		return nil, nil, fmt.Errorf("%w: %dx%d pixels", errBadPage, cfg.Width, cfg.Height)
	}
	// Decoding the whole page proves it is not truncated, and feeds the
	// preview. Scanners send JPEG: libjpeg-turbo decodes it four times
	// faster than image/jpeg, and refuses a truncated file outright.
	var img image.Image
	if format == "jpeg" {
		img, err = jpegturbo.Decode(data)
	} else {
		img, _, err = image.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errBadPage, err)
	}
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	preview, err := makePreview(img, a.opts.PreviewWidth)
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(data)
	return &page{
		info: protocol.PageInfo{
			MediaType: "image/" + format, Width: cfg.Width, Height: cfg.Height, DPI: pg.DPI,
			Bytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:]),
		},
		data: data,
	}, preview, nil
}

func makePreview(img image.Image, width int) ([]byte, error) {
	b := img.Bounds()
	h := max(1, b.Dy()*width/max(1, b.Dx()))
	dst := image.NewRGBA(image.Rect(0, 0, width, h))
	// Bilinear sampling aliases fine print, but a thumbnail only has to show
	// the layout and the signatures, and a whole-page CatmullRom costs many
	// times more on a modest laptop.
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 80}); err != nil {
		return nil, fmt.Errorf("agent: encoding preview: %w", err)
	}
	return buf.Bytes(), nil
}

// progressReader reports bytes read at most every 100 ms.
type progressReader struct {
	r      io.Reader
	got    int64
	total  int64
	last   time.Time
	report func(got, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.got += int64(n)
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond || err == io.EOF {
		p.last = now
		p.report(p.got, p.total)
	}
	return n, err
}
