package pipeline

import (
	"image"
	"math"
	"slices"
)

// Point is a position in scan pixels.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Box is a signer's printed box on the scan: its corners as printed,
// top-left, top-right, bottom-right, bottom-left, wherever the page's skew
// and turn put them. It comes from the page's layout.
type Box struct {
	Role    string   `json:"role"`
	Label   string   `json:"label,omitempty"`
	Corners [4]Point `json:"corners"`
}

// Decision is what a box holds.
type Decision string

const (
	Signed   Decision = "signed"
	Empty    Decision = "empty"
	Doubtful Decision = "doubtful"
)

// Reasons a decision gives, for the officer and for the log.
const (
	ReasonFaint       = "faint_ink"        // the ink is pale: check the signature is complete
	ReasonCrossesEdge = "ink_crosses_edge" // the signature runs over the box's edge
	ReasonStrayMark   = "stray_mark"       // small marks were ignored
	ReasonLittleInk   = "little_ink"       // some ink, too little or too short for a signature
	ReasonTwoLines    = "two_lines"        // ink in two separate bands: two signatures in one box?
)

// crop is a box cut out of the page and turned upright: the box itself
// from (margin, margin) to (margin+w, margin+h), and a margin around it.
type crop struct {
	img          *image.Gray
	margin, w, h int
	pxmm         float64
}

// cutBox samples the box and a margin around it from the page, upright,
// with bilinear interpolation: only the crop is rotated, never the page.
func cutBox(g *image.Gray, b Box, dpi int) crop {
	tl, tr, bl := b.Corners[0], b.Corners[1], b.Corners[3]
	w := math.Hypot(tr.X-tl.X, tr.Y-tl.Y)
	h := math.Hypot(bl.X-tl.X, bl.Y-tl.Y)
	ux, uy := (tr.X-tl.X)/w, (tr.Y-tl.Y)/w // along the box's top edge
	vx, vy := (bl.X-tl.X)/h, (bl.Y-tl.Y)/h // down its left edge
	pxmm := float64(dpi) / 25.4
	m := int(math.Ceil(math.Max(4*pxmm, h*0.3)))
	cw, ch := int(math.Round(w))+2*m, int(math.Round(h))+2*m
	out := image.NewGray(image.Rect(0, 0, cw, ch))
	gw, gh := g.Rect.Dx(), g.Rect.Dy()
	for y := range ch {
		row := out.Pix[y*out.Stride:]
		dv := float64(y - m)
		for x := range cw {
			du := float64(x - m)
			sx := tl.X + du*ux + dv*vx - 0.5
			sy := tl.Y + du*uy + dv*vy - 0.5
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			if x0 < 0 || y0 < 0 || x0+1 >= gw || y0+1 >= gh {
				row[x] = 255 // off the scan: nothing there
				continue
			}
			fx, fy := sx-float64(x0), sy-float64(y0)
			p := g.Pix[y0*g.Stride+x0:]
			q := g.Pix[(y0+1)*g.Stride+x0:]
			top := float64(p[0])*(1-fx) + float64(p[1])*fx
			bot := float64(q[0])*(1-fx) + float64(q[1])*fx
			row[x] = uint8(top*(1-fy) + bot*fy + 0.5)
		}
	}
	return crop{img: out, margin: m, w: int(math.Round(w)), h: int(math.Round(h)), pxmm: pxmm}
}

// sauvola marks as ink the pixels darker than Sauvola's local threshold
// (window win) and than the paper by at least minContrast gray levels.
// The window's sums are kept per column and slid down the crop, so the
// memory is two rows, not two integral images of the crop.
func sauvola(g *image.Gray, win int, minContrast float64) []bool {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	paper := background(g)
	ink := make([]bool, w*h)
	r := win / 2
	// A small k: a faint pen on white paper barely moves the local mean,
	// and the minimum contrast keeps paper noise out.
	const k, R = 0.12, 128.0
	colSum := make([]float64, w)
	colSq := make([]float64, w)
	preSum := make([]float64, w+1)
	preSq := make([]float64, w+1)
	addRow := func(y int, sign float64) {
		row := g.Pix[y*g.Stride:]
		for x := range w {
			v := float64(row[x])
			colSum[x] += sign * v
			colSq[x] += sign * v * v
		}
	}
	for y := 0; y < min(r, h); y++ {
		addRow(y, 1)
	}
	for y := range h {
		if y+r < h {
			addRow(y+r, 1)
		}
		if y-r-1 >= 0 {
			addRow(y-r-1, -1)
		}
		rows := float64(min(h, y+r+1) - max(0, y-r))
		for x := range w {
			preSum[x+1] = preSum[x] + colSum[x]
			preSq[x+1] = preSq[x] + colSq[x]
		}
		row := g.Pix[y*g.Stride:]
		for x := range w {
			x0, x1 := max(0, x-r), min(w, x+r+1)
			n := float64(x1-x0) * rows
			mean := (preSum[x1] - preSum[x0]) / n
			v := (preSq[x1]-preSq[x0])/n - mean*mean
			t := mean * (1 + k*(math.Sqrt(math.Max(v, 0))/R-1))
			p := float64(row[x])
			ink[y*w+x] = p < t && p < paper-minContrast
		}
	}
	return ink
}

