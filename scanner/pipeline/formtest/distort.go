package formtest

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"math/rand/v2"

	"github.com/autografo/autografo/scanner/jpegturbo"
)

// Medium is how the signed page reached the agent.
type Medium string

const (
	MediumScan  Medium = "scan"  // a flatbed or feeder scan
	MediumFax   Medium = "fax"   // bilevel, 200 dpi, noisy
	MediumPhoto Medium = "photo" // a phone photograph: perspective, uneven light, a table around
)

// warp maps page millimetres to output pixels and back.
type warp interface {
	toScan(x, y float64) (u, v float64)
	toPage(u, v float64) (x, y float64)
}

// flat is a scanner's map: the page turned by its skew on the bed, the
// bed's border around it, and the whole image turned by a quarter.
type flat struct {
	fwd, inv affine
}

func (f flat) toScan(x, y float64) (float64, float64) { return f.fwd.apply(x, y) }
func (f flat) toPage(u, v float64) (float64, float64) { return f.inv.apply(u, v) }

func newFlat(pxmm, skewDeg, borderMM float64, quarter int) (flat, int, int) {
	const pw, ph = 210.0, 297.0
	s, c := math.Sincos(skewDeg * math.Pi / 180)
	// page mm -> bed mm: rotate about the page's centre, offset by the border.
	cx, cy := pw/2, ph/2
	rot := affine{c, -s, s, c, 0, 0}
	rot.tx = cx + borderMM - (rot.a*cx + rot.b*cy)
	rot.ty = cy + borderMM - (rot.c*cx + rot.d*cy)
	bw, bh := (pw+2*borderMM)*pxmm, (ph+2*borderMM)*pxmm
	scale := affine{pxmm, 0, 0, pxmm, 0, 0}
	m := compose(scale, rot)
	w, h := int(math.Round(bw)), int(math.Round(bh))
	var turn affine
	switch quarter {
	case 90: // clockwise: (u, v) -> (h - v, u)
		turn = affine{0, -1, 1, 0, float64(h), 0}
		w, h = h, w
	case 180:
		turn = affine{-1, 0, 0, -1, float64(w), float64(h)}
	case 270:
		turn = affine{0, 1, -1, 0, 0, float64(w)}
		w, h = h, w
	default:
		turn = affine{1, 0, 0, 1, 0, 0}
	}
	fwd := compose(turn, m)
	return flat{fwd: fwd, inv: fwd.invert()}, w, h
}

// persp is a photograph's map: a homography from the page to the image.
type persp struct{ h, inv [9]float64 }

func (p persp) toScan(x, y float64) (float64, float64) { return homApply(p.h, x, y) }
func (p persp) toPage(u, v float64) (float64, float64) { return homApply(p.inv, u, v) }

func homApply(h [9]float64, x, y float64) (float64, float64) {
	w := h[6]*x + h[7]*y + h[8]
	return (h[0]*x + h[1]*y + h[2]) / w, (h[3]*x + h[4]*y + h[5]) / w
}

// homography solves for the map taking the four src points to dst.
func homography(src, dst [4][2]float64) [9]float64 {
	var a [8][9]float64
	for i := range 4 {
		x, y, u, v := src[i][0], src[i][1], dst[i][0], dst[i][1]
		a[2*i] = [9]float64{x, y, 1, 0, 0, 0, -u * x, -u * y, u}
		a[2*i+1] = [9]float64{0, 0, 0, x, y, 1, -v * x, -v * y, v}
	}
	// Gauss-Jordan on the 8x8 system.
	for col := range 8 {
		p := col
		for r := col + 1; r < 8; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[p][col]) {
				p = r
			}
		}
		a[col], a[p] = a[p], a[col]
		for r := range 8 {
			if r == col {
				continue
			}
			f := a[r][col] / a[col][col]
			for k := col; k < 9; k++ {
				a[r][k] -= f * a[col][k]
			}
		}
	}
	var h [9]float64
	for i := range 8 {
		h[i] = a[i][8] / a[i][i]
	}
	h[8] = 1
	return h
}

func invert3(m [9]float64) [9]float64 {
	a, b, c, d, e, f, g, h, i := m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]
	det := a*(e*i-f*h) - b*(d*i-f*g) + c*(d*h-e*g)
	return [9]float64{(e*i - f*h) / det, (c*h - b*i) / det, (b*f - c*e) / det,
		(f*g - d*i) / det, (a*i - c*g) / det, (c*d - a*f) / det,
		(d*h - e*g) / det, (b*g - a*h) / det, (a*e - b*d) / det}
}

// shoot is how a page is made into an image.
type shoot struct {
	medium  Medium
	paper   uint8   // the paper's tone
	bed     uint8   // what is around the page: the scanner's lid or bed, a table
	blur    float64 // px
	noise   float64 // gray levels
	quality int     // JPEG quality; 0 for a fax's PNG
	light   float64 // how uneven the light is (0 even .. 0.4 strong)
}

