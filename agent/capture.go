package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png" // scanners may send PNG
	"io"
	"slices"
	"time"

	"golang.org/x/image/draw"

	"github.com/autografo/autografo/agent/auth"
	"github.com/autografo/autografo/agent/protocol"
	"github.com/autografo/autografo/agent/store"
	"github.com/autografo/autografo/scanner"
	"github.com/autografo/autografo/scanner/jpegturbo"
	"github.com/autografo/autografo/scanner/manager"
	_ "github.com/autografo/autografo/scanner/pnm" // SANE pages arrive as PNM
)

// actor is who a piece of work is done for: the journal's name for them,
// and what they may do (an emergency act's attestation, a document's
// bytes).
type actor struct {
	by    store.Actor
	perms auth.Permission
}

// page is a page received from a device, checked, before it is stored.
type page struct {
	info protocol.PageInfo
	data []byte
	// gray is the page decoded, when it is a gray JPEG: what its analysis
	// would decode again from the store.
	gray *image.Gray
}

// startCapture moves the act to capturing, reserves the device, and runs
// the capture in the background, publishing its pages to every session
// that sees the act. It returns once the device accepted the job, so that
// a busy device is an immediate error reply.
func (a *Agent) startCapture(ctx context.Context, req *protocol.CaptureStart, act store.Act, who actor) (string, error) {
	sreq := scanner.Request{
		Source:    scanner.Source(req.Source),
		DPI:       req.DPI,
		Color:     scanner.ColorMode(req.Color),
		MediaType: "image/jpeg",
		Duplex:    req.Duplex,
	}
	if sreq.Source != scanner.Platen && sreq.Source != scanner.Feeder {
		return "", fmt.Errorf("%w: source %q", scanner.ErrUnsupported, req.Source)
	}
	if sreq.Color != scanner.Color && sreq.Color != scanner.Gray {
		return "", fmt.Errorf("%w: colour %q", scanner.ErrUnsupported, req.Color)
	}
	if req.Replace != 0 {
		// Checked before the device moves: a retake of a page the act does
		// not have, or has removed, would only fail once scanned.
		pages, err := a.opts.Store.Pages(ctx, act.ID)
		if err != nil {
			return "", storeErr(err)
		}
		if !slices.ContainsFunc(pages, func(p store.Page) bool { return p.Index == req.Replace && !p.Removed }) {
			return "", fmt.Errorf("%w: page %d to retake", errPageNotFound, req.Replace)
		}
	}
	id := newID("cap-")
	cctx, cancel := context.WithCancel(a.ctx)
	c := &capture{id: id, act: act.ID, comune: act.Comune, cancel: cancel, replace: req.Replace}
	a.mu.Lock()
	switch {
	case a.closing:
		a.mu.Unlock()
		cancel()
		return "", errShutdown
	case len(a.captures) >= a.opts.MaxCaptures:
		a.mu.Unlock()
		cancel()
		return "", errTooManyJobs
	}
	a.captures[id] = c
	a.mu.Unlock()
	release := func() {
		cancel()
		a.mu.Lock()
		delete(a.captures, id)
		a.mu.Unlock()
	}
	// From here the act is capturing: the lifecycle refuses a second
	// capture of it, whichever tab asks.
	moved, err := a.opts.Store.Move(ctx, act.ID, store.StateCapturing, who.by, "capture started",
		map[string]any{"capture": id, "device": req.Device, "source": req.Source, "dpi": req.DPI, "color": req.Color})
	if err != nil {
		release()
		var te *store.TransitionError
		if errors.As(err, &te) && te.From == store.StateCapturing {
			return "", errCaptureRunning
		}
		return "", storeErr(err)
	}
	a.announce(ctx, moved)
	job, err := a.scanners.Scan(cctx, scanner.ID(req.Device), sreq)
	if err != nil {
		release()
		if err := a.endCapture(context.WithoutCancel(ctx), act.ID, who, "the device refused the job: "+errorFor(err).Code, ""); err != nil {
			a.log.Error("ending a refused capture failed", "act", act.ID, "err", err)
		}
		return "", err
	}
	a.log.Info("capture started", "capture", id, "act", act.ID, "device", req.Device,
		"source", sreq.Source, "dpi", sreq.DPI, "color", sreq.Color)
	err = a.background(func(context.Context) {
		end := a.runCapture(cctx, c, who, job)
		// Free the device before saying the capture ended: a browser that
		// retries on the event must find it free.
		if err := job.Close(); err != nil {
			a.log.Warn("closing scan job failed", "capture", id, "err", err)
		}
		release()
		why, interrupted := "capture done", ""
		if f, ok := end.(protocol.CaptureFailed); ok {
			why, interrupted = "capture ended early: "+f.Error.Code, f.Error.Code
			if interrupted == protocol.CodeShuttingDown {
				// Read after the restart: Autografo has stopped, not "is stopping".
				interrupted = protocol.CodeInterrupted
			}
		}
		// The act's state is written whatever stopped the capture, a
		// shutdown included: a write that begins is finished.
		if err := a.endCapture(context.WithoutCancel(cctx), act.ID, who, why, interrupted); err != nil {
			a.log.Error("ending a capture failed", "capture", id, "act", act.ID, "err", err)
		}
		a.publish(act.Comune, auth.View, end)
		a.settleLater(act.ID, who)
	})
	if err != nil {
		job.Close()
		release()
		_ = a.endCapture(context.WithoutCancel(ctx), act.ID, who, "shutting down", "")
		return "", err
	}
	return id, nil
}

