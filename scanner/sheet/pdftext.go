package sheet

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf16"

	"github.com/pdfcpu/pdfcpu/pkg/font"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"golang.org/x/text/encoding/charmap"
)

// Reading a PDF's words in Go, where poppler's pdftotext is not at hand
// (a Windows workstation): the text a page shows, placed as pdftotext
// places it (points, y down from the page's top, a word's box from its
// font's ascent to its descent), so that the labels of a preview give the
// same boxes either way. It reads what act-drafting apps print: simple
// fonts (standard encodings, Differences, ToUnicode, the 14 standard
// fonts' widths), composite fonts with two-byte codes and ToUnicode, text
// in form XObjects. Text drawn rotated or on a turned page is not read.

// Bounds on what a PDF from a browser may make the reader do.
const (
	maxContent    = 64 << 20 // bytes of a page's content interpreted, forms included
	maxGlyphs     = 500_000  // glyphs of a page
	maxFormDepth  = 8        // forms within forms
	maxOperands   = 4096     // operands before an operator
	maxArrayDepth = 16
	maxCodes      = 1 << 16 // a font's codes with a width or a text: two bytes' worth
	maxForms      = 10_000  // forms drawn on a page
)

var errTooMuch = errors.New("sheet: PDF page content beyond the reader's bounds")

// readWords reads every page's size and words.
func readWords(pdf []byte) (pages []bboxPage, err error) {
	// pdfcpu panics on some malformed files, as might the reader: a bad
	// PDF is an error here.
	defer func() {
		if r := recover(); r != nil {
			pages, err = nil, fmt.Errorf("%w: %v", ErrPDF, r)
		}
	}()
	ctx, dims, err := openPDF(pdf)
	if err != nil {
		return nil, err
	}
	fonts := map[string]*pdfFont{} // pages share their fonts' objects
	for i, dim := range dims {
		d, _, inh, err := ctx.PageDict(i+1, false)
		if err != nil || d == nil || inh == nil || inh.MediaBox == nil {
			return nil, fmt.Errorf("%w: page %d: %v", ErrPDF, i+1, err)
		}
		p := bboxPage{w: dim.Width, h: dim.Height}
		content, err := ctx.PageContent(d, i+1)
		if err != nil && !errors.Is(err, model.ErrNoContent) {
			return nil, fmt.Errorf("%w: page %d: %w", ErrPDF, i+1, err)
		}
		if inh.Rotate%360 == 0 {
			t := &textReader{x: ctx.XRefTable, fonts: fonts}
			if err := t.run(content, inh.Resources, identity, 0); err != nil {
				return nil, fmt.Errorf("%w: page %d: %w", ErrPDF, i+1, err)
			}
			p.words = t.words(inh.MediaBox.LL.X, inh.MediaBox.UR.Y)
		}
		pages = append(pages, p)
	}
	return pages, nil
}

// matrix is a PDF transformation [a b c d e f].
type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

// mul is m then n.
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

func (m matrix) apply(x, y float64) (float64, float64) {
	return x*m[0] + y*m[2] + m[4], x*m[1] + y*m[3] + m[5]
}

// glyph is one character shown, in user space (y up).
type glyph struct {
	s            string
	x0, x1, base float64
	top, bottom  float64
	size         float64
	rotated      bool
}

type textState struct {
	ctm                  matrix
	tc, tw, th, tl, rise float64
	font                 *pdfFont
	size                 float64
}

type textReader struct {
	x      *model.XRefTable
	fonts  map[string]*pdfFont
	glyphs []glyph
	// read counts the content bytes interpreted, forms again each time
	// they are drawn: a form drawn a thousand times by a form drawn a
	// thousand times must not multiply the work without end.
	read, forms int
}

