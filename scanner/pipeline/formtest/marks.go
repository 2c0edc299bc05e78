package formtest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
)

// ErrShared is returned when the shared corpus (the real handwriting) is
// not where the caller said.
var ErrShared = errors.New("formtest: shared corpus missing")

func readShared(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrShared, err)
	}
	return b, nil
}

// roundStamp is an office's round rubber stamp: two rings, the office's
// name around them, a star in the middle; rubber stamps print unevenly.
func (c *canvas) roundStamp(cx, cy, r float64, d uint8, rng *rand.Rand) error {
	starve := func() uint8 { // a rubber stamp's patchy ink
		return uint8(float64(d) * (0.7 + 0.3*rng.Float64()))
	}
	ring := func(rad, lw float64) {
		var path []pen
		for i := 0; i <= 180; i++ {
			a := float64(i) / 180 * 2 * math.Pi
			path = append(path, pen{cx + rad*math.Cos(a), cy + rad*math.Sin(a), lw})
		}
		c.stroke(path, starve())
	}
	ring(r, 0.45)
	ring(r*0.68, 0.3)
	ft, err := loadFont(boldFonts[rng.IntN(len(boldFonts))])
	if err != nil {
		return err
	}
	text := []string{"COMUNE DI BORGO ALTO", "UFFICIO STATO CIVILE", "COMUNE DI VALLE SERENA", "SERVIZI DEMOGRAFICI"}[rng.IntN(4)]
	pt := r * 0.26 / 0.352
	n := len([]rune(text))
	for i, ch := range []rune(text) {
		a := -math.Pi*0.95 + float64(i)/float64(n)*math.Pi*1.9
		rad := r * 0.8
		g, err := render(ft, pt, c.pxmm, string(ch))
		if err != nil {
			return err
		}
		// Each letter stands on the inner ring, its top outwards.
		x, y := cx+rad*math.Cos(a), cy+rad*math.Sin(a)
		c.place(g, x, y, a*180/math.Pi+90, 0, starve())
	}
	// The star.
	var path []pen
	for i := 0; i <= 10; i++ {
		a := -math.Pi/2 + float64(i)/10*2*math.Pi
		rad := r * 0.35
		if i%2 == 1 {
			rad = r * 0.14
		}
		path = append(path, pen{cx + rad*math.Cos(a), cy + rad*math.Sin(a), 0.35})
	}
	c.stroke(path, starve())
	return nil
}

// boxStamp is a rectangular stamp: a double frame and two lines of
// capitals.
func (c *canvas) boxStamp(x, y, w, h float64, d uint8, rng *rand.Rand) error {
	c.outline(x, y, w, h, 0.4, d)
	c.outline(x+1, y+1, w-2, h-2, 0.25, d)
	ft, err := loadFont(boldFonts[rng.IntN(len(boldFonts))])
	if err != nil {
		return err
	}
	lines := [][2]string{{"ATTO TRASCRITTO", "REG. N. 214"}, {"COPIA CONFORME", "ALL'ORIGINALE"}, {"ANNULLATO", "VEDI ATTO 37"}}[rng.IntN(3)]
	pt := h * 0.28 / 0.352
	for i, l := range lines {
		tw, _ := textWidth(ft, pt, c.pxmm, l)
		if _, err := c.text(ft, pt, x+(w-tw)/2, y+h*(0.44+0.36*float64(i)), l, d); err != nil {
			return err
		}
	}
	return nil
}

// initials are two or three letters in a handwriting font, small.
func (c *canvas) initials(name string, r rect, d uint8, rng *rand.Rand) error {
	ft, err := loadFont(HandFonts[rng.IntN(len(HandFonts))])
	if err != nil {
		return err
	}
	var ini []string
	for _, part := range strings.Fields(name) {
		ini = append(ini, string([]rune(part)[:1]))
	}
	s := strings.Join(ini, ".") + "."
	pt := (4 + 3*rng.Float64()) / 0.352 / 0.7
	g, err := render(ft, pt, c.pxmm, s)
	if err != nil {
		return err
	}
	c.place(g, r.x+r.w*(0.15+0.4*rng.Float64()), r.y+r.h*(0.55+0.2*rng.Float64()), -5+10*rng.Float64(), 0.15*rng.Float64(), d)
	return nil
}

// line is one straight pen stroke across part of the box.
func (c *canvas) line(r rect, d uint8, rng *rand.Rand) {
	l := r.w * (0.3 + 0.5*rng.Float64())
	a := (-8 + 16*rng.Float64()) * math.Pi / 180
	x0 := r.x + (r.w-l)*rng.Float64()
	y0 := r.y + r.h*(0.35+0.35*rng.Float64())
	w := 0.3 + 0.3*rng.Float64()
	c.stroke([]pen{{x0, y0, w}, {x0 + l*math.Cos(a), y0 + l*math.Sin(a), w}}, d)
}

// cross is a large X: a box struck out.
func (c *canvas) cross(r rect, d uint8, rng *rand.Rand) {
	m := r.h * 0.15
	w := 0.3 + 0.3*rng.Float64()
	x0, x1 := r.x+r.w*(0.1+0.3*rng.Float64()), r.x+r.w*(0.6+0.3*rng.Float64())
	c.stroke([]pen{{x0, r.y + m, w}, {x1, r.y + r.h - m, w}}, d)
	c.stroke([]pen{{x1, r.y + m, w}, {x0, r.y + r.h - m, w}}, d)
}

// dot is a pen touched to the paper.
func (c *canvas) dot(r rect, d uint8, rng *rand.Rand) {
	c.disc(r.x+r.w*(0.2+0.6*rng.Float64()), r.y+r.h*(0.3+0.5*rng.Float64()), 0.3+0.35*rng.Float64(), d)
}
