package document

import (
	"fmt"
	"strings"
	"sync"

	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/encoding/charmap"
)

// textFont is the one font Autografo writes text with: Go Regular, embedded
// whole, because PDF/A wants every font embedded and a reader's own fonts
// cannot be relied on. It is addressed as a simple TrueType font in
// WinAnsiEncoding, which covers Italian (à è é ì ò ù) and the usual
// punctuation.
type textFont struct {
	name      string
	data      []byte
	widths    [256]int // in thousandths of the em, by WinAnsi code
	bbox      [4]int
	ascent    int
	descent   int
	capHeight int
}

var goRegular = sync.OnceValues(func() (*textFont, error) {
	f, err := sfnt.Parse(goregular.TTF)
	if err != nil {
		return nil, fmt.Errorf("document: embedded font: %w", err)
	}
	var b sfnt.Buffer
	upem := fixed.Int26_6(f.UnitsPerEm())
	scale := func(v fixed.Int26_6) int { return int(v) * 1000 / int(upem) }
	tf := &textFont{name: "GoRegular", data: goregular.TTF}
	dec := charmap.Windows1252.NewDecoder()
	for code := 32; code < 256; code++ {
		r, err := dec.Bytes([]byte{byte(code)})
		if err != nil || len(r) == 0 {
			continue
		}
		gi, err := f.GlyphIndex(&b, []rune(string(r))[0])
		if err != nil || gi == 0 {
			continue
		}
		adv, err := f.GlyphAdvance(&b, gi, upem, 0)
		if err != nil {
			return nil, fmt.Errorf("document: embedded font: %w", err)
		}
		tf.widths[code] = scale(adv)
	}
	bounds, err := f.Bounds(&b, upem, 0)
	if err != nil {
		return nil, fmt.Errorf("document: embedded font: %w", err)
	}
	// sfnt's y axis points down; PDF's points up.
	tf.bbox = [4]int{scale(bounds.Min.X), -scale(bounds.Max.Y), scale(bounds.Max.X), -scale(bounds.Min.Y)}
	m, err := f.Metrics(&b, upem, 0)
	if err != nil {
		return nil, fmt.Errorf("document: embedded font: %w", err)
	}
	tf.ascent, tf.descent, tf.capHeight = scale(m.Ascent), -scale(m.Descent), scale(m.CapHeight)
	return tf, nil
})

// encode turns text into WinAnsi codes; what WinAnsi lacks becomes '?'.
func (f *textFont) encode(s string) []byte {
	out := make([]byte, 0, len(s))
	enc := charmap.Windows1252.NewEncoder()
	for _, r := range s {
		b, err := enc.Bytes([]byte(string(r)))
		if err != nil || len(b) != 1 || f.widths[b[0]] == 0 {
			out = append(out, '?')
			continue
		}
		out = append(out, b[0])
	}
	return out
}

// width of s at size points.
func (f *textFont) width(s string, size float64) float64 {
	w := 0
	for _, c := range f.encode(s) {
		w += f.widths[c]
	}
	return float64(w) * size / 1000
}

// wrap breaks s into lines no wider than max points at size.
func (f *textFont) wrap(s string, size, max float64) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		next := word
		if line != "" {
			next = line + " " + word
		}
		if line != "" && f.width(next, size) > max {
			lines = append(lines, line)
			next = word
		}
		line = next
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// literal is a PDF string literal of WinAnsi codes.
func literal(codes []byte) string {
	var b strings.Builder
	b.WriteByte('(')
	for _, c := range codes {
		switch {
		case c == '(' || c == ')' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 32 || c > 126:
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(')')
	return b.String()
}

// embed writes the font's objects and returns the font dictionary's number.
func (f *textFont) embed(w *writer) int {
	file := w.stream(fmt.Sprintf("/Length1 %d", len(f.data)), f.data)
	desc := w.object(fmt.Sprintf("<< /Type /FontDescriptor /FontName /%s /Flags 32 /FontBBox [%d %d %d %d] /ItalicAngle 0 /Ascent %d /Descent %d /CapHeight %d /StemV 80 /FontFile2 %d 0 R >>",
		f.name, f.bbox[0], f.bbox[1], f.bbox[2], f.bbox[3], f.ascent, f.descent, f.capHeight, file))
	var widths strings.Builder
	for code := 32; code < 256; code++ {
		fmt.Fprintf(&widths, "%d ", f.widths[code])
	}
	return w.object(fmt.Sprintf("<< /Type /Font /Subtype /TrueType /BaseFont /%s /FirstChar 32 /LastChar 255 /Widths [%s] /Encoding /WinAnsiEncoding /FontDescriptor %d 0 R >>",
		f.name, strings.TrimSpace(widths.String()), desc))
}