// expose samples the drawn page through w into a w x h image.
func expose(c *canvas, wp warp, w, h int, s shoot, rng *rand.Rand) *image.Gray {
	out := image.NewGray(image.Rect(0, 0, w, h))
	// An uneven light: a gradient across and a darker patch, smooth, so
	// worked out on a coarse grid and interpolated.
	gx, gy := rng.Float64()*2-1, rng.Float64()*2-1
	cornerX, cornerY := rng.Float64()*float64(w), rng.Float64()*float64(h)
	diag := math.Hypot(float64(w), float64(h))
	const cell = 16
	gw, gh := w/cell+2, h/cell+2
	light := make([]float32, gw*gh)
	for j := range gh {
		for i := range gw {
			u, v := float64(i*cell), float64(j*cell)
			l := 1.0
			if s.light > 0 {
				fu, fv := u/float64(w)-0.5, v/float64(h)-0.5
				l = 1 - s.light*(0.5+0.5*(gx*fu+gy*fv)) - s.light*0.5*math.Exp(-math.Pow(math.Hypot(u-cornerX, v-cornerY)/(0.35*diag), 2))
			}
			light[j*gw+i] = float32(l)
		}
	}
	paper, bed := float32(s.paper), float32(s.bed)
	for v := 0; v < h; v++ {
		row := out.Pix[v*out.Stride:]
		j, fj := v/cell, float32(v%cell)/cell
		for u := 0; u < w; u++ {
			i, fi := u/cell, float32(u%cell)/cell
			l := (light[j*gw+i]*(1-fi)+light[j*gw+i+1]*fi)*(1-fj) + (light[(j+1)*gw+i]*(1-fi)+light[(j+1)*gw+i+1]*fi)*fj
			x, y := wp.toPage(float64(u)+0.5, float64(v)+0.5)
			var val float32
			if x < 0 || y < 0 || x >= 210 || y >= 297 {
				val = bed * (0.85 + 0.15*l)
			} else {
				dk := float32(bilinearDark(c, x*c.pxmm-0.5, y*c.pxmm-0.5))
				val = paper * l * (1 - dk/255)
			}
			row[u] = clamp8(val)
		}
	}
	if s.blur > 0 {
		gaussian(out, s.blur)
	}
	if s.noise > 0 {
		for i, v := range out.Pix {
			out.Pix[i] = clamp8(float32(v) + float32(rng.NormFloat64()*s.noise))
		}
	}
	return out
}

func clamp8(v float32) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}

func bilinearDark(c *canvas, x, y float64) float64 {
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := x-float64(x0), y-float64(y0)
	at := func(x, y int) float64 {
		if x < 0 || y < 0 || x >= c.w || y >= c.h {
			return 0
		}
		return float64(c.dark[y*c.w+x])
	}
	top := at(x0, y0)*(1-fx) + at(x0+1, y0)*fx
	bot := at(x0, y0+1)*(1-fx) + at(x0+1, y0+1)*fx
	return top*(1-fy) + bot*fy
}

// gaussian blurs in place, separably.
func gaussian(g *image.Gray, sigma float64) {
	r := int(math.Ceil(2.5 * sigma))
	k := make([]float32, 2*r+1)
	sum := float32(0)
	for i := range k {
		d := float64(i - r)
		k[i] = float32(math.Exp(-d * d / (2 * sigma * sigma)))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	w, h := g.Rect.Dx(), g.Rect.Dy()
	tmp := make([]float32, w*h)
	line := make([]float32, max(w, h)+2*r)
	for y := range h {
		row := g.Pix[y*g.Stride : y*g.Stride+w]
		for x := range line[:w+2*r] {
			line[x] = float32(row[min(w-1, max(0, x-r))])
		}
		out := tmp[y*w : y*w+w]
		for x := range out {
			acc := float32(0)
			for i, kv := range k {
				acc += kv * line[x+i]
			}
			out[x] = acc
		}
	}
	// Down the columns a row at a time, so that memory is read in order.
	acc := make([]float32, w)
	for y := range h {
		clear(acc)
		for i, kv := range k {
			src := tmp[min(h-1, max(0, y+i-r))*w:]
			for x := range acc {
				acc[x] += kv * src[x]
			}
		}
		row := g.Pix[y*g.Stride:]
		for x, v := range acc {
			row[x] = clamp8(v)
		}
	}
}

// encode makes the bytes the agent receives: a JPEG at the shot's
// quality, or a fax's bilevel PNG (thresholded with its noise).
func encode(g *image.Gray, s shoot) ([]byte, string, error) {
	var buf bytes.Buffer
	if s.medium == MediumFax {
		t := uint8(float64(s.paper) * 0.58)
		for i, v := range g.Pix {
			if v < t {
				g.Pix[i] = 0
			} else {
				g.Pix[i] = 255
			}
		}
		if err := png.Encode(&buf, g); err != nil {
			return nil, "", err
		}
		return buf.Bytes(), "image/png", nil
	}
	if err := jpegturbo.Encode(&buf, g, s.quality); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), "image/jpeg", nil
}
