package formtest

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"

	"github.com/autografo/autografo/drivers/sim"
	"github.com/autografo/autografo/scanner/jpegturbo"
)

// Source is where a signature's strokes come from.
type Source string

const (
	SourceSim     Source = "sim"     // the simulator's cursive strokes
	SourceFont    Source = "font"    // a handwriting font from Debian
	SourceStrokes Source = "strokes" // this package's own oscillating-pen model
	SourceReal    Source = "real"    // real handwriting cut from scanned letters
)

// Sources lists them all.
var Sources = []Source{SourceSim, SourceFont, SourceStrokes, SourceReal}

// rect is a rectangle in millimetres.
type rect struct{ x, y, w, h float64 }

// signer draws one signature in box r on the canvas, at ink darkness d;
// big makes it spread past the box (a large hand, a flourish).
type signature struct {
	source Source
	name   string
	d      uint8
	big    bool
}

func (c *canvas) sign(s signature, r rect, rng *rand.Rand, shared string) error {
	switch s.source {
	case SourceSim:
		return c.signSim(s, r, rng)
	case SourceFont:
		return c.signFont(s, r, rng)
	case SourceStrokes:
		c.signStrokes(s, r, rng)
		return nil
	case SourceReal:
		return c.signReal(s, r, rng, shared)
	}
	return fmt.Errorf("formtest: unknown source %q", s.source)
}

// signSim lets the simulator draw, on white, in a patch around the box,
// and darkens the canvas by what it drew.
func (c *canvas) signSim(s signature, r rect, rng *rand.Rand) error {
	if s.big {
		r = rect{r.x - r.w*0.1, r.y - r.h*0.15, r.w * 1.35, r.h * 1.3}
	}
	mx, my := r.w*0.4, r.h*0.8
	pw, ph := int((r.w+2*mx)*c.pxmm), int((r.h+2*my)*c.pxmm)
	patch := image.NewGray(image.Rect(0, 0, pw, ph))
	for i := range patch.Pix {
		patch.Pix[i] = 255
	}
	const level = 40
	sim.DrawSignature(patch, c.pxmm, sim.RectMM{X: mx, Y: my, W: r.w, H: r.h}, s.name, level, rng.Uint64())
	// The simulator draws at level 40 on 255: rescale to the wanted ink.
	for i, v := range patch.Pix {
		cov := float64(255-int(v)) / (255 - level)
		patch.Pix[i] = uint8(255 - math.Min(1, cov)*255)
	}
	c.paste(patch, r.x-mx, r.y-my, 1, s.d)
	return nil
}

// signFont writes the name in one of the handwriting fonts, leaning and
// turned a little, sized to the box as a hand would.
func (c *canvas) signFont(s signature, r rect, rng *rand.Rand) error {
	ft, err := loadFont(HandFonts[rng.IntN(len(HandFonts))])
	if err != nil {
		return err
	}
	name := s.name
	if rng.IntN(3) == 0 { // initial and surname, as many sign
		if f, l, ok := strings.Cut(name, " "); ok {
			name = f[:1] + ". " + l
		}
	}
	fill := 0.55 + 0.3*rng.Float64()
	if s.big {
		fill = 1.05 + 0.3*rng.Float64()
	}
	w, err := textWidth(ft, 20, c.pxmm, name)
	if err != nil {
		return err
	}
	pt := 20 * fill * r.w / w
	// A point is 0.352 mm: keep the em within the box's height (the
	// capitals then fill about two thirds of it), a large hand a little
	// more.
	tall := 0.7 + 0.25*rng.Float64()
	if s.big {
		tall = 1.15
	}
	pt = math.Min(pt, r.h*tall/0.352)
	g, err := render(ft, pt, c.pxmm, name)
	if err != nil {
		return err
	}
	width := g.advance / c.pxmm
	x := r.x + (r.w-width)*(0.15+0.5*rng.Float64())
	if s.big {
		x = r.x - r.w*0.05*rng.Float64()
	}
	base := r.y + r.h*(0.6+0.15*rng.Float64())
	c.place(g, x, base, -4+8*rng.Float64(), 0.25*rng.Float64()-0.05, s.d)
	if rng.IntN(3) == 0 { // an underline flourish
		var path []pen
		x0, x1 := x+width*0.1, x+width*(0.8+0.3*rng.Float64())
		for i := 0; i <= 30; i++ {
			t := float64(i) / 30
			path = append(path, pen{x0 + (x1-x0)*t, base + 2 + 1.5*math.Sin(t*math.Pi) - 2*t, 0.35 + 0.25*math.Sin(t*math.Pi)})
		}
		c.stroke(path, s.d)
	}
	return nil
}

