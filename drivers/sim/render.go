package sim

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand/v2"
	"strings"
	"sync"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// A4 portrait, the paper every Italian civil-status act is printed on.
const (
	pageWidthMM  = 210.0
	pageHeightMM = 297.0
	marginMM     = 20.0
	// borderMM is the strip of scanner background around the paper: the
	// dark border a feeder or an open lid leaves on every scan.
	borderMM = 4.0
)

var (
	fontsOnce         sync.Once
	regularFt, boldFt *opentype.Font
	errFonts          error
)

func loadFonts() error {
	fontsOnce.Do(func() {
		regularFt, errFonts = opentype.Parse(goregular.TTF)
		if errFonts == nil {
			boldFt, errFonts = opentype.Parse(gobold.TTF)
		}
	})
	return errFonts
}

// canvas is the upright page being drawn, in gray or colour, with the scale
// from millimetres to pixels.
type canvas struct {
	img   draw.Image
	pxmm  float64 // pixels per millimetre
	color bool
}

func (c *canvas) px(mm float64) float64 { return mm * c.pxmm }

func (c *canvas) face(ft *opentype.Font, pt float64) (font.Face, error) {
	return opentype.NewFace(ft, &opentype.FaceOptions{Size: pt, DPI: c.pxmm * 25.4, Hinting: font.HintingNone})
}

// text draws s with its baseline at (xmm, ymm) and returns its width in mm.
func (c *canvas) text(f font.Face, xmm, ymm float64, s string, ink color.Color) float64 {
	d := font.Drawer{Dst: c.img, Src: image.NewUniform(ink), Face: f,
		Dot: fixed.P(int(math.Round(c.px(xmm))), int(math.Round(c.px(ymm))))}
	d.DrawString(s)
	return float64(d.MeasureString(s).Round()) / c.pxmm
}

func (c *canvas) measure(f font.Face, s string) float64 {
	return float64(font.MeasureString(f, s).Round()) / c.pxmm
}

// rect strokes the outline of a rectangle given in mm with a line of the given
// width in mm, as a printer draws a signature box.
func (c *canvas) rect(r RectMM, lineMM float64, ink color.Color) {
	lw := math.Max(1, math.Round(c.px(lineMM)))
	x0, y0 := math.Round(c.px(r.X)), math.Round(c.px(r.Y))
	x1, y1 := math.Round(c.px(r.X+r.W)), math.Round(c.px(r.Y+r.H))
	src := image.NewUniform(ink)
	fill := func(ax, ay, bx, by float64) {
		draw.Draw(c.img, image.Rect(int(ax), int(ay), int(bx), int(by)), src, image.Point{}, draw.Src)
	}
	fill(x0, y0, x1, y0+lw)
	fill(x0, y1-lw, x1, y1)
	fill(x0, y0, x0+lw, y1)
	fill(x1-lw, y0, x1, y1)
}

// dot fills a disc of radius rmm centred at (xmm, ymm).
func (c *canvas) dot(xmm, ymm, rmm float64, ink color.Color) {
	cx, cy, r := c.px(xmm), c.px(ymm), c.px(rmm)
	for y := int(cy - r); y <= int(cy+r); y++ {
		for x := int(cx - r); x <= int(cx+r); x++ {
			if math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy) <= r {
				c.img.Set(x, y, ink)
			}
		}
	}
}

// RectMM is a rectangle on the page in millimetres from its top-left corner.
type RectMM struct{ X, Y, W, H float64 }

// layoutBox is a signer's box as laid out on the page.
type layoutBox struct {
	signer Signer
	label  string
	rect   RectMM
}

// pageSpec is everything that decides the pixels of one page.
type pageSpec struct {
	index, count int // 1-based page number and total
	dpi          int
	color        bool
	act          Act
	unsigned     map[Role]bool
	skewDeg      float64
	rotation     int
	effects      Effects
	strayDot     bool
	penInk       uint8
	paper        image.Image
	paperBoxes   []PaperBox
}

