package document

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// textFont is the one font Autografo writes text with: Go Regular, embedded
// whole, because PDF/A wants every font embedded and a reader's own fonts
// cannot be relied on. It is addressed as a Type 0 font with Identity-H
// encoding, two bytes a glyph, so that every name its glyphs cover prints
// (Kovačič, Łukasz, Şahin, Παπαδόπουλος), not only what Windows-1252 has;
// a ToUnicode map lets readers and ANSC's tools extract the text again.
type textFont struct {
	name      string
	data      []byte
	font      *sfnt.Font
	upem      fixed.Int26_6
	widths    map[sfnt.GlyphIndex]int // in thousandths of the em
	unicode   map[sfnt.GlyphIndex]rune
	missing   sfnt.GlyphIndex // what a character without a glyph prints as ('?')
	mu        sync.Mutex
	bbox      [4]int
	ascent    int
	descent   int
	capHeight int
}

// covered are the ranges of characters looked up in the font for the
// ToUnicode map: Latin with its extensions, Greek, Cyrillic, punctuation.
var covered = []*unicode.RangeTable{{R16: []unicode.Range16{
	{Lo: 0x20, Hi: 0x24f, Stride: 1}, {Lo: 0x370, Hi: 0x3ff, Stride: 1}, {Lo: 0x400, Hi: 0x4ff, Stride: 1},
	{Lo: 0x2000, Hi: 0x206f, Stride: 1}, {Lo: 0x20ac, Hi: 0x20ac, Stride: 1},
}}}

var goRegular = sync.OnceValues(func() (*textFont, error) {
	f, err := sfnt.Parse(goregular.TTF)
	if err != nil {
		return nil, fmt.Errorf("document: embedded font: %w", err)
	}
	var b sfnt.Buffer
	upem := fixed.Int26_6(f.UnitsPerEm())
	scale := func(v fixed.Int26_6) int { return int(v) * 1000 / int(upem) }
	tf := &textFont{name: "GoRegular", data: goregular.TTF, font: f, upem: upem,
		widths: map[sfnt.GlyphIndex]int{}, unicode: map[sfnt.GlyphIndex]rune{}}
	for _, t := range covered {
		for _, rg := range t.R16 {
			for r := rune(rg.Lo); r <= rune(rg.Hi); r++ {
				gi, err := f.GlyphIndex(&b, r)
				if err != nil || gi == 0 {
					continue
				}
				if _, seen := tf.unicode[gi]; !seen {
					tf.unicode[gi] = r
				}
				adv, err := f.GlyphAdvance(&b, gi, upem, 0)
				if err != nil {
					return nil, fmt.Errorf("document: embedded font: %w", err)
				}
				tf.widths[gi] = scale(adv)
			}
		}
	}
	if tf.missing, err = f.GlyphIndex(&b, '?'); err != nil {
		return nil, fmt.Errorf("document: embedded font: %w", err)
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

// glyphs turns text into the font's glyphs; a character it has no glyph
// for prints as '?'.
func (f *textFont) glyphs(s string) []sfnt.GlyphIndex {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b sfnt.Buffer
	out := make([]sfnt.GlyphIndex, 0, len(s))
	for _, r := range s {
		gi, err := f.font.GlyphIndex(&b, r)
		if err != nil || gi == 0 {
			gi = f.missing
		} else if _, known := f.widths[gi]; !known {
			// Outside the ranges looked up at start: measured now, and
			// mapped back to its character for the text's extraction.
			adv, err := f.font.GlyphAdvance(&b, gi, f.upem, 0)
			if err != nil {
				gi = f.missing
			} else {
				f.widths[gi] = int(adv) * 1000 / int(f.upem)
				f.unicode[gi] = r
			}
		}
		out = append(out, gi)
	}
	return out
}

// encode turns text into Identity-H codes: each glyph's index in two bytes.
func (f *textFont) encode(s string) []byte {
	gs := f.glyphs(s)
	out := make([]byte, 0, 2*len(gs))
	for _, g := range gs {
		out = append(out, byte(g>>8), byte(g))
	}
	return out
}

// width of s at size points.
func (f *textFont) width(s string, size float64) float64 {
	gs := f.glyphs(s)
	f.mu.Lock()
	defer f.mu.Unlock()
	w := 0
	for _, g := range gs {
		w += f.widths[g]
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

// literal is a PDF string literal of codes.
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

// embed writes the font's objects as object n (reserved before the pages
// that use it), once every text using it is encoded: the widths and the
// ToUnicode map hold every glyph encoded so far.
func (f *textFont) embed(w *writer, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	file := w.stream(fmt.Sprintf("/Length1 %d", len(f.data)), f.data)
	desc := w.object(fmt.Sprintf("<< /Type /FontDescriptor /FontName /%s /Flags 32 /FontBBox [%d %d %d %d] /ItalicAngle 0 /Ascent %d /Descent %d /CapHeight %d /StemV 80 /FontFile2 %d 0 R >>",
		f.name, f.bbox[0], f.bbox[1], f.bbox[2], f.bbox[3], f.ascent, f.descent, f.capHeight, file))
	gids := make([]int, 0, len(f.widths))
	for g := range f.widths {
		gids = append(gids, int(g))
	}
	sort.Ints(gids)
	var widths, bf strings.Builder
	for _, g := range gids {
		fmt.Fprintf(&widths, "%d [%d] ", g, f.widths[sfnt.GlyphIndex(g)])
	}
	// The ToUnicode map, in blocks of at most 100 entries as the CMap
	// format asks.
	var entries []string
	for _, g := range gids {
		if r, ok := f.unicode[sfnt.GlyphIndex(g)]; ok {
			entries = append(entries, fmt.Sprintf("<%04X> <%s>", g, utf16Hex(r)))
		}
	}
	for i := 0; i < len(entries); i += 100 {
		block := entries[i:min(i+100, len(entries))]
		fmt.Fprintf(&bf, "%d beginbfchar\n%s\nendbfchar\n", len(block), strings.Join(block, "\n"))
	}
	cmap := "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n" + bf.String() + "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
	toUnicode := w.stream("", []byte(cmap))
	cid := w.object(fmt.Sprintf("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /%s /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor %d 0 R /DW 1000 /W [%s] /CIDToGIDMap /Identity >>",
		f.name, desc, strings.TrimSpace(widths.String())))
	w.define(n, fmt.Sprintf("<< /Type /Font /Subtype /Type0 /BaseFont /%s /Encoding /Identity-H /DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>",
		f.name, cid, toUnicode))
}

// utf16Hex is a character in UTF-16BE, as hex digits.
func utf16Hex(r rune) string {
	if r < 0x10000 {
		return fmt.Sprintf("%04X", r)
	}
	r -= 0x10000
	return fmt.Sprintf("%04X%04X", 0xd800+(r>>10), 0xdc00+(r&0x3ff))
}