// signStrokes is a hand of its own: two coupled oscillators, one along
// the line and one across it, whose amplitude changes letter by letter
// (ascenders, descenders), with the pen lifted between words and a width
// that thins where the pen moves fast.
func (c *canvas) signStrokes(s signature, r rect, rng *rand.Rand) {
	words := 1 + rng.IntN(2)
	left := r.x + r.w*(0.05+0.15*rng.Float64())
	right := r.x + r.w*(0.6+0.35*rng.Float64())
	if s.big {
		right = r.x + r.w*(1.1+0.25*rng.Float64())
	}
	base := r.y + r.h*(0.55+0.2*rng.Float64())
	core := r.h * (0.12 + 0.1*rng.Float64())
	slant := -0.1 + 0.45*rng.Float64()
	penW := 0.25 + 0.35*rng.Float64()
	angular := rng.IntN(3) == 0                     // a jagged hand rather than a round one
	freq := 2 * math.Pi / (1.6 + 1.4*rng.Float64()) // per mm along the line
	span := (right - left) / float64(words)
	for wd := 0; wd < words; wd++ {
		x0 := left + span*float64(wd)
		x1 := x0 + span*(0.75+0.2*rng.Float64())
		letters := max(2, int((x1-x0)*freq/(2*math.Pi)))
		amps := make([]float64, letters+2)
		for i := range amps {
			amps[i] = core * (0.7 + 0.6*rng.Float64())
			switch rng.IntN(7) {
			case 0, 1:
				amps[i] *= 2.2
			case 2:
				amps[i] *= -1.6
			}
		}
		if wd == 0 {
			amps[0] = core * (2.6 + rng.Float64()) // the capital
		}
		var path []pen
		phase := rng.Float64() * 2 * math.Pi
		n := int((x1 - x0) * c.pxmm / 1.5)
		n = max(n, 40)
		prevX, prevY := 0.0, 0.0
		for i := 0; i <= n; i++ {
			t := float64(i) / float64(n)
			xl := x0 + (x1-x0)*t
			u := (xl - x0) * freq / (2 * math.Pi)
			k := min(int(u), letters)
			f := u - float64(k)
			f = f * f * (3 - 2*f)
			a := amps[k]*(1-f) + amps[k+1]*f
			wave := math.Sin((xl-x0)*freq + phase)
			if angular {
				wave = 2 / math.Pi * math.Asin(wave) // a triangle wave: sharp turns
			}
			y := base - a*(0.5+0.5*wave) + 0.8*math.Sin(t*math.Pi*1.3)
			x := xl - 0.35/freq*2*math.Pi*math.Cos((xl-x0)*freq+phase) + slant*(base-y)
			speed := math.Hypot(x-prevX, y-prevY)
			prevX, prevY = x, y
			w := penW * (1.15 - 0.5*math.Min(1, speed*c.pxmm/4))
			if i < 3 || i > n-3 {
				w *= 0.6
			}
			path = append(path, pen{x, y, w})
		}
		c.stroke(path, s.d)
	}
	if rng.IntN(2) == 0 { // a closing flourish back under the name
		var path []pen
		x0, x1 := right+1, left+(right-left)*0.2
		for i := 0; i <= 40; i++ {
			t := float64(i) / 40
			path = append(path, pen{x0 + (x1-x0)*t, base + 1.5 + 3*math.Sin(t*math.Pi), penW * (0.9 - 0.5*t)})
		}
		c.stroke(path, s.d)
	}
}

