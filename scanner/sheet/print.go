package sheet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"os/exec"
	"strconv"
	"time"

	"github.com/autografo/autografo/scanner/pnm"
)

// ErrRender is a printed page that could not be rendered.
var ErrRender = errors.New("sheet: printed page cannot be rendered")

// RenderDPI is the resolution printed pages are rendered at for the
// signature pipeline, which analyses boxes at this resolution too.
const RenderDPI = 200

// Render rasterizes one page (from 1) of a PDF in gray at dpi with
// poppler's pdftoppm (found in PATH when pdftoppm is ""), the PDF on its
// standard input and the page, a PGM, on its standard output (with no
// output root given, pdftoppm writes there).
func Render(ctx context.Context, pdf []byte, page, dpi int, pdftoppm string) (*image.Gray, error) {
	if pdftoppm == "" {
		pdftoppm = "pdftoppm"
	}
	if page < 1 || dpi < 20 || dpi > 1200 {
		return nil, fmt.Errorf("%w: page %d at %d dpi", ErrRender, page, dpi)
	}
	// A PDF that came from a browser must not hold the analysis up.
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	p := strconv.Itoa(page)
	cmd := exec.CommandContext(ctx, pdftoppm, "-gray", "-r", strconv.Itoa(dpi), "-f", p, "-l", p, "-singlefile", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: pdftoppm: %w: %s", ErrRender, err, bytes.TrimSpace(errOut.Bytes()))
	}
	img, err := pnm.Decode(&out)
	if err != nil {
		return nil, fmt.Errorf("%w: pdftoppm's page: %w", ErrRender, err)
	}
	g, ok := img.(*image.Gray)
	if !ok {
		g = image.NewGray(img.Bounds())
		draw.Draw(g, g.Rect, img, img.Bounds().Min, draw.Src)
	}
	return g, nil
}

// Invert is the mapping back: scan pixels to the page's points.
func (t Transform) Invert() (Transform, bool) {
	det := t.a*t.e - t.b*t.d
	if det == 0 || det != det {
		return Transform{}, false
	}
	a, b, d, e := t.e/det, -t.b/det, -t.d/det, t.a/det
	return Transform{a: a, b: b, c: -(a*t.c + b*t.f), d: d, e: e, f: -(d*t.c + e*t.f)}, true
}

// Print is a printed page, rendered, placed on a scan of it by the
// transform its code and marks gave: it tells the signature pipeline what
// was printed where, so that only what people wrote is judged.
type Print struct {
	img    *image.Gray
	toPage Transform // scan pixels to the page's points
	scale  float64   // rendered pixels per point
	height float64   // the page's height in points (PDF's y runs up)
}

// NewPrint places a page rendered at dpi (a page height points tall) on
// the scan that t maps it to.
func NewPrint(rendered *image.Gray, dpi int, height float64, t Transform) (*Print, error) {
	inv, ok := t.Invert()
	if !ok || rendered == nil || dpi <= 0 {
		return nil, fmt.Errorf("%w: no usable placement", ErrRender)
	}
	return &Print{img: rendered, toPage: inv, scale: float64(dpi) / 72, height: height}, nil
}

// PrintedGray is the printed page's gray at the scan's pixel (x, y),
// interpolated between the rendered pixels.
func (p *Print) PrintedGray(x, y float64) (uint8, bool) {
	pt := p.toPage.Apply(x, y)
	rx, ry := pt.X*p.scale-0.5, (p.height-pt.Y)*p.scale-0.5
	w, h := p.img.Rect.Dx(), p.img.Rect.Dy()
	if rx < -0.5 || ry < -0.5 || rx > float64(w)-0.5 || ry > float64(h)-0.5 {
		return 0, false
	}
	x0, y0 := int(rx), int(ry)
	if rx < 0 {
		x0 = -1
	}
	if ry < 0 {
		y0 = -1
	}
	fx, fy := rx-float64(x0), ry-float64(y0)
	at := func(x, y int) float64 {
		x, y = min(max(x, 0), w-1), min(max(y, 0), h-1)
		return float64(p.img.Pix[y*p.img.Stride+x])
	}
	top := at(x0, y0)*(1-fx) + at(x0+1, y0)*fx
	bot := at(x0, y0+1)*(1-fx) + at(x0+1, y0+1)*fx
	return uint8(top*(1-fy) + bot*fy + 0.5), true
}
