package sheet

import (
	"errors"
	"fmt"
	"image"
	"math"

	xdraw "golang.org/x/image/draw"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/autografo/autografo/scanner/pipeline"
)

// Found is a scanned page's code: what it says, and where its three finder
// patterns are in the scan (bottom left, top left, top right of the code
// as printed), which fixes where everything else on the page is.
type Found struct {
	Code    Code
	Finders [3]pipeline.Point
	// Align is the alignment pattern (near the bottom right of the code),
	// when the reader found it.
	Align *pipeline.Point
}

// Find reads the page code on a scan, in any of the four orientations and
// skewed. It tries at about 150 dpi first (fast), then at full resolution,
// and, for a scan of 200 dpi or less, on each quarter of the page doubled
// in size: at 150 dpi a module of the code is three pixels, which blur
// and JPEG can smear past what the reader takes.
func Find(g *image.Gray, dpi int) (Found, error) {
	var lastErr error
	for _, f := range []int{max(1, dpi/150), 1} {
		img := g
		if f > 1 {
			img = pipeline.Reduce(g, f)
		}
		found, err := findIn(img)
		if err == nil {
			found.scale(float64(f), 0.5*float64(f), image.Point{})
			return found, nil
		}
		lastErr = err
		if errors.Is(err, ErrForeignCode) || f == 1 {
			break
		}
	}
	if errors.Is(lastErr, ErrForeignCode) || dpi > 200 {
		return Found{}, lastErr
	}
	// The code is in one corner, whichever way the page lies. Enlarged, its
	// three pixels a module at 150 dpi are enough for the reader, mostly:
	// a simulated scan of a page rasterized at 150 dpi and skewed 2.3
	// degrees, one page in 300, was read as 23 or 31 modules wide or failed
	// its error correction, each time for one of these and not another.
	// Bilinear and the local threshold are the cheapest, and read nearly
	// every page; Catmull-Rom's sharper edges under one threshold for the
	// whole corner, twice then three times as large, read the rest.
	//
	// The second and third ways look only where the code can be: within
	// 90 mm of a corner of the scan (the code's far corner is 37 mm from
	// the page's, and a sheet skewed 10 degrees or set off the bed's corner
	// moves it less than 50 mm more), which halves what a page without a
	// code costs.
	w, h := g.Rect.Dx(), g.Rect.Dy()
	c := min(int(90*float64(dpi)/25.4), w/2, h/2)
	for i, try := range []struct {
		k      int
		interp xdraw.Interpolator
		global bool
	}{{2, xdraw.BiLinear, false}, {2, xdraw.CatmullRom, true}, {3, xdraw.CatmullRom, true}} {
		corners := []image.Rectangle{
			image.Rect(w/2, h/2, w, h), image.Rect(0, 0, w/2, h/2), image.Rect(w/2, 0, w, h/2), image.Rect(0, h/2, w/2, h),
		}
		if i > 0 {
			corners = []image.Rectangle{image.Rect(w-c, h-c, w, h), image.Rect(0, 0, c, c), image.Rect(w-c, 0, w, c), image.Rect(0, h-c, c, h)}
		}
		for _, q := range corners {
			part := g.SubImage(q.Add(g.Rect.Min)).(*image.Gray)
			big := image.NewGray(image.Rect(0, 0, q.Dx()*try.k, q.Dy()*try.k))
			try.interp.Scale(big, big.Rect, part, part.Rect, xdraw.Src, nil)
			found, err := read(big, try.global)
			if err == nil {
				found.scale(1/float64(try.k), 0, q.Min)
				return found, nil
			}
			if errors.Is(err, ErrForeignCode) {
				return Found{}, err
			}
		}
	}
	return Found{}, lastErr
}

