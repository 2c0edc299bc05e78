package pipeline

import (
	"image"
	"math"
	"slices"
)

// Geometry is what the page itself says about how it lies on the scanner.
type Geometry struct {
	// SkewDeg is the angle of the text lines, clockwise as seen, before the
	// quarter turn: rotating the page by -SkewDeg straightens it.
	SkewDeg float64 `json:"skewDeg"`
	// Orientation is the clockwise quarter turn (0, 90, 180, 270) the page
	// shows after the skew: turning it back by as much makes it upright.
	Orientation int `json:"orientation"`
	// Trusted is false when the page has too little text, or no clear
	// direction, for the estimate to be used; nothing is then rotated.
	Trusted bool `json:"trusted"`
	// Confidence is how much the best angle stands out (1: not at all).
	Confidence float64 `json:"confidence"`
	// OrientationTrusted is false when up and down could not be told apart.
	OrientationTrusted bool `json:"orientationTrusted"`
	// Paper is the sheet's extent in the scan: the scanner's dark bed
	// around it removed.
	Paper image.Rectangle `json:"paper"`
}

// workDPI is the resolution the geometry is estimated at: text lines are
// 20 px apart there and a page has about 100,000 ink points.
const workDPI = 150

// Reduce shrinks a page by f, averaging f×f blocks: cheap, and free of
// the aliasing that sampling would leave on print. f ≤ 1 returns g itself.
func Reduce(g *image.Gray, f int) *image.Gray {
	if f <= 1 {
		return g
	}
	b := g.Bounds()
	w, h := b.Dx()/f, b.Dy()/f
	out := image.NewGray(image.Rect(0, 0, w, h))
	if f == 2 {
		// 300 dpi to 150: the page's most common case, pairs of pixels
		// from pairs of rows.
		for y := range h {
			p := g.Pix[2*y*g.Stride : 2*y*g.Stride+2*w]
			q := g.Pix[(2*y+1)*g.Stride : (2*y+1)*g.Stride+2*w]
			orow := out.Pix[y*out.Stride : y*out.Stride+w]
			for x := range orow {
				orow[x] = uint8((uint(p[2*x]) + uint(p[2*x+1]) + uint(q[2*x]) + uint(q[2*x+1])) / 4)
			}
		}
		return out
	}
	sums := make([]int, w)
	for y := range h {
		clear(sums)
		for yy := y * f; yy < y*f+f; yy++ {
			row := g.Pix[(yy)*g.Stride:]
			for x := range w {
				s := 0
				for i := x * f; i < x*f+f; i++ {
					s += int(row[i])
				}
				sums[x] += s
			}
		}
		orow := out.Pix[y*out.Stride:]
		for x := range w {
			orow[x] = uint8(sums[x] / (f * f))
		}
	}
	return out
}

// otsu is the threshold that best separates a histogram in two classes.
func otsu(hist *[256]int) uint8 {
	total, sum := 0, 0
	for i, n := range hist {
		total += n
		sum += i * n
	}
	var best float64
	var t uint8
	wB, sumB := 0, 0
	for i, n := range hist {
		wB += n
		if wB == 0 {
			continue
		}
		wF := total - wB
		if wF == 0 {
			break
		}
		sumB += i * n
		mB, mF := float64(sumB)/float64(wB), float64(sum-sumB)/float64(wF)
		if v := float64(wB) * float64(wF) * (mB - mF) * (mB - mF); v > best {
			best, t = v, uint8(i)
		}
	}
	return t
}