// background is the paper's tone in a crop: a high percentile, so that
// ink does not pull it down.
func background(g *image.Gray) float64 {
	var hist [256]int
	for y := range g.Rect.Dy() {
		for _, v := range g.Pix[y*g.Stride : y*g.Stride+g.Rect.Dx()] {
			hist[v]++
		}
	}
	n := g.Rect.Dx() * g.Rect.Dy()
	acc := 0
	for v := 255; v >= 0; v-- {
		acc += hist[v]
		if acc >= n/3 {
			return float64(v)
		}
	}
	return 255
}

// component is a connected piece of ink in a crop.
type component struct {
	pixels       int
	inside       int // pixels inside the box (past the line bands)
	bounds       image.Rectangle
	touchesBand  bool
	outsideAfter bool // has pixels beyond the box's edge too
	darkSum      float64
}

// components labels the ink (8-connected) and describes each piece.
func components(ink []bool, g *image.Gray, c crop, band int) []component {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	box := image.Rect(c.margin, c.margin, c.margin+c.w, c.margin+c.h)
	inner, outer := box.Inset(band), box.Inset(-band)
	// Ink within two pixels of the cleared line band touches it.
	nearIn, nearOut := box.Inset(band+2), box.Inset(-band-2)
	var out []component
	eachComponent(ink, w, h, func(pixels []int) {
		var comp component
		minX, minY, maxX, maxY := w, h, -1, -1
		for _, i := range pixels {
			x, y := i%w, i/w
			comp.pixels++
			comp.darkSum += float64(g.Pix[y*g.Stride+x])
			p := image.Pt(x, y)
			if p.In(inner) {
				comp.inside++
			}
			if !p.In(outer) {
				comp.outsideAfter = true
			}
			if p.In(nearOut) && !p.In(nearIn) {
				comp.touchesBand = true
			}
			minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
		}
		comp.bounds = image.Rect(minX, minY, maxX+1, maxY+1)
		out = append(out, comp)
	})
	return out
}

// removeLines clears the bands where the printed box's edges are (their
// width, the blur, and the tolerance of the box's position), so that the
// printed rectangle is never taken for ink.
func removeLines(ink []bool, w int, c crop, band int) {
	h := len(ink) / w
	in := func(v, line int) bool { return v >= line-band && v <= line+band }
	for y := range h {
		for x := range w {
			onH := (in(y, c.margin) || in(y, c.margin+c.h)) && x >= c.margin-band && x <= c.margin+c.w+band
			onV := (in(x, c.margin) || in(x, c.margin+c.w)) && y >= c.margin-band && y <= c.margin+c.h+band
			if onH || onV {
				ink[y*w+x] = false
			}
		}
	}
}

// Verdict is the analysis of one box.
type Verdict struct {
	Role, Label string
	Decision    Decision
	Confidence  float64
	Reasons     []string
	// InkMM2 is the ink inside the box, in square millimetres; SpanMM the
	// width it spans.
	InkMM2, SpanMM float64
	// Ink is the signature's extent in the upright crop (px), empty when
	// there is none.
	Ink image.Rectangle
	// Signature is the cleaned, scaled signature as PNG, nil when empty.
	Signature []byte
	crop      crop
	ink       []bool
}