// renderUpright draws the page as printed and signed, before the scanner sees
// it. It returns the image, the signers' boxes, and for each box whether a
// stroke left it.
func renderUpright(spec pageSpec, rng *rand.Rand) (draw.Image, []BoxTruth, error) {
	if err := loadFonts(); err != nil {
		return nil, nil, fmt.Errorf("sim: loading fonts: %w", err)
	}
	pxmm := float64(spec.dpi) / 25.4
	w, h := int(math.Round(pageWidthMM*pxmm)), int(math.Round(pageHeightMM*pxmm))
	paper := spec.effects.paper()
	c := &canvas{pxmm: pxmm, color: spec.color}
	if spec.color {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(img, img.Bounds(), image.NewUniform(color.RGBA{paper, paper, paper - 6, 255}), image.Point{}, draw.Src)
		c.img = img
	} else {
		img := image.NewGray(image.Rect(0, 0, w, h))
		draw.Draw(img, img.Bounds(), image.NewUniform(color.Gray{paper}), image.Point{}, draw.Src)
		c.img = img
	}
	if spec.paper != nil {
		return printedPaper(c, spec, rng)
	}
	body, err := c.face(regularFt, 11)
	if err != nil {
		return nil, nil, err
	}
	small, err := c.face(regularFt, 9)
	if err != nil {
		return nil, nil, err
	}
	bold, err := c.face(boldFt, 14)
	if err != nil {
		return nil, nil, err
	}
	printInk := color.Gray{25}

	// Header and footer, on every page.
	c.text(small, marginMM, 14, "Comune di "+spec.act.Comune+" - Ufficio dello Stato Civile", printInk)
	foot := fmt.Sprintf("Atto n. %s - pagina %d di %d", spec.act.Number, spec.index, spec.count)
	c.text(small, pageWidthMM-marginMM-c.measure(small, foot), pageHeightMM-12, foot, printInk)

	y := 28.0
	if spec.index == 1 {
		title := strings.ToUpper(spec.act.Title)
		c.text(bold, (pageWidthMM-c.measure(bold, title))/2, y, title, printInk)
		y += 12
	}

	var boxes []layoutBox
	bottom := pageHeightMM - 22
	if spec.index == spec.count {
		boxes = layoutSignatureBlock(spec.act.Signers, bottom)
		if len(boxes) > 0 {
			bottom = boxes[0].rect.Y - 18
		}
	}

	// Body text, justified to the left, filling the space above the block.
	lineMM := 5.6
	words := prose(rng, 400)
	line := ""
	for len(words) > 0 && y+lineMM < bottom {
		next := words[0]
		try := strings.TrimSpace(line + " " + next)
		if c.measure(body, try) > pageWidthMM-2*marginMM {
			c.text(body, marginMM, y, line, printInk)
			y += lineMM
			line = ""
			continue
		}
		line = try
		words = words[1:]
	}
	if line != "" && y+lineMM < bottom {
		c.text(body, marginMM, y, line, printInk)
	}

	if len(boxes) == 0 {
		return c.img, nil, nil
	}
	c.text(body, marginMM, boxes[0].rect.Y-11, "Letto, confermato e sottoscritto.", printInk)
	truths := make([]BoxTruth, 0, len(boxes))
	for _, b := range boxes {
		c.text(small, b.rect.X, b.rect.Y-2, b.label, printInk)
		c.rect(b.rect, 0.35, printInk)
		signed := !spec.unsigned[b.signer.Role]
		bt := BoxTruth{Role: b.signer.Role, Name: b.signer.Name, Label: b.label, Signed: signed, RectMM: b.rect}
		if signed {
			bt.InkLeavesBox = drawSignature(c, b.rect, b.signer.Name, spec.penInk, rng)
		} else if spec.strayDot {
			c.dot(b.rect.X+b.rect.W*(0.2+0.6*rng.Float64()), b.rect.Y+b.rect.H*(0.3+0.4*rng.Float64()), 0.5, color.Gray{60})
		}
		truths = append(truths, bt)
	}
	return c.img, truths, nil
}

// layoutSignatureBlock places one labelled box per signer in two columns,
// ending at bottomMM, in the order ANSC prints them.
func layoutSignatureBlock(signers []Signer, bottomMM float64) []layoutBox {
	const boxW, boxH, gapX, rowH = 78.0, 24.0, 14.0, 36.0
	rows := (len(signers) + 1) / 2
	top := bottomMM - float64(rows)*rowH + (rowH - boxH)
	out := make([]layoutBox, 0, len(signers))
	for i, s := range signers {
		col, row := i%2, i/2
		x := marginMM + float64(col)*(boxW+gapX)
		if len(signers)%2 == 1 && i == len(signers)-1 {
			x = (pageWidthMM - boxW) / 2 // the last one alone, centred, as the officer's usually is
		}
		out = append(out, layoutBox{
			signer: s,
			label:  s.label(),
			rect:   RectMM{X: x, Y: top + float64(row)*rowH, W: boxW, H: boxH},
		})
	}
	return out
}

