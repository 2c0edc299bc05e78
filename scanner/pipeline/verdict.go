package pipeline

import (
	"image"
	"math"
	"slices"
	"strings"
	"unicode"
)

// Reasons a decision gives, for the officer and for the log. The Italian
// words for them are the page's.
const (
	ReasonFaint       = "faint_ink"            // the ink is pale: check it will read in the document
	ReasonCrossesEdge = "ink_crosses_edge"     // the signature runs over the box's edge
	ReasonStrayMark   = "stray_mark"           // specks were ignored
	ReasonLittleInk   = "little_ink"           // some ink, too little or too short for a signature
	ReasonTwoLines    = "two_lines"            // ink in two separate bands: two signatures in one box?
	ReasonNeighbour   = "neighbour_spill"      // a neighbour's signature runs into the box
	ReasonPrinted     = "printed_text"         // printed text in the box was left out (its label)
	ReasonOtherPrint  = "other_print"          // printed text that is not the box's label: a stamp, a note?
	ReasonStamp       = "stamp"                // a stamp
	ReasonStroke      = "straight_stroke"      // one straight line, not a signature
	ReasonCross       = "cross"                // a cross: the box struck out?
	ReasonDot         = "dot"                  // a dot of ink
	ReasonInitials    = "initials"             // a short mark: initials?
	ReasonOffPage     = "box_off_page"         // part of the box lies off the sheet
	ReasonLayout      = "layout_unusable"      // the layout's box cannot be on this page: nothing was read
	ReasonNoLayout    = "found_without_layout" // looked for anywhere on the page, with no box to look in
)

// Reasons are every reason a verdict can give, for the tables that word
// them.
func Reasons() []string {
	return []string{ReasonFaint, ReasonCrossesEdge, ReasonStrayMark, ReasonLittleInk, ReasonTwoLines,
		ReasonNeighbour, ReasonPrinted, ReasonOtherPrint, ReasonStamp, ReasonStroke, ReasonCross,
		ReasonDot, ReasonInitials, ReasonOffPage, ReasonLayout, ReasonNoLayout}
}

// Thresholds in millimetres (and square millimetres), whatever the
// resolution.
const (
	minSignatureSpanMM = 20  // shorter: initials, a dot, a tick
	minSignatureInkMM2 = 6   // less ink: a stroke or two
	speckMM2           = 0.2 // smaller: dust, noise
	ruleMinMM          = 12  // a straight run this long is a printed line (a hand's strokes are shorter, or not straight)
	ruleMaxThickMM     = 1.1 // printed lines are thinner than this, blur included
	frameSearchMM      = 3.5 // how far from where the layout says the frame may be
	// A straight run in the box shorter than handJoinMaxMM with ink
	// within handJoinReachMM of it on both sides along handJoinPct per
	// cent of its length is the joins of a line of writing, not print.
	handJoinMaxMM   = 40
	handJoinReachMM = 1
	handJoinPct     = 25
	// faintContrast: a signature whose strokes are not this much darker
	// than the paper around them (of 255) may not survive a copy, a
	// bilevel conversion or a strong compression.
	faintContrast = 75
)

// comp is a connected piece of ink in a crop, and what is known of it.
type comp struct {
	id                int32
	n                 int // pixels
	bounds            image.Rectangle
	inside            int // pixels inside the box
	inNeighbour       int // pixels inside another signer's box
	sx, sy            float64
	sxx, syy, sxy     float64
	maxContrast       uint8
	solid             int // pixels of thick ink
	touchesCropBorder bool
	// what it was found to be
	removed string // "", "text", "label", "dots", "stamp", "line", "solid"
	owner   string // "", "own", "neighbour", "outside"
	tail    bool   // enters from a neighbour's side, not deep
	// sureTail: and mostly lies outside, in the neighbour's box
	sureTail bool
	side     string // the side a tail comes in across
	// bare is its extent without straight bars, once barless has
	// measured it (printSized and framedPrint both ask).
	bare      image.Rectangle
	bareKnown bool
}

func (c *comp) heightMM(pxmm float64) float64 { return float64(c.bounds.Dy()) / pxmm }
func (c *comp) widthMM(pxmm float64) float64  { return float64(c.bounds.Dx()) / pxmm }

// boxView is one box's crop and what the analysis found in it.
type boxView struct {
	c        crop
	w, h     int
	pxmm     float64
	contrast []uint8
	ink      []bool // ink left once printed lines are cleared
	lab      []int32
	comps    []*comp
	box      image.Rectangle   // the box in the crop, refined by its frame
	others   []image.Rectangle // the other signers' boxes, in the crop
	framed   bool              // the box's own frame was found
	offPage  bool
	sigma    float64
	rules    []bool // the printed lines cleared
	hl, vl   []segment
	solid    []bool   // ink thick both ways
	runs     []uint16 // the shorter of the two runs of ink through a pixel
	// textRows are the rows (from, to) of the lines of print found: a pen
	// stroke through a label joins its letters, which the stroke's own
	// shape must not count.
	textRows [][2]int
	// labelBands are the rows where a label not found may lie.
	labelBands [][2]int
	// printMask is where the printed page has print (registered and
	// grown), when the page is known; printCleared, how many of the box's
	// pixels of ink it took away.
	printMask    []bool
	printCleared int
}

// analyse decides what a box holds; explain also draws why.
func analyse(g *image.Gray, b Box, others []Box, dpi int, bed *bedMap, printed Printed, explain bool) Verdict {
	v := newBoxView(g, b, others, dpi, bed, printed)
	verdict := v.decide(b)
	if explain {
		verdict.Explain = v.explain(v.rules)
	}
	return verdict
}

// analysisDPI is the resolution boxes are analysed at: pens, print and
// stamps read as well there as finer, and a 300 dpi page's crops are
// less than half the pixels.
const analysisDPI = 200

func newBoxView(g *image.Gray, b Box, others []Box, dpi int, bed *bedMap, printed Printed) *boxView {
	at := min(dpi, analysisDPI)
	pxmm := float64(at) / 25.4
	tl, bl := b.Corners[0], b.Corners[3]
	bh := math.Hypot(bl.X-tl.X, bl.Y-tl.Y) * float64(at) / float64(dpi)
	// A margin wide enough to see a neighbour's strokes come in, the
	// label above or below, and the frame where the layout is a little off.
	margin := int(math.Ceil(math.Max(9*pxmm, bh*0.45)))
	c, offPage := cutBox(g, b, dpi, at, margin, bed)
	v := &boxView{c: c, w: c.img.Rect.Dx(), h: c.img.Rect.Dy(), pxmm: pxmm, offPage: offPage}
	v.box = image.Rect(c.margin, c.margin, c.margin+c.w, c.margin+c.h)
	for _, o := range others {
		v.others = append(v.others, c.rectOf(o))
	}
	v.contrast, v.sigma = localContrast(c.img, c.off, pxmm)
	v.ink = inkMask(v.contrast, v.w, v.h, v.sigma, pxmm)
	var before []bool
	if printed != nil {
		before = slices.Clone(v.ink)
	}
	v.hl, v.vl = v.clearRules()
	v.refine(v.hl, v.vl)
	if printed != nil {
		// The page is known: what it printed goes, the label and any
		// print in the box with it, whatever it looks like.
		v.printCleared = v.subtractPrinted(printed, before)
	}
	v.label()
	v.lineRemnants()
	return v
}

// lineRemnants takes out the small pieces that lie along a printed line,
// within a millimetre of it: its corners, its blurred ends.
func (v *boxView) lineRemnants() {
	d := int(math.Ceil(0.7 * v.pxmm))
	small := int(1.2 * v.pxmm * v.pxmm)
	for _, c := range v.comps {
		if c.n > small {
			continue
		}
		b := c.bounds
		for _, sg := range v.hl {
			if b.Min.Y >= sg.pos-sg.thick/2-d && b.Max.Y <= sg.pos+sg.thick/2+d+1 && b.Min.X >= sg.a-d && b.Max.X <= sg.b+d+1 {
				c.removed = "line"
			}
		}
		for _, sg := range v.vl {
			if b.Min.X >= sg.pos-sg.thick/2-d && b.Max.X <= sg.pos+sg.thick/2+d+1 && b.Min.Y >= sg.a-d && b.Max.Y <= sg.b+d+1 {
				c.removed = "line"
			}
		}
		// A frame's corner: where a line across meets a line down.
		for _, hs := range v.hl {
			for _, vs := range v.vl {
				corner := image.Rect(vs.pos-vs.thick/2-d, hs.pos-hs.thick/2-d, vs.pos+vs.thick/2+d+1, hs.pos+hs.thick/2+d+1)
				if b.In(corner) && (abs(vs.pos-hs.a) <= 2*d || abs(vs.pos-hs.b) <= 2*d) {
					c.removed = "line"
				}
			}
		}
		// A frame's corner where its lines, cleared, end short of it in
		// a blot of toner: near both lines' ends.
		reach, r := int(3*v.pxmm), int(math.Ceil(1.2*v.pxmm))
		for _, hs := range v.hl {
			for _, vs := range v.vl {
				nearH := abs(vs.pos-hs.a) <= reach || abs(vs.pos-hs.b) <= reach
				nearV := abs(hs.pos-vs.a) <= reach || abs(hs.pos-vs.b) <= reach
				blot := image.Rect(vs.pos-vs.thick/2-r, hs.pos-hs.thick/2-r, vs.pos+vs.thick/2+r+1, hs.pos+hs.thick/2+r+1)
				if nearH && nearV && b.In(blot) {
					c.removed = "line"
				}
			}
		}
	}
}

// localContrast is how much darker each pixel is than the paper around
// it (a high percentile in tiles of about 3 mm, interpolated), and the
// noise of the paper (a robust deviation).
func localContrast(img *image.Gray, off []bool, pxmm float64) ([]uint8, float64) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	tile := max(8, int(3.5*pxmm))
	tw, th := (w+tile-1)/tile, (h+tile-1)/tile
	bg := make([]float32, tw*th)
	var hist [256]int
	for ty := range th {
		for tx := range tw {
			clear(hist[:])
			n := 0
			for y := ty * tile; y < min(h, (ty+1)*tile); y++ {
				for x := tx * tile; x < min(w, (tx+1)*tile); x++ {
					if off != nil && off[y*w+x] {
						continue // what lies off the sheet says nothing of its paper
					}
					hist[img.Pix[y*img.Stride+x]]++
					n++
				}
			}
			if n == 0 {
				bg[ty*tw+tx] = -1 // no paper here: the neighbours' tone
				continue
			}
			// The paper is the bright majority of a tile: its 70th
			// percentile, even where ink covers a good part of it.
			acc, want := 0, n*3/10
			val := 255
			for l := 255; l >= 0; l-- {
				acc += hist[l]
				if acc > want {
					val = l
					break
				}
			}
			bg[ty*tw+tx] = float32(val)
		}
	}
	// A tile that is mostly ink reads darker than the paper: take the
	// brightest of each tile and its neighbours.
	bright := make([]float32, len(bg))
	for ty := range th {
		for tx := range tw {
			m := bg[ty*tw+tx]
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					x, y := tx+dx, ty+dy
					if x >= 0 && y >= 0 && x < tw && y < th {
						m = max(m, bg[y*tw+x])
					}
				}
			}
			bright[ty*tw+tx] = m
		}
	}
	contrast := make([]uint8, w*h)
	var dev [256]int
	// Bilinear between tile centres: the columns' tiles and weights once,
	// each row's tone across the tiles once.
	txs, tx1s, axs := make([]int, w), make([]int, w), make([]float32, w)
	for x := range w {
		fx := (float32(x)+0.5)/float32(tile) - 0.5
		txs[x] = max(0, min(tw-1, int(fx)))
		tx1s[x] = min(tw-1, txs[x]+1)
		axs[x] = max(0, min(1, fx-float32(txs[x])))
	}
	tone := make([]float32, tw)
	for y := range h {
		fy := (float32(y)+0.5)/float32(tile) - 0.5
		ty := max(0, min(th-1, int(fy)))
		ty1 := min(th-1, ty+1)
		ay := max(0, min(1, fy-float32(ty)))
		for tx := range tw {
			tone[tx] = bright[ty*tw+tx]*(1-ay) + bright[ty1*tw+tx]*ay
		}
		row := img.Pix[y*img.Stride : y*img.Stride+w]
		out := contrast[y*w : y*w+w]
		for x, v := range row {
			ax := axs[x]
			p := tone[txs[x]]*(1-ax) + tone[tx1s[x]]*ax
			d := max(0, min(255, p-float32(v)))
			if off != nil && off[y*w+x] {
				d = 0
			}
			out[x] = uint8(d)
			dev[uint8(d)]++
		}
	}
	// The noise: the contrast's median over the paper, which is most of
	// the crop, scaled as a half-normal's.
	acc := 0
	med := 0
	for l, n := range dev {
		acc += n
		if acc >= w*h/2 {
			med = l
			break
		}
	}
	return contrast, math.Max(1.5, float64(med)*1.48)
}

