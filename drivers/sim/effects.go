package sim

import (
	"image"
	"image/draw"
	"math"
	"math/rand/v2"
)

// Effects are what a real scanner does to a page. The zero value is a
// perfect scanner; DefaultEffects is a typical office flatbed.
type Effects struct {
	Paper       uint8   // paper tone, 255 is white
	Bed         uint8   // tone of the scanner background around the paper
	NoiseSigma  float64 // standard deviation of sensor noise, in gray levels
	Blur        bool    // slight optical blur (a 3x3 binomial kernel)
	JPEGQuality int
}

// DefaultEffects is a slightly gray paper on a dark bed with mild noise.
func DefaultEffects() Effects {
	return Effects{Paper: 238, Bed: 40, NoiseSigma: 3, Blur: true, JPEGQuality: 85}
}

func (e Effects) paper() uint8 {
	if e.Paper == 0 {
		return 255
	}
	return e.Paper
}

// transform maps page millimetres to pixels of the final scan: scale, the
// skew about the page centre onto the larger scanner bed, then a quarter
// turn.
type transform struct {
	pxmm         float64
	sin, cos     float64
	cinX, cinY   float64 // centre of the upright page, px
	coutX, coutY float64 // centre of the page on the bed, px
	bedW, bedH   int     // bed size before the quarter turn
	rotation     int     // clockwise degrees: 0, 90, 180, 270
}

func newTransform(dpi int, skewDeg float64, rotation int) transform {
	pxmm := float64(dpi) / 25.4
	w, h := math.Round(pageWidthMM*pxmm), math.Round(pageHeightMM*pxmm)
	b := math.Round(borderMM * pxmm)
	s, c := math.Sincos(skewDeg * math.Pi / 180)
	return transform{
		pxmm: pxmm, sin: s, cos: c,
		cinX: w / 2, cinY: h / 2,
		coutX: w/2 + b, coutY: h/2 + b,
		bedW: int(w + 2*b), bedH: int(h + 2*b),
		rotation: rotation,
	}
}

// bed maps a point of the upright page (px) onto the skewed bed (px). With y
// pointing down, a positive angle turns the page clockwise as seen.
func (t transform) bed(x, y float64) (float64, float64) {
	dx, dy := x-t.cinX, y-t.cinY
	return t.coutX + dx*t.cos - dy*t.sin, t.coutY + dx*t.sin + dy*t.cos
}

// turn applies the quarter turn to a point of the bed.
func (t transform) turn(x, y float64) (float64, float64) {
	w, h := float64(t.bedW), float64(t.bedH)
	switch t.rotation {
	case 90:
		return h - y, x
	case 180:
		return w - x, h - y
	case 270:
		return y, w - x
	}
	return x, y
}

// toScan maps page millimetres to scan pixels (continuous coordinates: pixel
// (i, j) covers [i, i+1) x [j, j+1)).
func (t transform) toScan(xmm, ymm float64) (float64, float64) {
	return t.turn(t.bed(xmm*t.pxmm, ymm*t.pxmm))
}

// plane is a view of the pixel bytes of an *image.Gray or *image.RGBA, so
// the effects work on both without converting a page.
type plane struct {
	pix       []uint8
	stride    int
	w, h, chn int // chn is 1 (gray) or 4 (RGBA; alpha is left alone)
}

func planeOf(img draw.Image) plane {
	switch m := img.(type) {
	case *image.Gray:
		return plane{m.Pix, m.Stride, m.Rect.Dx(), m.Rect.Dy(), 1}
	case *image.RGBA:
		return plane{m.Pix, m.Stride, m.Rect.Dx(), m.Rect.Dy(), 4}
	}
	panic("sim: unexpected image type") // only renderUpright makes images here
}

func newLike(img draw.Image, w, h int) draw.Image {
	if _, ok := img.(*image.Gray); ok {
		return image.NewGray(image.Rect(0, 0, w, h))
	}
	return image.NewRGBA(image.Rect(0, 0, w, h))
}

func colorChannels(p plane) int { return min(p.chn, 3) }