// drawSignature writes a handwritten-looking signature in the box: one
// continuous cursive stroke with loops and a pen whose width follows the
// pressure, a separate initial, and sometimes a flourish that leaves the box.
// It reports whether ink was put outside the box.
func drawSignature(c *canvas, box RectMM, name string, penInk uint8, rng *rand.Rand) bool {
	// The rasterizer covers the box and a margin around it, not the page:
	// its float accumulator would be 140 MB for a 600 dpi page.
	margin := RectMM{X: box.X - box.W*0.3, Y: box.Y - box.H*0.6, W: box.W * 1.6, H: box.H * 2.2}
	ox, oy := math.Floor(c.px(margin.X)), math.Floor(c.px(margin.Y))
	rw, rh := int(math.Ceil(c.px(margin.W))), int(math.Ceil(c.px(margin.H)))
	r := vector.NewRasterizer(rw, rh)
	pen := &penStroke{r: r, ox: ox, oy: oy, pxmm: c.pxmm}

	left := box.X + box.W*(0.08+0.08*rng.Float64())
	right := box.X + box.W*(0.70+0.18*rng.Float64())
	base := box.Y + box.H*(0.58+0.12*rng.Float64())
	xHeight := box.H * (0.16 + 0.06*rng.Float64())
	slant := 0.15 + 0.2*rng.Float64()
	width := 0.30 + 0.2*rng.Float64() // mm at full pressure

	// The capital: a tall loop opening the signature.
	capH := box.H * (0.38 + 0.12*rng.Float64())
	var pts []strokePoint
	for i := 0; i <= 60; i++ {
		t := float64(i) / 60 * 2 * math.Pi
		y := base - capH*0.5*(1-math.Cos(t))
		x := left + 2.2*math.Sin(t) + slant*(base-y)*1.2 + 1.5*math.Sin(2*t)
		pts = append(pts, strokePoint{x, y, pressure(t, 0)})
	}
	pen.draw(pts, width)

	// The body: a prolate cycloid gives the loops of running handwriting;
	// letter heights and spacing vary like a real hand's.
	letters := max(5, min(12, len(name)))
	pts = pts[:0]
	phase := rng.Float64() * math.Pi
	// Per letter: its height (some ascenders, some descenders) and its width.
	amp := make([]float64, letters+2)
	adv := make([]float64, letters+2)
	total := 0.0
	for i := range amp {
		amp[i] = xHeight * (0.6 + 0.8*rng.Float64())
		switch rng.IntN(6) {
		case 0, 1:
			amp[i] *= 1.9 // an ascender
		case 2:
			amp[i] = -amp[i] * 0.9 // a descender loops below the line
		}
		adv[i] = 0.7 + 0.6*rng.Float64()
		if i < letters {
			total += adv[i]
		}
	}
	step := (right - left - 6) / total
	const perLetter = 40
	xpos := left + 6
	for i := 0; i <= letters*perLetter; i++ {
		u := float64(i) / perLetter // in letters
		k := min(int(u), letters)
		f := u - float64(k)
		sm := f * f * (3 - 2*f) // heights blend from one letter to the next
		a := amp[k]*(1-sm) + amp[k+1]*sm
		t := u * 2 * math.Pi
		if i > 0 {
			xpos += step * adv[k] / perLetter
		}
		x := xpos - step*adv[k]*0.38*math.Sin(t+phase)
		y := base - a*0.5*(1-math.Cos(t+phase)) - u*0.15 // a hand drifts upward
		x += slant * (base - y)
		pts = append(pts, strokePoint{x, y, pressure(t, u/float64(letters))})
	}
	pen.draw(pts, width)

	// The flourish: a long underline, now and then leaving the box.
	leaves := rng.IntN(3) == 0
	endX := right + 2
	if leaves {
		endX = box.X + box.W + box.W*(0.05+0.12*rng.Float64())
	}
	startX := left + 2
	pts = pts[:0]
	for i := 0; i <= 40; i++ {
		f := float64(i) / 40
		x := startX + (endX-startX)*f
		y := base + 2.5 + 1.5*math.Sin(f*math.Pi) - f*2
		if leaves {
			y += f * f * (box.H*0.45 + 3) // dives across the lower edge
		}
		pts = append(pts, strokePoint{x, y, 0.4 + 0.6*math.Sin(f*math.Pi)})
	}
	pen.draw(pts, width*0.9)

	if penInk == 0 {
		penInk = 45
	}
	ink := color.Color(color.Gray{penInk})
	if c.color {
		// A blue ballpoint, as pale as asked.
		f := float64(penInk-45) / 210
		ink = color.RGBA{uint8(22 + f*200), uint8(36 + f*190), uint8(120 + f*110), 255}
	}
	r.Draw(c.img, image.Rect(int(ox), int(oy), int(ox)+rw, int(oy)+rh), image.NewUniform(ink), image.Point{})
	return leaves
}

// pressure models a pen that presses harder mid-stroke and lifts at the ends.
func pressure(t, progress float64) float64 {
	taper := math.Min(1, math.Min(progress*8+0.3, (1-progress)*6+0.3))
	return math.Max(0.25, (0.65+0.35*math.Sin(t*0.5+1))*taper)
}

type strokePoint struct{ x, y, p float64 } // mm, mm, pressure 0..1

// penStroke turns a polyline with pressures into filled quads and round
// joints. Every piece has the same winding, so overlaps add up (and are
// clamped by the rasterizer) instead of cancelling.
type penStroke struct {
	r      *vector.Rasterizer
	ox, oy float64
	pxmm   float64
}