// inkMask marks the ink: pixels clearly darker than the paper around them,
// in pieces that somewhere are darker still (hysteresis: a pale pen's
// stroke stays whole, the paper's noise does not seed anything).
func inkMask(contrast []uint8, w, h int, sigma, pxmm float64) []bool {
	lo := uint8(math.Min(60, math.Max(12, 3.5*sigma)))
	hi := uint8(math.Min(90, math.Max(float64(lo)+10, 5.5*sigma)))
	mask := make([]bool, w*h)
	for i, c := range contrast {
		mask[i] = c >= lo
	}
	keep := make([]bool, w*h)
	minSeed := max(2, int(0.02*pxmm*pxmm))
	eachComponent(mask, w, h, func(pixels []int) {
		seeds := 0
		for _, i := range pixels {
			if contrast[i] >= hi {
				seeds++
			}
		}
		if seeds >= minSeed {
			for _, i := range pixels {
				keep[i] = true
			}
		}
	})
	return keep
}

// segment is a printed straight line found in a crop: horizontal (at row
// pos, from a to b) or vertical (at column pos), with its thickness.
type segment struct {
	pos, a, b, thick int
}

// clearRules takes printed lines out of the ink: runs of ink at least
// ruleMinMM long along a row (or a column), over which the ink is thin.
// A stroke that crosses a line keeps its pixels: there the ink is thick
// across the line. It returns the lines found.
func (v *boxView) clearRules() (hLines, vLines []segment) {
	minRun := int(ruleMinMM * v.pxmm)
	maxThick := max(2, int(math.Ceil(ruleMaxThickMM*v.pxmm)))
	gap := max(1, int(0.35*v.pxmm)) // a line broken by noise or a fax, here and there
	w, h := v.w, v.h
	rule := make([]bool, w*h)
	// Vertical extent of ink through each pixel, and horizontal.
	vert := runLengths(v.ink, w, h, true)
	horz := runLengths(v.ink, w, h, false)
	v.solid = make([]bool, w*h)
	v.runs = make([]uint16, w*h)
	longest := uint16(0)
	for i := range v.ink {
		r := min(vert[i], horz[i])
		v.runs[i] = r
		longest = max(longest, r)
	}
	// Ink so thick that a 3 mm disc fits in it is no pen's: a shadow, the
	// bed, a filled shape. Such a disc needs runs of 3 mm both ways: with
	// none, there is nothing to measure.
	if float64(longest) >= 3*v.pxmm {
		dist := chamfer(v.ink, w, h)
		solid := uint16(1.5 * v.pxmm * 3) // chamfer units: 3 a pixel
		for i := range v.ink {
			v.solid[i] = dist[i] >= solid
		}
	}
	// A line's blurred edges reach pad beyond its rows.
	pad := max(1, int(0.3*v.pxmm))
	rs := ruleScan{minRun: minRun, maxThick: maxThick, gap: gap}
	hs := v.withoutWriting(mergeSegments(rs.rows(v.ink, vert, w, h, rule)), rule, pad)
	vs := mergeSegments(rs.columns(v.ink, horz, w, h, rule))
	// The blurred edges of a line, broken by noise into dashes too short
	// to be runs of their own: the band along a line, where the ink is no
	// thicker than the line, is the line's.
	for _, sg := range hs {
		for y := max(0, sg.pos-sg.thick/2-pad); y <= min(h-1, sg.pos+sg.thick/2+pad); y++ {
			for x := max(0, sg.a-pad); x <= min(w-1, sg.b+pad); x++ {
				if i := y*w + x; v.ink[i] && int(vert[i]) <= sg.thick+2*pad {
					rule[i] = true
				}
			}
		}
	}
	for _, sg := range vs {
		for x := max(0, sg.pos-sg.thick/2-pad); x <= min(w-1, sg.pos+sg.thick/2+pad); x++ {
			for y := max(0, sg.a-pad); y <= min(h-1, sg.b+pad); y++ {
				if i := y*w + x; v.ink[i] && int(horz[i]) <= sg.thick+2*pad {
					rule[i] = true
				}
			}
		}
	}
	for i, r := range rule {
		if r {
			v.ink[i] = false
		}
	}
	v.rules = rule
	return hs, vs
}

// withoutWriting drops from the lines found along rows those that are a
// hand's: in a line of cursive the joins between letters can run straight
// and flat for a centimetre or two, and clearing them as print cuts the
// word into strokes that no longer read as writing. Such a run lies in
// the box, away from its frame, is shorter than a printed rule across a
// box, and has ink pressed against it on both sides along much of its
// length (the letters it joins); a printed line stands clear, crossed here
// and there, or carries writing on one side only. The pixels a dropped
// line had taken are given back to the ink. The ink against it is looked
// for beyond pad, the reach of the line's own blurred edges.
func (v *boxView) withoutWriting(hs []segment, rule []bool, pad int) []segment {
	frame := int(frameSearchMM * v.pxmm)
	reach := max(1, int(math.Round(handJoinReachMM*v.pxmm)))
	inkAt := func(x, y int) bool { return y >= 0 && y < v.h && v.ink[y*v.w+x] }
	return slices.DeleteFunc(hs, func(sg segment) bool {
		n := sg.b - sg.a + 1
		if float64(n) >= handJoinMaxMM*v.pxmm || sg.pos < v.box.Min.Y+frame || sg.pos > v.box.Max.Y-frame {
			return false
		}
		// The rows mergeSegments joined: pos is their middle.
		top := sg.pos - (sg.thick-1)/2
		bot := top + sg.thick - 1
		above, below := 0, 0
		for x := sg.a; x <= sg.b; x++ {
			up, down := false, false
			for d := 1; d <= reach; d++ {
				up = up || inkAt(x, top-pad-d)
				down = down || inkAt(x, bot+pad+d)
			}
			if up {
				above++
			}
			if down {
				below++
			}
		}
		if 100*min(above, below) < handJoinPct*n {
			return false
		}
		for y := max(0, top); y <= min(v.h-1, bot); y++ {
			for x := sg.a; x <= sg.b; x++ {
				rule[y*v.w+x] = false
			}
		}
		return true
	})
}

// ruleScan finds printed lines along rows: runs at least minRun long,
// broken by no gap wider than gap, inked nearly all along.
type ruleScan struct{ minRun, maxThick, gap int }

// rows scans a w×h mask row by row; ext is each pixel's extent across the
// rows (a line is thin across). It marks the line's thin pixels in rule and
// returns the lines, pos being the row.
func (rs ruleScan) rows(ink []bool, ext []uint16, w, h int, rule []bool) []segment {
	var out []segment
	for y := range h {
		row := ink[y*w : y*w+w]
		rowExt := ext[y*w : y*w+w]
		run, start, last, count := 0, -1, -1, 0
		flush := func() {
			// A printed line is ink nearly all along: the feet of a line
			// of type, however close, leave a gap at every letter.
			if run >= rs.minRun && count*100 >= 92*run {
				thick := 0
				for x := start; x <= last; x++ {
					if row[x] && int(rowExt[x]) <= rs.maxThick {
						rule[y*w+x] = true
						thick = max(thick, int(rowExt[x]))
					}
				}
				out = append(out, segment{pos: y, a: start, b: last, thick: thick})
			}
			run, start, last, count = 0, -1, -1, 0
		}
		for x, on := range row {
			// A stroke crossing the line is thick there: the run goes on
			// through it (only its thin pixels are the line's).
			if !on {
				continue
			}
			if start < 0 {
				start = x
			} else if x-last-1 > rs.gap {
				flush()
				start = x
			}
			last = x
			run = last - start + 1
			count++
		}
		flush()
	}
	return out
}

// columns is rows down the columns, pos being the column: every column's
// run followed at once, row by row, so that memory is read in order.
func (rs ruleScan) columns(ink []bool, ext []uint16, w, h int, rule []bool) []segment {
	var out []segment
	run, start, last, count := make([]int, w), make([]int, w), make([]int, w), make([]int, w)
	for x := range w {
		start[x], last[x] = -1, -1
	}
	flush := func(x int) {
		if run[x] >= rs.minRun && count[x]*100 >= 92*run[x] {
			thick := 0
			for y := start[x]; y <= last[x]; y++ {
				if i := y*w + x; ink[i] && int(ext[i]) <= rs.maxThick {
					rule[i] = true
					thick = max(thick, int(ext[i]))
				}
			}
			out = append(out, segment{pos: x, a: start[x], b: last[x], thick: thick})
		}
		run[x], start[x], last[x], count[x] = 0, -1, -1, 0
	}
	for y := range h {
		for x, on := range ink[y*w : y*w+w] {
			if !on {
				continue
			}
			if start[x] < 0 {
				start[x] = y
			} else if y-last[x]-1 > rs.gap {
				flush(x)
				start[x] = y
			}
			last[x] = y
			run[x] = last[x] - start[x] + 1
			count[x]++
		}
	}
	for x := range w {
		flush(x)
	}
	// In the order of the columns, as the rows' are in theirs.
	slices.SortStableFunc(out, func(a, b segment) int { return a.pos - b.pos })
	return out
}

// transpose turns a w×h raster into its h×w transpose.
func transpose[T any](a []T, w, h int) []T {
	out := make([]T, len(a))
	const block = 32 // in tiles, for the cache
	for by := 0; by < h; by += block {
		for bx := 0; bx < w; bx += block {
			for y := by; y < min(h, by+block); y++ {
				for x := bx; x < min(w, bx+block); x++ {
					out[x*h+y] = a[y*w+x]
				}
			}
		}
	}
	return out
}

// chamfer is each ink pixel's distance to the nearest paper, in thirds of
// a pixel (the 3-4 chamfer metric, two passes).
func chamfer(ink []bool, w, h int) []uint16 {
	const big = math.MaxUint16 / 2
	d := make([]uint16, len(ink))
	for i, on := range ink {
		if on {
			d[i] = big
		}
	}
	at := func(x, y int) uint16 {
		if x < 0 || y < 0 || x >= w || y >= h {
			return 0
		}
		return d[y*w+x]
	}
	for y := range h {
		for x := range w {
			i := y*w + x
			if d[i] == 0 {
				continue
			}
			d[i] = min(d[i], at(x-1, y)+3, at(x, y-1)+3, at(x-1, y-1)+4, at(x+1, y-1)+4)
		}
	}
	for y := h - 1; y >= 0; y-- {
		for x := w - 1; x >= 0; x-- {
			i := y*w + x
			if d[i] == 0 {
				continue
			}
			d[i] = min(d[i], at(x+1, y)+3, at(x, y+1)+3, at(x+1, y+1)+4, at(x-1, y+1)+4)
		}
	}
	return d
}

// runLengths is, for each ink pixel, the length of the run of ink through
// it down its column (vertical) or along its row.
func runLengths(ink []bool, w, h int, vertical bool) []uint16 {
	out := make([]uint16, len(ink))
	if vertical {
		// Row by row, in memory's order: down, each pixel's count of ink
		// above it and itself; up, the count at the run's foot.
		for y := range h {
			for x, on := range ink[y*w : y*w+w] {
				if on {
					n := uint16(1)
					if y > 0 && out[(y-1)*w+x] < math.MaxUint16 {
						n += out[(y-1)*w+x]
					}
					out[y*w+x] = n
				}
			}
		}
		for y := h - 2; y >= 0; y-- {
			for x, on := range ink[y*w : y*w+w] {
				if on && ink[(y+1)*w+x] {
					out[y*w+x] = out[(y+1)*w+x]
				}
			}
		}
		return out
	}
	for y := range h {
		row := ink[y*w : (y+1)*w]
		for x := 0; x < w; {
			if !row[x] {
				x++
				continue
			}
			x0 := x
			for x < w && row[x] {
				x++
			}
			n := uint16(min(x-x0, math.MaxUint16))
			for k := x0; k < x; k++ {
				out[y*w+k] = n
			}
		}
	}
	return out
}

// mergeSegments joins the rows (or columns) of one thick line into one
// segment at its middle.
func mergeSegments(s []segment) []segment {
	slices.SortFunc(s, func(a, b segment) int { return a.pos - b.pos })
	var out []segment
	for _, x := range s {
		if n := len(out); n > 0 {
			last := &out[n-1]
			lastEnd := last.pos + last.thick/2
			if x.pos-lastEnd <= 2 && x.a < last.b && x.b > last.a {
				// The same line, a row further.
				top := last.pos - last.thick/2
				last.a, last.b = min(last.a, x.a), max(last.b, x.b)
				last.thick = x.pos - top + 1
				last.pos = (top + x.pos) / 2
				continue
			}
		}
		x.thick = 1
		out = append(out, x)
	}
	return out
}

