package sheet

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// ErrPDF is a PDF that cannot be stamped: not a PDF, encrypted, empty, or
// too large.
var ErrPDF = errors.New("sheet: PDF unusable")

// MaxPDF bounds what is stamped: an act's preview is well under it.
const MaxPDF = 50 << 20

const mm = 72 / 25.4 // points per millimetre

// Where the code and the marks go, in millimetres from the page's edges:
// a mark in each corner, 8 mm in (inside what printers can print, and
// clear of a scanner's dark bed around a skewed sheet), and the code in
// the lower right margin, beside its corner's mark.
const (
	codeSizeMM   = 22.0
	markSizeMM   = 4.0
	markMarginMM = 8.0
)

// CodeRect is where the page code sits on a page of w×h points (PDF
// coordinates: from the lower left corner, y up).
func CodeRect(w, h float64) Rect {
	s := codeSizeMM * mm
	return Rect{X: w - (markMarginMM+markSizeMM+3)*mm - s, Y: markMarginMM * mm, W: s, H: s}
}

// markRects are the four registration marks.
func markRects(w, h float64) [4]Rect {
	s, m := markSizeMM*mm, markMarginMM*mm
	return [4]Rect{{m, h - m - s, s, s}, {w - m - s, h - m - s, s, s}, {w - m - s, m, s, s}, {m, m, s, s}}
}

// Rect is a rectangle on a PDF page, in points from its lower left corner.
type Rect struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
	W float64 `json:"w"`
	H float64 `json:"h"`
}

func init() {
	// pdfcpu would otherwise write its own configuration into the user's
	// home at first use: a library has no business there.
	api.DisableConfigDir()
}

func config() *model.Configuration {
	c := model.NewDefaultConfiguration()
	c.ValidationMode = model.ValidationRelaxed
	return c
}

// PageSizes reads a PDF's page sizes in points, checking it is a PDF
// Autografo can work with.
func PageSizes(pdf []byte) (sizes [][2]float64, err error) {
	// pdfcpu panics on some malformed files; a bad PDF is an error here.
	defer func() {
		if r := recover(); r != nil {
			sizes, err = nil, fmt.Errorf("%w: %v", ErrPDF, r)
		}
	}()
	_, dims, err := openPDF(pdf)
	if err != nil {
		return nil, err
	}
	out := make([][2]float64, len(dims))
	for i, d := range dims {
		out[i] = [2]float64{d.Width, d.Height}
	}
	return out, nil
}

// openPDF parses a PDF and checks it is one Autografo can work with: not
// too large, not encrypted, with 1 to 999 pages, whose sizes it returns.
// pdfcpu may panic on a malformed file: callers recover.
func openPDF(pdf []byte) (*model.Context, []types.Dim, error) {
	if len(pdf) > MaxPDF {
		return nil, nil, fmt.Errorf("%w: %d bytes, more than %d", ErrPDF, len(pdf), MaxPDF)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return nil, nil, fmt.Errorf("%w: not a PDF", ErrPDF)
	}
	ctx, err := api.ReadAndValidate(bytes.NewReader(pdf), config())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrPDF, err)
	}
	if ctx.Encrypt != nil || ctx.E != nil {
		return nil, nil, fmt.Errorf("%w: encrypted", ErrPDF)
	}
	dims, err := ctx.PageDims()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrPDF, err)
	}
	if len(dims) == 0 || len(dims) > 999 {
		return nil, nil, fmt.Errorf("%w: %d pages", ErrPDF, len(dims))
	}
	return ctx, dims, nil
}

// Stamp returns the PDF for printing: every page with its code (act, page
// i of N, the original PDF's hash) and the four marks, drawn over the page
// in its margins; the page's own content is not touched.
func Stamp(pdf []byte, act string) ([]byte, error) {
	if !actPattern.MatchString(act) {
		return nil, fmt.Errorf("sheet: act id %q cannot go in a page code", act)
	}
	sizes, err := PageSizes(pdf)
	if err != nil {
		return nil, err
	}
	hash := PDFHash(pdf)
	var mark bytes.Buffer
	markImg := image.NewGray(image.Rect(0, 0, 8, 8)) // black
	if err := png.Encode(&mark, markImg); err != nil {
		return nil, err
	}
	const px = 4 // pixels per module in the code's image
	marks := map[int][]*model.Watermark{}
	for i, sz := range sizes {
		code := Code{Act: act, Page: i + 1, Pages: len(sizes), PDFHash: hash}
		img, err := qrImage(code.String(), px)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return nil, err
		}
		r := CodeRect(sz[0], sz[1])
		wm, err := placed(buf.Bytes(), r, float64(img.Rect.Dx()))
		if err != nil {
			return nil, err
		}
		list := []*model.Watermark{wm}
		for _, m := range markRects(sz[0], sz[1]) {
			wm, err := placed(mark.Bytes(), m, 8)
			if err != nil {
				return nil, err
			}
			list = append(list, wm)
		}
		marks[i+1] = list
	}
	return addStamps(pdf, marks)
}

func addStamps(pdf []byte, marks map[int][]*model.Watermark) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: stamping: %v", ErrPDF, r)
		}
	}()
	var buf bytes.Buffer
	if err := api.AddWatermarksSliceMap(bytes.NewReader(pdf), &buf, marks, config()); err != nil {
		return nil, fmt.Errorf("%w: stamping: %w", ErrPDF, err)
	}
	return buf.Bytes(), nil
}

// placed is an image stamp filling r, from an image pxWide pixels wide.
func placed(png []byte, r Rect, pxWide float64) (*model.Watermark, error) {
	desc := fmt.Sprintf("pos:bl, off:%.3f %.3f, scale:%.5f abs, rot:0, op:1", r.X, r.Y, r.W/pxWide)
	wm, err := api.ImageWatermarkForReader(bytes.NewReader(png), desc, true, false, types.POINTS)
	if err != nil {
		return nil, fmt.Errorf("sheet: %w", err)
	}
	return wm, nil
}
