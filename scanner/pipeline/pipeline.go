package pipeline

import (
	"bytes"
	"fmt"
	"image"
	"math"
	"runtime"
	"sync"
	"time"

	"golang.org/x/image/draw"

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
}

// Result is everything the analysis found on a page.
type Result struct {
	Width, Height, DPI int
	Geometry           Geometry
	// Preview is the page as a JPEG of PreviewSize pixels on its long side.
	Preview  []byte
	Verdicts []Verdict
	Timings  Timings
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
	res := ProcessImage(g, dpi, boxes, o)
	res.Timings.Decode = time.Since(t0) - res.Timings.Total
	res.Timings.Total = time.Since(t0)
	return res, nil
}

// ProcessImage is Process on a page already decoded.
func ProcessImage(g *image.Gray, dpi int, boxes []Box, o Options) Result {
	t0 := time.Now()
	res := Result{Width: g.Rect.Dx(), Height: g.Rect.Dy(), DPI: dpi}

	// The geometry, the preview and the boxes only read the page: they run
	// side by side.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.Now()
		res.Geometry = EstimateGeometry(g, dpi)
		res.Timings.Geometry = time.Since(t)
		// The preview shows the sheet without the scanner's bed around it,
		// and with its background flattened.
		if o.PreviewSize >= 0 {
			t := time.Now()
			paper := g
			if p := res.Geometry.Paper; !p.Empty() && p != g.Rect {
				paper = g.SubImage(p).(*image.Gray)
			}
			res.Preview = preview(paper, cmpDefault(o.PreviewSize, 1200))
			res.Timings.Preview = time.Since(t)
		}
	}()
	t := time.Now()
	if len(boxes) == 0 && o.FreeForm {
		if b, ok := FindSignature(g, dpi); ok {
			boxes = []Box{b}
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
				v := analyse(g, boxes[i], dpi)
				v.Signature = normalize(v, dpi)
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
	res.Timings.Boxes = time.Since(t)
	wg.Wait()
	res.Timings.Total = time.Since(t0)
	return res
}

func cmpDefault(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

// preview shrinks the page to size pixels on its long side (averaging
// blocks, then a bilinear step for the rest, on gray throughout) and
// encodes it as JPEG.
func preview(g *image.Gray, size int) []byte {
	long := max(g.Rect.Dx(), g.Rect.Dy())
	f := max(1, long/size)
	small := Reduce(g, f)
	if f == 1 {
		// reduce gave the page itself, which the boxes are reading:
		// flatten a copy.
		c := image.NewGray(image.Rect(0, 0, g.Rect.Dx(), g.Rect.Dy()))
		draw.Copy(c, image.Point{}, g, g.Rect, draw.Src, nil)
		small = c
	}
	flatten(small)
	if l := max(small.Rect.Dx(), small.Rect.Dy()); l > size {
		f := float64(size) / float64(l)
		r := image.Rect(0, 0, int(float64(small.Rect.Dx())*f), int(float64(small.Rect.Dy())*f))
		dst := image.NewGray(r)
		draw.BiLinear.Scale(dst, r, small, small.Rect, draw.Src, nil)
		small = dst
	}
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
	at := func(x, y float64) float64 { // bilinear between block centres
		fx, fy := x/float64(cell)-0.5, y/float64(cell)-0.5
		x0, y0 := max(0, min(cw-1, int(math.Floor(fx)))), max(0, min(ch-1, int(math.Floor(fy))))
		x1, y1 := min(cw-1, x0+1), min(ch-1, y0+1)
		ax, ay := math.Max(0, math.Min(1, fx-float64(x0))), math.Max(0, math.Min(1, fy-float64(y0)))
		top := bg[y0*cw+x0]*(1-ax) + bg[y0*cw+x1]*ax
		bot := bg[y1*cw+x0]*(1-ax) + bg[y1*cw+x1]*ax
		return top*(1-ay) + bot*ay
	}
	for y := range h {
		row := g.Pix[y*g.Stride:]
		for x := range w {
			v := float64(row[x]) * 255 / at(float64(x), float64(y))
			row[x] = uint8(math.Min(255, v))
		}
	}
}