// run interprets a content stream with its resources.
func (t *textReader) run(content []byte, res types.Dict, ctm matrix, depth int) error {
	if t.read += len(content); t.read > maxContent {
		return errTooMuch
	}
	st := textState{ctm: ctm, th: 1}
	var stack []textState
	var tm, tlm matrix
	lx := lexer{data: content}
	var ops []operand
	for {
		tok, err := lx.next()
		if err != nil {
			return err
		}
		if tok.kind == tokEOF {
			return nil
		}
		if tok.kind != tokOperator {
			if len(ops) >= maxOperands {
				return errTooMuch
			}
			ops = append(ops, tok)
			continue
		}
		num := func(i int) float64 {
			if i < len(ops) && ops[i].kind == tokNumber {
				return ops[i].num
			}
			return 0
		}
		newLine := func(tx, ty float64) {
			tlm = matrix{1, 0, 0, 1, tx, ty}.mul(tlm)
			tm = tlm
		}
		switch tok.op {
		case "q":
			if len(stack) < 256 {
				stack = append(stack, st)
			}
		case "Q":
			if n := len(stack); n > 0 {
				st, stack = stack[n-1], stack[:n-1]
			}
		case "cm":
			if len(ops) == 6 {
				st.ctm = matrix{num(0), num(1), num(2), num(3), num(4), num(5)}.mul(st.ctm)
			}
		case "BT":
			tm, tlm = identity, identity
		case "Tc":
			st.tc = num(0)
		case "Tw":
			st.tw = num(0)
		case "Tz":
			st.th = num(0) / 100
		case "TL":
			st.tl = num(0)
		case "Ts":
			st.rise = num(0)
		case "Tf":
			if len(ops) == 2 && ops[0].kind == tokName {
				st.font = t.font(res, ops[0].name)
				st.size = num(1)
			}
		case "Td":
			newLine(num(0), num(1))
		case "TD":
			st.tl = -num(1)
			newLine(num(0), num(1))
		case "Tm":
			if len(ops) == 6 {
				tm = matrix{num(0), num(1), num(2), num(3), num(4), num(5)}
				tlm = tm
			}
		case "T*":
			newLine(0, -st.tl)
		case "Tj", "'", `"`:
			if tok.op == `"` && len(ops) == 3 {
				st.tw, st.tc = num(0), num(1)
			}
			if tok.op != "Tj" {
				newLine(0, -st.tl)
			}
			if n := len(ops); n > 0 && ops[n-1].kind == tokString {
				if err := t.show(&st, &tm, ops[n-1].str); err != nil {
					return err
				}
			}
		case "TJ":
			if len(ops) == 1 && ops[0].kind == tokArray {
				for _, e := range ops[0].arr {
					switch e.kind {
					case tokString:
						if err := t.show(&st, &tm, e.str); err != nil {
							return err
						}
					case tokNumber:
						tm = matrix{1, 0, 0, 1, -e.num / 1000 * st.size * st.th, 0}.mul(tm)
					}
				}
			}
		case "Do":
			if len(ops) == 1 && ops[0].kind == tokName && depth < maxFormDepth {
				if err := t.form(res, ops[0].name, st.ctm, depth); err != nil {
					return err
				}
			}
		}
		ops = ops[:0]
	}
}

// form runs a form XObject's content, within its own resources.
func (t *textReader) form(res types.Dict, name string, ctm matrix, depth int) error {
	if t.forms++; t.forms > maxForms {
		return errTooMuch
	}
	xo := t.dict(res["XObject"])
	if xo == nil {
		return nil
	}
	sd, _, err := t.x.DereferenceStreamDict(xo[name])
	if err != nil || sd == nil || sd.Dict.NameEntry("Subtype") == nil || *sd.Dict.NameEntry("Subtype") != "Form" {
		return nil // an image, or nothing usable: no text
	}
	if err := sd.Decode(); err != nil {
		return nil
	}
	m := identity
	if a := t.array(sd.Dict["Matrix"]); len(a) == 6 {
		for i := range 6 {
			m[i] = t.number(a[i])
		}
	}
	inner := t.dict(sd.Dict["Resources"])
	if inner == nil {
		inner = res
	}
	return t.run(sd.Content, inner, m.mul(ctm), depth+1)
}