var (
	realOnce    sync.Once
	realPatches []*image.Gray
	realErr     error
)

// The handwritten letters among the real scans, and where on each the
// handwriting is (as fractions of the image): the holder, the frame and
// the letterhead are left out.
var letters = []struct {
	file                   string
	x0, y0, x1, y1, lineMM float64
}{
	{"caltech_hale-letter-1.jpg", 0.18, 0.22, 0.82, 0.86, 7},
	{"caltech_hale-letter-2.jpg", 0.16, 0.36, 0.84, 0.86, 7},
	{"caltech_hale-letter-3.jpg", 0.16, 0.20, 0.84, 0.86, 7},
}

// handwriting cuts pieces of real handwriting (a word or two, about one
// line high) out of the scanned letters, their paper turned white.
func handwriting(shared string) ([]*image.Gray, error) {
	realOnce.Do(func() {
		for _, l := range letters {
			data, err := readShared(filepath.Join(shared, "corpus", "images", l.file))
			if err != nil {
				realErr = err
				return
			}
			g, err := jpegturbo.DecodeGray(data)
			if err != nil {
				realErr = fmt.Errorf("formtest: %s: %w", l.file, err)
				return
			}
			realPatches = append(realPatches, cutWords(g, l.x0, l.y0, l.x1, l.y1)...)
		}
		if len(realPatches) < 20 {
			realErr = fmt.Errorf("formtest: only %d pieces of handwriting found in the letters", len(realPatches))
		}
	})
	return realPatches, realErr
}

// cutWords finds the lines of writing in a region of a letter and cuts
// each into pieces of three to six letter heights' width, keeping the
// pieces with enough ink. The paper becomes white and the ink keeps its
// gray levels.
func cutWords(g *image.Gray, fx0, fy0, fx1, fy1 float64) []*image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	x0, y0, x1, y1 := int(fx0*float64(w)), int(fy0*float64(h)), int(fx1*float64(w)), int(fy1*float64(h))
	// The paper's tone, region by region: the photographs are unevenly lit.
	const tile = 24
	bg := func(x, y int) float64 {
		tx0, ty0 := max(0, x-tile), max(0, y-tile)
		tx1, ty1 := min(w, x+tile), min(h, y+tile)
		var hist [256]int
		n := 0
		for yy := ty0; yy < ty1; yy += 3 {
			for xx := tx0; xx < tx1; xx += 3 {
				hist[g.Pix[yy*g.Stride+xx]]++
				n++
			}
		}
		acc := 0
		for v := 255; v >= 0; v-- {
			acc += hist[v]
			if acc >= n/4 {
				return float64(v)
			}
		}
		return 255
	}
	clean := image.NewGray(image.Rect(0, 0, x1-x0, y1-y0))
	for ty := y0; ty < y1; ty += tile {
		for tx := x0; tx < x1; tx += tile {
			p := bg(tx+tile/2, ty+tile/2)
			for y := ty; y < min(y1, ty+tile); y++ {
				for x := tx; x < min(x1, tx+tile); x++ {
					v := float64(g.Pix[y*g.Stride+x])
					dk := (p - v) / math.Max(p, 1) * 255 * 1.6
					if dk < 40 {
						dk = 0 // paper texture
					}
					clean.Pix[(y-y0)*clean.Stride+x-x0] = uint8(255 - math.Min(255, dk))
				}
			}
		}
	}
	// Lines of writing: rows with ink.
	cw, ch := clean.Rect.Dx(), clean.Rect.Dy()
	rows := make([]int, ch)
	for y := 0; y < ch; y++ {
		for x := 0; x < cw; x++ {
			if clean.Pix[y*clean.Stride+x] < 160 {
				rows[y]++
			}
		}
	}
	var out []*image.Gray
	for y := 0; y < ch; {
		if rows[y] < cw/60 {
			y++
			continue
		}
		top := y
		for y < ch && rows[y] >= cw/60 {
			y++
		}
		bot := y
		lh := bot - top
		if lh < 8 || lh > 36 {
			continue // a speck, or lines run together
		}
		top, bot = max(0, top-lh/3), min(ch, bot+lh/3)
		step := lh * 5
		for x := 0; x+step <= cw; x += step / 2 {
			piece := image.NewGray(image.Rect(0, 0, step, bot-top))
			ink := 0
			for yy := top; yy < bot; yy++ {
				copy(piece.Pix[(yy-top)*piece.Stride:], clean.Pix[yy*clean.Stride+x:yy*clean.Stride+x+step])
				for _, v := range clean.Pix[yy*clean.Stride+x : yy*clean.Stride+x+step] {
					if v < 160 {
						ink++
					}
				}
			}
			if ink > step*(bot-top)/25 && !ruled(piece) && rowsOfInk(piece) <= lh*17/10 {
				out = append(out, piece)
			}
		}
	}
	return out
}

