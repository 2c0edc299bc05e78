package formtest

import (
	"math"
	"math/rand/v2"
	"strings"

	"golang.org/x/image/font/opentype"
)

// Style is how a form lays out its signers' places.
type Style string

const (
	StyleLabelInside Style = "label-inside" // the role printed inside the box, top left
	StyleLabelAbove  Style = "label-above"  // the role above the box
	StyleLabelBelow  Style = "label-below"  // the role below the box
	StyleDotted      Style = "dotted-line"  // no box: a dotted line to sign on, the role under it
	StyleTwoColumns  Style = "two-columns"  // two boxes side by side with a narrow gap
	StyleCrowded     Style = "crowded"      // six small boxes packed in three columns
)

// Styles lists them all.
var Styles = []Style{StyleLabelInside, StyleLabelAbove, StyleLabelBelow, StyleDotted, StyleTwoColumns, StyleCrowded}

// Content is what a signer's place holds.
type Content string

const (
	Signature Content = "signature"
	Empty     Content = "empty"
	Stamp     Content = "stamp"    // a stamp alone, no signature
	Initials  Content = "initials" // two or three letters
	Stroke    Content = "stroke"   // one straight line
	Cross     Content = "cross"    // the box struck out
	Dot       Content = "dot"      // a pen touched to the paper
)

// Signed reports whether the content is a signature; Mark whether it is
// ink that is not one (which the pipeline must not call signed).
func (c Content) Signed() bool { return c == Signature }
func (c Content) Mark() bool   { return c != Signature && c != Empty }

// place is a signer's place on the form, in millimetres.
type place struct {
	role, label string
	box         rect // where the layout says the signature goes
	frame       bool // printed as a box (else a line)
}

var roleLabels = map[string][]string{
	"sposo":       {"Firma dello sposo", "Lo sposo", "Sposo"},
	"sposa":       {"Firma della sposa", "La sposa", "Sposa"},
	"testimone1":  {"1° testimone", "Primo testimone", "Il testimone"},
	"testimone2":  {"2° testimone", "Secondo testimone", "Il testimone"},
	"interprete":  {"L'interprete", "Interprete"},
	"ufficiale":   {"L'ufficiale dello stato civile", "L'Ufficiale", "Ufficiale di stato civile"},
	"dichiarante": {"Il dichiarante", "Firma del dichiarante"},
}

// layout places the signers' boxes of a style in the block that ends at
// bottom (mm from the top of an A4 page), and returns the places and the
// block's top.
func layout(style Style, roles []string, bottom float64, rng *rand.Rand) ([]place, float64) {
	label := func(role string) string {
		l := roleLabels[role]
		return l[rng.IntN(len(l))]
	}
	var out []place
	switch style {
	case StyleCrowded:
		const w, h, gap, row = 56.0, 19.0, 4.0, 27.0
		x0 := (210 - 3*w - 2*gap) / 2
		top := bottom - 2*row
		for i, r := range roles {
			out = append(out, place{role: r, label: label(r), frame: true,
				box: rect{x0 + float64(i%3)*(w+gap), top + 5 + float64(i/3)*row, w, h}})
		}
		return out, top
	case StyleTwoColumns:
		const w, h, gap, row = 86.0, 25.0, 6.0, 34.0
		rows := (len(roles) + 1) / 2
		top := bottom - float64(rows)*row
		x0 := (210 - 2*w - gap) / 2
		for i, r := range roles {
			out = append(out, place{role: r, label: label(r), frame: true,
				box: rect{x0 + float64(i%2)*(w+gap), top + 6 + float64(i/2)*row, w, h}})
		}
		return out, top
	}
	w, h, gapX, row := 74.0+6*rng.Float64(), 22.0+5*rng.Float64(), 16.0+8*rng.Float64(), 36.0
	rows := (len(roles) + 1) / 2
	top := bottom - float64(rows)*row
	x0 := (210 - 2*w - gapX) / 2
	for i, r := range roles {
		x := x0 + float64(i%2)*(w+gapX)
		if len(roles)%2 == 1 && i == len(roles)-1 {
			x = (210 - w) / 2
		}
		y := top + 6 + float64(i/2)*row
		out = append(out, place{role: r, label: label(r), frame: style != StyleDotted, box: rect{x, y, w, h}})
	}
	return out, top
}