// scale maps the code's points found on a resized or cropped image back
// to the scan: p·k + d, then shifted by off.
func (f *Found) scale(k, d float64, off image.Point) {
	at := func(p *pipeline.Point) {
		p.X = p.X*k + d + float64(off.X)
		p.Y = p.Y*k + d + float64(off.Y)
	}
	for i := range f.Finders {
		at(&f.Finders[i])
	}
	if f.Align != nil {
		at(f.Align)
	}
}

func findIn(img *image.Gray) (f Found, err error) { return read(img, false) }

// read is findIn with the reader's local threshold (hybrid), or with one
// threshold for the whole image (global).
func read(img *image.Gray, global bool) (f Found, err error) {
	defer func() {
		if r := recover(); r != nil { // a decoder bug must not take the agent down
			err = fmt.Errorf("%w: %v", ErrNoCode, r)
		}
	}()
	src := gozxing.NewLuminanceSourceFromImage(img)
	binarizer := gozxing.NewHybridBinarizer(src)
	if global {
		binarizer = gozxing.NewGlobalHistgramBinarizer(src)
	}
	bmp, err := gozxing.NewBinaryBitmap(binarizer)
	if err != nil {
		return Found{}, fmt.Errorf("%w: %w", ErrNoCode, err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		return Found{}, fmt.Errorf("%w: %w", ErrNoCode, err)
	}
	code, err := ParseCode(res.GetText())
	if err != nil {
		return Found{}, err
	}
	pts := res.GetResultPoints()
	if len(pts) < 3 {
		return Found{}, fmt.Errorf("%w: %d finder patterns", ErrNoCode, len(pts))
	}
	f.Code = code
	for i := range 3 {
		f.Finders[i] = pipeline.Point{X: pts[i].GetX(), Y: pts[i].GetY()}
	}
	if len(pts) >= 4 {
		f.Align = &pipeline.Point{X: pts[3].GetX(), Y: pts[3].GetY()}
	}
	return f, nil
}

// Transform maps PDF points of a page to scan pixels.
type Transform struct{ a, b, c, d, e, f float64 }

// Apply maps a point of the page (points, y up) to the scan (pixels).
func (t Transform) Apply(x, y float64) pipeline.Point {
	return pipeline.Point{X: t.a*x + t.b*y + t.c, Y: t.d*x + t.e*y + t.f}
}

// QuarterTurn is the clockwise quarter turn (0, 90, 180, 270) the page
// shows on the scan: where its rightward axis points, to the nearest
// quarter.
func (t Transform) QuarterTurn() int {
	deg := math.Atan2(t.d, t.a) * 180 / math.Pi // y down: clockwise as seen
	return (int(math.Round(deg/90))*90 + 360) % 360
}

// ScaleMM is how many scan pixels a millimetre of the page is.
func (t Transform) ScaleMM() float64 {
	return math.Hypot(t.a, t.d) * mm
}

// TransformFor is the mapping from a page of w×h points to the scan, from
// where the code's finder patterns are on both.
func (f Found) TransformFor(w, h float64) (Transform, error) {
	r := CodeRect(w, h)
	u := r.W / qrTotal
	at := func(col, row float64) [2]float64 { return [2]float64{r.X + col*u, r.Y + r.H - row*u} }
	lo, hi := float64(qrQuiet)+3.5, float64(qrQuiet+qrModules)-3.5
	pdf := [3][2]float64{at(lo, hi), at(lo, lo), at(hi, lo)} // bottom left, top left, top right
	var scan [][2]float64
	for _, p := range f.Finders {
		scan = append(scan, [2]float64{p.X, p.Y})
	}
	pts := pdf[:]
	if f.Align != nil {
		// Version 4's alignment pattern is centred on module 26 (26.5 to
		// its centre), counted from the symbol's top left.
		a := float64(qrQuiet) + 26.5
		pts = append(pts, at(a, a))
		scan = append(scan, [2]float64{f.Align.X, f.Align.Y})
	}
	t, ok := fitAffine(pts, scan)
	if !ok {
		return Transform{}, fmt.Errorf("%w: degenerate code", ErrNoCode)
	}
	return t, nil
}

// Boxes places a page's signers' boxes on the scan, as the signature
// pipeline takes them: corners top left, top right, bottom right, bottom
// left as printed.
func (t Transform) Boxes(p PageLayout) []pipeline.Box {
	out := make([]pipeline.Box, 0, len(p.Boxes))
	for _, b := range p.Boxes {
		r := b.Rect
		out = append(out, pipeline.Box{Role: b.Role, Label: b.Label, Corners: [4]pipeline.Point{
			t.Apply(r.X, r.Y+r.H), t.Apply(r.X+r.W, r.Y+r.H), t.Apply(r.X+r.W, r.Y), t.Apply(r.X, r.Y)}})
	}
	return out
}

// Refine sharpens the transform with the four registration marks: the
// code is small, so an error of a tenth of a millimetre at its finder
// patterns grows tenfold across the page, while the marks span the page.
// Each mark is looked for near where the code's transform puts it, and
// its centre taken as the centroid of its dark pixels. With three marks
// or more, the transform is fitted to them by least squares; otherwise the
// code's transform stays, and ok is false.
func (t Transform) Refine(g *image.Gray, w, h float64) (Transform, int) {
	pdf, scan := t.marks(g, w, h, 4)
	if len(pdf) < 3 {
		return t, len(pdf)
	}
	fitted, ok := fitAffine(pdf, scan)
	if !ok {
		return t, len(pdf)
	}
	return fitted, len(pdf)
}

// markCentre finds a dark square of about side px near (cx, cy), within
// radius px, and returns the centroid of its dark pixels.
func markCentre(g *image.Gray, cx, cy, side, radius float64) (float64, float64, bool) {
	r := image.Rect(int(cx-radius), int(cy-radius), int(cx+radius)+1, int(cy+radius)+1).Intersect(g.Rect)
	if r.Empty() {
		return 0, 0, false
	}
	lo, hi := 255, 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for _, v := range g.Pix[y*g.Stride+r.Min.X : y*g.Stride+r.Max.X] {
			lo, hi = min(lo, int(v)), max(hi, int(v))
		}
	}
	if hi-lo < 60 {
		return 0, 0, false // nothing dark there
	}
	t := uint8((lo + hi) / 2)
	w := r.Dx()
	seen := make([]bool, w*r.Dy())
	best, bestD := -1.0, math.Inf(1)
	var bx, by float64
	var stack []int
	for start := range seen {
		sx, sy := start%w+r.Min.X, start/w+r.Min.Y
		if seen[start] || g.Pix[sy*g.Stride+sx] > t {
			continue
		}
		seen[start] = true
		stack = append(stack[:0], start)
		var n, sumX, sumY, wsum float64
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := i%w+r.Min.X, i/w+r.Min.Y
			// Weighted by darkness: the soft edges count by how dark they are.
			wt := float64(t) - float64(g.Pix[y*g.Stride+x]) + 1
			n++
			sumX += (float64(x) + 0.5) * wt
			sumY += (float64(y) + 0.5) * wt
			wsum += wt
			for _, d := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
				nx, ny := x+d[0], y+d[1]
				if nx < r.Min.X || ny < r.Min.Y || nx >= r.Max.X || ny >= r.Max.Y {
					continue
				}
				j := (ny-r.Min.Y)*w + nx - r.Min.X
				if !seen[j] && g.Pix[ny*g.Stride+nx] <= t {
					seen[j] = true
					stack = append(stack, j)
				}
			}
		}
		area := side * side
		if n < area*0.4 || n > area*2 {
			continue
		}
		mx, my := sumX/wsum, sumY/wsum
		if d := math.Hypot(mx-cx, my-cy); d < bestD {
			best, bestD, bx, by = n, d, mx, my
		}
	}
	return bx, by, best > 0
}