// analyse decides what a box holds.
func analyse(g *image.Gray, b Box, dpi int) Verdict {
	c := cutBox(g, b, dpi)
	w := c.img.Rect.Dx()
	band := max(2, int(math.Round(0.9*c.pxmm)))
	ink := sauvola(c.img, max(15, int(6*c.pxmm)), 20)
	removeLines(ink, w, c, band)
	comps := components(ink, c.img, c, band)
	v := Verdict{Role: b.Role, Label: b.Label, crop: c, ink: ink}
	mm2 := c.pxmm * c.pxmm
	// Pieces that matter: inside the box, larger than a speck. The label
	// printed above the box lies outside it and does not count. Ink that
	// adds up to less than a few square millimetres is a stray mark, not a
	// signature.
	speck := int(0.3 * mm2)
	strayLimit := speck
	var ink2 image.Rectangle
	inside, stray, darkSum, darkN := 0, 0, 0.0, 0
	// A stroke that runs over the edge is cut in two by the cleared line
	// band: a piece inside touching the band, and one outside touching it.
	inTouch, outTouch := false, false
	for _, comp := range comps {
		if comp.inside == 0 {
			if comp.touchesBand && comp.pixels >= strayLimit {
				outTouch = true
			}
			continue
		}
		if comp.pixels < strayLimit {
			stray++
			continue
		}
		inside += comp.inside
		ink2 = ink2.Union(comp.bounds)
		darkSum += comp.darkSum
		darkN += comp.pixels
		if comp.touchesBand || comp.outsideAfter {
			inTouch = true
		}
	}
	crosses := inTouch && outTouch
	v.InkMM2 = float64(inside) / mm2
	v.SpanMM = float64(ink2.Dx()) / c.pxmm
	v.Ink = ink2
	if stray > 0 {
		v.Reasons = append(v.Reasons, ReasonStrayMark)
	}
	switch {
	case v.InkMM2 < 3 && v.SpanMM < 6:
		v.Decision = Empty
		v.Confidence = 1 - v.InkMM2/6
		if v.InkMM2 > 0 && !slices.Contains(v.Reasons, ReasonStrayMark) {
			v.Reasons = append(v.Reasons, ReasonStrayMark)
		}
		v.Ink = image.Rectangle{} // nothing to show
	case v.InkMM2 >= 8 && v.SpanMM >= 12:
		v.Decision = Signed
		v.Confidence = math.Min(1, 0.6+0.4*math.Min(v.InkMM2/30, v.SpanMM/30))
	default:
		v.Decision = Doubtful
		v.Confidence = 0.5
		v.Reasons = append(v.Reasons, ReasonLittleInk)
	}
	if v.Decision != Empty {
		// A pen is faint when even its darkest strokes are pale: the
		// darkest tenth of the ink inside the box, not its mean, which
		// the soft edges of thin strokes pull up at low resolutions.
		paper := background(c.img)
		if darkN > 0 && paper-inkPercentile(c, ink, band, 0.1) < 110 {
			v.Reasons = append(v.Reasons, ReasonFaint)
			if v.Decision == Signed {
				v.Confidence *= 0.85
			}
		}
		if crosses {
			v.Reasons = append(v.Reasons, ReasonCrossesEdge)
		}
		if twoBands(ink, w, c, band) {
			v.Reasons = append(v.Reasons, ReasonTwoLines)
			v.Decision, v.Confidence = Doubtful, 0.5
		}
	}
	slices.Sort(v.Reasons)
	return v
}

// twoBands reports ink inside the box in two horizontal bands with a clear
// gap between them, each with a good share of the ink: two signatures one
// above the other.
func twoBands(ink []bool, w int, c crop, band int) bool {
	rows := make([]int, c.h)
	total := 0
	for y := band; y < c.h-band; y++ {
		for x := c.margin + band; x < c.margin+c.w-band; x++ {
			if ink[(y+c.margin)*w+x] {
				rows[y]++
				total++
			}
		}
	}
	if total == 0 {
		return false
	}
	gap := int(2 * c.pxmm)
	// Find an empty run of at least gap rows with a third of the ink on
	// each side.
	above := 0
	run := 0
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

// inkPercentile is the gray level below which fraction q of the ink inside
// the box lies.
func inkPercentile(c crop, ink []bool, band int, q float64) float64 {
	var hist [256]int
	n := 0
	w := c.img.Rect.Dx()
	for y := c.margin + band; y < c.margin+c.h-band; y++ {
		for x := c.margin + band; x < c.margin+c.w-band; x++ {
			if ink[y*w+x] {
				hist[c.img.Pix[y*c.img.Stride+x]]++
				n++
			}
		}
	}
	acc := 0
	for v, k := range hist {
		acc += k
		if float64(acc) >= q*float64(n) {
			return float64(v)
		}
	}
	return 255
}
