// Package document builds the upload-ready file ANSC takes for a signed
// processo verbale: one PDF/A-1b with every scanned page, the scanner's
// JPEG embedded unchanged when the page needs no rotation.
package document

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"image/color"
	"image/jpeg"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// Page is one scanned page as the scanner sent it.
type Page struct {
	JPEG   []byte
	DPI    int
	Rotate int // clockwise quarter turns, in degrees, that make it upright
}

// Meta describes the document.
type Meta struct {
	Title   string
	Created time.Time
	// Attestation, when set, adds the officer's declaration of conformity
	// after the scanned pages; the officer then signs it (package seal).
	Attestation *Attestation
}

// Errors callers branch on.
var (
	ErrNoPages = errors.New("document: no pages")
	ErrPage    = errors.New("document: page cannot be embedded")
)

const producer = "Autografo"

// BuildPDFA assembles the pages, in order, into a PDF/A-1b document. Each
// JPEG goes in as it is (DCTDecode): no re-encoding, no loss, and the bytes
// can be traced back to the scanner's.
func BuildPDFA(pages []Page, meta Meta) ([]byte, error) {
	if len(pages) == 0 {
		return nil, ErrNoPages
	}
	if meta.Created.IsZero() {
		meta.Created = time.Now()
	}
	meta.Created = meta.Created.UTC().Truncate(time.Second)
	w := &writer{}
	size := 64 << 10
	for _, p := range pages {
		size += len(p.JPEG) + 512
	}
	w.buf.Grow(size) // one allocation for the whole document, no copying as it grows
	// 1.5, not 1.4: every signature pdfsign adds to a 1.4 file writes
	// /Version /1.5 into the catalog again, and the second (the officer's,
	// after the workstation seal) leaves the key twice, which qpdf flags.
	// PDF/A-1 allows any 1.n header; it restricts features, and we use
	// none from after 1.4.
	w.buf.WriteString("%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")

	catalog, pagesObj, info, metadata, intent := w.reserve(), w.reserve(), w.reserve(), w.reserve(), w.reserve()
	var kids []int
	var digests [][32]byte
	for i, p := range pages {
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(p.JPEG))
		if err != nil {
			return nil, fmt.Errorf("%w: page %d: %w", ErrPage, i+1, err)
		}
		space := ""
		switch cfg.ColorModel {
		case color.GrayModel:
			space = "/DeviceGray"
		case color.YCbCrModel:
			space = "/DeviceRGB"
		default:
			return nil, fmt.Errorf("%w: page %d is a CMYK JPEG", ErrPage, i+1)
		}
		if p.DPI < 50 || p.DPI > 2400 {
			return nil, fmt.Errorf("%w: page %d at %d dpi", ErrPage, i+1, p.DPI)
		}
		rotate := ""
		switch p.Rotate {
		case 0:
		case 90, 180, 270:
			rotate = fmt.Sprintf(" /Rotate %d", p.Rotate)
		default:
			return nil, fmt.Errorf("%w: page %d turned by %d degrees", ErrPage, i+1, p.Rotate)
		}
		img := w.stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent 8 /Filter /DCTDecode",
			cfg.Width, cfg.Height, space), p.JPEG)
		wpt, hpt := pt(cfg.Width, p.DPI), pt(cfg.Height, p.DPI)
		content := w.stream("", []byte(fmt.Sprintf("q %s 0 0 %s 0 0 cm /Im0 Do Q", wpt, hpt)))
		page := w.object(fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s]%s /Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>",
			pagesObj, wpt, hpt, rotate, img, content))
		kids = append(kids, page)
		digests = append(digests, PageDigest(p.JPEG))
	}
	if meta.Attestation != nil {
		att, err := attestationPages(w, pagesObj, *meta.Attestation, digests)
		if err != nil {
			return nil, err
		}
		kids = append(kids, att...)
	}
	refs := make([]string, len(kids))
	for i, k := range kids {
		refs[i] = strconv.Itoa(k) + " 0 R"
	}
	w.define(pagesObj, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(refs, " "), len(kids)))

	icc := w.stream("/N 3", srgbProfile())
	w.define(intent, fmt.Sprintf("<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier (sRGB IEC61966-2.1) /Info (sRGB IEC61966-2.1) /DestOutputProfile %d 0 R >>", icc))
	// PDF's own date form: pdfcpu's strict check refuses a bare Z.
	pdfDate := "D:" + meta.Created.UTC().Format("20060102150405") + "+00'00'"
	w.define(info, fmt.Sprintf("<< /Title %s /Producer (%s) /Creator (%s) /CreationDate (%s) /ModDate (%s) >>",
		pdfString(meta.Title), producer, producer, pdfDate, pdfDate))
	w.defineStream(metadata, "/Type /Metadata /Subtype /XML", xmp(meta))
	w.define(catalog, fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R /Metadata %d 0 R /OutputIntents [%d 0 R] >>", pagesObj, metadata, intent))
	return w.finish(catalog, info), nil
}

