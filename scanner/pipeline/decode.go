// Package pipeline analyses scanned pages: the page's skew and orientation,
// the paper's extent on the scanner bed, and for each signer's box whether
// it is signed, with the signature cut out, cleaned and scaled for the
// browser. It works on 8-bit gray and never converts a whole page to
// colour; only small crops go through disintegration/imaging.
package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/png" // pages from eSCL and SANE may come as PNG
	"sync"

	_ "golang.org/x/image/tiff" // and as TIFF

	"github.com/autografo/autografo/scanner/jpegturbo"
	_ "github.com/autografo/autografo/scanner/pnm" // raw gray from SANE
)

// Errors callers branch on.
var (
	ErrDecode   = errors.New("pipeline: page image unreadable")
	ErrTooLarge = errors.New("pipeline: page image too large")
)

// MaxPixels bounds a page: A4 at 1200 dpi is 140 Mpx.
const MaxPixels = 150 << 20

// Decode reads a page as 8-bit gray. The header is read first and a page
// larger than MaxPixels refused before any pixel is; a truncated or
// corrupt file is ErrDecode.
func Decode(data []byte, mediaType string) (*image.Gray, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrDecode)
	}
	if mediaType == "image/jpeg" || bytes.HasPrefix(data, []byte{0xff, 0xd8}) {
		cfg, err := jpegturbo.DecodeConfig(data)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDecode, err)
		}
		if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
			return nil, fmt.Errorf("%w: %dx%d", ErrTooLarge, cfg.Width, cfg.Height)
		}
		g, err := jpegturbo.DecodeGray(data)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDecode, err)
		}
		return g, nil
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, fmt.Errorf("%w: %dx%d", ErrTooLarge, cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	return toGray(img), nil
}

// toGray converts row by row: no whole-page colour copy.
func toGray(img image.Image) *image.Gray {
	if g, ok := img.(*image.Gray); ok {
		return g
	}
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	var wg sync.WaitGroup
	const band = 256
	for y0 := 0; y0 < b.Dy(); y0 += band {
		wg.Add(1)
		go func(y0 int) {
			defer wg.Done()
			for y := y0; y < min(y0+band, b.Dy()); y++ {
				row := g.Pix[y*g.Stride:]
				for x := range b.Dx() {
					row[x] = color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y
				}
			}
		}(y0)
	}
	wg.Wait()
	return g
}