// bedMask marks, on the reduced page, the dark regions connected to the
// scan's edge: the scanner's bed, a shadow, what lies around a sheet. t is
// the threshold between ink and paper.
func bedMask(g *image.Gray, t uint8) []bool {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	bed := make([]bool, w*h)
	// A flood with its neighbours checked inline: a photo's table is a
	// third of the page, and this runs for every page.
	stack := make([]int32, 0, 4096)
	seed := func(x, y int) {
		if i := y*w + x; !bed[i] && g.Pix[y*g.Stride+x] <= t {
			bed[i] = true
			stack = append(stack, int32(i))
		}
	}
	for x := range w {
		seed(x, 0)
		seed(x, h-1)
	}
	for y := range h {
		seed(0, y)
		seed(w-1, y)
	}
	for len(stack) > 0 {
		i := int(stack[len(stack)-1])
		stack = stack[:len(stack)-1]
		x, y := i%w, i/w
		p := y*g.Stride + x
		if x > 0 && !bed[i-1] && g.Pix[p-1] <= t {
			bed[i-1] = true
			stack = append(stack, int32(i-1))
		}
		if x < w-1 && !bed[i+1] && g.Pix[p+1] <= t {
			bed[i+1] = true
			stack = append(stack, int32(i+1))
		}
		if y > 0 && !bed[i-w] && g.Pix[p-g.Stride] <= t {
			bed[i-w] = true
			stack = append(stack, int32(i-w))
		}
		if y < h-1 && !bed[i+w] && g.Pix[p+g.Stride] <= t {
			bed[i+w] = true
			stack = append(stack, int32(i+w))
		}
	}
	return bed
}

// bedOutOfShade narrows the bed that bedMask found, for the boxes: in a
// phone photo the light falls off across the sheet, and paper in the shade
// can be darker than the page's threshold while still far lighter than the
// table around it. The flood from the scan's edge then ran on into that
// paper, and the boxes there were taken as lying off the sheet. What stays
// bed is what is about as dark as the bed where it meets the scan's edge,
// a band of shadowMM along it (a sheet's edge throws its own shadow), and
// any other part that reaches the scan's edge or does not border the
// paper: only shaded paper, lighter than the bed, enclosed by it and
// running into the lit paper, is given back to the sheet. pxmm is the
// reduced page's pixels per millimetre.
func bedOutOfShade(g *image.Gray, bed []bool, t uint8, pxmm float64) []bool {
	const shadowMM = 3
	w, h := g.Rect.Dx(), g.Rect.Dy()
	var edge []int
	onEdge := func(x, y int) {
		if bed[y*w+x] {
			edge = append(edge, int(g.Pix[y*g.Stride+x]))
		}
	}
	for x := range w {
		onEdge(x, 0)
		onEdge(x, h-1)
	}
	for y := 1; y < h-1; y++ {
		onEdge(0, y)
		onEdge(w-1, y)
	}
	if len(edge) < 64 {
		return bed
	}
	slices.Sort(edge)
	hi := edge[9*len(edge)/10]
	// The bed's own light varies by a few per cent across a photo, and
	// noise and JPEG add as much again.
	t2 := hi + max(20, hi/5)
	if t2 >= int(t) {
		return bed
	}
	// The bed proper, then the band along it, through the first flood,
	// grown a ring at a time from where the bed proper meets the rest.
	out := bedMask(g, uint8(t2))
	grows := func(i int) bool { return bed[i] && !out[i] }
	var ring []int32
	for y := range h {
		for x := range w {
			i := y*w + x
			if out[i] && (x > 0 && grows(i-1) || x < w-1 && grows(i+1) || y > 0 && grows(i-w) || y < h-1 && grows(i+w)) {
				ring = append(ring, int32(i))
			}
		}
	}
	var next []int32
	for range int(math.Ceil(shadowMM * pxmm)) {
		next = next[:0]
		for _, i32 := range ring {
			i := int(i32)
			x, y := i%w, i/w
			for _, j := range [4]int{i - 1, i + 1, i - w, i + w} {
				if j == i-1 && x == 0 || j == i+1 && x == w-1 || j == i-w && y == 0 || j == i+w && y == h-1 {
					continue
				}
				if grows(j) {
					out[j] = true
					next = append(next, int32(j))
				}
			}
		}
		ring, next = next, ring
	}
	// What else the first flood took: shaded paper only when it neither
	// reaches the scan's edge nor stays away from the lit paper.
	rest := make([]bool, w*h)
	for i := range rest {
		rest[i] = bed[i] && !out[i]
	}
	eachComponent(rest, w, h, func(comp []int) {
		atEdge, byPaper := false, 0
		for _, i := range comp {
			x, y := i%w, i/w
			if x == 0 || y == 0 || x == w-1 || y == h-1 {
				atEdge = true
				break
			}
			for _, j := range [4]int{i - 1, i + 1, i - w, i + w} {
				if !bed[j] {
					byPaper++
					break
				}
			}
		}
		if atEdge || float64(byPaper) < 10*pxmm {
			for _, i := range comp {
				out[i] = true
			}
		}
	})
	return out
}

