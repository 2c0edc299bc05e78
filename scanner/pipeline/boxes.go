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

// crop is a box cut out of the page and turned upright: the box itself
// from (margin, margin) to (margin+w, margin+h), and a margin around it.
type crop struct {
	img          *image.Gray
	margin, w, h int
	pxmm         float64
	// tl is the box's top-left corner on the page, u and v the unit
	// vectors along its top and down its left side; scale is the crop's
	// pixels per page pixel.
	tl, u, v Point
	scale    float64
	// off marks the pixels that lie off the sheet (nil: none do).
	off []bool
}

// bedMap says which pixels of a page lie off its sheet (the scanner's bed
// around it), from a mask of the page reduced by f.
type bedMap struct {
	mask []bool
	w, h int // the reduced page's size
	f    int
}

// offSheet tells whether the page's pixel (x, y) lies off the sheet.
func (m *bedMap) offSheet(x, y int) bool {
	if m == nil {
		return false
	}
	return m.mask[min(y/m.f, m.h-1)*m.w+min(x/m.f, m.w-1)]
}

// near tells whether any of the bed lies within the w×h page pixels (along
// u and v) from origin.
func (m *bedMap) near(origin, u, v Point, w, h float64) bool {
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, c := range [4][2]float64{{0, 0}, {w, 0}, {w, h}, {0, h}} {
		x, y := origin.X+c[0]*u.X+c[1]*v.X, origin.Y+c[0]*u.Y+c[1]*v.Y
		minX, minY, maxX, maxY = math.Min(minX, x), math.Min(minY, y), math.Max(maxX, x), math.Max(maxY, y)
	}
	if minX < 0 || minY < 0 {
		return true // the image reaches beyond the scan itself
	}
	x0, y0 := max(0, int(minX)/m.f-1), max(0, int(minY)/m.f-1)
	x1, y1 := min(m.w-1, int(maxX)/m.f+1), min(m.h-1, int(maxY)/m.f+1)
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			if m.mask[y*m.w+x] {
				return true
			}
		}
	}
	return false
}

// cutBox samples the box and a margin of m pixels around it from the page,
// upright, at outDPI (at most the page's dpi): only the crop is rotated,
// never the page. What lies off the sheet (the scanner's bed, beyond the
// scan) comes out as white paper; offPage says whether the box itself
// reaches there.
func cutBox(g *image.Gray, b Box, dpi, outDPI, m int, bed *bedMap) (crop, bool) {
	tl, tr, bl := b.Corners[0], b.Corners[1], b.Corners[3]
	w := math.Hypot(tr.X-tl.X, tr.Y-tl.Y)
	h := math.Hypot(bl.X-tl.X, bl.Y-tl.Y)
	u := Point{(tr.X - tl.X) / w, (tr.Y - tl.Y) / w} // along the box's top edge
	v := Point{(bl.X - tl.X) / h, (bl.Y - tl.Y) / h} // down its left edge
	scale := math.Min(1, float64(outDPI)/float64(dpi))
	bw, bh := int(math.Round(w*scale)), int(math.Round(h*scale))
	cw, ch := bw+2*m, bh+2*m
	origin := Point{tl.X - float64(m)/scale*(u.X+v.X), tl.Y - float64(m)/scale*(u.Y+v.Y)}
	out, off := sample(g, origin, u, v, scale, cw, ch, bed)
	offPage := false
	if off != nil {
		for y := m; y < m+bh && !offPage; y++ {
			offPage = slices.Contains(off[y*cw+m:y*cw+m+bw], true)
		}
	}
	c := crop{img: out, margin: m, w: bw, h: bh, pxmm: float64(dpi) / 25.4 * scale,
		tl: tl, u: u, v: v, scale: scale, off: off}
	return c, offPage
}