// show places the glyphs of one string.
func (t *textReader) show(st *textState, tm *matrix, s []byte) error {
	f := st.font
	if f == nil {
		return nil
	}
	for len(s) > 0 {
		code, n := f.code(s)
		s = s[n:]
		w := f.width(code)
		tx := w*st.size + st.tc
		if n == 1 && code == 32 {
			tx += st.tw
		}
		trm := matrix{st.size * st.th, 0, 0, st.size, 0, st.rise}.mul(*tm).mul(st.ctm)
		x0, y0 := trm.apply(0, 0)
		// A glyph reaches to where the next one starts, its spacing
		// included, as in pdftotext: letter-spaced capitals are one word.
		next := matrix{1, 0, 0, 1, tx * st.th, 0}.mul(*tm)
		x1, _ := next.mul(st.ctm).apply(0, 0)
		_, ya := trm.apply(0, f.ascent)
		_, yd := trm.apply(0, f.descent)
		text := f.text(code)
		if len(t.glyphs) >= maxGlyphs {
			return errTooMuch
		}
		t.glyphs = append(t.glyphs, glyph{s: text, x0: x0, x1: x1, base: y0, top: ya, bottom: yd,
			size:    math.Abs(trm[3]),
			rotated: math.Abs(trm[1]) > 1e-3*math.Abs(trm[0]) || math.Abs(trm[2]) > 1e-3*math.Abs(trm[3]) || trm[0] <= 0 || trm[3] <= 0})
		*tm = next
	}
	return nil
}

// wordGap is the gap between glyphs, as a fraction of the type's size,
// that parts words where no space is drawn: less than a space (a quarter
// to a third of the size in most faces), more than letter spacing.
// pdftotext parts at a tenth, then joins again, line by line, the words
// spaced less than the line's spaces; this is the simple half of that.
const wordGap = 0.2

// words joins the glyphs into words as pdftotext does: a word ends at a
// space, at a gap wider than wordGap, going back more than half the size
// (kerning pulls an apostrophe back over the L before it), or where the
// baseline moves half a point or the size changes. llx and ury place
// them on the page (y down).
func (t *textReader) words(llx, ury float64) []word {
	var out []word
	var cur *word
	var last glyph
	flush := func() {
		if cur != nil && cur.Text != "" {
			out = append(out, *cur)
		}
		cur = nil
	}
	for _, g := range t.glyphs {
		if g.rotated || strings.TrimSpace(g.s) == "" { // a space, or nothing readable
			flush()
			continue
		}
		if cur != nil {
			gap := g.x0 - last.x1
			if gap > wordGap*last.size || gap < -0.5*last.size || math.Abs(g.base-last.base) > 0.5 || math.Abs(g.size-last.size) > 1e-3*last.size {
				flush()
			}
		}
		if cur == nil {
			cur = &word{X0: g.x0 - llx, Y0: ury - g.top, X1: g.x1 - llx, Y1: ury - g.bottom}
		}
		cur.Text += g.s
		cur.X1 = max(cur.X1, g.x1-llx)
		cur.Y0, cur.Y1 = min(cur.Y0, ury-g.top), max(cur.Y1, ury-g.bottom)
		last = g
	}
	flush()
	return out
}

// pdfFont is what the reader needs of a font: how codes are read from a
// string, what text each shows, and how wide it is.
type pdfFont struct {
	twoByte         bool
	toUnicode       map[uint32]string
	encoding        *[256]rune
	widths          map[uint32]float64 // glyph space / 1000
	missing         float64
	core            string // one of the 14 standard fonts, for widths the file does not give
	ascent, descent float64
}

func (f *pdfFont) code(s []byte) (uint32, int) {
	if f.twoByte && len(s) >= 2 {
		return uint32(s[0])<<8 | uint32(s[1]), 2
	}
	return uint32(s[0]), 1
}

// ligatures are written out, as pdftotext does: «Uﬃciale» is a label's
// «Ufficiale».
var ligatures = strings.NewReplacer("ﬀ", "ff", "ﬁ", "fi", "ﬂ", "fl", "ﬃ", "ffi", "ﬄ", "ffl", "ﬅ", "st", "ﬆ", "st")