// pt converts pixels at dpi to PDF points.
func pt(px, dpi int) string {
	return strconv.FormatFloat(float64(px)*72/float64(dpi), 'f', 2, 64)
}

// pdfString writes a text string: literal for ASCII, UTF-16BE otherwise.
func pdfString(s string) string {
	ascii := true
	for _, r := range s {
		if r > 126 || r < 32 {
			ascii = false
		}
	}
	if ascii {
		r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
		return "(" + r.Replace(s) + ")"
	}
	var b strings.Builder
	b.WriteString("<FEFF")
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	b.WriteString(">")
	return b.String()
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// xmp is the PDF/A identification and the same title, tools and dates as
// the Info dictionary, which PDF/A requires to agree.
func xmp(m Meta) []byte {
	date := m.Created.UTC().Format("2006-01-02T15:04:05Z")
	return []byte(`<?xpacket begin="` + "\ufeff" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>1</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance></rdf:Description>
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:format>application/pdf</dc:format><dc:title><rdf:Alt><rdf:li xml:lang="x-default">` + xmlEscape(m.Title) + `</rdf:li></rdf:Alt></dc:title></rdf:Description>
<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"><xmp:CreatorTool>` + producer + `</xmp:CreatorTool><xmp:CreateDate>` + date + `</xmp:CreateDate><xmp:ModifyDate>` + date + `</xmp:ModifyDate></rdf:Description>
<rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/"><pdf:Producer>` + producer + `</pdf:Producer></rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>`)
}

// writer lays out numbered objects and the cross-reference table.
type writer struct {
	buf     bytes.Buffer
	offsets []int // by object number - 1; 0 while reserved
}

func (w *writer) reserve() int {
	w.offsets = append(w.offsets, 0)
	return len(w.offsets)
}

func (w *writer) define(n int, body string) {
	w.offsets[n-1] = w.buf.Len()
	fmt.Fprintf(&w.buf, "%d 0 obj\n%s\nendobj\n", n, body)
}

func (w *writer) defineStream(n int, dict string, data []byte) {
	w.offsets[n-1] = w.buf.Len()
	fmt.Fprintf(&w.buf, "%d 0 obj\n<< %s /Length %d >>\nstream\n", n, dict, len(data))
	w.buf.Write(data)
	w.buf.WriteString("\nendstream\nendobj\n")
}

func (w *writer) object(body string) int {
	n := w.reserve()
	w.define(n, body)
	return n
}

func (w *writer) stream(dict string, data []byte) int {
	n := w.reserve()
	w.defineStream(n, dict, data)
	return n
}

func (w *writer) finish(root, info int) []byte {
	xref := w.buf.Len()
	fmt.Fprintf(&w.buf, "xref\n0 %d\n0000000000 65535 f \n", len(w.offsets)+1)
	for _, off := range w.offsets {
		fmt.Fprintf(&w.buf, "%010d 00000 n \n", off)
	}
	// An identifier, not a security measure: SHA-256 cut to the 16 bytes
	// the ID usually has, because with the CPU's SHA instructions it is
	// faster than MD5 over a whole document.
	sum := sha256.Sum256(w.buf.Bytes())
	id := sum[:16]
	fmt.Fprintf(&w.buf, "trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%x> <%x>] >>\nstartxref\n%d\n%%%%EOF\n",
		len(w.offsets)+1, root, info, id, id, xref)
	return w.buf.Bytes()
}
