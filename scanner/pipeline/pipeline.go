package pipeline

import (
	"bytes"
	"fmt"
	"image"
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
	res := Result{Width: g.Rect.Dx(), Height: g.Rect.Dy(), DPI: dpi}
	res.Timings.Decode = time.Since(t0)

	// The geometry, the preview and the boxes only read the page: they run
	// side by side.
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		t := time.Now()
		res.Geometry = EstimateGeometry(g, dpi)
		res.Timings.Geometry = time.Since(t)
	}()
	go func() {
		defer wg.Done()
		if o.PreviewSize >= 0 {
			t := time.Now()
			res.Preview = preview(g, cmpDefault(o.PreviewSize, 1200))
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
// encodes it as JPEG.
func preview(g *image.Gray, size int) []byte {
	long := max(g.Rect.Dx(), g.Rect.Dy())
	small := reduce(g, max(1, long/size))
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