// pageThreshold is the reduced page's threshold between ink and paper.
func pageThreshold(g *image.Gray) uint8 {
	var hist [256]int
	for _, v := range g.Pix {
		hist[v]++
	}
	return otsu(&hist)
}

// inkPoints thresholds the reduced page and returns its dark pixels, minus
// the dark regions that touch the scan's edge (bed, from bedMask), and the
// paper's extent.
func inkPoints(g *image.Gray, t uint8, bed []bool) (pts []point, centres []point, paper image.Rectangle) {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	minX, minY, maxX, maxY := w, h, -1, -1
	dark := make([]bool, w*h)
	for y := range h {
		row := g.Pix[y*g.Stride:]
		for x := range w {
			if bed[y*w+x] {
				continue
			}
			minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
			dark[y*w+x] = row[x] <= t
		}
	}
	// Text is made of small pieces. Long pieces are rules, frames, the
	// signature boxes, pictures: they say little about the lines of text,
	// and a frame's sides would pass for lines running the other way.
	longest := int(25.0 / 25.4 * workDPI * float64(w) / float64(max(1, w)))
	eachComponent(dark, w, h, func(comp []int) {
		cx0, cy0, cx1, cy1 := w, h, -1, -1
		for _, i := range comp {
			x, y := i%w, i/w
			cx0, cy0, cx1, cy1 = min(cx0, x), min(cy0, y), max(cx1, x), max(cy1, y)
		}
		if cx1-cx0 > longest || cy1-cy0 > longest {
			return
		}
		var sx, sy float32
		for _, i := range comp {
			p := point{float32(i % w), float32(i / w)}
			pts = append(pts, p)
			sx, sy = sx+p.x, sy+p.y
		}
		if len(comp) >= 4 {
			centres = append(centres, point{sx / float32(len(comp)), sy / float32(len(comp))})
		}
	})
	// Ink in a thin strip along the paper's edge is the edge's own shadow.
	margin := float32(max(2, w/200))
	keep := pts[:0]
	for _, p := range pts {
		if p.x > float32(minX)+margin && p.x < float32(maxX)-margin && p.y > float32(minY)+margin && p.y < float32(maxY)-margin {
			keep = append(keep, p)
		}
	}
	return keep, centres, image.Rect(minX, minY, maxX+1, maxY+1)
}

// lineAxis tells from the pieces of ink whether the lines of text run
// across the scan or along it: each piece's nearest neighbour is most
// often the next letter on its line, nearer than the line above or below
// (the "docstrum"). It returns +1 across, -1 along, 0 when it cannot tell.
func lineAxis(centres []point) int {
	const cell = 24
	grid := map[[2]int][]int{}
	for i, c := range centres {
		k := [2]int{int(c.x) / cell, int(c.y) / cell}
		grid[k] = append(grid[k], i)
	}
	across, along := 0, 0
	for i, c := range centres {
		best, bd := -1, float32(cell*cell)
		kx, ky := int(c.x)/cell, int(c.y)/cell
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				for _, j := range grid[[2]int{kx + dx, ky + dy}] {
					if j == i {
						continue
					}
					ex, ey := centres[j].x-c.x, centres[j].y-c.y
					if d := ex*ex + ey*ey; d < bd {
						best, bd = j, d
					}
				}
			}
		}
		if best < 0 {
			continue
		}
		ex, ey := abs32(centres[best].x-c.x), abs32(centres[best].y-c.y)
		switch {
		case ey < ex*0.5:
			across++
		case ex < ey*0.5:
			along++
		}
	}
	switch {
	case across+along < 50:
		return 0
	case across > along*3/2:
		return 1
	case along > across*3/2:
		return -1
	}
	return 0
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