// refine moves the box onto its own printed frame, when the frame is found
// near where the layout says: a layout off by a millimetre or two then
// changes nothing.
func (v *boxView) refine(hl, vl []segment) {
	nb := v.box
	search := int(frameSearchMM * v.pxmm)
	pick := func(lines []segment, want, from, to int) (segment, bool) {
		best, ok, bestD := segment{}, false, search+1
		for _, s := range lines {
			overlap := min(s.b, to) - max(s.a, from)
			if overlap < (to-from)/2 {
				continue // a line that does not run along this side
			}
			if d := abs(s.pos - want); d <= search && d < bestD {
				best, ok, bestD = s, true, d
			}
		}
		return best, ok
	}
	top, okT := pick(hl, nb.Min.Y, nb.Min.X, nb.Max.X)
	bot, okB := pick(hl, nb.Max.Y, nb.Min.X, nb.Max.X)
	left, okL := pick(vl, nb.Min.X, nb.Min.Y, nb.Max.Y)
	right, okR := pick(vl, nb.Max.X, nb.Min.Y, nb.Max.Y)
	r := nb
	found := 0
	if okT {
		r.Min.Y = top.pos
		found++
	}
	if okB {
		r.Max.Y = bot.pos
		found++
	}
	if okL {
		r.Min.X = left.pos
		found++
	}
	if okR {
		r.Max.X = right.pos
		found++
	}
	// Only a frame that keeps the box's size is its frame: two sides of
	// another thing nearby are not.
	if found >= 2 && r.Dx() > nb.Dx()*3/4 && r.Dy() > nb.Dy()/2 && r.Dx() < nb.Dx()*5/4 && r.Dy() < nb.Dy()*3/2 {
		v.box = r
		v.framed = found >= 3
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// label finds the pieces of ink and what is known of each.
func (v *boxView) label() {
	v.lab = make([]int32, len(v.ink))
	eachComponent(v.ink, v.w, v.h, v.addComp)
}

// addComp makes a piece of ink of pixels, labelled with the next id.
func (v *boxView) addComp(pixels []int) {
	w := v.w
	inner := v.box.Inset(max(1, int(0.25*v.pxmm)))
	id := int32(len(v.comps) + 1) // ids index comps from 1
	c := &comp{id: id, n: len(pixels)}
	minX, minY, maxX, maxY := w, v.h, -1, -1
	for _, i := range pixels {
		v.lab[i] = id
		x, y := i%w, i/w
		p := image.Pt(x, y)
		if p.In(inner) {
			c.inside++
		} else {
			for _, o := range v.others {
				if p.In(o.Inset(-int(1 * v.pxmm))) {
					c.inNeighbour++
					break
				}
			}
		}
		fx, fy := float64(x), float64(y)
		c.sx, c.sy = c.sx+fx, c.sy+fy
		c.sxx, c.syy, c.sxy = c.sxx+fx*fx, c.syy+fy*fy, c.sxy+fx*fy
		c.maxContrast = max(c.maxContrast, v.contrast[i])
		if v.solid[i] {
			c.solid++
		}
		if x == 0 || y == 0 || x == w-1 || y == v.h-1 {
			c.touchesCropBorder = true
		}
		minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
	}
	c.bounds = image.Rect(minX, minY, maxX+1, maxY+1)
	v.comps = append(v.comps, c)
}

// textLike: a piece as tall as printed text (letters, or letters run
// together by the blur into a word).
func (v *boxView) textLike(c *comp) bool {
	hmm := c.heightMM(v.pxmm)
	return hmm >= 0.6 && hmm <= maxTextMM && c.widthMM(v.pxmm) <= 90
}

// maxTextMM is the tallest printed text taken for a form's own: a 12 point
// line, ascenders to descenders. Signatures are written larger. A label
// is smaller still: 10 points at most.
const (
	maxTextMM  = 4.3
	maxLabelMM = 3.5
)

// printedText finds lines of printed text among the pieces: text of one
// height on a straight baseline, small. Hands wobble; type does not. A
// line is the box's label when its length is the label's (or, with no
// label known, when it runs along the box's top or bottom), and is left
// out; other printed text in the box is reported.
func (v *boxView) printedText(label string) (labelFound, other bool) {
	var cand []*comp
	for _, c := range v.comps {
		if c.removed == "" && v.textLike(c) {
			cand = append(cand, c)
		}
	}
	slices.SortFunc(cand, func(a, b *comp) int { return a.bounds.Min.X - b.bounds.Min.X })
	used := make([]bool, len(cand))
	// The label's length in letters, whole or any run of its words: a
	// stroke through it joins some of its words to the stroke, and the
	// rest is still the label.
	var words []int
	for _, wd := range strings.Fields(label) {
		n := 0
		for _, r := range wd {
			if !unicode.IsSpace(r) {
				n++
			}
		}
		words = append(words, n)
	}
	var lengths []int
	for i := range words {
		n := 0
		for _, k := range words[i:] {
			n += k
			lengths = append(lengths, n)
		}
	}
	for i := range cand {
		if used[i] {
			continue
		}
		line := []*comp{cand[i]}
		used[i] = true
		span := cand[i].bounds
		for j := i + 1; j < len(cand); j++ {
			if used[j] {
				continue
			}
			c := cand[j]
			hgt := float64(max(span.Dy(), c.bounds.Dy()))
			if float64(c.bounds.Min.X-span.Max.X) > 1.6*hgt+0.6*v.pxmm {
				break
			}
			// Same line: their vertical extents mostly overlap.
			ov := min(span.Max.Y, c.bounds.Max.Y) - max(span.Min.Y, c.bounds.Min.Y)
			if float64(ov) >= 0.5*float64(min(span.Dy(), c.bounds.Dy())) {
				line = append(line, c)
				used[j] = true
				span = span.Union(c.bounds)
			}
		}
		// In the box, printed text is a label's size (body text stays
		// outside boxes): writing taller than that is left alone.
		tallest := maxTextMM
		if image.Pt(span.Min.X+span.Dx()/2, span.Min.Y+span.Dy()/2).In(v.box) {
			tallest = maxLabelMM
		}
		if float64(span.Dx()) < 3*v.pxmm || float64(span.Dy()) > tallest*v.pxmm*1.1 || !v.typeset(line, span) {
			continue
		}
		// The label is small, and lies along the box's top or bottom or
		// outside it; with its text known, its length is that text's at
		// this height (a letter is 0.3 to 1 of the full height wide).
		// Anything else printed in the box is reported, never silently
		// dropped: a hand that writes neatly must not vanish as print.
		cy := float64(span.Min.Y+span.Max.Y) / 2
		edge := math.Abs(cy-float64(v.box.Min.Y)) < 0.4*float64(v.box.Dy()) || math.Abs(cy-float64(v.box.Max.Y)) < 0.4*float64(v.box.Dy()) ||
			!image.Pt(span.Min.X+span.Dx()/2, int(cy)).In(v.box)
		isLabel := edge && float64(span.Dy()) <= maxLabelMM*v.pxmm
		if len(lengths) > 0 {
			isLabel = isLabel && slices.ContainsFunc(lengths, func(letters int) bool {
				per := float64(span.Dx()) / float64(letters) / float64(span.Dy())
				return per >= 0.3 && per <= 1.0
			})
		}
		centred := image.Pt(span.Min.X+span.Dx()/2, int(cy)).In(v.box)
		if !isLabel && centred && len(line) < 6 {
			// A few pieces inside the box, square as they may
			// stand: a hand's letters as likely as print. They stay ink.
			continue
		}
		pad := int(0.4 * v.pxmm)
		v.textRows = append(v.textRows, [2]int{span.Min.Y - pad, span.Max.Y + pad})
		// The line's small marks go with it: the dots of its i's, its
		// accents and stops, too small to be taken for letters.
		near := image.Rect(span.Min.X-pad, span.Min.Y-2*pad, span.Max.X+pad, span.Max.Y+pad)
		for _, c := range v.comps {
			if c.removed == "" && c.bounds.In(near) && c.widthMM(v.pxmm) <= 0.9 && c.heightMM(v.pxmm) <= 0.9 {
				line = append(line, c)
			}
		}
		inBox := 0
		for _, c := range line {
			inBox += c.inside
			c.removed = "text"
			if isLabel {
				c.removed = "label"
			}
		}
		if inBox > 0 {
			if isLabel {
				labelFound = true
			} else {
				other = true
			}
		}
	}
	return labelFound, other
}

// typeset reports whether a line of pieces stands as type does: the
// lowest ink of most columns on one baseline, the highest of most at one
// of two heights (x-height and capitals).
func (v *boxView) typeset(line []*comp, span image.Rectangle) bool {
	ids := map[int32]bool{}
	for _, c := range line {
		ids[c.id] = true
	}
	var bottoms, tops []int
	for x := span.Min.X; x < span.Max.X; x++ {
		top, bot := -1, -1
		for y := span.Min.Y; y < span.Max.Y; y++ {
			if ids[v.lab[y*v.w+x]] {
				if top < 0 {
					top = y
				}
				bot = y
			}
		}
		if top >= 0 {
			tops, bottoms = append(tops, top), append(bottoms, bot)
		}
	}
	if len(bottoms) < 6 {
		return false
	}
	tol := max(1, int(math.Round(0.1*float64(span.Dy())+0.06*v.pxmm)))
	mb := medianInt(bottoms)
	onBase := 0
	for _, b := range bottoms {
		if abs(b-mb) <= tol {
			onBase++
		}
	}
	// The two commonest heights of the tops.
	counts := map[int]int{}
	for _, t := range tops {
		counts[t/(tol+1)]++
	}
	first, second := 0, 0
	for k, n := range counts {
		n += counts[k+1] // a level split across two bins
		if n > first {
			first, second = n, first
		} else if n > second {
			second = n
		}
	}
	flatBase := float64(onBase) / float64(len(bottoms))
	levels := math.Min(1, float64(first+second)/float64(len(tops)))
	return flatBase >= 0.6 && levels >= 0.6
}

func medianInt(v []int) int {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// dottedLines takes out lines of dots: small round pieces in a row at a
// regular spacing (a line to sign on).
func (v *boxView) dottedLines() bool {
	var dots []*comp
	for _, c := range v.comps {
		if c.removed == "" && c.widthMM(v.pxmm) <= 1.3 && c.heightMM(v.pxmm) <= 1.3 {
			dots = append(dots, c)
		}
	}
	slices.SortFunc(dots, func(a, b *comp) int { return a.bounds.Min.X - b.bounds.Min.X })
	found := false
	used := make([]bool, len(dots))
	for i := range dots {
		if used[i] {
			continue
		}
		chain := []*comp{dots[i]}
		for j := i + 1; j < len(dots); j++ {
			last := chain[len(chain)-1]
			cy := func(c *comp) float64 { return float64(c.bounds.Min.Y+c.bounds.Max.Y) / 2 }
			gap := float64(dots[j].bounds.Min.X-last.bounds.Max.X) / v.pxmm
			if gap > 3 {
				break
			}
			if math.Abs(cy(dots[j])-cy(last)) <= 0.4*v.pxmm && gap >= 0.2 {
				chain = append(chain, dots[j])
			}
		}
		if len(chain) >= 8 {
			found = true
			for _, c := range chain {
				c.removed = "dots"
			}
			for k := range dots {
				for _, c := range chain {
					if dots[k] == c {
						used[k] = true
					}
				}
			}
		}
	}
	return found
}

// ring is a round stamp's ring found in a crop.
type ring struct {
	cx, cy, r float64
}

// stampRings finds the round stamps: ink lying on a circle of 5 to 23 mm
// radius round most of its circumference. The rubber prints patchily and
// a fax breaks the ring into dots, so the circle is found by its edges
// voting for their centres (a Hough transform along each edge's gradient),
// then checked sector by sector.
func (v *boxView) stampRings() []ring {
	w, h := v.w, v.h
	cell := max(1, int(0.5*v.pxmm)) // the accumulator's cell: half a millimetre
	aw, ah := w/cell+1, h/cell+1
	// Radii every half millimetre. The counts are bytes: they stay small
	// at 200 dpi, and the accumulator, voted into all over, stays in the
	// cache.
	rmin, rmax, rstep := 5.0, 23.0, 0.5
	steps := int((rmax-rmin)/rstep) + 1
	acc := make([]uint8, aw*ah*steps)
	img := v.c.img
	// Edge pixels of the ink still in play (every one: a fax prints a
	// ring as dots of a pixel or two), with their gradient.
	votes := 0
	var best uint8
	for _, c := range v.comps {
		if c.removed != "" {
			continue
		}
		b := c.bounds.Intersect(image.Rect(1, 1, w-1, h-1))
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				i := y*w + x
				if v.lab[i] != c.id || v.ink[i-1] && v.ink[i+1] && v.ink[i-w] && v.ink[i+w] {
					continue // not this piece's, or inside its stroke
				}
				p := func(dx, dy int) float64 { return float64(img.Pix[(y+dy)*img.Stride+x+dx]) }
				gx := p(1, -1) + 2*p(1, 0) + p(1, 1) - p(-1, -1) - 2*p(-1, 0) - p(-1, 1)
				gy := p(-1, 1) + 2*p(0, 1) + p(1, 1) - p(-1, -1) - 2*p(0, -1) - p(1, -1)
				g := math.Hypot(gx, gy)
				if g < 40 {
					continue
				}
				// The centre lies along the gradient, on either side (the
				// ring's outer edge and its inner one).
				ux, uy := gx/g/float64(cell), gy/g/float64(cell)
				fx, fy := float64(x)/float64(cell), float64(y)/float64(cell)
				for k := range steps {
					r := (rmin + rstep*float64(k)) * v.pxmm
					slab := acc[k*ah*aw : (k+1)*ah*aw]
					for _, d := range [2]float64{r, -r} {
						cx, cy := int(fx+ux*d), int(fy+uy*d)
						if cx >= 0 && cy >= 0 && cx < aw && cy < ah {
							if i := cy*aw + cx; slab[i] < math.MaxUint8 {
								slab[i]++
								best = max(best, slab[i])
							}
						}
					}
				}
				votes++
			}
		}
	}
	if votes < 20 {
		return nil
	}
	// The strongest candidates, each the best of its neighbourhood (2 mm
	// of radius, 3 mm of centre), checked round the circle: four at most.
	type cand struct {
		n         uint8
		k, cy, cx int
	}
	// Worth checking: a clear peak, and none far weaker than the best (a
	// signature's loops give many weak ones).
	floor := uint8(12)
	if best/4 > floor {
		floor = best / 4
	}
	var cands []cand
	for i, n := range acc {
		if n >= floor {
			k, rest := i/(aw*ah), i%(aw*ah)
			cands = append(cands, cand{n, k, rest / aw, rest % aw})
		}
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return int(b.n) - int(a.n) })
	var out []ring
	var tried []cand
	for _, c := range cands {
		if len(tried) == 4 {
			break
		}
		if slices.ContainsFunc(tried, func(t cand) bool {
			return abs(t.k-c.k) <= 4 && abs(t.cy-c.cy) <= 6 && abs(t.cx-c.cx) <= 6
		}) {
			continue
		}
		tried = append(tried, c)
		rg := ring{cx: (float64(c.cx) + 0.5) * float64(cell), cy: (float64(c.cy) + 0.5) * float64(cell), r: (rmin + rstep*float64(c.k)) * v.pxmm}
		if v.ringCovered(rg) {
			out = append(out, rg)
		}
	}
	if len(out) == 0 {
		out = v.dottedRings(acc, aw, ah, cell, rmin, rstep, steps)
	}
	return out
}

