package formtest

import (
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Fonts from Debian packages: the printed text of the forms (not the
// simulator's Go fonts), and handwriting fonts as some of the signers'
// hands. The packages are installed by the Makefile.
var (
	printFonts = []string{
		"/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
		"/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
		"/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
		"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
	}
	boldFonts = []string{
		"/usr/share/fonts/truetype/liberation2/LiberationSerif-Bold.ttf",
		"/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
	}
	// HandFonts are the handwriting fonts, one "writer" each.
	HandFonts = []string{
		"/usr/share/fonts/opentype/dancingscript/DancingScript-Regular.otf",
		"/usr/share/fonts/truetype/fifthhorseman/dkg.ttf",
		"/usr/share/fonts/truetype/kristi/Kristi.ttf",
		"/usr/share/fonts/opentype/kaushanscript/KaushanScript-Regular.otf",
		"/usr/share/fonts/truetype/breip/Breip.ttf",
		"/usr/share/fonts/truetype/femkeklaver/femkeklaver.ttf",
		"/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf",
		"/usr/share/fonts/truetype/ecolier-court/Ecolier-court.ttf",
	}
)

// ErrFonts is returned when a font file the sets need is missing.
var ErrFonts = errors.New("formtest: font missing (install the Makefile's test packages)")

var (
	fontMu    sync.Mutex
	fontCache = map[string]*opentype.Font{}
)

func loadFont(path string) (*opentype.Font, error) {
	fontMu.Lock()
	defer fontMu.Unlock()
	if f, ok := fontCache[path]; ok {
		return f, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFonts, err)
	}
	f, err := opentype.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("formtest: %s: %w", path, err)
	}
	fontCache[path] = f
	return f, nil
}

