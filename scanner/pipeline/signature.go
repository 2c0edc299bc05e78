package pipeline

import (
	"bytes"
	"image"
	"image/png"
	"math"

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
// The box was analysed at a lower resolution: the signature is cut again
// from the page, as finely as the page and 300 dpi allow.
func normalize(g *image.Gray, v Verdict, dpi int, bed *bedMap) []byte {
	c := v.crop
	if v.Ink.Empty() {
		return nil
	}
	pad := int(2 * c.pxmm)
	r := v.Ink.Inset(-pad).Intersect(c.img.Rect)
	w := c.img.Rect.Dx()
	// The ink and a crop pixel around it (the stroke's soft edge).
	near := make([]bool, r.Dx()*r.Dy())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if !v.ink[y*w+x] {
				continue
			}
			for dy := max(r.Min.Y, y-1); dy <= min(r.Max.Y-1, y+1); dy++ {
				for dx := max(r.Min.X, x-1); dx <= min(r.Max.X-1, x+1); dx++ {
					near[(dy-r.Min.Y)*r.Dx()+dx-r.Min.X] = true
				}
			}
		}
	}
	scale := math.Min(1, float64(SignatureDPI)/float64(dpi)) // of the page
	per := c.scale / scale                                   // crop pixels per output pixel
	ow, oh := max(1, int(float64(r.Dx())/per)), max(1, int(float64(r.Dy())/per))
	at := func(x, y float64) Point { // a crop position on the page
		du, dv := (x-float64(c.margin))/c.scale, (y-float64(c.margin))/c.scale
		return Point{c.tl.X + du*c.u.X + dv*c.v.X, c.tl.Y + du*c.u.Y + dv*c.v.Y}
	}
	cut, _ := sample(g, at(float64(r.Min.X), float64(r.Min.Y)), c.u, c.v, scale, ow, oh, bed)
	inkAt := func(x, y int) (ink, keep bool) {
		cx, cy := min(r.Max.X-1, r.Min.X+int(float64(x)*per)), min(r.Max.Y-1, r.Min.Y+int(float64(y)*per))
		return v.ink[cy*w+cx], near[(cy-r.Min.Y)*r.Dx()+cx-r.Min.X]
	}
	// The ink's dark end: its 5th percentile.
	var hist [256]int
	inked := 0
	for y := range oh {
		for x := range ow {
			if ink, _ := inkAt(x, y); ink {
				hist[cut.Pix[y*cut.Stride+x]]++
				inked++
			}
		}
	}
	if inked == 0 {
		return nil
	}
	dark, acc := 0.0, 0
	for l, n := range hist {
		acc += n
		if acc > inked/20 {
			dark = float64(l)
			break
		}
	}
	paper := background(c.img)
	span := math.Max(paper-dark, 1)
	out := image.NewGray(image.Rect(0, 0, ow, oh))
	for y := range oh {
		row := out.Pix[y*out.Stride:]
		for x := range ow {
			val := 255.0
			if _, keep := inkAt(x, y); keep {
				val = math.Max(0, math.Min(255, 255*(float64(cut.Pix[y*cut.Stride+x])-dark)/span))
				if val > 235 {
					val = 255
				}
			}
			row[x] = uint8(val)
		}
	}
	dpi = int(math.Round(float64(dpi) * scale))
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