// rowsOfInk is how many rows of a piece hold ink: a piece of one line of
// writing holds about one line's.
func rowsOfInk(p *image.Gray) int {
	top, bot := inkRows(p)
	return bot - top
}

// ruled reports a piece with a long straight run of ink in it: the edge of
// the sheet, a fold, the holder's rules. Not handwriting.
func ruled(p *image.Gray) bool {
	w, h := p.Rect.Dx(), p.Rect.Dy()
	for x := range w {
		run, best := 0, 0
		for y := range h {
			if p.Pix[y*p.Stride+x] < 160 {
				run++
				best = max(best, run)
			} else {
				run = 0
			}
		}
		if best >= h*6/10 {
			return true
		}
	}
	for y := range h {
		run, best := 0, 0
		for x := range w {
			if p.Pix[y*p.Stride+x] < 160 {
				run++
				best = max(best, run)
			} else {
				run = 0
			}
		}
		if best >= w/2 {
			return true
		}
	}
	return false
}

// signReal pastes a piece of real handwriting, scaled as a signature is
// written: its ink 7 to 13 mm tall (more for a large hand), within the
// box's width.
func (c *canvas) signReal(s signature, r rect, rng *rand.Rand, shared string) error {
	pieces, err := handwriting(shared)
	if err != nil {
		return err
	}
	p := pieces[rng.IntN(len(pieces))]
	top, bot := inkRows(p)
	inkH := float64(max(1, bot-top))
	want := 7 + 6*rng.Float64()
	if s.big {
		want = 12 + 6*rng.Float64()
	}
	scale := want * c.pxmm / inkH
	limit := 0.95
	if s.big {
		limit = 1.4
	}
	scale = math.Min(scale, limit*r.w*c.pxmm/float64(p.Rect.Dx()))
	wmm := float64(p.Rect.Dx()) * scale / c.pxmm
	hmm := float64(bot-top) * scale / c.pxmm
	x := r.x + (r.w-wmm)*rng.Float64()
	if s.big {
		x = r.x - 2
	}
	// The ink's middle near the box's, a little low as signatures sit.
	y := r.y + r.h*(0.45+0.2*rng.Float64()) - hmm/2 - float64(top)*scale/c.pxmm
	c.paste(p, x, y, scale, s.d)
	return nil
}

// inkRows are the first and last rows with ink in a piece.
func inkRows(p *image.Gray) (int, int) {
	top, bot := -1, 0
	for y := 0; y < p.Rect.Dy(); y++ {
		for _, v := range p.Pix[y*p.Stride : y*p.Stride+p.Rect.Dx()] {
			if v < 160 {
				if top < 0 {
					top = y
				}
				bot = y + 1
				break
			}
		}
	}
	return max(0, top), bot
}
