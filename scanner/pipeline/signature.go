package pipeline

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"slices"

	"github.com/disintegration/imaging"
)

// SignatureDPI is the resolution normalized signatures are given at, and
// MaxSignatureHeight bounds their height in pixels.
const (
	SignatureDPI       = 300
	MaxSignatureHeight = 360
)

// normalize cuts the signature out of its box: the ink's extent with a
// margin, the paper turned white, the printed lines and specks dropped,
// the ink kept in its gray levels, scaled to 300 dpi and a bounded height.
func normalize(v Verdict, dpi int) []byte {
	c := v.crop
	if v.Ink.Empty() {
		return nil
	}
	pad := int(2 * c.pxmm)
	r := v.Ink.Inset(-pad).Intersect(c.img.Rect)
	w := c.img.Rect.Dx()
	// Keep the ink and a pixel around it (the stroke's soft edge).
	keep := func(x, y int) bool {
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				nx, ny := x+dx, y+dy
				if nx >= 0 && ny >= 0 && nx < w && ny < c.img.Rect.Dy() && v.ink[ny*w+nx] {
					return true
				}
			}
		}
		return false
	}
	var levels []uint8
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if v.ink[y*w+x] {
				levels = append(levels, c.img.Pix[y*c.img.Stride+x])
			}
		}
	}
	if len(levels) == 0 {
		return nil
	}
	slices.Sort(levels)
	dark := float64(levels[len(levels)/20])
	paper := background(c.img)
	span := math.Max(paper-dark, 1)
	out := image.NewGray(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := out.Pix[(y-r.Min.Y)*out.Stride:]
		for x := r.Min.X; x < r.Max.X; x++ {
			val := 255.0
			if keep(x, y) {
				val = math.Max(0, math.Min(255, 255*(float64(c.img.Pix[y*c.img.Stride+x])-dark)/span))
				if val > 235 {
					val = 255
				}
			}
			row[x-r.Min.X] = uint8(val)
		}
	}
	f := float64(SignatureDPI) / float64(dpi)
	nw, nh := float64(out.Rect.Dx())*f, float64(out.Rect.Dy())*f
	if nh > MaxSignatureHeight {
		nw, nh = nw*MaxSignatureHeight/nh, MaxSignatureHeight
	}
	var img image.Image = out
	if int(math.Round(nw)) != out.Rect.Dx() {
		// A crop is small: imaging's resampling (through NRGBA) fits here.
		img = toGray(imaging.Resize(out, max(1, int(math.Round(nw))), max(1, int(math.Round(nh))), imaging.Lanczos))
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil
	}
	return buf.Bytes()
}
