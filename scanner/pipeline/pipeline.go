package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/autografo/autografo/scanner/jpegturbo"
)

// Options of a page's analysis.
type Options struct {
	// PreviewSize is the long side of the page preview in pixels (default
	// 1200; negative: no preview).
	PreviewSize int
	// FreeForm looks for a single signature anywhere on a page given no
	// boxes (a card signed at a home visit); its verdict has the role
	// "firma".
	FreeForm bool
	// Explain draws, for each box, what the analysis saw (Verdict.Explain).
	Explain bool
	// Printed is the page as printed, when it is known: its print is
	// taken away from the boxes before they are judged.
	Printed Printed
	// Blank is the page's blankness when the caller already decided it
	// (PageBlankness): it is not decided again.
	Blank *Blankness
}

// Result is everything the analysis found on a page.
type Result struct {
	Width, Height, DPI int
	Geometry           Geometry
	// Preview is the page as a JPEG of PreviewSize pixels on its long side.
	Preview  []byte
	Verdicts []Verdict
	// Blank says whether the sheet holds any ink, with its figures.
	Blank   Blankness
	Timings Timings
}

// Timings say where the time went.
type Timings struct {
	Decode, Geometry, Boxes, Preview, Total time.Duration
}

// Process analyses one scanned page: bytes as the scanner sent them, its
// resolution, and the signers' boxes its layout places on it (none for a
// page without signatures).
func Process(data []byte, mediaType string, dpi int, boxes []Box, o Options) (Result, error) {
	t0 := time.Now()
	if dpi < 50 || dpi > 2400 {
		return Result{}, fmt.Errorf("%w: %d dpi", ErrDecode, dpi)
	}
	g, err := Decode(data, mediaType)
	if err != nil {
		return Result{}, err
	}
	res, err := ProcessImage(g, dpi, boxes, o)
	if err != nil {
		return Result{}, err
	}
	res.Timings.Decode = time.Since(t0) - res.Timings.Total
	res.Timings.Total = time.Since(t0)
	return res, nil
}

// ErrLayout is a box the page cannot hold: corners that are not numbers,
// off the page, or a box larger than the page. Layouts come from outside
// (a browser, a template file): they are checked before anything is
// allocated for them.
var ErrLayout = errors.New("pipeline: layout box unusable")

// checkBoxes refuses boxes a w x h page at dpi cannot hold.
func checkBoxes(boxes []Box, w, h, dpi int) error {
	pxmm := float64(dpi) / 25.4
	diag := math.Hypot(float64(w), float64(h))
	for i, b := range boxes {
		for _, p := range b.Corners {
			if math.IsNaN(p.X) || math.IsNaN(p.Y) || math.IsInf(p.X, 0) || math.IsInf(p.Y, 0) {
				return fmt.Errorf("%w: box %d (%s) has a corner that is not a number", ErrLayout, i, b.Role)
			}
			if p.X < -0.25*float64(w) || p.X > 1.25*float64(w) || p.Y < -0.25*float64(h) || p.Y > 1.25*float64(h) {
				return fmt.Errorf("%w: box %d (%s) lies off the page", ErrLayout, i, b.Role)
			}
		}
		tl, tr, bl := b.Corners[0], b.Corners[1], b.Corners[3]
		bw, bh := math.Hypot(tr.X-tl.X, tr.Y-tl.Y), math.Hypot(bl.X-tl.X, bl.Y-tl.Y)
		if bw < 2*pxmm || bh < 2*pxmm {
			return fmt.Errorf("%w: box %d (%s) is smaller than 2 mm", ErrLayout, i, b.Role)
		}
		if bw > diag || bh > diag || bw*bh > float64(w)*float64(h) {
			return fmt.Errorf("%w: box %d (%s) is larger than the page", ErrLayout, i, b.Role)
		}
	}
	return nil
}