// dottedRings finds the rings a fax or a dry stamp leaves as a string of
// dots: each dot's gradient points away from the dot's own centre, not
// the ring's, so the dots vote by their centres instead, for every centre
// at each radius from them. A ring is then a circle most of whose sectors
// hold one of many separate dots; a signature's strokes do not break into
// a dozen dots along one circle.
func (v *boxView) dottedRings(acc []uint8, aw, ah, cell int, rmin, rstep float64, steps int) []ring {
	maxDot := 2 * v.pxmm
	var dots []*comp
	for _, c := range v.comps {
		if c.removed == "" && float64(max(c.bounds.Dx(), c.bounds.Dy())) <= maxDot {
			dots = append(dots, c)
		}
	}
	if len(dots) < 12 {
		return nil
	}
	clear(acc)
	var best uint8
	for _, d := range dots {
		fx := float64(d.bounds.Min.X+d.bounds.Max.X) / 2 / float64(cell)
		fy := float64(d.bounds.Min.Y+d.bounds.Max.Y) / 2 / float64(cell)
		for k := range steps {
			r := (rmin + rstep*float64(k)) * v.pxmm / float64(cell)
			slab := acc[k*ah*aw : (k+1)*ah*aw]
			n := int(2*math.Pi*r) + 1
			for j := range n {
				s, c := math.Sincos(2 * math.Pi * float64(j) / float64(n))
				cx, cy := int(fx+r*c), int(fy+r*s)
				if cx >= 0 && cy >= 0 && cx < aw && cy < ah {
					if i := cy*aw + cx; slab[i] < math.MaxUint8 {
						slab[i]++
						best = max(best, slab[i])
					}
				}
			}
		}
	}
	if best < 12 {
		return nil
	}
	var out []ring
	type cand struct{ k, cy, cx int }
	var tried []cand
	for len(tried) < 4 {
		bi, bn := -1, uint8(11)
		for i, n := range acc {
			if n > bn {
				bi, bn = i, n
			}
		}
		if bi < 0 {
			break
		}
		k, rest := bi/(aw*ah), bi%(aw*ah)
		c := cand{k, rest / aw, rest % aw}
		tried = append(tried, c)
		// Clear the neighbourhood: 2 mm of radius, 3 mm of centre.
		for kk := max(0, k-4); kk <= min(steps-1, k+4); kk++ {
			for y := max(0, c.cy-6); y <= min(ah-1, c.cy+6); y++ {
				for x := max(0, c.cx-6); x <= min(aw-1, c.cx+6); x++ {
					acc[kk*aw*ah+y*aw+x] = 0
				}
			}
		}
		rg := ring{cx: (float64(c.cx) + 0.5) * float64(cell), cy: (float64(c.cy) + 0.5) * float64(cell), r: (rmin + rstep*float64(c.k)) * v.pxmm}
		// Most sectors hold a dot, and the dots on the circle are many.
		tol := math.Max(0.6*v.pxmm, 0.07*rg.r)
		var sectors [36]bool
		on := 0
		for _, d := range dots {
			x := float64(d.bounds.Min.X+d.bounds.Max.X) / 2
			y := float64(d.bounds.Min.Y+d.bounds.Max.Y) / 2
			if math.Abs(math.Hypot(x-rg.cx, y-rg.cy)-rg.r) <= tol {
				on++
				sectors[int((math.Atan2(y-rg.cy, x-rg.cx)+math.Pi)/(2*math.Pi)*36)%36] = true
			}
		}
		covered := 0
		for _, s := range sectors {
			if s {
				covered++
			}
		}
		// A ring's own text, larger than dots, fills some of its
		// sectors: many dots along most of it are enough.
		if on >= 12 && covered >= 27 || on >= 20 && covered >= 20 {
			out = append(out, rg)
		}
	}
	return out
}

// ringCovered checks a candidate circle: ink near it in most of its 36
// sectors of ten degrees.
func (v *boxView) ringCovered(rg ring) bool {
	tol := math.Max(0.6*v.pxmm, 0.07*rg.r)
	var sectors [36]bool
	var fine [120]bool
	x0, x1 := max(0, int(rg.cx-rg.r-tol)), min(v.w, int(rg.cx+rg.r+tol)+1)
	y0, y1 := max(0, int(rg.cy-rg.r-tol)), min(v.h, int(rg.cy+rg.r+tol)+1)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			id := v.lab[y*v.w+x]
			if id == 0 {
				continue
			}
			// A ring's arcs beyond the box may have been taken for print
			// (a row of its letters, dots): they are still ink on the ring.
			if r := v.comps[id-1].removed; r != "" && r != "text" && r != "label" && r != "dots" {
				continue
			}
			d := math.Hypot(float64(x)-rg.cx, float64(y)-rg.cy)
			if math.Abs(d-rg.r) <= tol {
				a := math.Atan2(float64(y)-rg.cy, float64(x)-rg.cx)
				sectors[int((a+math.Pi)/(2*math.Pi)*36)%36] = true
				fine[int((a+math.Pi)/(2*math.Pi)*120)%120] = true
			}
		}
	}
	covered := 0
	for _, s := range sectors {
		if s {
			covered++
		}
	}
	nf := 0
	for _, s := range fine {
		if s {
			nf++
		}
	}
	// A stamp's ring is a line all round: seen finely it leaves few gaps.
	// A signature's loops and strokes cross a circle here and there, and
	// a small circle most easily: it must be nearly whole.
	return covered >= 27 && (nf >= 112 || nf >= 90 && rg.r >= 6*v.pxmm)
}

// innerRects finds printed rectangles inside the box that are not its
// frame: a rectangular stamp's. Each reaches to the outer edges of its
// lines (a stamp's frame may be a thick band, or two lines taken as one).
func (v *boxView) innerRects() []image.Rectangle {
	near := int(1.5 * v.pxmm)
	// The box's frame runs along its edge and most of its width; a
	// stamp's side may lie as close to the edge (a stamp set low in a box
	// drawn by a line below it) but is shorter.
	isFrame := func(s segment) bool {
		return (abs(s.pos-v.box.Min.Y) <= near || abs(s.pos-v.box.Max.Y) <= near) && (s.b-s.a)*10 >= v.box.Dx()*8
	}
	var out []image.Rectangle
	for i, top := range v.hl {
		if isFrame(top) {
			continue
		}
		for _, bot := range v.hl[i+1:] {
			hgt := bot.pos - top.pos
			if hgt < int(5*v.pxmm) || hgt > int(40*v.pxmm) || isFrame(bot) {
				continue
			}
			a, b := max(top.a, bot.a), min(top.b, bot.b)
			if b-a < int(12*v.pxmm) || b-a < (min(top.b-top.a, bot.b-bot.a))*7/10 {
				continue
			}
			// Sides joining them, at both ends: lines cleared (a thick
			// one's end lies up to its thickness beyond the side), or
			// ink too short to be cleared as a line.
			sides := 0
			for _, s := range v.vl {
				tol := near + max(s.thick, top.thick, bot.thick)
				if s.a <= top.pos+near && s.b >= bot.pos-near && (abs(s.pos-a) <= tol || abs(s.pos-b) <= tol) {
					sides++
				}
			}
			if sides < 2 && v.inkSide(a, top.pos, bot.pos, near+top.thick) && v.inkSide(b, top.pos, bot.pos, near+top.thick) {
				sides = 2
			}
			r := image.Rect(a, top.pos, b, bot.pos)
			if sides >= 2 && r.Intersect(v.box).Dx()*r.Intersect(v.box).Dy()*10 >= r.Dx()*r.Dy()*6 {
				out = append(out, image.Rect(a, top.pos-top.thick/2, b, bot.pos+bot.thick/2+1))
			}
		}
	}
	return out
}

// inkSide tells whether a side of a frame runs down near column x from
// row y0 to y1: ink or a cleared line within tol of x on nearly every row.
func (v *boxView) inkSide(x, y0, y1, tol int) bool {
	rows, on := 0, 0
	for y := max(0, y0); y < min(v.h, y1); y++ {
		rows++
		for xx := max(0, x-tol); xx <= min(v.w-1, x+tol); xx++ {
			if i := y*v.w + xx; v.ink[i] || v.rules != nil && v.rules[i] {
				on++
				break
			}
		}
	}
	return rows > 0 && on*100 >= rows*90
}

// eachPixel calls fn for each pixel of a piece.
func (v *boxView) eachPixel(c *comp, fn func(x, y int)) {
	for y := c.bounds.Min.Y; y < c.bounds.Max.Y; y++ {
		row := v.lab[y*v.w:]
		for x := c.bounds.Min.X; x < c.bounds.Max.X; x++ {
			if row[x] == c.id {
				fn(x, y)
			}
		}
	}
}

// attribute says whose each remaining piece is: the box's own (most of it
// in the box), a neighbour's (most of it outside, and that mostly in
// another signer's box), or ink from outside that only touches the box.
func (v *boxView) attribute() {
	for _, c := range v.comps {
		if c.removed != "" || c.inside == 0 {
			continue
		}
		out := c.n - c.inside
		switch {
		case c.inside*2 >= c.n:
			c.owner = "own"
		case c.inNeighbour*2 >= out:
			c.owner = "neighbour"
		case c.inside*4 >= c.n || float64(c.inside) >= 6*v.pxmm*v.pxmm:
			c.owner = "own" // a large hand, leaving its box
		default:
			c.owner = "outside"
		}
		// A tail comes in from a neighbour's side; when no more of it is
		// inside than outside, and what is outside reaches into the
		// neighbour's box, it is surely the neighbour's (else it only may
		// be, and the officer looks).
		if side := v.tailSide(c); out > 0 && side != "" {
			c.sureTail = c.inside*10 <= out*13 && c.inNeighbour*100 >= out*15
			// Signatures overflow up and down all the time: across the
			// top or the bottom only what mostly lies outside is a tail.
			c.tail, c.side = c.sureTail || side == "left" || side == "right", side
		}
	}
	// The rest of a tail: pieces right beside it (a letter the pen lifted
	// for), the whole no deeper into the box than a flourish. Only maybe
	// the neighbour's.
	near := int(2.5 * v.pxmm)
	deep := int(16 * v.pxmm)
	for _, t := range v.comps {
		if !t.tail || t.removed != "" {
			continue
		}
		cluster := t.bounds
		for grown := true; grown; {
			grown = false
			for _, c := range v.comps {
				if c.owner != "own" || c.tail || !cluster.Inset(-near).Overlaps(c.bounds) {
					continue
				}
				if v.depthFrom(t.side, cluster.Union(c.bounds)) <= deep {
					c.tail, c.side, grown = true, t.side, true
					cluster = cluster.Union(c.bounds)
				}
			}
		}
	}
}