// sample cuts a w×h image from the page: its pixel (x, y) is the page's at
// origin + (x·u + y·v)/scale, interpolated. Reduced by two or more, each
// pixel averages as many samples each way, so that no thin stroke falls
// between them. What lies off the sheet comes out white and is marked in
// off (nil when nothing does). The sampling steps in fixed point, 16 bits
// of fraction: a page's crops are millions of pixels.
func sample(g *image.Gray, origin, u, v Point, scale float64, w, h int, bed *bedMap) (*image.Gray, []bool) {
	out := image.NewGray(image.Rect(0, 0, w, h))
	// The bed matters only where the image reaches it.
	if bed != nil && !bed.near(origin, u, v, float64(w)/scale, float64(h)/scale) {
		bed = nil
	}
	k := max(1, int(1/scale+0.25))
	gw, gh := g.Rect.Dx(), g.Rect.Dy()
	var off []bool
	const one = 1 << 16
	fix := func(f float64) int64 { return int64(math.Floor(f * one)) }
	step := 1 / scale
	dux, duy := fix(u.X*step), fix(u.Y*step)
	// The sub-samples' offsets, in the page's pixels, within one output
	// pixel.
	var subs [][2]int64
	for i := range k {
		for j := range k {
			a, b := ((float64(i)+0.5)/float64(k)-0.5)*step, ((float64(j)+0.5)/float64(k)-0.5)*step
			subs = append(subs, [2]int64{fix(a*u.X + b*v.X), fix(a*u.Y + b*v.Y)})
		}
	}
	n := uint32(len(subs))
	if k == 1 && bed == nil {
		// One sample a pixel, on the sheet throughout (the page's edge
		// aside): the common case, in its own loop.
		for y := range h {
			row := out.Pix[y*out.Stride : y*out.Stride+w]
			dv := float64(y) * step
			sx := fix(origin.X + dv*v.X - 0.5)
			sy := fix(origin.Y + dv*v.Y - 0.5)
			for x := range row {
				x0, y0 := int(sx>>16), int(sy>>16)
				if sx < 0 || sy < 0 || x0+1 >= gw || y0+1 >= gh {
					row[x] = 255
					if off == nil {
						off = make([]bool, w*h)
					}
					off[y*w+x] = true
				} else {
					fx, fy := uint32(sx>>8)&0xff, uint32(sy>>8)&0xff
					i := y0*g.Stride + x0
					p := g.Pix[i : i+2]
					q := g.Pix[i+g.Stride : i+g.Stride+2]
					top := uint32(p[0])*(256-fx) + uint32(p[1])*fx
					bot := uint32(q[0])*(256-fx) + uint32(q[1])*fx
					row[x] = uint8((top*(256-fy) + bot*fy + 1<<15) >> 16)
				}
				sx += dux
				sy += duy
			}
		}
		return out, off
	}
	for y := range h {
		row := out.Pix[y*out.Stride:]
		dv := float64(y) * step
		sx := fix(origin.X + dv*v.X - 0.5)
		sy := fix(origin.Y + dv*v.Y - 0.5)
		for x := range w {
			sum := uint32(0)
			inside := true
			for _, d := range subs {
				px, py := sx+d[0], sy+d[1]
				x0, y0 := int(px>>16), int(py>>16)
				if px < 0 || py < 0 || x0+1 >= gw || y0+1 >= gh || bed.offSheet(x0, y0) {
					inside = false
					break
				}
				fx, fy := uint32(px>>8)&0xff, uint32(py>>8)&0xff
				i := y0*g.Stride + x0
				p0, p1 := uint32(g.Pix[i]), uint32(g.Pix[i+1])
				q0, q1 := uint32(g.Pix[i+g.Stride]), uint32(g.Pix[i+g.Stride+1])
				top := p0*(256-fx) + p1*fx
				bot := q0*(256-fx) + q1*fx
				sum += (top*(256-fy) + bot*fy + 1<<15) >> 16
			}
			if inside {
				row[x] = uint8((sum + n/2) / n)
			} else {
				row[x] = 255 // off the sheet: nothing written there
				if off == nil {
					off = make([]bool, w*h)
				}
				off[y*w+x] = true
			}
			sx += dux
			sy += duy
		}
	}
	return out, off
}

// rectOf is another box's extent in the crop's pixels.
func (c crop) rectOf(b Box) image.Rectangle {
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range b.Corners {
		dx, dy := (p.X-c.tl.X)*c.scale, (p.Y-c.tl.Y)*c.scale
		x := dx*c.u.X + dy*c.u.Y + float64(c.margin)
		y := dx*c.v.X + dy*c.v.Y + float64(c.margin)
		minX, minY, maxX, maxY = math.Min(minX, x), math.Min(minY, y), math.Max(maxX, x), math.Max(maxY, y)
	}
	return image.Rect(int(minX), int(minY), int(math.Ceil(maxX)), int(math.Ceil(maxY)))
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

// Verdict is the analysis of one box.
type Verdict struct {
	Role, Label string
	Decision    Decision
	Confidence  float64
	Reasons     []string
	// InkMM2 is the ink inside the box, in square millimetres; SpanMM the
	// width it spans.
	InkMM2, SpanMM float64
	// Contrast is how much darker than the paper the signature's strokes
	// are (0-255); below 75 the verdict gives faint_ink.
	Contrast int
	// Ink is the signature's extent in the upright crop (px, at the
	// analysis's resolution: the page's, or 200 dpi when finer), empty
	// when there is none.
	Ink image.Rectangle
	// Signature is the cleaned, scaled signature as PNG, nil when empty.
	Signature []byte
	// Explain shows what the analysis saw in the box (Options.Explain).
	Explain *image.RGBA
	crop    crop
	ink     []bool
}