// ProcessImage is Process on a page already decoded.
func ProcessImage(g *image.Gray, dpi int, boxes []Box, o Options) (Result, error) {
	t0 := time.Now()
	res := Result{Width: g.Rect.Dx(), Height: g.Rect.Dy(), DPI: dpi}
	if err := checkBoxes(boxes, res.Width, res.Height, dpi); err != nil {
		return Result{}, err
	}
	// The page reduced, its threshold and what lies around the sheet: the
	// geometry reads them, and the boxes treat the bed as white paper.
	f := reducedFactor(dpi)
	small := Reduce(g, f)
	thr := pageThreshold(small)
	bed := bedMask(small, thr)
	var bedAround *bedMap
	if slices.Contains(bed, true) {
		// The geometry reads text lines, and shaded paper given back to
		// the sheet adds nothing to them: only the boxes are told of it.
		around := bedOutOfShade(small, bed, thr, float64(dpi)/float64(f)/25.4)
		bedAround = &bedMap{mask: around, w: small.Rect.Dx(), h: small.Rect.Dy(), f: f}
	}

	// The geometry, the preview and the boxes only read the page: they run
	// side by side.
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if o.Blank != nil {
			res.Blank = *o.Blank
			return
		}
		res.Blank = blankness(small, float64(dpi)/float64(f))
	}()
	go func() {
		defer wg.Done()
		t := time.Now()
		res.Geometry = estimateGeometry(small, f, thr, bed)
		res.Timings.Geometry = time.Since(t)
		// The preview shows the sheet without the scanner's bed around it,
		// and with its background flattened.
		if o.PreviewSize >= 0 {
			t := time.Now()
			paper := g
			if p := res.Geometry.Paper; !p.Empty() && p != g.Rect {
				paper = g.SubImage(p).(*image.Gray)
			}
			res.Preview = preview(paper, cmpDefault(o.PreviewSize, 1200), small, f)
			res.Timings.Preview = time.Since(t)
		}
	}()
	tb := time.Now()
	freeForm := false // the one box is where the page looked most like a signature
	if len(boxes) == 0 && o.FreeForm {
		if b, ok := FindSignature(g, dpi); ok {
			boxes, freeForm = []Box{b}, true
		}
	}
	res.Verdicts = make([]Verdict, len(boxes))
	next := make(chan int)
	var bw sync.WaitGroup
	for range min(len(boxes), runtime.GOMAXPROCS(0)) {
		bw.Add(1)
		go func() {
			defer bw.Done()
			for i := range next {
				others := make([]Box, 0, len(boxes)-1)
				others = append(append(others, boxes[:i]...), boxes[i+1:]...)
				v := analyse(g, boxes[i], others, dpi, bedAround, o.Printed, o.Explain)
				v.Signature = normalize(g, v, dpi, bedAround)
				if freeForm && v.Decision == Signed {
					// Found where the page had the most handwriting-like
					// ink, not where a signer was asked to sign: printed
					// text and a patterned paper were taken for one. The
					// officer looks; it is never signed on its own word.
					v.Decision, v.Confidence = Doubtful, 0.5
					v.Reasons = append(v.Reasons, ReasonNoLayout)
					slices.Sort(v.Reasons)
				}
				v.crop, v.ink = crop{}, nil
				res.Verdicts[i] = v
			}
		}()
	}
	for i := range boxes {
		next <- i
	}
	close(next)
	bw.Wait()
	res.Timings.Boxes = time.Since(tb)
	wg.Wait()
	res.Timings.Total = time.Since(t0)
	return res, nil
}