// besideTails is the tails among the pieces and the pieces joined to
// them through what was cleared as a rule inside the box, away from its
// frame: a neighbour's letters coming in deeper than a tail, cut from it
// where a long flat stroke of theirs was taken for a printed line. The
// frame is left out of the path: the signer's own writing may touch it
// anywhere along a tail's side. Only letters are taken, no larger than
// what is taken already: a signer's own flourish running out over the
// edge is joined the same way to the body of the signature, which is
// larger than the flourish.
func (v *boxView) besideTails(own []*comp) map[*comp]bool {
	out := map[*comp]bool{}
	ids := map[int32]bool{}
	taken := 0
	for _, c := range own {
		if c.tail {
			out[c], ids[c.id] = true, true
			taken += c.n
		}
	}
	if len(out) == 0 || v.rules == nil {
		return out
	}
	inner := v.box.Inset(int(math.Ceil(1.5 * v.pxmm)))
	for grown := true; grown; {
		grown = false
		for _, c := range own {
			if !out[c] && c.n <= taken && c.bounds.Overlaps(inner) && v.joinedThroughRules([]*comp{c}, ids, inner) {
				out[c], ids[c.id], grown = true, true, true
				taken += c.n
			}
		}
	}
	return out
}

// tail reports a piece that comes into the box across a side facing
// another signer's box, and reaches no deeper than a flourish does (16 mm):
// the end of the neighbour's signature, if the box holds nothing else.
func (v *boxView) tail(c *comp) bool { return v.tailSide(c) != "" }

// tailSide is the side a tail comes in across, "" for none.
func (v *boxView) tailSide(c *comp) string {
	deep := int(16 * v.pxmm)
	b, box := c.bounds, v.box
	facing := func(side string) bool { return len(v.facingBoxes(side)) > 0 }
	// A stroke that runs on out of the crop towards the neighbour is long
	// outside (the crop's margin and more): its flourish may come deeper.
	deepFrom := func(beyond bool) int {
		if beyond {
			return int(28 * v.pxmm)
		}
		return deep
	}
	switch {
	case b.Min.X < box.Min.X && b.Max.X-box.Min.X <= deepFrom(b.Min.X == 0) && facing("left"):
		return "left"
	case b.Max.X > box.Max.X && box.Max.X-b.Min.X <= deepFrom(b.Max.X == v.w) && facing("right"):
		return "right"
	case b.Min.Y < box.Min.Y && b.Max.Y-box.Min.Y <= deepFrom(b.Min.Y == 0) && facing("top"):
		return "top"
	case b.Max.Y > box.Max.Y && box.Max.Y-b.Min.Y <= deepFrom(b.Max.Y == v.h) && facing("bottom"):
		return "bottom"
	}
	return ""
}

// cutOffTailMM is how far into the box the last of a neighbour's
// signature may reach once the cleared frame has cut it from the rest:
// the end of a letter, an i's dot.
const cutOffTailMM = 5

// cutOffTail reports ink that is only the last few millimetres of a
// neighbour's signature: clearing the frame line cut it from the rest,
// so little or none of it lies outside and it is not known as a tail by
// its own shape. It is when it is too little ink for a signature, lies
// against a side facing another signer's box, and the ink just beyond
// that edge, across the cleared frame, runs on to the neighbour's box.
func (v *boxView) cutOffTail(own []*comp) bool {
	var bounds image.Rectangle
	inside := 0
	for _, c := range own {
		bounds = bounds.Union(c.bounds)
		inside += c.inside
	}
	if len(own) == 0 || float64(inside) >= minSignatureInkMM2*v.pxmm*v.pxmm {
		return false
	}
	near, reach := int(math.Ceil(1.5*v.pxmm)), int(cutOffTailMM*v.pxmm)
	across := bounds.Inset(-near)
	for _, side := range []string{"left", "right"} {
		against := side == "left" && bounds.Min.X <= v.box.Min.X+near || side == "right" && bounds.Max.X >= v.box.Max.X-near
		if !against || v.depthFrom(side, bounds) > reach {
			continue
		}
		neighbours := v.facingBoxes(side)
		for _, c := range v.comps {
			if c.removed != "" || c.owner == "own" || !c.bounds.Overlaps(across) {
				continue
			}
			if side == "left" && c.bounds.Min.X >= v.box.Min.X || side == "right" && c.bounds.Max.X <= v.box.Max.X {
				continue
			}
			for _, o := range neighbours {
				if c.bounds.Inset(-near).Overlaps(o) {
					return true
				}
			}
		}
	}
	return false
}

// facingBoxes are the other signers' boxes beyond a side of this one,
// within 20 mm of it.
func (v *boxView) facingBoxes(side string) []image.Rectangle {
	near := int(20 * v.pxmm)
	box := v.box
	var facing []image.Rectangle
	for _, o := range v.others {
		var faces bool
		switch side {
		case "left":
			faces = o.Max.X <= box.Min.X+2 && box.Min.X-o.Max.X <= near && o.Max.Y > box.Min.Y && o.Min.Y < box.Max.Y
		case "right":
			faces = o.Min.X >= box.Max.X-2 && o.Min.X-box.Max.X <= near && o.Max.Y > box.Min.Y && o.Min.Y < box.Max.Y
		case "top":
			faces = o.Max.Y <= box.Min.Y+2 && box.Min.Y-o.Max.Y <= near && o.Max.X > box.Min.X && o.Min.X < box.Max.X
		case "bottom":
			faces = o.Min.Y >= box.Max.Y-2 && o.Min.Y-box.Max.Y <= near && o.Max.X > box.Min.X && o.Min.X < box.Max.X
		}
		if faces {
			facing = append(facing, o)
		}
	}
	return facing
}

// depthFrom is how far into the box a rectangle reaches from a side.
func (v *boxView) depthFrom(side string, b image.Rectangle) int {
	switch side {
	case "left":
		return b.Max.X - v.box.Min.X
	case "right":
		return v.box.Max.X - b.Min.X
	case "top":
		return b.Max.Y - v.box.Min.Y
	case "bottom":
		return v.box.Max.Y - b.Min.Y
	}
	return math.MaxInt
}

// initials reports letters with full stops between them (R.R., P.L.G.):
// a few separate letters and at least two dots on their baseline.
func (v *boxView) initials(own []*comp) bool {
	var letters, dots []*comp
	for _, c := range own {
		w, h := c.widthMM(v.pxmm), c.heightMM(v.pxmm)
		switch {
		case w <= 2.4 && h <= 2.4 && h >= 0.2:
			// A full stop of a large hand is up to about 2.4 mm: «M.G.»
			// written 8 mm tall has stops of 1.9 mm.
			dots = append(dots, c)
		case h >= 2:
			letters = append(letters, c)
		}
	}
	letters = v.withoutFrameRemnants(letters)
	if v.blockLetters(letters) {
		return true
	}
	stops := v.fullStops(letters, dots)
	if len(stops) >= 2 {
		return true
	}
	// One stop, after the last letter and with nothing written after it:
	// «P.L.M.» in a joined hand, whose other stops ran into the letters
	// after them. A name signed with a full stop after it is the
	// officer's to look at too.
	if len(stops) == 1 && len(letters) > 0 {
		var all image.Rectangle
		for _, l := range letters {
			all = all.Union(l.bounds)
		}
		last := stops[0].Min.X >= all.Max.X-int(1*v.pxmm)
		for _, c := range own {
			last = last && c.bounds.Min.X <= stops[0].Min.X
		}
		if last && float64(all.Dx()) <= 35*v.pxmm {
			return true
		}
	}
	if len(letters) == 0 || len(letters) > 3 {
		return false
	}
	if len(dots) < 2 {
		return false
	}
	var all image.Rectangle
	for _, l := range letters {
		all = all.Union(l.bounds)
	}
	if float64(all.Dx()) > 35*v.pxmm {
		return false
	}
	// Each dot sits low, on the baseline, just after a letter.
	low := 0
	for _, d := range dots {
		for _, l := range letters {
			after := d.bounds.Min.X >= l.bounds.Max.X-int(1*v.pxmm) && d.bounds.Min.X <= l.bounds.Max.X+int(3*v.pxmm)
			onBase := d.bounds.Max.Y >= l.bounds.Max.Y-int(0.35*float64(l.bounds.Dy())) && d.bounds.Max.Y <= l.bounds.Max.Y+int(1*v.pxmm)
			if after && onBase {
				low++
				break
			}
		}
	}
	return low >= 2
}

// withoutFrameRemnants drops from the letters the short pieces that touch
// the box's frame: the end of a line drawn across the frame, a tick left
// where a rule was cleared. Such a piece is not one of the letters of
// initials, and must not stretch their extent past what initials take.
func (v *boxView) withoutFrameRemnants(letters []*comp) []*comp {
	tallest := 0.0
	for _, l := range letters {
		tallest = max(tallest, l.heightMM(v.pxmm))
	}
	near := int(1.5 * v.pxmm)
	inner := v.box.Inset(near)
	return slices.DeleteFunc(letters, func(l *comp) bool {
		return l.heightMM(v.pxmm) < tallest/2 && !l.bounds.In(inner)
	})
}

// fullStops finds the dots that stand as full stops do: in the lower
// part of the writing (an i's dot and accents sit high) and just after a
// letter. Two of them mark
// initials even when the letters are not known as letters (broken up by
// a fax, or run into a label): a name is written without them.
func (v *boxView) fullStops(letters, dots []*comp) []image.Rectangle {
	if len(letters) == 0 {
		return nil
	}
	var all image.Rectangle
	for _, l := range letters {
		all = all.Union(l.bounds)
	}
	if float64(all.Dx()) > 35*v.pxmm {
		return nil
	}
	var stops []image.Rectangle
	for _, d := range dots {
		b := d.bounds
		if b.Min.Y < all.Min.Y+int(0.4*float64(all.Dy())) || b.Max.Y > all.Max.Y+int(1.5*v.pxmm) {
			continue // high up: an i's dot, an accent
		}
		// Round, as a pen's stop is; a fragment of a broken stroke is
		// long.
		if w, h := d.widthMM(v.pxmm), d.heightMM(v.pxmm); w > 2*h || h > 2*w {
			continue
		}
		// A letter just before it.
		left := image.Rect(b.Min.X-int(3*v.pxmm), b.Min.Y-int(3*v.pxmm), b.Min.X, b.Max.Y+int(v.pxmm))
		before := false
		for _, l := range letters {
			before = before || v.inkIn(l, left)
		}
		if !before {
			continue
		}
		apart := true
		for _, s := range stops {
			if abs(s.Min.X-b.Min.X) < int(2*v.pxmm) {
				apart = false
			}
		}
		if apart {
			stops = append(stops, b)
		}
	}
	// Stops stand on one baseline.
	if len(stops) >= 2 {
		lo, hi := stops[0].Max.Y, stops[0].Max.Y
		for _, b := range stops {
			lo, hi = min(lo, b.Max.Y), max(hi, b.Max.Y)
		}
		if float64(hi-lo) > 1.5*v.pxmm {
			return nil
		}
	}
	return stops
}

// printSized tells whether every piece of own ink, straight bars aside,
// is no taller than printed text.
func (v *boxView) printSized(own []*comp) bool {
	pieces := 0
	var line image.Rectangle
	for _, c := range own {
		b := v.barless(c)
		if b.Empty() {
			continue // bars alone: a frame's remnant
		}
		if float64(b.Dy()) > maxTextMM*1.1*v.pxmm {
			return false
		}
		line = line.Union(b)
		pieces++
	}
	// And all of it on one line along the box's top or bottom, where a
	// label is printed (a hand signs across the middle).
	cy := float64(line.Min.Y+line.Max.Y) / 2
	nearEdge := cy < float64(v.box.Min.Y)+0.3*float64(v.box.Dy()) || cy > float64(v.box.Max.Y)-0.3*float64(v.box.Dy())
	return pieces > 0 && float64(line.Dy()) <= 1.6*maxTextMM*v.pxmm && nearEdge
}

