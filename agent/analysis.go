package agent

import (
	"context"
	"fmt"
	"maps"
	"time"

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
	a.mu.Lock()
	if a.pending == nil {
		a.pending = map[string]int{}
	}
	a.pending[j.act]++
	a.mu.Unlock()
	go func() {
		defer a.wg.Done()
		defer func() {
			a.mu.Lock()
			a.pending[j.act]--
			a.mu.Unlock()
			a.analysed.Broadcast()
		}()
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
			boxes, printedPage = identify(g, j.dpi, j.act, j.page, p)
			if printedPage.OtherAct != "" {
				// Name the act it belongs to, as the officer knows it.
				if other, err := a.opts.Store.Act(context.WithoutCancel(a.ctx), printedPage.OtherAct); err == nil {
					printedPage.Error.Message += fmt.Sprintf(" È dell'atto di %s del %s.", other.Kind, other.Created.Local().Format("02/01/2006 15:04"))
				}
			}
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
		if printedPage != nil {
			a.mu.Lock()
			if a.printed == nil {
				a.printed = map[string]map[int]protocol.PrintedPage{}
			}
			if a.printed[j.act] == nil {
				a.printed[j.act] = map[int]protocol.PrintedPage{}
			}
			a.printed[j.act][j.page] = *printedPage
			a.mu.Unlock()
		}
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

// waitAnalyses waits, up to a limit, for the act's pages still being
// analysed: its document needs to know which printed page each one is.
func (a *Agent) waitAnalyses(act string, limit time.Duration) {
	deadline := time.Now().Add(limit)
	stop := time.AfterFunc(limit, a.analysed.Broadcast)
	defer stop.Stop()
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.pending[act] > 0 && time.Now().Before(deadline) {
		a.analysed.Wait()
	}
}

// documentOrder puts an act's captured pages (by index, in capture order)
// in the order of the printed pages their codes name. A page of another
// act or printing is left out, and of two scans of one printed page the
// later is kept; pages without a readable code follow, in capture order.
// It also says which printed pages were never captured.
func (a *Agent) documentOrder(act string, indices []int) (order, missing []int) {
	a.mu.Lock()
	printed := maps.Clone(a.printed[act])
	a.mu.Unlock()
	if len(printed) == 0 {
		return indices, nil
	}
	byPrinted := map[int]int{}
	var unread, byOrder []int
	total := 0
	for _, i := range indices {
		p, ok := printed[i]
		switch {
		case !ok || p.Error != nil && p.Error.Code == protocol.CodePageNoCode:
			unread = append(unread, i)
		case p.Error != nil: // another act's, or another printing's
		case p.ByOrder:
			byOrder = append(byOrder, i)
			total = p.Pages
		default:
			byPrinted[p.Page] = i // the later scan of a page wins
			total = p.Pages
		}
	}
	// A page placed by its order takes its printed page only when no page
	// with a readable code claims it: the order is a guess, the code is
	// not.
	for _, i := range byOrder {
		if _, taken := byPrinted[printed[i].Page]; taken {
			unread = append(unread, i)
		} else {
			byPrinted[printed[i].Page] = i
		}
	}
	for n := 1; n <= total; n++ {
		if i, ok := byPrinted[n]; ok {
			order = append(order, i)
		} else {
			missing = append(missing, n)
		}
	}
	return append(order, unread...), missing
}
