package document

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/png" // pages may arrive as PNG
	"runtime"
	"sync"

	"golang.org/x/image/draw"

	"github.com/autografo/autografo/scanner/jpegturbo"
	_ "github.com/autografo/autografo/scanner/pnm" // SANE pages arrive as PNM
)

// Input is one captured page as stored: any image the scanner sent.
type Input struct {
	Data      []byte
	MediaType string
	DPI       int
	// Rotate turns the page upright: 0, 90, 180 or 270 degrees clockwise.
	// Quarter turns are the page's /Rotate, so a scanner JPEG still goes
	// in unchanged.
	Rotate int
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
		pages[i] = Page{JPEG: in.Data, DPI: in.DPI, Rotate: in.Rotate}
	}
	if direct {
		pdf, err := BuildPDFA(pages, meta)
		if err != nil {
			return Result{}, err
		}
		if len(pdf) <= o.Budget {
			// A scanner's JPEG goes in as it is only when all of it
			// decodes: a header says nothing of a page cut short, which a
			// reader would show half grey. (Re-encoded pages below are
			// decoded whole anyway.)
			if err := forEachPage(inputs, func(int, image.Image) error { return nil }); err != nil {
				return Result{}, err
			}
			return Result{PDF: pdf, PassThrough: true}, nil
		}
	}
	maxDPI := 0
	for _, in := range inputs {
		maxDPI = max(maxDPI, in.DPI)
	}
	// Quality in 5-steps: a budget that fits 65 is not given 60.
	steps := []step{{90, 0}, {85, 0}, {80, 0}, {75, 0}, {70, 0}, {65, 0}, {60, 0}}
	for _, d := range []int{300, 250, o.FloorDPI} {
		if d < maxDPI && d >= o.FloorDPI {
			steps = append(steps, step{70, d})
		}
	}
	// One pass to predict each step's size from a sample of every page,
	// then one full encoding at the first step predicted to fit: a second
	// full pass only when the prediction was wrong. Pages are decoded again
	// in each pass rather than kept (15 ms a page), so that at most one
	// decoded page per core is alive at a time.
	predicted, err := predictSizes(inputs, steps)
	if err != nil {
		return Result{}, err
	}
	overhead := 64 << 10
	if meta.Attestation != nil {
		overhead += 200 << 10 // the embedded font and the text page
	}
	first := len(steps) - 1
	for i, p := range predicted.total {
		// No margin: the bands' cut edges make the prediction a little
		// high (1.4% on printed pages), and a wrong guess costs one more
		// pass, not a wrong document.
		if p+overhead <= o.Budget {
			first = i
			break
		}
	}
	for k := first; k < len(steps); k++ {
		st := steps[k]
		hint := func(i int) int { return int(predicted.perPage[i][k]*1.05) + 4096 }
		if err := encodeAll(inputs, pages, st, hint); err != nil {
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

// step is one rung of the size ladder: a JPEG quality, and a resolution
// (0: the page's own).
type step struct{ quality, dpi int }

// Pages are sampled one tile in sampleEvery.
const sampleEvery = 10

// predictSizes estimates the encoded size of all pages at every step by
// encoding a tenth of each page's rows at each step's quality, and scaling
// by area for steps that also lower the resolution.
func predictSizes(inputs []Input, steps []step) (prediction, error) {
	perPage := make([][]float64, len(inputs))
	err := forEachPage(inputs, func(i int, img image.Image) error {
		tiles, frac := sample(img)
		// The headers and tables do not grow with the page: take them out
		// before scaling up.
		var tiny image.Image = image.NewGray(image.Rect(0, 0, 8, 8))
		if _, gray := tiles.(*image.Gray); !gray {
			tiny = image.NewRGBA(image.Rect(0, 0, 8, 8))
		}
		sizes := make([]float64, len(steps))
		byQuality := map[int]float64{}
		for k, st := range steps {
			n, ok := byQuality[st.quality]
			if !ok {
				body, err := jpegSize(tiles, st.quality)
				if err != nil {
					return fmt.Errorf("document: encoding page %d: %w", i+1, err)
				}
				head, _ := jpegSize(tiny, st.quality)
				n = float64(body-head)/frac + float64(head)
				byQuality[st.quality] = n
			}
			if st.dpi > 0 && st.dpi < inputs[i].DPI {
				f := float64(st.dpi) / float64(inputs[i].DPI)
				n *= f * f
			}
			sizes[k] = n
		}
		perPage[i] = sizes
		return nil
	})
	if err != nil {
		return prediction{}, err
	}
	total := make([]int, len(steps))
	for _, sizes := range perPage {
		for k, n := range sizes {
			total[k] += int(n)
		}
	}
	return prediction{total: total, perPage: perPage}, nil
}

// prediction is the estimated size of the document's pages at each step,
// in all and page by page.
type prediction struct {
	total   []int
	perPage [][]float64
}

// sample copies about one tile in sampleEvery of the page, chosen
// pseudo-randomly, into a small image, and says what fraction of the page
// it holds. Tiles are 64 pixels wide and one JPEG block row high (8 rows
// gray; 16 for colour, which is subsampled): small enough that thousands
// are drawn from a page, so that the regular pitch of printed lines
// averages out.
func sample(img image.Image) (image.Image, float64) {
	b := img.Bounds()
	tw, th := 256, 16
	g, gray := img.(*image.Gray)
	if gray {
		th = 8
	}
	var tiles []image.Point
	n := uint32(0)
	for y := b.Min.Y; y+th <= b.Max.Y; y += th {
		for x := b.Min.X; x+tw <= b.Max.X; x += tw {
			n++
			if (n*2654435761)>>8%sampleEvery == 0 {
				tiles = append(tiles, image.Pt(x, y))
			}
		}
	}
	if len(tiles) < 64 { // a small page: the whole of it
		return img, 1
	}
	perRow := min(32, b.Dx()/tw)
	rows := (len(tiles) + perRow - 1) / perRow
	for len(tiles) < rows*perRow { // fill the last row with tiles again
		tiles = append(tiles, tiles[len(tiles)%perRow])
	}
	r := image.Rect(0, 0, perRow*tw, rows*th)
	frac := float64(r.Dx()*r.Dy()) / float64(b.Dx()*b.Dy())
	if gray {
		out := image.NewGray(r)
		for k, p := range tiles {
			ox, oy := (k%perRow)*tw, (k/perRow)*th
			for j := range th {
				copy(out.Pix[(oy+j)*out.Stride+ox:][:tw], g.Pix[g.PixOffset(p.X, p.Y+j):][:tw])
			}
		}
		return out, frac
	}
	out := image.NewRGBA(r)
	for k, p := range tiles {
		ox, oy := (k%perRow)*tw, (k/perRow)*th
		draw.Draw(out, image.Rect(ox, oy, ox+tw, oy+th), img, p, draw.Src)
	}
	return out, frac
}

// jpegSize is the size of img encoded at quality.
func jpegSize(img image.Image, quality int) (int, error) {
	var c countWriter
	err := jpegturbo.Encode(&c, img, quality)
	return int(c), err
}

// countWriter counts bytes and keeps none.
type countWriter int

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// forEachPage decodes every page, one goroutine per core, and hands each
// decoded page to fn; the decoded page is garbage when fn returns.
func forEachPage(inputs []Input, fn func(i int, img image.Image) error) error {
	errs := make([]error, len(inputs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(inputs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				img, err := decodePage(inputs[i])
				if err != nil {
					errs[i] = fmt.Errorf("%w: page %d: %w", ErrPage, i+1, err)
					continue
				}
				errs[i] = fn(i, img)
			}
		}()
	}
	for i := range inputs {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// encodeAll re-encodes every page at the step's quality (and resolution
// when lower than the page's).
func encodeAll(inputs []Input, pages []Page, st step, sizeHint func(page int) int) error {
	return forEachPage(inputs, func(i int, img image.Image) error {
		d := inputs[i].DPI
		if st.dpi > 0 && st.dpi < d {
			img = resample(img, float64(st.dpi)/float64(d))
			d = st.dpi
		}
		var buf bytes.Buffer
		buf.Grow(sizeHint(i)) // one allocation instead of a doubling series of copies
		if err := jpegturbo.Encode(&buf, img, st.quality); err != nil {
			return fmt.Errorf("document: encoding page %d: %w", i+1, err)
		}
		pages[i] = Page{JPEG: buf.Bytes(), DPI: d, Rotate: inputs[i].Rotate}
		return nil
	})
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