// framedPrint tells whether the ink is writing no taller than print set
// between two straight upright bars: a rectangular stamp («ANNULLATO»)
// whose long sides were cleared as rules, its short sides left. A hand
// does not sign between two straight bars of a frame's height.
func (v *boxView) framedPrint(own []*comp) bool {
	var uprights []image.Rectangle
	var text image.Rectangle
	for _, c := range own {
		b := v.barless(c)
		switch {
		case b.Empty():
			if w, h := c.widthMM(v.pxmm), c.heightMM(v.pxmm); h >= frameSideMM && w <= 2 {
				uprights = append(uprights, c.bounds)
			}
		case float64(b.Dy()) > maxTextMM*1.1*v.pxmm:
			return false // taller than print: a hand's
		default:
			text = text.Union(b)
		}
	}
	if len(uprights) < 2 || text.Empty() {
		return false
	}
	left, right := uprights[0], uprights[0]
	for _, u := range uprights {
		if u.Min.X < left.Min.X {
			left = u
		}
		if u.Max.X > right.Max.X {
			right = u
		}
	}
	// The text between them, and the bars of a like height.
	between := text.Min.X >= left.Max.X && text.Max.X <= right.Min.X
	alike := math.Abs(float64(left.Dy()-right.Dy())) <= 0.25*float64(max(left.Dy(), right.Dy()))
	return between && alike
}

// barless is the extent of a piece without its straight bars down or
// across, longer than print's letters: what is left of a frame (a stamp's
// short sides are not cleared as rules), which a label's letters may
// touch. A bar is a band about a millimetre wide that the piece fills
// from end to end but for small gaps (a photo or a fax breaks it). A
// hand's straight stroke may go too: then the piece may be taken as
// print-sized and left to the officer, never the other way.
func (v *boxView) barless(c *comp) image.Rectangle {
	if !c.bareKnown {
		c.bare, c.bareKnown = v.measureBarless(c), true
	}
	return c.bare
}

func (v *boxView) measureBarless(c *comp) image.Rectangle {
	b := c.bounds
	w, h := b.Dx(), b.Dy()
	mine := make([]bool, w*h)
	for y := range h {
		for x := range w {
			mine[y*w+x] = v.lab[(y+b.Min.Y)*v.w+x+b.Min.X] == c.id
		}
	}
	long := int(math.Ceil(frameSideMM * v.pxmm))
	band := max(2, int(math.Ceil(1.2*v.pxmm)))
	gap := max(1, int(0.4*v.pxmm))
	bar := make([]bool, w*h)
	markBars(mine, bar, w, h, band, long, gap, false)
	markBars(mine, bar, w, h, band, 2*long, gap, true)
	var out image.Rectangle
	for y := range h {
		for x := range w {
			if mine[y*w+x] && !bar[y*w+x] {
				out = out.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return out.Add(b.Min)
}

// frameSideMM is the shortest straight bar taken for a frame's side by
// barless: a stamp's frame is this tall or more; a hand's straight
// strokes are seldom that long and that straight.
const frameSideMM = 8

// markBars marks in bar the pixels of bands (band columns wide, or rows
// when across) that ink covers along more than long, gaps up to gap
// allowed.
func markBars(ink, bar []bool, w, h, band, long, gap int, across bool) {
	n, along := w, h // bands of columns, running down
	if across {
		n, along = h, w
	}
	at := func(i, j int) bool { // i across the bands, j along them
		if across {
			return ink[i*w+j]
		}
		return ink[j*w+i]
	}
	set := func(i, j int) {
		if across {
			bar[i*w+j] = true
		} else {
			bar[j*w+i] = true
		}
	}
	for i0 := 0; i0 <= max(0, n-band); i0++ {
		i1 := min(n, i0+band)
		start, last := -1, -1
		flush := func() {
			if start >= 0 && last-start+1 > long {
				for j := start; j <= last; j++ {
					for i := i0; i < i1; i++ {
						if at(i, j) {
							set(i, j)
						}
					}
				}
			}
		}
		for j := range along {
			covered := false
			for i := i0; i < i1 && !covered; i++ {
				covered = at(i, j)
			}
			if !covered {
				continue
			}
			if start < 0 || j-last > gap+1 {
				flush()
				start = j
			}
			last = j
		}
		flush()
	}
}

// inkIn tells whether a piece has ink inside r.
func (v *boxView) inkIn(c *comp, r image.Rectangle) bool {
	r = r.Intersect(c.bounds)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if v.lab[y*v.w+x] == c.id {
				return true
			}
		}
	}
	return false
}

// blockLetters reports two or three capitals side by side on one
// baseline (their stops, if any, run into them): initials more likely
// than a name. A name written apart has more letters, and cursive joins
// them into wider pieces.
func (v *boxView) blockLetters(letters []*comp) bool {
	// Pieces one above another, or overlapping across, are one letter
	// (a pen lifted within it).
	var big []image.Rectangle
	slices.SortFunc(letters, func(a, b *comp) int { return a.bounds.Min.X - b.bounds.Min.X })
	for _, l := range letters {
		if float64(l.n) < 0.5*v.pxmm*v.pxmm {
			continue
		}
		if n := len(big); n > 0 {
			last := big[n-1]
			ov := min(last.Max.X, l.bounds.Max.X) - max(last.Min.X, l.bounds.Min.X)
			if float64(ov) >= 0.3*float64(min(last.Dx(), l.bounds.Dx())) {
				big[n-1] = last.Union(l.bounds)
				continue
			}
		}
		big = append(big, l.bounds)
	}
	if len(big) < 2 || len(big) > 3 {
		return false
	}
	for _, l := range big {
		w, h := float64(l.Dx())/v.pxmm, float64(l.Dy())/v.pxmm
		if h < 3 || h > 12 || w < 0.35*h || w > 1.3*h {
			return false
		}
		if math.Abs(float64(l.Max.Y-big[0].Max.Y)) > 0.25*float64(big[0].Dy()) {
			return false // not on one baseline
		}
	}
	return true
}

// sideReachMM is how far into the box a piece that crosses a side edge
// may reach and still be taken for what comes in from beyond it.
const sideReachMM = 12

// hugsSideEdge tells whether a piece of ink crosses the box's left or
// right edge and stays within sideReachMM of it.
func (v *boxView) hugsSideEdge(c *comp) bool {
	near, reach := int(1.5*v.pxmm), int(sideReachMM*v.pxmm)
	b := c.bounds
	left := b.Min.X <= v.box.Min.X+near && b.Max.X <= v.box.Min.X+reach
	right := b.Max.X >= v.box.Max.X-near && b.Min.X >= v.box.Max.X-reach
	return left || right
}

// signatureSized tells whether ink of this shape is enough for a
// signature: ink and span enough, and not explained by straight lines.
func (v *boxView) signatureSized(s shape) bool {
	return float64(s.inside)/(v.pxmm*v.pxmm) >= minSignatureInkMM2 && float64(s.bounds.Dx())/v.pxmm >= minSignatureSpanMM && s.lines == 0
}

// shape describes a set of pieces of ink.
type shape struct {
	pixels, inside int
	bounds         image.Rectangle
	lines          int // 1 or 2 when straight lines explain the ink, else 0
	maxContrast    uint8
}

// shapeOf measures the box's own ink. Its extent is that of the pieces
// that matter: a small piece far from the rest (a remnant, a speck of
// toner) does not stretch a pair of initials into a signature.
func (v *boxView) shapeOf(own []*comp) shape {
	var s shape
	var main *comp
	for _, c := range own {
		s.pixels += c.n
		s.inside += c.inside
		s.maxContrast = max(s.maxContrast, c.maxContrast)
		if main == nil || c.n > main.n {
			main = c
		}
	}
	if main != nil {
		s.bounds = main.bounds
		near := int(8 * v.pxmm)
		for grown := true; grown; {
			grown = false
			for _, c := range own {
				if c.bounds.In(s.bounds) {
					continue
				}
				if c.n >= int(0.8*v.pxmm*v.pxmm) || c.bounds.Overlaps(s.bounds.Inset(-near)) {
					s.bounds = s.bounds.Union(c.bounds)
					grown = true
				}
			}
		}
	}
	s.lines = v.straightLines(own)
	return s
}

// straightLines reports whether one or two straight lines explain the ink
// (a line drawn through the box, a cross), and how many; 0 for anything
// that curves like writing.
func (v *boxView) straightLines(own []*comp) int {
	var pts, offText, offBand []image.Point
	var widths []int
	in := func(rows [][2]int, y int) bool {
		for _, r := range rows {
			if y >= r[0] && y <= r[1] {
				return true
			}
		}
		return false
	}
	for _, c := range own {
		v.eachPixel(c, func(x, y int) {
			pts = append(pts, image.Pt(x, y))
			widths = append(widths, int(v.runs[y*v.w+x]))
			if !in(v.textRows, y) {
				offText = append(offText, image.Pt(x, y))
				if !in(v.labelBands, y) {
					offBand = append(offBand, image.Pt(x, y))
				}
			}
		})
	}
	// The letters a stroke ran through are print, not the stroke: what
	// lies on the rows of print is left to the rest (unless that is
	// nearly all of it).
	if len(offText)*10 >= len(pts)*6 {
		pts = offText
	}
	if len(pts) < 10 {
		return 0
	}
	stroke := float64(medianInt(widths))
	// Where a label was not found it may be run into the strokes: they
	// are judged without its bands too, when enough is left of them.
	if len(v.labelBands) > 0 && len(offBand)*10 >= len(pts)*4 && len(offBand) >= 10 {
		if k := v.linesThrough(offBand, stroke, bandLineCover); k > 0 {
			return k
		}
	}
	return v.linesThrough(pts, stroke, 0)
}

// bandLineCover is how much of its length a line found without the
// label's bands must be inked along: a pen's stroke is drawn all along,
// whatever the label does to it (its lines cover 70% or more of their
// length on three of the tuning sets), while lines fitted through what is left
// of a signature once its lower or upper part is set aside join the tops
// of separate letters and cover half of it or less.
const bandLineCover = 0.62

// linesThrough reports whether one or two straight lines, each at least
// 4 mm long, explain the points within a pen's stroke width; each inked
// along at least minCover of its length.
func (v *boxView) linesThrough(pts []image.Point, stroke, minCover float64) int {
	step := max(1, len(pts)/1500)
	var sample []fpt
	for i := 0; i < len(pts); i += step {
		sample = append(sample, fpt{float64(pts[i].X), float64(pts[i].Y)})
	}
	// Within the stroke's own width of the line: a pen's, as the ink mask
	// has it (blur included).
	tol := math.Max(1.5, math.Max(0.35*v.pxmm, 0.6*stroke))
	rest := sample
	for k := 1; k <= 2; k++ {
		n := len(rest)
		if n < 10 {
			break
		}
		// RANSAC over pairs of points, picked the same way every time,
		// then the line refitted to its points by least squares.
		var best line
		bestIn := -1
		for t := 0; t < 150; t++ {
			a := rest[(t*7919+13)%n]
			b := rest[(t*104729+n/2+t*31)%n]
			if a == b {
				continue
			}
			l := lineThrough(a, b)
			in := 0
			for _, p := range rest {
				if l.dist(p) <= tol {
					in++
				}
			}
			if in > bestIn {
				best, bestIn = l, in
			}
		}
		var inl []fpt
		for _, p := range rest {
			if best.dist(p) <= 2*tol {
				inl = append(inl, p)
			}
		}
		best = fitLine(inl)
		var left, on []fpt
		for _, p := range rest {
			if best.dist(p) > tol {
				left = append(left, p)
			} else {
				on = append(on, p)
			}
		}
		if minCover > 0 && best.cover(on, 0.5*v.pxmm) < minCover {
			return 0
		}
		if float64(len(left)) <= 0.12*float64(len(sample)) {
			// A line (or two) must also be long.
			if best.span(sample, tol) >= 4*v.pxmm {
				return k
			}
			return 0
		}
		rest = left
	}
	return 0
}

type fpt struct{ x, y float64 }

// line is a straight line: points p with n·p = c, |n| = 1.
type line struct{ nx, ny, c float64 }

func lineThrough(a, b fpt) line {
	dx, dy := b.x-a.x, b.y-a.y
	l := math.Hypot(dx, dy)
	nx, ny := -dy/l, dx/l
	return line{nx, ny, nx*a.x + ny*a.y}
}

func (l line) dist(p fpt) float64 { return math.Abs(l.nx*p.x + l.ny*p.y - l.c) }

// along is where a point falls along the line's direction.
func (l line) along(p fpt) float64 { return -l.ny*p.x + l.nx*p.y }

// fitLine is the total least squares line through the points.
func fitLine(pts []fpt) line {
	var mx, my float64
	for _, p := range pts {
		mx, my = mx+p.x, my+p.y
	}
	n := float64(len(pts))
	mx, my = mx/n, my/n
	var sxx, syy, sxy float64
	for _, p := range pts {
		dx, dy := p.x-mx, p.y-my
		sxx, syy, sxy = sxx+dx*dx, syy+dy*dy, sxy+dx*dy
	}
	// The direction is the principal axis; the normal is across it.
	theta := 0.5 * math.Atan2(2*sxy, sxx-syy)
	nx, ny := -math.Sin(theta), math.Cos(theta)
	return line{nx, ny, nx*mx + ny*my}
}

// cover is the share of the stretch its points span, in bins of the
// given length along the line, that holds one of them.
func (l line) cover(pts []fpt, bin float64) float64 {
	if len(pts) == 0 {
		return 0
	}
	at := make([]float64, len(pts))
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, p := range pts {
		at[i] = l.along(p)
		lo, hi = math.Min(lo, at[i]), math.Max(hi, at[i])
	}
	filled := make([]bool, int((hi-lo)/bin)+1)
	for _, t := range at {
		filled[int((t-lo)/bin)] = true
	}
	n := 0
	for _, f := range filled {
		if f {
			n++
		}
	}
	return float64(n) / float64(len(filled))
}

// span is how long a stretch of the line its points cover.
func (l line) span(pts []fpt, tol float64) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		if l.dist(p) <= tol {
			t := l.along(p)
			lo, hi = math.Min(lo, t), math.Max(hi, t)
		}
	}
	return hi - lo
}