// endCapture moves a capturing act on: to captured when it has pages, else
// back to where it was before (draft, or printed). interrupted is the code
// that ended the capture early, "" when nothing did.
func (a *Agent) endCapture(ctx context.Context, actID string, who actor, why, interrupted string) error {
	act, err := a.opts.Store.Act(ctx, actID)
	if err != nil {
		return err
	}
	to := store.StateCaptured
	switch {
	case act.Pages > 0:
	case act.Printed:
		to = store.StatePrinted
	default:
		to = store.StateDraft
	}
	moved, err := a.opts.Store.EndCapture(ctx, actID, to, who.by, why, interrupted, map[string]any{"pages": act.Pages})
	if err != nil {
		return err
	}
	a.announce(ctx, moved)
	return nil
}

func (a *Agent) cancelCapture(id string, sees func(comune string) bool) error {
	a.mu.Lock()
	c, ok := a.captures[id]
	a.mu.Unlock()
	if !ok || !sees(c.comune) {
		return errCaptureNotFound
	}
	c.cancel()
	return nil
}

// runCapture takes pages from the job until the last one or an error, and
// returns the message that ends the capture. Each page is kept in the act
// before it is announced, so a failure later in the capture never loses a
// page the operator has seen.
func (a *Agent) runCapture(ctx context.Context, c *capture, who actor, job *manager.Job) any {
	got := 0
	fail := func(err error) any {
		if a.ctx.Err() != nil && !errors.Is(err, errShutdown) {
			// Autografo is stopping: whatever the device made of the
			// abandoned job (a broken connection reads as unplugged), the
			// browser is told the agent stopped.
			err = fmt.Errorf("%w (the device then said: %v)", errShutdown, err)
		}
		e := errorFor(err)
		a.log.Warn("capture failed", "capture", c.id, "act", c.act, "pages", got, "code", e.Code, "err", err)
		return protocol.CaptureFailed{
			Envelope: protocol.Envelope{Type: protocol.TypeCaptureFailed},
			Act:      c.act, Capture: c.id, Pages: got, Error: e,
		}
	}
	total := 0
	if act, err := a.opts.Store.Act(ctx, c.act); err == nil {
		total = act.Pages
	}
	for {
		n := total + 1
		a.publish(c.comune, auth.View, protocol.CaptureProgress{
			Envelope: protocol.Envelope{Type: protocol.TypeCaptureProgress},
			Act:      c.act, Capture: c.id, Page: n, Phase: protocol.PhaseScanning,
		})
		pg, err := job.NextPage(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(err)
		}
		var boxes []byte
		if a.opts.Layout != nil {
			if b := a.opts.Layout(pg); len(b) > 0 {
				boxes, _ = json.Marshal(b)
			}
		}
		p, preview, err := a.receivePage(ctx, pg, func(got, size int64) {
			a.publish(c.comune, auth.View, protocol.CaptureProgress{
				Envelope: protocol.Envelope{Type: protocol.TypeCaptureProgress},
				Act:      c.act, Capture: c.id, Page: n, Phase: protocol.PhaseReceiving, Bytes: got, Total: size,
			})
		})
		if err != nil {
			return fail(err)
		}
		// A page is kept whatever its size: it is what the device made, and
		// its real resolution is what places the signers' boxes on it.
		if check := job.CheckPage(p.info.Width, p.info.Height); check.Fit != scanner.FitAsked {
			a.log.Warn("page's pixels are not what was asked of the device", "capture", c.id, "act", c.act,
				"width", p.info.Width, "height", p.info.Height, "asked_dpi", p.info.DPI, "asked_width", check.Width,
				"asked_height", check.Height, "asked_max_height", check.MaxHeight, "fit", check.Fit, "dpi", check.DPI)
			p.info.Fit, p.info.AskedDPI, p.info.DPI = string(check.Fit), p.info.DPI, check.DPI
		}
		// Committed to disk before it is announced: a page the operator has
		// seen survives a crash or a power cut.
		replaces := 0
		if got == 0 {
			replaces = c.replace // the retake's first page takes the old one's place
		}
		stored, err := a.opts.Store.AddPage(context.WithoutCancel(ctx), store.Page{Act: c.act, MediaType: p.info.MediaType,
			Width: p.info.Width, Height: p.info.Height, DPI: p.info.DPI, Boxes: boxes, Replaces: replaces, Back: pg.Back,
			Fit: p.info.Fit, AskedDPI: p.info.AskedDPI}, p.data, who.by)
		if err != nil {
			return fail(storeErr(err))
		}
		got++
		total = stored.Index
		b := blob{id: newID("blob-"), mediaType: "image/jpeg", data: preview}
		a.log.Info("page captured", "capture", c.id, "act", c.act, "page", stored.Index,
			"bytes", stored.Size, "width", stored.Width, "height", stored.Height)
		a.publish(c.comune, auth.View, protocol.PageReady{
			Envelope: protocol.Envelope{Type: protocol.TypePageReady},
			Act:      c.act, Capture: c.id, Page: pageInfo(stored), Preview: b.id,
		}, b)
		a.queueAnalysis(c.act, c.comune, c.id, stored.Index, who, a.handOver(stored, p.gray))
	}
	a.log.Info("capture done", "capture", c.id, "act", c.act, "pages", got, "total", total)
	return protocol.CaptureDone{
		Envelope: protocol.Envelope{Type: protocol.TypeCaptureDone},
		Act:      c.act, Capture: c.id, Pages: got, Total: total,
	}
}

func pageInfo(p store.Page) protocol.PageInfo {
	return protocol.PageInfo{Index: p.Index, MediaType: p.MediaType, Width: p.Width, Height: p.Height, DPI: p.DPI,
		Bytes: p.Size, SHA256: p.SHA256, Removed: p.Removed, Replaces: p.Replaces, Back: p.Back, Fit: p.Fit, AskedDPI: p.AskedDPI}
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
	img, err := decodeImage(data, format)
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
	gray, _ := img.(*image.Gray)
	return &page{
		info: protocol.PageInfo{
			MediaType: "image/" + format, Width: cfg.Width, Height: cfg.Height, DPI: pg.DPI,
			Bytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:]),
		},
		data: data,
		gray: gray,
	}, preview, nil
}

func decodeImage(data []byte, format string) (image.Image, error) {
	if format == "jpeg" {
		return jpegturbo.Decode(data)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	return img, err
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