// fitAffine fits scan = A·pdf + b by least squares.
func fitAffine(pdf, scan [][2]float64) (Transform, bool) {
	// Normal equations for [a b c] with rows [x y 1].
	var m [3][3]float64
	var vx, vy [3]float64
	for i, p := range pdf {
		row := [3]float64{p[0], p[1], 1}
		for r := range 3 {
			for c := range 3 {
				m[r][c] += row[r] * row[c]
			}
			vx[r] += row[r] * scan[i][0]
			vy[r] += row[r] * scan[i][1]
		}
	}
	det3 := func(a [3][3]float64) float64 {
		return a[0][0]*(a[1][1]*a[2][2]-a[1][2]*a[2][1]) - a[0][1]*(a[1][0]*a[2][2]-a[1][2]*a[2][0]) + a[0][2]*(a[1][0]*a[2][1]-a[1][1]*a[2][0])
	}
	det := det3(m)
	if math.Abs(det) < 1e-9 {
		return Transform{}, false
	}
	solve := func(v [3]float64) [3]float64 {
		var out [3]float64
		for k := range 3 {
			mk := m
			for i := range 3 {
				mk[i][k] = v[i]
			}
			out[k] = det3(mk) / det
		}
		return out
	}
	xs, ys := solve(vx), solve(vy)
	return Transform{xs[0], xs[1], xs[2], ys[0], ys[1], ys[2]}, true
}

