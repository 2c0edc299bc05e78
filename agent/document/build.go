package document

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png" // pages may arrive as PNG
	"runtime"
	"sync"

	"golang.org/x/image/draw"

	_ "github.com/autografo/autografo/scanner/pnm" // SANE pages arrive as PNM
)

// Input is one captured page as stored: any image the scanner sent.
type Input struct {
	Data      []byte
	MediaType string
	DPI       int
}

// Options of a build.
type Options struct {
	// Budget is the largest document allowed (default 9.5 MB, under
	// ANSC's 10 MB with room for the seal).
	Budget int
	// FloorDPI is the lowest resolution pages are reduced to (default 200:
	// below it small print stops being legible).
	FloorDPI int
}

// Result says how the document was made.
type Result struct {
	PDF         []byte
	PassThrough bool // every page is the scanner's own JPEG
	Quality     int  // JPEG quality of re-encoded pages, 0 when none were
	DPI         int  // resolution pages were reduced to, 0 when none were
}

// ErrTooLarge is a document that cannot fit the budget at legible quality.
var ErrTooLarge = errors.New("document: cannot fit the size budget at a legible quality")

// Build makes the PDF/A of an act's pages within the budget. Scanner JPEGs
// go in unchanged when they fit; otherwise every page is re-encoded once,
// first at decreasing quality, then at decreasing resolution down to the
// floor. A document that still does not fit is an error, not an
// unreadable file.
func Build(inputs []Input, meta Meta, o Options) (Result, error) {
	if o.Budget <= 0 {
		o.Budget = 9_500_000
	}
	if o.FloorDPI <= 0 {
		o.FloorDPI = 200
	}
	if len(inputs) == 0 {
		return Result{}, ErrNoPages
	}
	direct := true
	pages := make([]Page, len(inputs))
	for i, in := range inputs {
		if in.MediaType != "image/jpeg" {
			direct = false
			break
		}
		pages[i] = Page{JPEG: in.Data, DPI: in.DPI}
	}
	if direct {
		pdf, err := BuildPDFA(pages, meta)
		if err != nil {
			return Result{}, err
		}
		if len(pdf) <= o.Budget {
			return Result{PDF: pdf, PassThrough: true}, nil
		}
	}
	imgs := make([]image.Image, len(inputs))
	for i, in := range inputs {
		img, _, err := image.Decode(bytes.NewReader(in.Data))
		if err != nil {
			return Result{}, fmt.Errorf("%w: page %d: %w", ErrPage, i+1, err)
		}
		imgs[i] = img
	}
	maxDPI := 0
	for _, in := range inputs {
		maxDPI = max(maxDPI, in.DPI)
	}
	steps := []struct{ quality, dpi int }{{90, 0}, {80, 0}, {70, 0}, {60, 0}}
	for _, d := range []int{300, 250, o.FloorDPI} {
		if d < maxDPI && d >= o.FloorDPI {
			steps = append(steps, struct{ quality, dpi int }{70, d})
		}
	}
	for _, st := range steps {
		if err := encodeAll(imgs, inputs, pages, st.quality, st.dpi); err != nil {
			return Result{}, err
		}
		pdf, err := BuildPDFA(pages, meta)
		if err != nil {
			return Result{}, err
		}
		if len(pdf) <= o.Budget {
			return Result{PDF: pdf, Quality: st.quality, DPI: st.dpi}, nil
		}
	}
	return Result{}, fmt.Errorf("%w: more than %d bytes even at %d dpi", ErrTooLarge, o.Budget, o.FloorDPI)
}

// encodeAll re-encodes every page at quality (and at dpi when lower than
// the page's), one goroutine per core: the JPEG encoder is the cost of a
// re-encoded document.
func encodeAll(imgs []image.Image, inputs []Input, pages []Page, quality, dpi int) error {
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	errs := make([]error, len(imgs))
	var wg sync.WaitGroup
	for i, img := range imgs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			d := inputs[i].DPI
			if dpi > 0 && dpi < d {
				img = resample(img, float64(dpi)/float64(d))
				d = dpi
			}
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
				errs[i] = fmt.Errorf("document: encoding page %d: %w", i+1, err)
				return
			}
			pages[i] = Page{JPEG: buf.Bytes(), DPI: d}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// resample scales a page by f with a good filter; gray stays gray.
func resample(img image.Image, f float64) image.Image {
	b := img.Bounds()
	r := image.Rect(0, 0, max(1, int(float64(b.Dx())*f)), max(1, int(float64(b.Dy())*f)))
	var dst draw.Image
	if _, ok := img.(*image.Gray); ok {
		dst = image.NewGray(r)
	} else {
		dst = image.NewRGBA(r)
	}
	draw.CatmullRom.Scale(dst, r, img, b, draw.Src, nil)
	return dst
}