func (p *penStroke) pt(xmm, ymm float64) (float32, float32) {
	return float32(xmm*p.pxmm - p.ox), float32(ymm*p.pxmm - p.oy)
}

func (p *penStroke) draw(pts []strokePoint, widthMM float64) {
	half := func(sp strokePoint) float64 { return math.Max(0.5/p.pxmm, widthMM*sp.p/2) }
	for i := 0; i+1 < len(pts); i++ {
		a, b := pts[i], pts[i+1]
		dx, dy := b.x-a.x, b.y-a.y
		l := math.Hypot(dx, dy)
		if l == 0 {
			continue
		}
		nx, ny := -dy/l, dx/l
		wa, wb := half(a), half(b)
		p.r.MoveTo(p.pt(a.x+nx*wa, a.y+ny*wa))
		p.r.LineTo(p.pt(b.x+nx*wb, b.y+ny*wb))
		p.r.LineTo(p.pt(b.x-nx*wb, b.y-ny*wb))
		p.r.LineTo(p.pt(a.x-nx*wa, a.y-ny*wa))
		p.r.ClosePath()
	}
	for _, sp := range pts {
		p.dot(sp.x, sp.y, half(sp))
	}
}

// dot is a round joint, wound like the quads (clockwise on screen).
func (p *penStroke) dot(x, y, rad float64) {
	const n = 10
	for i := 0; i <= n; i++ {
		a := -float64(i) / n * 2 * math.Pi
		px, py := p.pt(x+rad*math.Cos(a), y+rad*math.Sin(a))
		if i == 0 {
			p.r.MoveTo(px, py)
		} else {
			p.r.LineTo(px, py)
		}
	}
	p.r.ClosePath()
}

// prose returns words of plausible act text: the formulas of a verbale.
func prose(rng *rand.Rand, n int) []string {
	sentences := []string{
		"L'anno duemilaventisei, addi ventitre del mese di novembre, alle ore undici e minuti trenta, nella Casa Comunale,",
		"avanti a me, Ufficiale dello Stato Civile, delegato dal Sindaco con atto regolarmente depositato, sono comparsi:",
		"i quali mi hanno richiesto di unirli in matrimonio, essendo state eseguite le pubblicazioni prescritte dalla legge",
		"senza che sia stata fatta alcuna opposizione, come risulta dal certificato che si conserva negli allegati.",
		"Ho dato lettura agli sposi degli articoli 143, 144 e 147 del codice civile, e ho quindi domandato",
		"allo sposo se intende prendere in moglie la qui presente sposa, e a questa se intende prendere in marito",
		"il qui presente sposo; avendo ciascuno risposto affermativamente, ho pronunciato in nome della legge",
		"che gli stessi sono uniti in matrimonio. Gli sposi dichiarano di scegliere il regime della separazione dei beni.",
		"Alla presenza dei testimoni, maggiorenni, identificati mediante documento di riconoscimento in corso di validita,",
		"il presente atto e stato redatto in unico originale, letto agli intervenuti che lo hanno confermato.",
		"Le parti dichiarano di essere informate del trattamento dei dati personali ai sensi del Regolamento UE 2016/679.",
	}
	var words []string
	for len(words) < n {
		words = append(words, strings.Fields(sentences[rng.IntN(len(sentences))])...)
	}
	return words[:n]
}

// printedPaper puts a printed page given by the caller on the canvas, and
// has the signers sign in its boxes.
func printedPaper(c *canvas, spec pageSpec, rng *rand.Rand) (draw.Image, []BoxTruth, error) {
	xdraw.ApproxBiLinear.Scale(c.img, c.img.Bounds(), spec.paper, spec.paper.Bounds(), xdraw.Src, nil)
	var truths []BoxTruth
	for _, b := range spec.paperBoxes {
		signed := !spec.unsigned[b.Role]
		bt := BoxTruth{Role: b.Role, Signed: signed, RectMM: b.Rect}
		if signed {
			bt.InkLeavesBox = drawSignature(c, b.Rect, string(b.Role), spec.penInk, rng)
		}
		truths = append(truths, bt)
	}
	return c.img, truths, nil
}

// DrawSignature writes one of the simulator's handwritten signatures in
// box (millimetres on dst, at pxmm pixels per millimetre), in gray ink of
// level penInk, from seed: for test sets drawn by other generators that
// want the simulator's hand among theirs. It reports whether the
// signature's flourish left the box.
func DrawSignature(dst draw.Image, pxmm float64, box RectMM, name string, penInk uint8, seed uint64) bool {
	c := &canvas{img: dst, pxmm: pxmm}
	return drawSignature(c, box, name, penInk, rand.New(rand.NewPCG(seed, 7)))
}