type point struct{ x, y float32 }

// profileScore projects the points across lines at angle deg (text lines
// running down to the right by deg) into bins of size bin, with each point
// shared between its two nearest bins so that the score changes smoothly
// with the angle, and returns the sum of the squared differences between
// neighbouring bins (Postl's criterion): largest when the lines of text
// begin and end sharply, and blind to the page's broad layout.
func profileScore(pts []point, deg, bin float64, stride int, hist []float64) (float64, []float64) {
	s, c := math.Sincos(deg * math.Pi / 180)
	// r = y cos - x sin is constant along a line at that angle; its range
	// over the page fits in the page's diagonal.
	clear(hist)
	off := float64(len(hist)) / 2
	for i := 0; i < len(pts); i += stride {
		p := pts[i]
		r := (float64(p.y)*c-float64(p.x)*s)/bin + off
		k := int(r)
		if k < 0 || k+1 >= len(hist) {
			continue
		}
		f := r - float64(k)
		hist[k] += 1 - f
		hist[k+1] += f
	}
	sum := 0.0
	for i := 1; i < len(hist); i++ {
		d := hist[i] - hist[i-1]
		sum += d * d
	}
	return sum, hist
}

// search finds the angle in [lo, hi] with the best score, step by step,
// and refines it with a parabola through the best and its neighbours.
func search(pts []point, lo, hi, step, bin float64, stride int, hist []float64) (best, score float64, scores []float64) {
	best, score = lo, -1
	var angles []float64
	for a := lo; a <= hi+step/2; a += step {
		v, _ := profileScore(pts, a, bin, stride, hist)
		angles, scores = append(angles, a), append(scores, v)
		if v > score {
			best, score = a, v
		}
	}
	i := slices.Index(angles, best)
	if i > 0 && i+1 < len(angles) {
		y0, y1, y2 := scores[i-1], scores[i], scores[i+1]
		if d := y0 - 2*y1 + y2; d < 0 {
			best += step * 0.5 * (y0 - y2) / d
		}
	}
	return best, score, scores
}

// EstimateGeometry finds the page's skew (up to ±10.5°) and orientation
// from its text lines, at about 150 dpi: a coarse search of the profile
// across lines, then two finer ones with points shared between bins, then
// the asymmetry of the lines (Latin text has more ascenders than
// descenders) for up and down.
func EstimateGeometry(g *image.Gray, dpi int) Geometry {
	f := max(1, int(math.Round(float64(dpi)/workDPI)))
	small := Reduce(g, f)
	t := pageThreshold(small)
	return estimateGeometry(small, f, t, bedMask(small, t))
}

// reducedFactor is how much a page at dpi is reduced for its geometry.
func reducedFactor(dpi int) int { return max(1, int(math.Round(float64(dpi)/workDPI))) }