// onBed places the page on the scanner bed, turned by the skew, with bilinear
// interpolation. Without skew the copy is exact.
func onBed(src draw.Image, t transform, bed uint8) draw.Image {
	dst := newLike(src, t.bedW, t.bedH)
	sp, dp := planeOf(src), planeOf(dst)
	cc := colorChannels(sp)
	for y := 0; y < dp.h; y++ {
		row := dp.pix[y*dp.stride:]
		for x := 0; x < dp.w; x++ {
			o := x * dp.chn
			if dp.chn == 4 {
				row[o+3] = 255
			}
			// Inverse map the pixel centre back onto the upright page.
			qx, qy := float64(x)+0.5-t.coutX, float64(y)+0.5-t.coutY
			px := t.cinX + qx*t.cos + qy*t.sin - 0.5
			py := t.cinY - qx*t.sin + qy*t.cos - 0.5
			x0, y0 := int(math.Floor(px)), int(math.Floor(py))
			fx, fy := px-float64(x0), py-float64(y0)
			for ch := 0; ch < cc; ch++ {
				v00 := sample(sp, x0, y0, ch, bed)
				v10 := sample(sp, x0+1, y0, ch, bed)
				v01 := sample(sp, x0, y0+1, ch, bed)
				v11 := sample(sp, x0+1, y0+1, ch, bed)
				v := (v00*(1-fx)+v10*fx)*(1-fy) + (v01*(1-fx)+v11*fx)*fy
				row[o+ch] = uint8(math.Round(v))
			}
		}
	}
	return dst
}

func sample(p plane, x, y, ch int, outside uint8) float64 {
	if x < 0 || y < 0 || x >= p.w || y >= p.h {
		return float64(outside)
	}
	return float64(p.pix[y*p.stride+x*p.chn+ch])
}

// blur applies a separable [1 2 1]/4 kernel: the slight softness of a CIS
// sensor. Edges repeat their last pixel.
func blur(img draw.Image) {
	p := planeOf(img)
	cc := colorChannels(p)
	line := make([]uint8, max(p.w, p.h)*p.chn)
	for y := 0; y < p.h; y++ {
		row := p.pix[y*p.stride : y*p.stride+p.w*p.chn]
		copy(line, row)
		for x := 0; x < p.w; x++ {
			l, r := max(x-1, 0), min(x+1, p.w-1)
			for ch := 0; ch < cc; ch++ {
				row[x*p.chn+ch] = uint8((int(line[l*p.chn+ch]) + 2*int(line[x*p.chn+ch]) + int(line[r*p.chn+ch]) + 2) / 4)
			}
		}
	}
	for x := 0; x < p.w; x++ {
		for y := 0; y < p.h; y++ {
			o := y*p.stride + x*p.chn
			copy(line[y*p.chn:y*p.chn+cc], p.pix[o:o+cc])
		}
		for y := 0; y < p.h; y++ {
			u, d := max(y-1, 0), min(y+1, p.h-1)
			for ch := 0; ch < cc; ch++ {
				p.pix[y*p.stride+x*p.chn+ch] = uint8((int(line[u*p.chn+ch]) + 2*int(line[y*p.chn+ch]) + int(line[d*p.chn+ch]) + 2) / 4)
			}
		}
	}
}

// noise adds Gaussian sensor noise, the same on all channels of a pixel as a
// CIS sensor's is mostly luminance.
func noise(img draw.Image, sigma float64, rng *rand.Rand) {
	if sigma <= 0 {
		return
	}
	p := planeOf(img)
	cc := colorChannels(p)
	for y := 0; y < p.h; y++ {
		row := p.pix[y*p.stride:]
		for x := 0; x < p.w; x++ {
			n := rng.NormFloat64() * sigma
			for ch := 0; ch < cc; ch++ {
				v := float64(row[x*p.chn+ch]) + n
				row[x*p.chn+ch] = uint8(math.Max(0, math.Min(255, math.Round(v))))
			}
		}
	}
}

// quarterTurn rotates the image clockwise by 90, 180 or 270 degrees, exactly.
func quarterTurn(src draw.Image, rotation int) draw.Image {
	if rotation == 0 {
		return src
	}
	sp := planeOf(src)
	w, h := sp.w, sp.h
	if rotation != 180 {
		w, h = h, w
	}
	dst := newLike(src, w, h)
	dp := planeOf(dst)
	for y := 0; y < sp.h; y++ {
		for x := 0; x < sp.w; x++ {
			var nx, ny int
			switch rotation {
			case 90:
				nx, ny = sp.h-1-y, x
			case 180:
				nx, ny = sp.w-1-x, sp.h-1-y
			case 270:
				nx, ny = y, sp.w-1-x
			}
			so := y*sp.stride + x*sp.chn
			copy(dp.pix[ny*dp.stride+nx*dp.chn:][:sp.chn], sp.pix[so:so+sp.chn])
		}
	}
	return dst
}