func (f *pdfFont) text(code uint32) string {
	if u, ok := f.toUnicode[code]; ok {
		return ligatures.Replace(u)
	}
	if f.twoByte {
		return "" // a CID without ToUnicode says nothing readable
	}
	if r := f.encoding[code&0xff]; r != 0 {
		return ligatures.Replace(string(r))
	}
	return ""
}

func (f *pdfFont) width(code uint32) float64 {
	if w, ok := f.widths[code]; ok {
		return w
	}
	if f.core != "" {
		if w, err := font.CharWidth(f.core, rune(code)); err == nil && w > 0 {
			return float64(w) / 1000
		}
	}
	return f.missing
}

// coreMetrics are the ascent and descent poppler gives the standard fonts.
var coreMetrics = map[string][2]float64{"Helvetica": {0.718, -0.207}, "Times": {0.683, -0.217}, "Courier": {0.629, -0.157}}

// font reads the font named in the resources, once.
func (t *textReader) font(res types.Dict, name string) *pdfFont {
	fonts := t.dict(res["Font"])
	if fonts == nil {
		return nil
	}
	key := fmt.Sprintf("%p/%s", fonts, name)
	if f, ok := t.fonts[key]; ok {
		return f
	}
	d := t.dict(fonts[name])
	var f *pdfFont
	if d != nil {
		f = t.readFont(d)
	}
	t.fonts[key] = f
	return f
}

func (t *textReader) readFont(d types.Dict) *pdfFont {
	f := &pdfFont{widths: map[uint32]float64{}, ascent: 0.95, descent: -0.35, missing: 0.5}
	subtype, base := t.name(d["Subtype"]), t.name(d["BaseFont"])
	if i := strings.IndexByte(base, '+'); i == 6 {
		base = base[i+1:] // a subset's tag
	}
	desc := t.dict(d["FontDescriptor"])
	if subtype == "Type0" {
		f.twoByte = true
		f.missing = 1
		if kids := t.array(d["DescendantFonts"]); len(kids) > 0 {
			if cid := t.dict(kids[0]); cid != nil {
				desc = t.dict(cid["FontDescriptor"])
				if dw, ok := cid["DW"]; ok {
					f.missing = t.number(dw) / 1000
				}
				t.cidWidths(f, t.array(cid["W"]))
			}
		}
	} else {
		enc := baseEncoding(base, subtype)
		switch e := t.deref(d["Encoding"]).(type) {
		case types.Name:
			enc = namedEncoding(string(e), enc)
		case types.Dict:
			enc = namedEncoding(t.name(e["BaseEncoding"]), enc)
			enc = differences(enc, t.array(e["Differences"]), t)
		}
		f.encoding = enc
		first := int(t.number(d["FirstChar"]))
		for i, w := range t.array(d["Widths"]) {
			if c := first + i; c >= 0 && c < 256 { // a simple font's codes are bytes
				f.widths[uint32(c)] = t.number(w) / 1000
			}
		}
		for _, family := range []string{"Helvetica", "Times", "Courier"} {
			if strings.HasPrefix(base, family) {
				f.ascent, f.descent = coreMetrics[family][0], coreMetrics[family][1]
			}
		}
		if font.IsCoreFont(base) {
			f.core = base
		}
	}
	if desc != nil {
		if a := t.number(desc["Ascent"]); a != 0 && a < 3000 {
			f.ascent = a / 1000
		}
		if a := t.number(desc["Descent"]); a != 0 && a > -3000 {
			f.descent = -math.Abs(a) / 1000
		}
		if mw, ok := desc["MissingWidth"]; ok && subtype != "Type0" {
			f.missing = t.number(mw) / 1000
		}
	}
	if sd, _, err := t.x.DereferenceStreamDict(d["ToUnicode"]); err == nil && sd != nil && sd.Decode() == nil {
		f.toUnicode = parseToUnicode(sd.Content)
	}
	return f
}