// decide is the verdict on the box.
func (v *boxView) decide(b Box) Verdict {
	verdict := Verdict{Role: b.Role, Label: b.Label, crop: v.c}
	reasons := map[string]bool{}
	// Lines of dots first: their dots in a row would pass for print.
	v.dottedLines()
	labelFound, otherPrint := v.printedText(b.Label)
	if labelFound || float64(v.printCleared) >= v.pxmm*v.pxmm {
		// The label found and left out, or the printed page's own ink
		// taken away.
		reasons[ReasonPrinted] = true
	}
	if b.Label != "" && !labelFound {
		// The label may be there, run into strokes at both its ends: what
		// is a stroke or a cross is then judged without the bands along
		// the box's top and bottom where a label is printed.
		band := int(4.5 * v.pxmm)
		v.labelBands = [][2]int{{v.box.Min.Y - 1, v.box.Min.Y + band}, {v.box.Max.Y - band, v.box.Max.Y + 1}}
	}
	rings := v.stampRings()
	// The ink within a stamp is the stamp's: what lies within its ring,
	// and within half as much again (the ring found may be the inner one
	// of two, the office's name between them).
	stampInBox := false
	// Solid shapes: the scanner's bed or a shadow reaching in, a filled
	// mark. Not a signature, and not nothing when they lie in the box.
	for _, c := range v.comps {
		if c.removed == "" && c.solid*100 >= 30*c.n {
			c.removed = "solid"
			if c.inside*5 >= c.n {
				otherPrint = true
			}
		}
	}
	for _, d := range v.stampDiscs(rings) {
		if image.Pt(int(d.cx), int(d.cy)).In(v.box) {
			stampInBox = true
		}
		v.peelStamp(d)
	}
	for _, r := range v.innerRects() {
		if r.Overlaps(v.box) {
			stampInBox = true
		}
		for _, c := range v.comps {
			if c.removed == "" && c.bounds.In(r.Inset(-int(0.8*v.pxmm))) {
				c.removed = "stamp"
			}
		}
	}
	v.attribute()
	speck := int(math.Ceil(speckMM2 * v.pxmm * v.pxmm))
	var own []*comp
	var specks image.Rectangle
	neighbour, stray, nSpecks := false, false, 0
	for _, c := range v.comps {
		switch {
		case c.owner == "neighbour":
			neighbour = true
		case c.owner != "own":
		case c.n < speck:
			stray = true
			if c.n >= 2 {
				nSpecks++
				specks = specks.Union(c.bounds)
			}
		default:
			own = append(own, c)
		}
	}
	// When all the box holds is the tail of ink that comes in from a
	// neighbour's side, it is the neighbour's signature running over.
	allTails, sure := len(own) > 0, true
	for _, c := range own {
		allTails = allTails && c.tail
		sure = sure && c.sureTail
	}
	spillDoubt := false
	switch {
	case allTails && sure || v.cutOffTail(own):
		for _, c := range own {
			c.owner = "neighbour"
		}
		own, neighbour = nil, true
	case allTails:
		spillDoubt = true
	}
	// Many specks spread along the box: a pale stroke a threshold broke
	// up (a fax, a poor copy), not dust.
	brokenStroke := nSpecks >= 5 && float64(specks.Dx()) >= 10*v.pxmm
	mm2 := v.pxmm * v.pxmm
	s := v.shapeOf(own)
	verdict.InkMM2 = float64(s.inside) / mm2
	verdict.SpanMM = float64(s.bounds.Dx()) / v.pxmm
	verdict.Ink = s.bounds
	// The mask of the box's own ink, for the signature's image.
	verdict.ink = make([]bool, len(v.ink))
	for _, c := range own {
		v.eachPixel(c, func(x, y int) { verdict.ink[y*v.w+x] = true })
	}
	if stray {
		reasons[ReasonStrayMark] = true
	}
	if v.offPage {
		reasons[ReasonOffPage] = true
	}
	initials := v.initials(own)
	signature := v.signatureSized(s) && !initials
	// A signature only with what comes in from a neighbour's side is not
	// surely the signer's own: without it, and without what lies right
	// beside it however deep (the neighbour's writing, cut from its tail
	// where a long stroke of it was cleared as a rule), is there one?
	if signature {
		if spilled := v.besideTails(own); len(spilled) > 0 {
			rest := slices.DeleteFunc(slices.Clone(own), func(c *comp) bool { return spilled[c] })
			if !v.signatureSized(v.shapeOf(rest)) {
				spillDoubt = true
			}
		}
	}
	// Ink that runs over the edge may be another's stroke coming in (its
	// join cut by the cleared frame, so not known as a tail): without it,
	// is there still a signature?
	var crossing []*comp
	if len(own) > 0 {
		crossing = v.crossers(own)
	}
	// Writing no taller than print anywhere, once straight bars (what is
	// left of a frame) are set aside: a label or a stamp's text that was
	// not known as such, not a hand's signature.
	printSized := signature && v.printSized(own)
	framed := signature && !printSized && v.framedPrint(own)
	edgeDoubt := false
	if signature && len(crossing) > 0 {
		// Only a minor piece is in question: the bulk of the signer's ink
		// running out over the frame is the signer's.
		minor := func(c *comp) bool { return slices.Contains(crossing, c) && 4*c.inside < s.inside }
		rest := slices.DeleteFunc(slices.Clone(own), minor)
		edgeDoubt = !v.signatureSized(v.shapeOf(rest)) || v.initials(rest)
		// A piece across a side edge that stays close to it, however much
		// of the ink it is, is the end of what is written beyond that
		// edge: a neighbour's signature coming in, cut from the rest by
		// the cleared frame. Without it, is there still a signature?
		if !edgeDoubt {
			side := func(c *comp) bool { return slices.Contains(crossing, c) && v.hugsSideEdge(c) }
			if rest := slices.DeleteFunc(slices.Clone(own), side); len(rest) < len(own) && !v.signatureSized(v.shapeOf(rest)) {
				spillDoubt = true
			}
		}
	}
	dot := len(own) > 0 && float64(max(s.bounds.Dx(), s.bounds.Dy())) <= 2.2*v.pxmm
	switch {
	case len(own) == 0 || dot:
		// Nothing of the signer's own, or a dot.
		switch {
		case dot:
			verdict.Decision, verdict.Confidence = Doubtful, 0.5
			reasons[ReasonDot] = true
		case brokenStroke:
			verdict.Decision, verdict.Confidence = Doubtful, 0.5
			reasons[ReasonFaint] = true
		case stampInBox || otherPrint:
			verdict.Decision, verdict.Confidence = Doubtful, 0.5
			if stampInBox {
				reasons[ReasonStamp] = true
			} else {
				reasons[ReasonOtherPrint] = true
			}
		case v.penLines() > 0:
			// A line drawn in the box, cleared with the printed ones.
			verdict.Decision, verdict.Confidence = Doubtful, 0.5
			reasons[ReasonStroke] = true
		case v.offShare() >= 0.02:
			// Part of the box is not on the sheet as the scan shows it
			// (off the scan, or where the sheet was not told from what
			// lies around it): what is not seen is not known empty.
			verdict.Decision, verdict.Confidence = Doubtful, 0.5
			reasons[ReasonOffPage] = true
		default:
			verdict.Decision, verdict.Confidence = Empty, 0.95
			if neighbour {
				reasons[ReasonNeighbour] = true
			}
		}
		verdict.Ink = image.Rectangle{}
	case spillDoubt:
		verdict.Decision, verdict.Confidence = Doubtful, 0.5
		reasons[ReasonNeighbour] = true
	case edgeDoubt:
		verdict.Decision, verdict.Confidence = Doubtful, 0.5
		reasons[ReasonCrossesEdge] = true
	case printSized:
		verdict.Decision, verdict.Confidence = Doubtful, 0.5
		reasons[ReasonOtherPrint] = true
	case framed:
		verdict.Decision, verdict.Confidence = Doubtful, 0.5
		reasons[ReasonStamp] = true
	case signature:
		verdict.Decision = Signed
		verdict.Confidence = math.Min(1, 0.6+0.4*math.Min(verdict.InkMM2/30, verdict.SpanMM/40))
		if stampInBox {
			reasons[ReasonStamp] = true
		}
	default:
		verdict.Decision, verdict.Confidence = Doubtful, 0.5
		switch {
		case s.lines == 1:
			reasons[ReasonStroke] = true
		case s.lines == 2:
			reasons[ReasonCross] = true
		case initials || verdict.SpanMM < minSignatureSpanMM && verdict.InkMM2 < 14:
			reasons[ReasonInitials] = true
		default:
			reasons[ReasonLittleInk] = true
		}
	}
	if verdict.Decision != Empty {
		// A pale pen: its darkest strokes are only a little darker than
		// the paper around them.
		verdict.Contrast = v.inkContrast(own)
		if verdict.Contrast < faintContrast {
			reasons[ReasonFaint] = true
			if verdict.Decision == Signed {
				verdict.Confidence *= 0.85
			}
		}
		if len(crossing) > 0 {
			reasons[ReasonCrossesEdge] = true
		}
		if verdict.Decision == Signed && twoBands(verdict.ink, v.w, v.box, v.pxmm) {
			reasons[ReasonTwoLines] = true
			verdict.Decision, verdict.Confidence = Doubtful, 0.5
		}
	}
	for r := range reasons {
		verdict.Reasons = append(verdict.Reasons, r)
	}
	slices.Sort(verdict.Reasons)
	verdict.ink = v.onlyInk(verdict.ink)
	return verdict
}

// offShare is the share of the box that lies off the sheet.
func (v *boxView) offShare() float64 {
	if v.c.off == nil || v.box.Empty() {
		return 0
	}
	off, all := 0, 0
	for y := max(0, v.box.Min.Y); y < min(v.h, v.box.Max.Y); y++ {
		for x := max(0, v.box.Min.X); x < min(v.w, v.box.Max.X); x++ {
			all++
			if v.c.off[y*v.w+x] {
				off++
			}
		}
	}
	if all == 0 {
		return 0
	}
	return float64(off) / float64(all)
}

// onlyInk returns the mask unchanged: a hook for the signature's image,
// which keeps only the box's own ink.
func (v *boxView) onlyInk(m []bool) []bool { return m }

// explain draws what the analysis saw: the crop in gray, the box as
// refined (blue), the box's own ink (red), a neighbour's (green), ink from
// outside (orange), printed text and lines of dots left out (violet),
// stamps (cyan), printed lines cleared (light blue), the printed page
// taken away (pale yellow).
func (v *boxView) explain(rules []bool) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, v.w, v.h))
	byID := map[int32]*comp{}
	for _, c := range v.comps {
		byID[c.id] = c
	}
	for y := range v.h {
		for x := range v.w {
			i := y*v.w + x
			g := v.c.img.Pix[y*v.c.img.Stride+x]
			r, gg, b := g/2+127, g/2+127, g/2+127
			if rules != nil && rules[i] {
				r, gg, b = 150, 190, 255
			}
			if v.printMask != nil && v.printMask[i] && v.lab[i] == 0 {
				r, gg, b = 255, 230, 150
			}
			if id := v.lab[i]; id != 0 {
				c := byID[id]
				switch {
				case c.removed == "stamp":
					r, gg, b = 0, 200, 200
				case c.removed != "":
					r, gg, b = 150, 60, 200
				case c.owner == "own":
					r, gg, b = 220, 0, 0
				case c.owner == "neighbour":
					r, gg, b = 0, 170, 0
				case c.owner == "outside":
					r, gg, b = 240, 140, 0
				default:
					r, gg, b = 90, 90, 90
				}
			}
			out.Pix[4*i], out.Pix[4*i+1], out.Pix[4*i+2], out.Pix[4*i+3] = r, gg, b, 255
		}
	}
	for x := v.box.Min.X; x < v.box.Max.X; x++ {
		for _, y := range []int{v.box.Min.Y, v.box.Max.Y - 1} {
			if y >= 0 && y < v.h && x >= 0 && x < v.w {
				i := 4 * (y*v.w + x)
				out.Pix[i], out.Pix[i+1], out.Pix[i+2] = 0, 0, 255
			}
		}
	}
	for y := v.box.Min.Y; y < v.box.Max.Y; y++ {
		for _, x := range []int{v.box.Min.X, v.box.Max.X - 1} {
			if y >= 0 && y < v.h && x >= 0 && x < v.w {
				i := 4 * (y*v.w + x)
				out.Pix[i], out.Pix[i+1], out.Pix[i+2] = 0, 0, 255
			}
		}
	}
	return out
}