// estimateGeometry is EstimateGeometry on the page already reduced by f,
// with its threshold and bed.
func estimateGeometry(small *image.Gray, f int, t uint8, bed []bool) Geometry {
	pts, centres, paper := inkPoints(small, t, bed)
	geo := Geometry{Paper: image.Rect(paper.Min.X*f, paper.Min.Y*f, paper.Max.X*f, paper.Max.Y*f)}
	w, h := small.Rect.Dx(), small.Rect.Dy()
	diag := int(math.Hypot(float64(w), float64(h))) + 8
	if len(pts) < 2000 {
		return geo // too little to go on: a blank page, or a photo
	}
	hist := make([]float64, 4*diag+8) // room for bins of half a pixel
	// Lines across (0 or 180) or along (90 or 270) the scan: the same
	// search with the axes swapped.
	swapped := make([]point, len(pts))
	for i, p := range pts {
		swapped[i] = point{p.y, p.x}
	}
	coarseStride := max(1, len(pts)/30000)
	// Lines of text make one angle stand out sharply from the rest; the
	// columns of a page seen across them do not. So the axis is chosen by
	// how much its best angle stands out, not by its raw score.
	a0, s0, scores0 := search(pts, -10.5, 10.5, 0.3, 2, coarseStride, hist)
	a1, s1, scores1 := search(swapped, -10.5, 10.5, 0.3, 2, coarseStride, hist)
	c0, c1 := s0/median(scores0), s1/median(scores1)
	use, angle, conf := pts, a0, c0
	quarter := false
	switch lineAxis(centres) {
	case -1:
		quarter = true
	case 0:
		quarter = c1 > c0
	}
	if quarter {
		use, angle, conf = swapped, a1, c1
	}
	angle, _, _ = search(use, angle-0.4, angle+0.4, 0.05, 1, 1, hist)
	angle, _, _ = search(use, angle-0.06, angle+0.06, 0.01, 0.5, 1, hist)
	geo.Confidence = conf
	geo.Trusted = conf > 2

	// Up or down along the chosen axis.
	_, prof := profileScore(use, angle, 1, 1, hist)
	up := ascenderSide(prof)
	geo.OrientationTrusted = up != 0
	switch {
	case !quarter && up >= 0:
		geo.Orientation, geo.SkewDeg = 0, angle
	case !quarter:
		geo.Orientation, geo.SkewDeg = 180, angle
	case up < 0:
		geo.Orientation, geo.SkewDeg = 90, -angle
	default:
		geo.Orientation, geo.SkewDeg = 270, -angle
	}
	return geo
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 1
	}
	return math.Max(s[len(s)/2], 1e-9)
}

// upDownRatio is how much more ink one side of the lines must have than
// the other for up and down to be told apart.
const upDownRatio = 1.5

// ascenderSide finds the text lines in a profile across them and compares
// the ink above each line's core (its x-height band) with the ink below:
// +1 when there is clearly more above, so smaller bins are up; -1 when
// more is below; 0 when it cannot tell.
func ascenderSide(prof []float64) int {
	peak := 0.0
	for _, v := range prof {
		peak = math.Max(peak, v)
	}
	if peak == 0 {
		return 0
	}
	floor := peak * 0.04
	var above, below float64
	lines, ups, downs := 0, 0, 0
	for i := 0; i < len(prof); {
		if prof[i] <= floor {
			i++
			continue
		}
		j := i
		top := 0.0
		for j < len(prof) && prof[j] > floor {
			top = math.Max(top, prof[j])
			j++
		}
		// [i, j) is a line; its core is where it is at least half its top.
		if j-i >= 4 {
			lines++
			c1, c2 := i, j-1
			for prof[c1] < top/2 {
				c1++
			}
			for prof[c2] < top/2 {
				c2--
			}
			la, lb := 0.0, 0.0
			for k := i; k < c1; k++ {
				la += prof[k]
			}
			for k := c2 + 1; k < j; k++ {
				lb += prof[k]
			}
			above, below = above+la, below+lb
			switch {
			case la > lineVote*lb:
				ups++
			case lb > lineVote*la:
				downs++
			}
		}
		i = j
	}
	// A phone photo's perspective and light blur the bands of the
	// ascenders and descenders together: on the tuning set photos read
	// 1.0 to 1.8 right way up, and one read 1.43 upside down. Below 1.5
	// the officer turns the page.
	// The lines vote too, each by its own ink: a few heavy lines (a
	// shadow, a block of signatures) can outweigh the rest in the sums,
	// and did on photos, which read upside down by the sums while most
	// of their lines read upright. The sums and the votes must agree.
	switch {
	case lines < 5: // a fragment: too few lines to tell
	case above > below*upDownRatio && ups > downs:
		return 1
	case below > above*upDownRatio && downs > ups:
		return -1
	}
	return 0
}

// lineVote is how much more ink one side of a line must have than the
// other for the line to vote.
const lineVote = 1.2
