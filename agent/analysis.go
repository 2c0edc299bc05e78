package agent

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"slices"

	"github.com/autografo/autografo/agent/auth"
	"github.com/autografo/autografo/agent/protocol"
	"github.com/autografo/autografo/agent/store"
	"github.com/autografo/autografo/scanner/pipeline"
)

// pageAnalysis is what the pipeline found of a page itself, as the store
// keeps it: how it lies, and which printed page it is.
type pageAnalysis struct {
	Geometry pipeline.Geometry     `json:"geometry"`
	Printed  *protocol.PrintedPage `json:"printed,omitempty"`
	// TurnFromCode: the page's code was read, and its place on the scan
	// says the page's quarter turn (Geometry.Orientation): a fact, where
	// the text's look is a guess.
	TurnFromCode bool `json:"turnFromCode,omitempty"`
	// Blank is whether the sheet holds any ink, with the figures.
	Blank *pipeline.Blankness `json:"blank,omitempty"`
}

func analysisOf(p store.Page) (pageAnalysis, bool) {
	var pa pageAnalysis
	if !p.Analysed || len(p.Analysis) == 0 || json.Unmarshal(p.Analysis, &pa) != nil {
		return pageAnalysis{}, false
	}
	return pa, true
}

// decodedPage is a page just captured, with its pixels: its analysis
// need not read and decode it again, which is most of the wait between the
// last page and a ready act.
type decodedPage struct {
	page    store.Page
	gray    *image.Gray
	release func() // gives its place back among maxDecodedPages
}

// done gives the page's place back; nil-safe, for pages read from the store.
func (d *decodedPage) done() {
	if d != nil {
		d.release()
	}
}

// maxDecodedPages bounds the decoded pages waiting for analysis: at 600
// dpi each is 35 MB, and a fast feeder outruns a slow laptop's analysis.
// Pages beyond it are read back from the store.
const maxDecodedPages = 2

// handOver gives a captured page's pixels to its analysis, within
// maxDecodedPages; nil when there are none to give.
func (a *Agent) handOver(p store.Page, gray *image.Gray) *decodedPage {
	if gray == nil || gray.Rect.Min != (image.Point{}) {
		return nil
	}
	if a.decoded.Add(1) > maxDecodedPages {
		a.decoded.Add(-1)
		return nil
	}
	return &decodedPage{page: p, gray: gray, release: func() { a.decoded.Add(-1) }}
}

// queueAnalysis runs the signature pipeline on a stored page in the
// background, then moves the act on if that was its last page. decoded,
// when not nil, is that page with its pixels.
func (a *Agent) queueAnalysis(actID, comune, captureID string, index int, who actor, decoded *decodedPage) {
	err := a.background(func(ctx context.Context) {
		defer decoded.done()
		if a.analysePage(ctx, actID, comune, captureID, index, who, decoded) {
			a.settle(ctx, actID, who)
		}
	})
	if err != nil {
		decoded.done()
		a.log.Info("page analysis left for the next start", "act", actID, "page", index, "reason", err)
	}
}