func cmpDefault(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

// preview shrinks the page to size pixels on its long side (averaging
// blocks, then a bilinear step for the rest, on gray throughout) and
// encodes it as JPEG. reduced is the whole page already reduced by f, for
// the geometry: when the preview's blocks are the same, it is reused.
func preview(g *image.Gray, size int, reduced *image.Gray, f0 int) []byte {
	long := max(g.Rect.Dx(), g.Rect.Dy())
	f := max(1, long/size)
	var small *image.Gray
	switch {
	case f >= f0 && f0 > 1:
		// The page reduced for the geometry is as fine as the preview
		// needs: its paper's part, copied (flatten writes to it, and the
		// reduction is shared); the bilinear step does the rest.
		f = f0
		r := image.Rect(g.Rect.Min.X/f, g.Rect.Min.Y/f, g.Rect.Max.X/f, g.Rect.Max.Y/f).Intersect(reduced.Rect)
		small = copyGray(reduced.SubImage(r).(*image.Gray))
	case f == 1:
		// reduce gives the page itself, which the boxes are reading:
		// flatten a copy.
		small = copyGray(g)
	default:
		small = Reduce(g, f)
	}
	if l := max(small.Rect.Dx(), small.Rect.Dy()); l > size {
		f := float64(size) / float64(l)
		r := image.Rect(0, 0, int(float64(small.Rect.Dx())*f), int(float64(small.Rect.Dy())*f))
		small = resizeGray(small, r.Dx(), r.Dy())
	}
	// Flattened at its final size: the tone varies over centimetres.
	flatten(small)
	var buf bytes.Buffer
	if err := jpegturbo.Encode(&buf, small, 80); err != nil {
		return nil
	}
	return buf.Bytes()
}

// flatten evens out the paper's tone: uneven lighting, a fold's shadow,
// yellowed paper. The paper's local tone is the brightest level in blocks
// of about a fortieth of the page, smoothed; every pixel is divided by it,
// so the paper becomes white and the ink keeps its contrast.
func flatten(g *image.Gray) {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	cell := max(8, max(w, h)/40)
	cw, ch := (w+cell-1)/cell, (h+cell-1)/cell
	bg := make([]float64, cw*ch)
	for cy := range ch {
		for cx := range cw {
			var hist [256]int
			n := 0
			for y := cy * cell; y < min(h, (cy+1)*cell); y++ {
				for _, v := range g.Pix[y*g.Stride+cx*cell : y*g.Stride+min(w, (cx+1)*cell)] {
					hist[v]++
					n++
				}
			}
			// The 90th percentile: the paper, even in a block of text.
			acc, level := 0, 255
			for v := 255; v >= 0; v-- {
				acc += hist[v]
				if acc >= n/10 {
					level = v
					break
				}
			}
			bg[cy*cw+cx] = math.Max(float64(level), 40)
		}
	}
	// Bilinear between block centres: the columns' blocks and weights
	// once, each row's tone across the blocks once.
	x0s, x1s, axs := make([]int, w), make([]int, w), make([]float64, w)
	for x := range w {
		fx := float64(x)/float64(cell) - 0.5
		x0s[x] = max(0, min(cw-1, int(math.Floor(fx))))
		x1s[x] = min(cw-1, x0s[x]+1)
		axs[x] = math.Max(0, math.Min(1, fx-float64(x0s[x])))
	}
	tone := make([]float64, cw)
	for y := range h {
		fy := float64(y)/float64(cell) - 0.5
		y0 := max(0, min(ch-1, int(math.Floor(fy))))
		y1 := min(ch-1, y0+1)
		ay := math.Max(0, math.Min(1, fy-float64(y0)))
		for cx := range cw {
			tone[cx] = 255 / (bg[y0*cw+cx]*(1-ay) + bg[y1*cw+cx]*ay)
		}
		row := g.Pix[y*g.Stride : y*g.Stride+w]
		for x, v := range row {
			ax := axs[x]
			// The reciprocals interpolated: close enough between blocks,
			// and no division a pixel.
			k := tone[x0s[x]]*(1-ax) + tone[x1s[x]]*ax
			row[x] = uint8(math.Min(255, float64(v)*k))
		}
	}
}

// resizeGray scales a gray image to w×h, bilinear, in fixed point: the
// preview's last step, by less than two. (The general scalers go through
// 64-bit colour a pixel, several times slower on a page.)
func resizeGray(src *image.Gray, w, h int) *image.Gray {
	dst := image.NewGray(image.Rect(0, 0, w, h))
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	if sw < 2 || sh < 2 || w < 1 || h < 1 {
		return dst
	}
	// Each column's source pair and weight (of 256), once.
	xs, fxs := make([]int, w), make([]uint32, w)
	for x := range w {
		f := math.Max(0, math.Min(float64(sw-1)-1e-9, (float64(x)+0.5)*float64(sw)/float64(w)-0.5))
		xs[x], fxs[x] = int(f), uint32((f-math.Floor(f))*256)
	}
	for y := range h {
		f := math.Max(0, math.Min(float64(sh-1)-1e-9, (float64(y)+0.5)*float64(sh)/float64(h)-0.5))
		y0, fy := int(f), uint32((f-math.Floor(f))*256)
		p := src.Pix[y0*src.Stride:]
		q := src.Pix[(y0+1)*src.Stride:]
		row := dst.Pix[y*dst.Stride : y*dst.Stride+w]
		for x := range row {
			x0, fx := xs[x], fxs[x]
			top := uint32(p[x0])*(256-fx) + uint32(p[x0+1])*fx
			bot := uint32(q[x0])*(256-fx) + uint32(q[x0+1])*fx
			row[x] = uint8((top*(256-fy) + bot*fy + 1<<15) >> 16)
		}
	}
	return dst
}

// copyGray copies a gray image, row by row (the general drawing goes
// through 64-bit colour a pixel), to a new one at the origin.
func copyGray(src *image.Gray) *image.Gray {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dst := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		copy(dst.Pix[y*dst.Stride:y*dst.Stride+w], src.Pix[y*src.Stride:y*src.Stride+w])
	}
	return dst
}