// ErrNoMarks is a page whose code is unreadable and whose marks cannot be
// found either.
var ErrNoMarks = errors.New("sheet: registration marks not found")

// FromMarks places a printed page of w×h points on a scan whose code
// could not be read, from the registration marks alone. The page's own
// geometry (its skew and quarter turn, read from its text, and the paper's
// extent) gives a first guess, and the marks, searched for widely around
// it, fix the transform. Which printed page it is must come from
// elsewhere (the order of the pages).
func FromMarks(g *image.Gray, dpi int, geo pipeline.Geometry, w, h float64) (Transform, error) {
	if !geo.Trusted || !geo.OrientationTrusted || geo.Paper.Empty() {
		return Transform{}, fmt.Errorf("%w: the page's orientation is not known", ErrNoMarks)
	}
	s := float64(dpi) / 72
	theta := (float64(geo.Orientation) + geo.SkewDeg) * math.Pi / 180
	sin, cos := math.Sincos(theta)
	cx := float64(geo.Paper.Min.X+geo.Paper.Max.X) / 2
	cy := float64(geo.Paper.Min.Y+geo.Paper.Max.Y) / 2
	// Page point (x, y up) -> centred image offsets (y down) -> turned.
	guess := Transform{
		a: s * cos, b: s * sin, c: cx - s*cos*w/2 - s*sin*h/2,
		d: s * sin, e: -s * cos, f: cy - s*sin*w/2 + s*cos*h/2,
	}
	pdf, scan := guess.marks(g, w, h, 15)
	if len(pdf) < 3 {
		return Transform{}, fmt.Errorf("%w: %d of 4", ErrNoMarks, len(pdf))
	}
	t, ok := fitAffine(pdf, scan)
	if !ok {
		return Transform{}, ErrNoMarks
	}
	// A second pass with the fitted transform sharpens the centres.
	t2, n := t.Refine(g, w, h)
	if n >= 3 {
		t = t2
	}
	return t, nil
}

// marks looks for each registration mark within radiusMM of where t puts
// it, and returns the centres found, on the page and on the scan.
func (t Transform) marks(g *image.Gray, w, h, radiusMM float64) (pdf, scan [][2]float64) {
	px := t.ScaleMM()
	for _, m := range markRects(w, h) {
		c := t.Apply(m.X+m.W/2, m.Y+m.H/2)
		if x, y, ok := markCentre(g, c.X, c.Y, markSizeMM*px, radiusMM*px); ok {
			pdf = append(pdf, [2]float64{m.X + m.W/2, m.Y + m.H/2})
			scan = append(scan, [2]float64{x, y})
		}
	}
	return pdf, scan
}