// analysePage runs the pipeline on one stored page, keeps the page's
// geometry and printed identity and each box's verdict and signature in
// the store, and publishes them. A page that cannot be analysed is still
// captured, and marked analysed with no verdict: its signers are then
// "unchecked", and the officer looks. It reports whether the result was
// kept.
func (a *Agent) analysePage(ctx context.Context, actID, comune, captureID string, index int, who actor, decoded *decodedPage) bool {
	select {
	case a.analysing <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	defer func() { <-a.analysing }()
	var p store.Page
	var g *image.Gray
	var err error
	if decoded != nil {
		p, g = decoded.page, decoded.gray
	} else {
		var data []byte
		p, data, err = a.opts.Store.Page(ctx, actID, index)
		if err != nil {
			a.logFailure(ctx, "reading a page to analyse failed", actID, err)
			return false
		}
		g, err = pipeline.Decode(data, p.MediaType)
	}
	var pa pageAnalysis
	var res pipeline.Result
	if err != nil {
		a.log.Warn("page analysis failed: the officer checks the page by eye", "act", actID, "page", index, "err", err)
	} else {
		var boxes []pipeline.Box
		if len(p.Boxes) > 0 {
			if err := json.Unmarshal(p.Boxes, &boxes); err != nil {
				a.log.Warn("a page's boxes do not parse", "act", actID, "page", index, "err", err)
			}
		}
		// A page printed with its code says which page it is, and where
		// its boxes are.
		var printedPage pipeline.Printed
		var pl *placement
		// A blank back has no code to look for: looking costs most on a
		// page without one (every way of reading is tried). Its blankness
		// is decided once, here, for the pipeline too.
		var blank *pipeline.Blankness
		if p.Back {
			b := pipeline.PageBlankness(g, p.DPI)
			blank = &b
		}
		if pr, ok := a.printedOf(ctx, actID); ok && (blank == nil || !blank.Blank) {
			boxes, pa.Printed, pl = identify(g, p.DPI, actID, index, pr)
			// Known, its print is taken away from the boxes before
			// they are judged.
			printedPage = a.printOf(ctx, actID, pr, pl)
			if pa.Printed.OtherAct != "" {
				// Name the act it belongs to, as the officer knows it.
				if other, err := a.opts.Store.Act(ctx, pa.Printed.OtherAct); err == nil {
					pa.Printed.Error.Message += fmt.Sprintf(" È dell'atto di %s del %s.", other.Kind, other.Created.Local().Format("02/01/2006 15:04"))
				}
			}
		}
		res, err = pipeline.ProcessImage(g, p.DPI, boxes, pipeline.Options{PreviewSize: -1, Printed: printedPage, Blank: blank})
		if err != nil {
			// A layout the page cannot hold reads nothing: every box on
			// it is the officer's to check, none is a guess.
			a.log.Warn("page analysis refused the page's layout: the officer checks the boxes by eye", "act", actID, "page", index, "err", err)
			res = pipeline.Result{}
			for _, b := range boxes {
				res.Verdicts = append(res.Verdicts, pipeline.Verdict{Role: b.Role, Decision: pipeline.Doubtful, Reasons: []string{pipeline.ReasonLayout}})
			}
		}
		pa.Geometry = res.Geometry
		if res.Width > 0 {
			pa.Blank = &res.Blank
			if p.Back && res.Blank.Blank && pa.Printed != nil && pa.Printed.Error != nil && pa.Printed.Error.Code == protocol.CodePageNoCode {
				pa.Printed = nil // a blank back has no code to read: nothing to warn of
			}
		}
		if pl != nil && pa.Printed != nil && pa.Printed.Error == nil && !pa.Printed.ByOrder {
			if turn := pl.tf.QuarterTurn(); turn != pa.Geometry.Orientation && pa.Geometry.Trusted && pa.Geometry.OrientationTrusted {
				a.log.Warn("the page's code and its text disagree on its turn: the code is taken", "act", actID, "page", index,
					"code", turn, "text", pa.Geometry.Orientation)
			}
			pa.Geometry.Orientation, pa.Geometry.OrientationTrusted, pa.TurnFromCode = pl.tf.QuarterTurn(), true, true
		}
	}
	verdicts := make([]store.Verdict, 0, len(res.Verdicts))
	for _, v := range res.Verdicts {
		verdicts = append(verdicts, store.Verdict{Decision: store.Decision{Act: actID, Page: index, Role: v.Role,
			Verdict: string(v.Decision), Confidence: v.Confidence, Reasons: v.Reasons, CropType: "image/png"}, Crop: v.Signature})
	}
	raw, _ := json.Marshal(pa)
	// The work is done: it is kept even when a shutdown began meanwhile.
	if err := a.opts.Store.PutAnalysis(context.WithoutCancel(ctx), actID, index, raw, verdicts, who.by); err != nil {
		a.log.Error("storing a page's analysis failed", "act", actID, "page", index, "err", err)
		return false
	}
	a.log.Info("page analysed", "act", actID, "page", index, "skew", res.Geometry.SkewDeg, "orientation", res.Geometry.Orientation,
		"trusted", res.Geometry.Trusted, "boxes", len(res.Verdicts), "elapsed", res.Timings.Total)
	stored, err := a.opts.Store.Pages(context.WithoutCancel(ctx), actID)
	signers, serr := a.opts.Store.Signers(context.WithoutCancel(ctx), actID)
	if err == nil && serr == nil {
		for _, sp := range stored {
			if sp.Index == index {
				msg, blobs := analysisMessage(sp, pa, verdicts, captureID, displayNames(signers))
				a.publish(comune, auth.View, msg, blobs...)
			}
		}
	}
	return true
}

// analysisMessage is the page.analysis of a stored page, with the
// signatures' images as blobs.
func analysisMessage(p store.Page, pa pageAnalysis, verdicts []store.Verdict, captureID string, names map[string]string) (protocol.PageAnalysis, []blob) {
	msg := protocol.PageAnalysis{Envelope: protocol.Envelope{Type: protocol.TypePageAnalysis},
		Act: p.Act, Capture: captureID, Page: p.Index,
		SkewDeg: pa.Geometry.SkewDeg, Orientation: pa.Geometry.Orientation, Trusted: pa.Geometry.Trusted,
		OrientationTrusted: (pa.Geometry.Trusted || pa.TurnFromCode) && pa.Geometry.OrientationTrusted, Turn: p.Turn,
		Upright: uprightTurnOf(p, pa), Signatures: []protocol.Signature{}, Printed: pa.Printed, Position: p.Position}
	if b := pa.Blank; b != nil {
		msg.Blank = &protocol.Blankness{Blank: b.Blank, InkMM2: b.InkMM2, Marks: b.Marks, LargestMM2: b.LargestMM2}
	}
	var blobs []blob
	for _, v := range verdicts {
		sig := protocol.Signature{Role: v.Role, Label: names[v.Role], Decision: v.Verdict, Confidence: v.Confidence, Reasons: v.Reasons}
		for _, r := range v.Reasons {
			if t := protocol.ReasonText(r); t != "" {
				sig.Explanation = append(sig.Explanation, t)
			}
		}
		if len(v.Crop) > 0 {
			b := blob{id: newID("blob-"), mediaType: "image/png", data: v.Crop}
			sig.Blob = b.id
			blobs = append(blobs, b)
		}
		msg.Signatures = append(msg.Signatures, sig)
	}
	return msg, blobs
}

// settleLater runs settle in the background.
func (a *Agent) settleLater(actID string, who actor) {
	if err := a.background(func(ctx context.Context) { a.settle(ctx, actID, who) }); err != nil {
		a.log.Info("act left to settle at the next start", "act", actID, "reason", err)
	}
}

// settle moves an act on as far as its record allows: a captured act
// whose pages are all analysed becomes checked (its document's pages and
// order fixed), and a checked act with nothing left to decide becomes
// ready (its document built and kept). The store refuses a move that
// another request made stale; settle then stops.
func (a *Agent) settle(ctx context.Context, actID string, who actor) {
	a.settling.Lock()
	defer a.settling.Unlock()
	if ctx.Err() != nil {
		return
	}
	act, err := a.opts.Store.Act(ctx, actID)
	if err != nil {
		a.logFailure(ctx, "settling an act failed", actID, err)
		return
	}
	if act.State == store.StateCaptured {
		rec, err := a.record(ctx, act)
		if err != nil {
			a.logFailure(ctx, "reading an act's record failed", actID, err)
			return
		}
		for _, p := range rec.pages {
			if !p.Analysed {
				return // its analysis will settle it
			}
		}
		order, missing := documentOrder(rec.pages)
		if act, err = a.opts.Store.MarkChecked(ctx, actID, order, who.by); err != nil {
			a.logStale(ctx, "checking an act failed", actID, err)
			return
		}
		a.log.Info("act checked", "act", actID, "pages", len(order), "missing_sheets", missing)
		a.announce(ctx, act)
	}
	if act.State != store.StateChecked {
		return
	}
	rec, err := a.record(ctx, act)
	if err != nil {
		a.logFailure(ctx, "reading an act's record failed", actID, err)
		return
	}
	view := rec.view()
	if len(view.Blockers) > 0 {
		a.log.Info("act not ready", "act", actID, "blockers", blockerCodes(view.Blockers))
		return
	}
	// An attester that is configured but down (a refused PIN) still
	// counts: the document then fails with the reason, rather than going
	// out unattested without a word.
	attest := act.Emergency && (a.opts.Attester != nil || a.opts.AttesterDown != nil) && who.perms.Has(auth.Attest)
	if act.Emergency && !attest {
		a.log.Warn("emergency act made ready without the officer's attestation", "act", actID,
			"attester", a.opts.Attester != nil, "operator", who.by.Operator)
	}
	doc, err := a.build(ctx, rec, documentRequest{format: "pdf", attest: attest})
	if err != nil {
		if ctx.Err() != nil {
			a.log.Info("document left for the next start", "act", actID)
			return
		}
		e := errorFor(err)
		a.log.Warn("document failed", "act", actID, "code", e.Code, "err", err)
		a.publish(act.Comune, auth.View, protocol.DocumentFailed{Envelope: protocol.Envelope{Type: protocol.TypeDocumentFailed},
			Act: actID, Error: e})
		return
	}
	act, _, err = a.opts.Store.MakeReady(context.WithoutCancel(ctx), doc.stored(actID), doc.data, "every signer accounted for", who.by)
	if err != nil {
		a.logStale(ctx, "making an act ready failed", actID, err)
		return
	}
	a.log.Info("act ready", "act", actID, "document", doc.info.Name, "bytes", doc.info.Bytes, "attested", doc.info.Attested)
	a.announce(ctx, act)
	rec.act = act
	a.publish(act.Comune, auth.View, rec.documentReady(doc.info, ""))
}

// logStale logs a refused move: at info when another request moved the
// act meanwhile (nothing is wrong), as an error otherwise.
func (a *Agent) logStale(ctx context.Context, msg, actID string, err error) {
	if ctx.Err() != nil {
		a.logFailure(ctx, msg, actID, err)
		return
	}
	if errors.Is(err, store.ErrIllegalTransition) {
		a.log.Info(msg+": the act moved on meanwhile", "act", actID, "err", err)
		return
	}
	a.log.Error(msg, "act", actID, "err", err)
}

// logFailure logs a failure of background work: an error, unless a
// shutdown stopped it (then the work resumes at the next start).
func (a *Agent) logFailure(ctx context.Context, msg, actID string, err error) {
	if ctx.Err() != nil {
		a.log.Info(msg+": stopped by the shutdown, resumed at the next start", "act", actID)
		return
	}
	a.log.Error(msg, "act", actID, "err", err)
}

func blockerCodes(bs []protocol.Blocker) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Code
		if b.Role != "" {
			out[i] += ":" + b.Role
		}
	}
	return out
}