// drawPlace prints a place as the style wants it: its box or line, and its
// label.
func (c *canvas) drawPlace(style Style, p place, ft *opentype.Font, d uint8) error {
	b := p.box
	lw := 0.25 + 0.15*float64(len(p.role)%3)/2
	switch style {
	case StyleDotted:
		c.dotted(b.x, b.x+b.w, b.y+b.h, 0.45, 1.3, d)
		_, err := c.text(ft, 8.5, b.x, b.y+b.h+4.2, p.label, d)
		return err
	case StyleLabelInside, StyleCrowded:
		c.outline(b.x, b.y, b.w, b.h, lw, d)
		pt := 7.5
		if style == StyleCrowded {
			pt = 6.5
		}
		_, err := c.text(ft, pt, b.x+1.6, b.y+1.2+pt*0.352, p.label, d)
		return err
	case StyleLabelBelow:
		c.outline(b.x, b.y, b.w, b.h, lw, d)
		_, err := c.text(ft, 9, b.x, b.y+b.h+4.5, p.label, d)
		return err
	default: // above, two columns
		c.outline(b.x, b.y, b.w, b.h, lw, d)
		_, err := c.text(ft, 9, b.x, b.y-1.6, p.label, d)
		return err
	}
}

var (
	firstNames = []string{"Marco", "Giulia", "Luca", "Chiara", "Francesca", "Alessandro", "Sofia", "Matteo", "Elena", "Davide",
		"Martina", "Giorgio", "Anna Maria", "Pier Luigi", "Rosaria", "Salvatore", "Mojca", "Ahmed", "Ioana", "Wei"}
	lastNames = []string{"Rossi", "Bianchi", "Esposito", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno", "Gallo",
		"De Luca", "Conti", "Mancini", "Costa", "Giordano", "Lombardi", "Kovačič", "El Amrani", "Popescu", "Zhang"}
	words = strings.Fields(`l'anno duemilaventisei addì del mese di nella casa comunale avanti a me ufficiale dello stato civile
		sono comparsi i signori nati a residenti in i quali mi hanno richiesto di unirli in matrimonio alla presenza dei
		testimoni sopra indicati maggiorenni ho letto agli sposi gli articoli del codice civile e ho ricevuto da ciascuno
		di essi personalmente la dichiarazione che intendono prendersi rispettivamente in marito e in moglie quindi ho
		pronunciato in nome della legge che sono uniti in matrimonio il presente atto viene letto confermato e sottoscritto`)
)

func randomName(rng *rand.Rand) string {
	return firstNames[rng.IntN(len(firstNames))] + " " + lastNames[rng.IntN(len(lastNames))]
}

// body prints lines of act text from y0 to y1 (mm), in one or two columns.
func (c *canvas) body(ft *opentype.Font, y0, y1 float64, twoCols bool, d uint8, rng *rand.Rand) error {
	pt := 9.5 + 1.5*rng.Float64()
	lead := pt * 0.352 * (1.35 + 0.25*rng.Float64())
	cols := [][2]float64{{22, 188}}
	if twoCols {
		cols = [][2]float64{{22, 102}, {108, 188}}
	}
	for _, col := range cols {
		for y := y0 + lead; y < y1; y += lead {
			var line []string
			width := 0.0
			for {
				w := words[rng.IntN(len(words))]
				ww, err := textWidth(ft, pt, c.pxmm, w+" ")
				if err != nil {
					return err
				}
				if width+ww > col[1]-col[0] {
					break
				}
				line = append(line, w)
				width += ww
			}
			if rng.IntN(9) == 0 { // a paragraph's last line
				line = line[:max(1, len(line)/2)]
			}
			if _, err := c.text(ft, pt, col[0], y, strings.Join(line, " "), d); err != nil {
				return err
			}
		}
	}
	return nil
}

// corners are a rectangle's corners, top-left first, clockwise.
func (r rect) corners() [4][2]float64 {
	return [4][2]float64{{r.x, r.y}, {r.x + r.w, r.y}, {r.x + r.w, r.y + r.h}, {r.x, r.y + r.h}}
}

// errorOf moves and scales a layout box as a layout a little off would:
// up to maxMM in any direction, and by up to 1% in size.
func errorOf(r rect, maxMM float64, rng *rand.Rand) rect {
	a := rng.Float64() * 2 * math.Pi
	d := maxMM * math.Sqrt(rng.Float64())
	s := 0.99 + 0.02*rng.Float64()
	cx, cy := r.x+r.w/2+d*math.Cos(a), r.y+r.h/2+d*math.Sin(a)
	return rect{cx - r.w*s/2, cy - r.h*s/2, r.w * s, r.h * s}
}