// cidWidths reads a composite font's W array: c [w1 w2 ...] or c1 c2 w.
func (t *textReader) cidWidths(f *pdfFont, w types.Array) {
	for i := 0; i < len(w); {
		c := t.number(w[i])
		if i+1 < len(w) {
			if ws := t.array(w[i+1]); ws != nil {
				for k, v := range ws {
					if len(f.widths) < maxCodes {
						f.widths[uint32(int(c)+k)] = t.number(v) / 1000
					}
				}
				i += 2
				continue
			}
		}
		if i+2 >= len(w) {
			return
		}
		hi, v := t.number(w[i+1]), t.number(w[i+2])
		for k := c; k <= hi && k-c < 65536 && len(f.widths) < maxCodes; k++ {
			f.widths[uint32(k)] = v / 1000
		}
		i += 3
	}
}

func (t *textReader) deref(o types.Object) types.Object {
	v, err := t.x.Dereference(o)
	if err != nil {
		return nil
	}
	return v
}

func (t *textReader) dict(o types.Object) types.Dict {
	switch v := t.deref(o).(type) {
	case types.Dict:
		return v
	case types.StreamDict:
		return v.Dict
	}
	return nil
}

func (t *textReader) array(o types.Object) types.Array {
	a, _ := t.deref(o).(types.Array)
	return a
}

func (t *textReader) name(o types.Object) string {
	n, _ := t.deref(o).(types.Name)
	return string(n)
}

func (t *textReader) number(o types.Object) float64 {
	switch v := t.deref(o).(type) {
	case types.Integer:
		return float64(v)
	case types.Float:
		return float64(v)
	}
	return 0
}

// Encodings of simple fonts, as tables of code to rune.
var (
	winAnsiTable, macRomanTable, standardTable [256]rune
)

func init() {
	for i := range 256 {
		winAnsiTable[i] = charmap.Windows1252.DecodeByte(byte(i))
		macRomanTable[i] = charmap.Macintosh.DecodeByte(byte(i))
		standardTable[i] = winAnsiTable[i]
		for _, t := range []*[256]rune{&winAnsiTable, &macRomanTable} {
			if i < 0x20 || t[i] == '\ufffd' {
				t[i] = 0
			}
		}
	}
	// StandardEncoding differs from ASCII in its quotes, and above 0x7f
	// is not Latin-1: letters with accents come through Differences.
	standardTable['\''], standardTable['`'] = '’', '‘'
	for i := 0x7f; i < 256; i++ {
		standardTable[i] = 0
	}
	for i := range 0x20 {
		standardTable[i] = 0
	}
}

func baseEncoding(base, subtype string) *[256]rune {
	if subtype == "TrueType" || font.IsCoreFont(base) && base != "Symbol" && base != "ZapfDingbats" {
		t := winAnsiTable // what viewers assume for these
		return &t
	}
	t := standardTable
	return &t
}

func namedEncoding(name string, def *[256]rune) *[256]rune {
	var t [256]rune
	switch name {
	case "WinAnsiEncoding":
		t = winAnsiTable
	case "MacRomanEncoding":
		t = macRomanTable
	case "StandardEncoding":
		t = standardTable
	default:
		t = *def
	}
	return &t
}

// differences applies an encoding's Differences: a code, then the glyph
// names from it on.
func differences(enc *[256]rune, diff types.Array, t *textReader) *[256]rune {
	code := 0
	for _, o := range diff {
		switch v := t.deref(o).(type) {
		case types.Integer:
			code = int(v)
		case types.Name:
			if code >= 0 && code < 256 {
				enc[code] = glyphRune(string(v))
			}
			code++
		}
	}
	return enc
}

// glyphRune is the character a glyph name stands for: uniXXXX and uXXXX
// names, single letters and digits, and the names of Latin text.
func glyphRune(name string) rune {
	if r, ok := glyphNames[name]; ok {
		return r
	}
	if len(name) == 1 {
		return rune(name[0])
	}
	for _, p := range []string{"uni", "u"} {
		if h, ok := strings.CutPrefix(name, p); ok && len(h) >= 4 && len(h) <= 6 {
			var r rune
			if _, err := fmt.Sscanf(h, "%X", &r); err == nil {
				return r
			}
		}
	}
	return 0
}

