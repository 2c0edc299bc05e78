package agent

import (
	"context"

	"github.com/autografo/autografo/agent/protocol"
	"github.com/autografo/autografo/agent/store"
	"github.com/autografo/autografo/scanner/pipeline"
)

// analysisJob is a stored page waiting for the signature pipeline.
type analysisJob struct {
	act, capture, operator string
	page                   int
	data                   []byte
	mediaType              string
	dpi                    int
	boxes                  []pipeline.Box
}

// analyse runs the signature pipeline on a stored page, off the capture's
// goroutine, keeps each box's verdict and signature in the store, and
// tells the browser. A page that cannot be analysed is still captured: the
// failure is logged, and the officer checks the page by eye.
func (a *Agent) analyse(j analysisJob, out Sender) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		select {
		case a.analysing <- struct{}{}:
		case <-a.ctx.Done():
			return
		}
		defer func() { <-a.analysing }()
		g, err := pipeline.Decode(j.data, j.mediaType)
		if err != nil {
			a.log.Warn("page analysis failed", "act", j.act, "page", j.page, "err", err)
			return
		}
		// A page printed with its code says which page it is, and where
		// its boxes are.
		boxes := j.boxes
		var printedPage *protocol.PrintedPage
		if p, ok := a.printedOf(j.act); ok {
			boxes, printedPage = identify(g, j.dpi, j.act, p)
		}
		res := pipeline.ProcessImage(g, j.dpi, boxes, pipeline.Options{PreviewSize: -1})
		msg := protocol.PageAnalysis{Envelope: protocol.Envelope{Type: protocol.TypePageAnalysis},
			Act: j.act, Capture: j.capture, Page: j.page,
			SkewDeg: res.Geometry.SkewDeg, Orientation: res.Geometry.Orientation, Trusted: res.Geometry.Trusted,
			Signatures: []protocol.Signature{}, Printed: printedPage}
		blobs := map[string][]byte{}
		for _, v := range res.Verdicts {
			sig := protocol.Signature{Role: v.Role, Label: v.Label, Decision: string(v.Decision),
				Confidence: v.Confidence, Reasons: v.Reasons}
			if v.Signature != nil {
				sig.Blob = newID("blob-")
				blobs[sig.Blob] = v.Signature
			}
			msg.Signatures = append(msg.Signatures, sig)
			if err := a.opts.Store.PutDecision(context.WithoutCancel(a.ctx), store.Decision{Act: j.act, Page: j.page, Role: v.Role,
				Verdict: string(v.Decision), Confidence: v.Confidence, Reasons: v.Reasons, CropType: "image/png"}, v.Signature, j.operator); err != nil {
				a.log.Warn("storing a signature verdict failed", "act", j.act, "page", j.page, "role", v.Role, "err", err)
			}
		}
		a.rememberGeometry(j.act, j.page, res.Geometry)
		a.log.Info("page analysed", "act", j.act, "page", j.page, "skew", res.Geometry.SkewDeg, "orientation", res.Geometry.Orientation,
			"trusted", res.Geometry.Trusted, "boxes", len(res.Verdicts), "elapsed", res.Timings.Total)
		out.Send(msg)
		for _, s := range msg.Signatures {
			if s.Blob != "" {
				out.SendBlob(protocol.BlobHeader{Blob: s.Blob, MediaType: "image/png"}, blobs[s.Blob])
			}
		}
	}()
}

// rememberGeometry keeps how a page lies, for its act's document.
func (a *Agent) rememberGeometry(act string, page int, g pipeline.Geometry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.geometry == nil {
		a.geometry = map[string]map[int]pipeline.Geometry{}
	}
	if a.geometry[act] == nil {
		a.geometry[act] = map[int]pipeline.Geometry{}
	}
	a.geometry[act][page] = g
}

// uprightTurn is the clockwise turn, as a PDF page's /Rotate, that shows a
// page upright: the quarter turn the pipeline found on it, when it is sure
// of it. It uses the page's analysis when there is one, and estimates the
// page's geometry otherwise (after a restart, or when the analysis has not
// run yet). A skew within ±10° is left as scanned: straightening it would
// mean re-encoding the scanner's image for looks alone.
func (a *Agent) uprightTurn(act string, page int, data []byte, mediaType string, dpi int) int {
	a.mu.Lock()
	g, ok := a.geometry[act][page]
	a.mu.Unlock()
	if !ok {
		img, err := pipeline.Decode(data, mediaType)
		if err != nil {
			return 0 // the builder reports the bad page
		}
		g = pipeline.EstimateGeometry(img, dpi)
		a.rememberGeometry(act, page, g)
	}
	if !g.Trusted || !g.OrientationTrusted {
		return 0
	}
	return (360 - g.Orientation) % 360
}