// twoBands reports own ink in two horizontal bands with a clear gap
// between them, each with a good share of it: two signatures one above the
// other.
func twoBands(ink []bool, w int, box image.Rectangle, pxmm float64) bool {
	rows := make([]int, box.Dy())
	total := 0
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			if ink[y*w+x] {
				rows[y-box.Min.Y]++
				total++
			}
		}
	}
	if total == 0 {
		return false
	}
	gap := int(2 * pxmm)
	above, run := 0, 0
	for y := range rows {
		if rows[y] == 0 {
			run++
		} else {
			if run >= gap && above >= total/3 && total-above >= total/3 {
				return true
			}
			run = 0
		}
		above += rows[y]
	}
	return false
}

// inkContrast is how much darker than the paper around them a signature's
// strokes are: the 90th percentile over its pixels, so that the cores of
// the strokes count and neither their blurred edges nor a single dark
// speck decide.
func (v *boxView) inkContrast(own []*comp) int {
	var hist [256]int
	n := 0
	for _, c := range own {
		v.eachPixel(c, func(x, y int) {
			hist[v.contrast[y*v.w+x]]++
			n++
		})
	}
	acc := 0
	for l := 255; l >= 0; l-- {
		acc += hist[l]
		if acc*10 >= n {
			return l
		}
	}
	return 0
}

// crossers are the pieces of the signer's ink that run over the box's
// edge: a piece reaches the frame and ink goes on beyond it. The frame
// itself was cleared, so the stroke beyond is another piece, looked for
// near the edge on the outer side (a stroke crossing at a shallow angle
// loses a long stretch with the frame). Such a piece may be someone
// else's stroke coming in, so it alone must not make the box signed.
func (v *boxView) crossers(own []*comp) []*comp {
	var out []*comp
	var rest []*comp
	for _, c := range own {
		if c.inside < c.n*9/10 {
			out = append(out, c)
		} else {
			rest = append(rest, c)
		}
	}
	if len(rest) == 0 {
		return out
	}
	// A stroke stopping short of the frame, within its blurred band, and
	// one going on beyond it.
	near, far := max(1, int(1.5*v.pxmm)), int(2.5*v.pxmm)+1
	cell := max(1, int(v.pxmm))
	b := v.box
	outer := b.Inset(-far)
	key := func(x, y int) image.Point { return image.Pt(x/cell, y/cell) }
	// Cells holding ink beyond the edge that is nobody's signature here.
	beyond := map[image.Point]bool{}
	beyondIDs := map[int32]bool{}
	for _, c := range v.comps {
		if c.removed != "" || c.owner == "own" || c.inside*2 >= c.n || !c.bounds.Overlaps(outer) {
			continue
		}
		beyondIDs[c.id] = true
		v.eachPixel(c, func(x, y int) {
			if p := image.Pt(x, y); p.In(outer) && !p.In(b) {
				beyond[key(x, y)] = true
			}
		})
	}
	if len(beyond) == 0 {
		return out
	}
	reach := far/cell + 1
	whole := image.Rect(0, 0, v.w, v.h)
	joined := v.joinedThroughRules(rest, beyondIDs, whole) // one search first: most boxes have none
	for _, c := range rest {
		if joined && v.joinedThroughRules([]*comp{c}, beyondIDs, whole) {
			out = append(out, c)
			continue
		}
		if c.bounds.In(b.Inset(near)) {
			continue
		}
		found := false
		v.eachPixel(c, func(x, y int) {
			if found || image.Pt(x, y).In(b.Inset(near)) {
				return
			}
			k := key(x, y)
			for dy := -reach; dy <= reach && !found; dy++ {
				for dx := -reach; dx <= reach && !found; dx++ {
					found = beyond[image.Pt(k.X+dx, k.Y+dy)]
				}
			}
		})
		if found {
			out = append(out, c)
		}
	}
	return out
}

// joinedThroughRules tells whether a piece of the signer's ink and a piece
// beyond the edge were one stroke before the frame was cleared: a short
// path through the cleared pixels within a region joins them (blur and
// the frame's own clearing may leave a pixel or two between them).
func (v *boxView) joinedThroughRules(own []*comp, beyond map[int32]bool, within image.Rectangle) bool {
	if v.rules == nil {
		return false
	}
	// Steps of up to two pixels: up to about 9 mm along the cleared ink,
	// a stroke leaving at a shallow angle runs that long in the frame.
	limit := int(4.5 * v.pxmm)
	const slack = 2
	dist := make(map[int]int)
	var queue []int
	// The path runs through what was cleared, and through bits of the
	// stroke that were left out on their own (a fragment taken for a dot).
	passable := func(j int) bool {
		if !image.Pt(j%v.w, j/v.w).In(within) {
			return false
		}
		if v.rules[j] {
			return true
		}
		id := v.lab[j]
		return id != 0 && v.comps[id-1].removed != ""
	}
	near := func(x, y int, fn func(j int) bool) bool {
		for dy := -slack; dy <= slack; dy++ {
			for dx := -slack; dx <= slack; dx++ {
				px, py := x+dx, y+dy
				if (dx != 0 || dy != 0) && px >= 0 && py >= 0 && px < v.w && py < v.h && fn(py*v.w+px) {
					return true
				}
			}
		}
		return false
	}
	for _, c := range own {
		v.eachPixel(c, func(x, y int) {
			near(x, y, func(j int) bool {
				if _, seen := dist[j]; !seen && passable(j) {
					dist[j] = 1
					queue = append(queue, j)
				}
				return false
			})
		})
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		hit := near(i%v.w, i/v.w, func(j int) bool {
			if id := v.lab[j]; id != 0 && beyond[id] {
				return true
			}
			if _, seen := dist[j]; !seen && passable(j) && dist[i] < limit {
				dist[j] = dist[i] + 1
				queue = append(queue, j)
			}
			return false
		})
		if hit {
			return true
		}
	}
	return false
}

// penLines counts the straight lines cleared inside the box that a pen
// drew, not a printer: a printed line inside a box (a signature line
// after "Firma:") runs along the frame, square to it, to one of its sides
// or nearly across; a pen's line, drawn by hand or along a ruler, stops
// short of both sides or slants. They are cleared with the rules; the box
// is then not empty.
func (v *boxView) penLines() int {
	away := int(1.5 * v.pxmm)
	inner := v.box.Inset(away)
	reach := int(3 * v.pxmm)
	n := 0
	check := func(sg segment, horizontal bool) {
		lo, hi, from, to := inner.Min.Y, inner.Max.Y, v.box.Min.X, v.box.Max.X
		if !horizontal {
			lo, hi, from, to = inner.Min.X, inner.Max.X, v.box.Min.Y, v.box.Max.Y
		}
		if sg.pos < lo || sg.pos >= hi || sg.b < from || sg.a >= to {
			return
		}
		a, b := max(sg.a, from), min(sg.b, to)
		if float64(b-a) < 15*v.pxmm {
			return // bold print merged into a run, a short dash
		}
		if horizontal {
			for _, r := range v.textRows {
				if sg.pos >= r[0] && sg.pos <= r[1] {
					return // the body of a line of bold type
				}
			}
		}
		if v.printMask != nil {
			// The printed page has a line there: print, not a pen.
			on := 0
			for t := a; t < b; t++ {
				x, y := t, sg.pos
				if !horizontal {
					x, y = sg.pos, t
				}
				if v.printMask[y*v.w+x] {
					on++
				}
			}
			if on*10 >= (b-a)*8 {
				return
			}
		}
		toSide := a-from <= reach || to-b <= reach
		across := float64(b-a) >= 0.85*float64(to-from)
		if (toSide || across) && math.Abs(v.slant(sg, horizontal)) <= 0.4 {
			return // printed
		}
		n++
	}
	for _, sg := range v.hl {
		check(sg, true)
	}
	for _, sg := range v.vl {
		check(sg, false)
	}
	return n
}

// slant is a cleared line's angle to the frame in degrees: a least-squares
// fit to the middle of its cleared pixels, column by column.
func (v *boxView) slant(sg segment, horizontal bool) float64 {
	half := sg.thick/2 + int(0.5*v.pxmm) + 1
	var sx, sy, sxx, sxy, n float64
	for t := sg.a; t <= sg.b; t++ {
		sum, cnt := 0, 0
		for d := sg.pos - half; d <= sg.pos+half; d++ {
			x, y := t, d
			if !horizontal {
				x, y = d, t
			}
			if x >= 0 && y >= 0 && x < v.w && y < v.h && v.rules[y*v.w+x] {
				sum += d
				cnt++
			}
		}
		if cnt == 0 {
			continue
		}
		m := float64(sum) / float64(cnt)
		ft := float64(t)
		sx, sy, sxx, sxy, n = sx+ft, sy+m, sxx+ft*ft, sxy+ft*m, n+1
	}
	den := n*sxx - sx*sx
	if n < 2 || den == 0 {
		return 0
	}
	return math.Atan((n*sxy-sx*sy)/den) * 180 / math.Pi
}

// stampDiscs are the discs the round stamps cover, one a stamp: the outer
// ring's. The ring found may be the inner one of two: with a ring half as
// wide again around it, that one is the outer; with none inside it either,
// which it is cannot be told, and the larger disc is taken. Rings are
// checked before any stamp's ink is taken out.
func (v *boxView) stampDiscs(rings []ring) []ring {
	var out []ring
	for _, rg := range rings {
		outer := rg.r
		switch {
		case v.ringCovered(ring{rg.cx, rg.cy, rg.r * 1.47}):
			outer = rg.r * 1.47
		case rg.r/1.47 >= 5*v.pxmm && v.ringCovered(ring{rg.cx, rg.cy, rg.r / 1.47}):
		default:
			outer = rg.r * 1.5
		}
		for _, o := range rings {
			// Another ring found round this one: the stamp's outer.
			if o.r > rg.r*1.2 && math.Hypot(o.cx-rg.cx, o.cy-rg.cy) <= 0.15*o.r {
				outer = math.Max(outer, o.r)
				if outer == rg.r*1.5 {
					outer = o.r
				}
			}
		}
		d := ring{rg.cx, rg.cy, outer}
		merged := false
		for i, o := range out {
			if math.Hypot(o.cx-d.cx, o.cy-d.cy) <= 0.15*math.Max(o.r, d.r) {
				out[i].r, merged = math.Max(o.r, d.r), true
			}
		}
		if !merged {
			out = append(out, d)
		}
	}
	return out
}

// peelStamp takes a round stamp's ink out: the pieces within its disc,
// and from a pen's strokes that run into it (a signature across a stamp,
// merged with its rings) the part within the disc. What lies outside the
// disc is no stamp's, and stays in play as pieces of its own.
func (v *boxView) peelStamp(d ring) {
	outer := d.r
	rg := d
	disc := outer + math.Max(1.2*v.pxmm, 0.08*outer)
	inDisc := func(x, y int) bool { return math.Hypot(float64(x)-rg.cx, float64(y)-rg.cy) <= disc }
	n := len(v.comps)
	for _, c := range v.comps[:n] {
		if c.removed != "" {
			continue
		}
		in := 0
		v.eachPixel(c, func(x, y int) {
			if inDisc(x, y) {
				in++
			}
		})
		switch {
		case in == 0:
			continue
		case in*100 >= 85*c.n:
			c.removed = "stamp"
			continue
		}
		// A stroke from outside: the stamp keeps what lies in its disc,
		// the rest is labelled afresh.
		c.removed = "stamp"
		rest := make([]bool, len(v.ink))
		v.eachPixel(c, func(x, y int) {
			if !inDisc(x, y) {
				rest[y*v.w+x] = true
			}
		})
		eachComponent(rest, v.w, v.h, v.addComp)
	}
}