var glyphNames = map[string]rune{
	"space": ' ', "quoteright": '’', "quoteleft": '‘', "quotesingle": '\'', "quotedbl": '"',
	"period": '.', "comma": ',', "colon": ':', "semicolon": ';', "hyphen": '-', "endash": '–', "emdash": '—',
	"parenleft": '(', "parenright": ')', "slash": '/', "numbersign": '#', "degree": '°', "ordmasculine": 'º', "ordfeminine": 'ª',
	"zero": '0', "one": '1', "two": '2', "three": '3', "four": '4', "five": '5', "six": '6', "seven": '7', "eight": '8', "nine": '9',
	"agrave": 'à', "aacute": 'á', "egrave": 'è', "eacute": 'é', "igrave": 'ì', "iacute": 'í', "ograve": 'ò', "oacute": 'ó',
	"ugrave": 'ù', "uacute": 'ú', "Agrave": 'À', "Egrave": 'È', "Eacute": 'É', "Igrave": 'Ì', "Ograve": 'Ò', "Ugrave": 'Ù',
	"ccedilla": 'ç', "ntilde": 'ñ', "adieresis": 'ä', "odieresis": 'ö', "udieresis": 'ü', "germandbls": 'ß',
	"fi": 'ﬁ', "fl": 'ﬂ', "ampersand": '&', "at": '@', "underscore": '_', "asterisk": '*', "plus": '+', "equal": '=',
}

// parseToUnicode reads a ToUnicode CMap's bfchar and bfrange entries.
func parseToUnicode(data []byte) map[uint32]string {
	out := map[uint32]string{}
	lx := lexer{data: data}
	var ops []operand
	mode := ""
	for {
		tok, err := lx.next()
		if err != nil || tok.kind == tokEOF {
			return out
		}
		if tok.kind != tokOperator {
			if len(ops) < maxOperands {
				ops = append(ops, tok)
			}
			continue
		}
		switch tok.op {
		case "beginbfchar", "beginbfrange":
			mode = tok.op
		case "endbfchar":
			for i := 0; i+1 < len(ops); i += 2 {
				if ops[i].kind == tokString && ops[i+1].kind == tokString && len(out) < maxCodes {
					out[codeOf(ops[i].str)] = utf16String(ops[i+1].str)
				}
			}
			mode = ""
		case "endbfrange":
			for i := 0; i+2 < len(ops); i += 3 {
				if ops[i].kind != tokString || ops[i+1].kind != tokString {
					continue
				}
				lo, hi := codeOf(ops[i].str), codeOf(ops[i+1].str)
				if hi < lo || hi-lo > 65535 {
					continue
				}
				switch dst := ops[i+2]; dst.kind {
				case tokString:
					base := utf16.Decode(utf16Units(dst.str))
					for k := uint32(0); k <= hi-lo && len(base) > 0 && len(out) < maxCodes; k++ {
						r := append([]rune(nil), base...)
						r[len(r)-1] += rune(k)
						out[lo+k] = string(r)
					}
				case tokArray:
					for k, e := range dst.arr {
						if c := lo + uint32(k); c <= hi && e.kind == tokString && len(out) < maxCodes {
							out[c] = utf16String(e.str)
						}
					}
				}
			}
			mode = ""
		}
		if mode == "" || tok.op == "beginbfchar" || tok.op == "beginbfrange" {
			ops = ops[:0]
		}
	}
}

func codeOf(b []byte) uint32 {
	var c uint32
	for _, x := range b[:min(len(b), 4)] {
		c = c<<8 | uint32(x)
	}
	return c
}

func utf16Units(b []byte) []uint16 {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
	}
	return u
}

func utf16String(b []byte) string { return string(utf16.Decode(utf16Units(b))) }