// CheckFonts reports whether every font file is there.
func CheckFonts() error {
	for _, list := range [][]string{printFonts, boldFonts, HandFonts} {
		for _, p := range list {
			if _, err := loadFont(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// glyphs is a line of text rendered as coverage: the mask, where its
// baseline starts in it, and its advance, in pixels.
type glyphs struct {
	mask           *image.Alpha
	originX, baseY int
	advance        float64
}

// faces caches a face per font, size and resolution: making one is far
// dearer than drawing with it.
var (
	faceMu sync.Mutex
	faces  = map[faceKey]font.Face{}
)

type faceKey struct {
	ft       *opentype.Font
	pt, pxmm float64
}

func faceOf(ft *opentype.Font, pt, pxmm float64) (font.Face, error) {
	k := faceKey{ft, math.Round(pt*100) / 100, pxmm}
	faceMu.Lock()
	defer faceMu.Unlock()
	if f, ok := faces[k]; ok {
		return f, nil
	}
	f, err := opentype.NewFace(ft, &opentype.FaceOptions{Size: k.pt, DPI: pxmm * 25.4, Hinting: font.HintingNone})
	if err != nil {
		return nil, err
	}
	if len(faces) > 512 {
		clear(faces) // sizes vary page by page: keep the cache bounded
	}
	faces[k] = f
	return f, nil
}

// render draws s in font ft at size pt for a canvas of pxmm pixels per
// millimetre.
func render(ft *opentype.Font, pt, pxmm float64, s string) (glyphs, error) {
	face, err := faceOf(ft, pt, pxmm)
	if err != nil {
		return glyphs{}, err
	}
	// A face is not safe for concurrent use: one drawing at a time.
	faceMu.Lock()
	defer faceMu.Unlock()
	b, adv := font.BoundString(face, s)
	pad := 4
	r := image.Rect(b.Min.X.Floor()-pad, b.Min.Y.Floor()-pad, b.Max.X.Ceil()+pad, b.Max.Y.Ceil()+pad)
	mask := image.NewAlpha(image.Rect(0, 0, r.Dx(), r.Dy()))
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: face, Dot: fixed.P(-r.Min.X, -r.Min.Y)}
	d.DrawString(s)
	return glyphs{mask: mask, originX: -r.Min.X, baseY: -r.Min.Y, advance: float64(adv) / 64}, nil
}

// affine maps canvas pixels to a mask's pixels: mask = A·canvas + t.
type affine struct{ a, b, c, d, tx, ty float64 }

func (m affine) apply(x, y float64) (float64, float64) {
	return m.a*x + m.b*y + m.tx, m.c*x + m.d*y + m.ty
}

// invert gives the inverse map.
func (m affine) invert() affine {
	det := m.a*m.d - m.b*m.c
	ia, ib, ic, id := m.d/det, -m.b/det, -m.c/det, m.a/det
	return affine{ia, ib, ic, id, -(ia*m.tx + ib*m.ty), -(ic*m.tx + id*m.ty)}
}

// place puts rendered text on the canvas with its baseline origin at
// (xmm, ymm), turned by rot degrees (clockwise) and sheared by slant
// (positive leans right), darkening by d.
func (c *canvas) place(g glyphs, xmm, ymm, rot, slant float64, d uint8) {
	s, co := math.Sincos(rot * math.Pi / 180)
	// mask -> canvas: translate origin, shear, rotate, move to (x, y).
	// forward: p = R·S·(q - o) + P
	fwd := affine{co, -s, s, co, 0, 0}
	shear := affine{1, -slant, 0, 1, 0, 0}
	m := compose(fwd, shear)
	ox, oy := float64(g.originX), float64(g.baseY)
	px, py := xmm*c.pxmm, ymm*c.pxmm
	m.tx = px - (m.a*ox + m.b*oy)
	m.ty = py - (m.c*ox + m.d*oy)
	inv := m.invert()
	mw, mh := g.mask.Rect.Dx(), g.mask.Rect.Dy()
	// The canvas area the mask covers.
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, q := range [][2]float64{{0, 0}, {float64(mw), 0}, {0, float64(mh)}, {float64(mw), float64(mh)}} {
		x, y := m.apply(q[0], q[1])
		minX, minY, maxX, maxY = math.Min(minX, x), math.Min(minY, y), math.Max(maxX, x), math.Max(maxY, y)
	}
	for y := max(0, int(minY)); y < min(c.h, int(maxY)+1); y++ {
		for x := max(0, int(minX)); x < min(c.w, int(maxX)+1); x++ {
			qx, qy := inv.apply(float64(x)+0.5, float64(y)+0.5)
			v := alphaAt(g.mask, qx-0.5, qy-0.5)
			if v > 0 {
				c.ink(x, y, v, d)
			}
		}
	}
}

func compose(p, q affine) affine { // p after q
	return affine{p.a*q.a + p.b*q.c, p.a*q.b + p.b*q.d, p.c*q.a + p.d*q.c, p.c*q.b + p.d*q.d,
		p.a*q.tx + p.b*q.ty + p.tx, p.c*q.tx + p.d*q.ty + p.ty}
}

func alphaAt(m *image.Alpha, x, y float64) float64 {
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := x-float64(x0), y-float64(y0)
	at := func(x, y int) float64 {
		if x < 0 || y < 0 || x >= m.Rect.Dx() || y >= m.Rect.Dy() {
			return 0
		}
		return float64(m.Pix[y*m.Stride+x]) / 255
	}
	top := at(x0, y0)*(1-fx) + at(x0+1, y0)*fx
	bot := at(x0, y0+1)*(1-fx) + at(x0+1, y0+1)*fx
	return top*(1-fy) + bot*fy
}

// text prints s upright with its baseline at (xmm, ymm) and returns its
// width in millimetres.
func (c *canvas) text(ft *opentype.Font, pt, xmm, ymm float64, s string, d uint8) (float64, error) {
	g, err := render(ft, pt, c.pxmm, s)
	if err != nil {
		return 0, err
	}
	// Upright text needs no resampling: copy the coverage.
	ox, oy := int(math.Round(xmm*c.pxmm))-g.originX, int(math.Round(ymm*c.pxmm))-g.baseY
	for y := 0; y < g.mask.Rect.Dy(); y++ {
		for x := 0; x < g.mask.Rect.Dx(); x++ {
			if v := g.mask.Pix[y*g.mask.Stride+x]; v > 0 {
				c.ink(ox+x, oy+y, float64(v)/255, d)
			}
		}
	}
	return g.advance / c.pxmm, nil
}

// textWidth measures s in millimetres.
func textWidth(ft *opentype.Font, pt, pxmm float64, s string) (float64, error) {
	face, err := faceOf(ft, pt, pxmm)
	if err != nil {
		return 0, err
	}
	faceMu.Lock()
	defer faceMu.Unlock()
	return float64(font.MeasureString(face, s)) / 64 / pxmm, nil
}
