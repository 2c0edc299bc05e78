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
	if t.sin == 0 && t.cos == 1 {
		fillBed(dp, bed)
		ox, oy := int(t.coutX-t.cinX), int(t.coutY-t.cinY)
		for y := 0; y < sp.h; y++ {
			copy(dp.pix[(y+oy)*dp.stride+ox*dp.chn:], sp.pix[y*sp.stride:y*sp.stride+sp.w*sp.chn])
		}
		return dst
	}
	for y := 0; y < dp.h; y++ {
		row := dp.pix[y*dp.stride:]
		// Inverse map of the pixel centres of this row back onto the upright
		// page; it advances by (cos, -sin) per pixel.
		qx, qy := 0.5-t.coutX, float64(y)+0.5-t.coutY
		px := t.cinX + qx*t.cos + qy*t.sin - 0.5
		py := t.cinY - qx*t.sin + qy*t.cos - 0.5
		for x := 0; x < dp.w; x, px, py = x+1, px+t.cos, py-t.sin {
			o := x * dp.chn
			if dp.chn == 4 {
				row[o+3] = 255
			}
			x0, y0 := int(math.Floor(px)), int(math.Floor(py))
			fx, fy := px-float64(x0), py-float64(y0)
			w00, w10, w01, w11 := (1-fx)*(1-fy), fx*(1-fy), (1-fx)*fy, fx*fy
			if x0 >= 0 && y0 >= 0 && x0+1 < sp.w && y0+1 < sp.h {
				i := y0*sp.stride + x0*sp.chn
				for ch := 0; ch < cc; ch++ {
					v := float64(sp.pix[i+ch])*w00 + float64(sp.pix[i+sp.chn+ch])*w10 +
						float64(sp.pix[i+sp.stride+ch])*w01 + float64(sp.pix[i+sp.stride+sp.chn+ch])*w11
					row[o+ch] = uint8(v + 0.5)
				}
				continue
			}
			for ch := 0; ch < cc; ch++ {
				v := sample(sp, x0, y0, ch, bed)*w00 + sample(sp, x0+1, y0, ch, bed)*w10 +
					sample(sp, x0, y0+1, ch, bed)*w01 + sample(sp, x0+1, y0+1, ch, bed)*w11
				row[o+ch] = uint8(v + 0.5)
			}
		}
	}
	return dst
}

func fillBed(p plane, bed uint8) {
	for y := 0; y < p.h; y++ {
		row := p.pix[y*p.stride : y*p.stride+p.w*p.chn]
		for i := range row {
			row[i] = bed
			if p.chn == 4 && i%4 == 3 {
				row[i] = 255
			}
		}
	}
}

func sample(p plane, x, y, ch int, outside uint8) float64 {
	if x < 0 || y < 0 || x >= p.w || y >= p.h {
		return float64(outside)
	}
	return float64(p.pix[y*p.stride+x*p.chn+ch])
}

// blur applies a separable [1 2 1]/4 kernel: the slight softness of a CIS
// sensor. Edges repeat their last pixel. Both passes walk rows, in memory
// order.
func blur(img draw.Image) {
	p := planeOf(img)
	cc := colorChannels(p)
	n := p.w * p.chn
	line := make([]uint8, n)
	for y := 0; y < p.h; y++ {
		row := p.pix[y*p.stride : y*p.stride+n]
		copy(line, row)
		for x := 0; x < p.w; x++ {
			l, r := max(x-1, 0)*p.chn, min(x+1, p.w-1)*p.chn
			for ch := 0; ch < cc; ch++ {
				row[x*p.chn+ch] = uint8((int(line[l+ch]) + 2*int(line[x*p.chn+ch]) + int(line[r+ch]) + 2) >> 2)
			}
		}
	}
	prev, cur := make([]uint8, n), make([]uint8, n)
	copy(prev, p.pix[:n])
	for y := 0; y < p.h; y++ {
		row := p.pix[y*p.stride : y*p.stride+n]
		copy(cur, row)
		next := cur
		if y+1 < p.h {
			next = p.pix[(y+1)*p.stride : (y+1)*p.stride+n] // not blurred yet
		}
		for i := range row {
			row[i] = uint8((int(prev[i]) + 2*int(cur[i]) + int(next[i]) + 2) >> 2)
		}
		prev, cur = cur, prev
	}
}

// noise adds Gaussian sensor noise, the same on all channels of a pixel as a
// CIS sensor's is mostly luminance. Samples come from a table of 4096 normal
// deviates drawn from rng: indistinguishable on a page, and ten times faster
// than a NormFloat64 per pixel.
func noise(img draw.Image, sigma float64, rng *rand.Rand) {
	if sigma <= 0 {
		return
	}
	var table [4096]int16
	for i := range table {
		table[i] = int16(math.Round(rng.NormFloat64() * sigma))
	}
	p := planeOf(img)
	cc := colorChannels(p)
	var bits uint64
	for y := 0; y < p.h; y++ {
		row := p.pix[y*p.stride:]
		for x := 0; x < p.w; x++ {
			if x%5 == 0 {
				bits = rng.Uint64() // five 12-bit indices per draw
			}
			n := int(table[bits&4095])
			bits >>= 12
			for ch := 0; ch < cc; ch++ {
				v := int(row[x*p.chn+ch]) + n
				row[x*p.chn+ch] = uint8(max(0, min(255, v)))
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
