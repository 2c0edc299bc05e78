package pipeline

import "math"

// Printed is the page as it was printed, when Autografo printed it (its
// own sheet, or a preview it stamped): the agent has the PDF, renders it
// and maps it onto the scan, so what was printed in and around a box can
// be taken away before anything is decided. What remains is what people
// wrote.
type Printed interface {
	// PrintedGray is the printed page's gray where the scan's pixel
	// (x, y) lies: 255 for paper, 0 for full ink; ok is false where the
	// printed page does not reach.
	PrintedGray(x, y float64) (gray uint8, ok bool)
}

// Tolerances of the subtraction. The page's transform comes from its
// code and marks, within half a millimetre; the search for the best
// shift covers twice that. Toner spreads and the scan blurs: each printed
// pixel takes a pen's half width around it.
const (
	printedInk      = 150  // a rendered pixel darker than this is print
	printedShiftMM  = 1.0  // the registration error searched
	printedGrowMM   = 0.35 // blur and toner spread around the print
	printedMinMatch = 0.5  // the share of the print the scan must show
)

// subtractPrinted clears from the box's ink what the printed page has
// there. The print is first registered on the scan's ink (before its
// lines were cleared: the frame is the best guide), within the search
// range; if the scan does not show most of the print, the reference is
// not this page as scanned, and nothing is taken away. It reports how
// many of the box's own pixels were cleared.
func (v *boxView) subtractPrinted(p Printed, before []bool) int {
	c := v.c
	step := 1 / c.scale
	ox := c.tl.X - float64(c.margin)*step*(c.u.X+c.v.X)
	oy := c.tl.Y - float64(c.margin)*step*(c.u.Y+c.v.Y)
	var pts []int
	for y := range v.h {
		for x := range v.w {
			fx, fy := float64(x), float64(y) // as sample cut the crop
			px := ox + (fx*c.u.X+fy*c.v.X)*step
			py := oy + (fx*c.u.Y+fy*c.v.Y)*step
			g, ok := p.PrintedGray(px, py)
			if ok && g < printedInk {
				i := y*v.w + x
				if c.off == nil || !c.off[i] {
					pts = append(pts, i)
				}
			}
		}
	}
	if len(pts) == 0 {
		return 0
	}
	// Register: the shift that puts most of the print on ink, coarse
	// then fine; a tie keeps the smaller shift.
	sample := pts
	if len(sample) > 12000 {
		sample = make([]int, 0, 12000)
		for k := 0; k < len(pts); k += len(pts)/12000 + 1 {
			sample = append(sample, pts[k])
		}
	}
	hits := func(dx, dy int) int {
		n := 0
		for _, i := range sample {
			x, y := i%v.w+dx, i/v.w+dy
			if x >= 0 && y >= 0 && x < v.w && y < v.h && before[y*v.w+x] {
				n++
			}
		}
		return n
	}
	r := int(math.Ceil(printedShiftMM * v.pxmm))
	bestX, bestY, best := 0, 0, hits(0, 0)
	try := func(dx, dy int) {
		n := hits(dx, dy)
		if n > best || n == best && abs(dx)+abs(dy) < abs(bestX)+abs(bestY) {
			bestX, bestY, best = dx, dy, n
		}
	}
	for dy := -r; dy <= r; dy += 2 {
		for dx := -r; dx <= r; dx += 2 {
			try(dx, dy)
		}
	}
	cx, cy := bestX, bestY
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			try(cx+dx, cy+dy)
		}
	}
	if float64(best) < printedMinMatch*float64(len(sample)) {
		return 0
	}
	// The print, shifted, grown by the blur; what ink lies on it goes.
	mask := make([]bool, v.w*v.h)
	for _, i := range pts {
		x, y := i%v.w+bestX, i/v.w+bestY
		if x >= 0 && y >= 0 && x < v.w && y < v.h {
			mask[y*v.w+x] = true
		}
	}
	grow := int(math.Ceil(printedGrowMM*v.pxmm)) + 1
	mask = dilate(mask, v.w, v.h, grow)
	cleared := 0
	for i, on := range mask {
		if on && v.ink[i] {
			v.ink[i] = false
			if x, y := i%v.w, i/v.w; x >= v.box.Min.X && x < v.box.Max.X && y >= v.box.Min.Y && y < v.box.Max.Y {
				cleared++
			}
		}
	}
	v.printMask = mask
	return cleared
}

// dilate grows a mask by r pixels each way (a square): a row pass, then a
// column pass, each remembering how far back the mask was last on.
func dilate(m []bool, w, h, r int) []bool {
	rows := make([]bool, len(m))
	for y := range h {
		line, out := m[y*w:(y+1)*w], rows[y*w:(y+1)*w]
		grow1(line, out, r)
	}
	cols := make([]bool, len(m))
	in, out := make([]bool, h), make([]bool, h)
	for x := range w {
		for y := range h {
			in[y] = rows[y*w+x]
		}
		clear(out)
		grow1(in, out, r)
		for y := range h {
			cols[y*w+x] = out[y]
		}
	}
	return cols
}

// grow1 sets out[i] where in is on within r of i, along one line.
func grow1(in, out []bool, r int) {
	last := -1 << 30
	for i, on := range in {
		if on {
			last = i
		}
		if i-last <= r {
			out[i] = true
		}
	}
	last = 1 << 30
	for i := len(in) - 1; i >= 0; i-- {
		if in[i] {
			last = i
		}
		if last-i <= r {
			out[i] = true
		}
	}
}