// blankBack says whether a page is the blank back of a sheet scanned
// duplex: left out of the document. A page with anything of a printed
// page on it (a code read, or another act's; a blank back's unread code
// is cleared when it is analysed), or with a box of the layout, is never
// one; a blank front is never left out.
func blankBack(p store.Page, pa pageAnalysis) bool {
	return p.Back && pa.Blank != nil && pa.Blank.Blank && pa.Printed == nil && len(p.Boxes) == 0
}

// documentOrder puts an act's captured pages (in capture order) in the
// order of the printed pages their codes name. A page of another act or
// printing is left out, and of two scans of one printed page the later is
// kept; pages without a readable code follow, in capture order or where
// the officer moved them. Pages the officer removed or retook are left
// out. It also says which printed pages were never captured. Pages of an
// act not printed with codes go in that same order.
func documentOrder(pages []store.Page) (store.PageOrder, []int) {
	byPrinted := map[int]int{}
	var unread, byOrder []int
	total := 0
	printed := map[int]*protocol.PrintedPage{}
	// Pages without a code keep their capture order, or where the officer
	// moved them; a retake stands where the page it replaced stood.
	pages = slices.Clone(pages)
	slices.SortStableFunc(pages, func(x, y store.Page) int { return cmp.Compare(x.Ord, y.Ord) })
	latest := map[int]int{} // printed page -> its latest scan's index
	for _, p := range pages {
		if p.Removed {
			continue // taken out by the officer, or retaken
		}
		pa, _ := analysisOf(p)
		if blankBack(p, pa) {
			continue // kept in the store, never in the document
		}
		printed[p.Index] = pa.Printed
		switch pr := pa.Printed; {
		case pr == nil || pr.Error != nil && pr.Error.Code == protocol.CodePageNoCode:
			unread = append(unread, p.Index)
		case pr.Error != nil: // another act's, or another printing's
		case pr.ByOrder:
			byOrder = append(byOrder, p.Index)
			total = pr.Pages
		default:
			if p.Index > latest[pr.Page] {
				byPrinted[pr.Page] = p.Index // the later scan of a page wins
				latest[pr.Page] = p.Index
			}
			total = pr.Pages
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
	order := store.PageOrder{}
	var missing []int
	pos := 0
	for n := 1; n <= total; n++ {
		if i, ok := byPrinted[n]; ok {
			pos++
			order[i] = pos
		} else {
			missing = append(missing, n)
		}
	}
	for _, i := range unread {
		pos++
		order[i] = pos
	}
	return order, missing
}
