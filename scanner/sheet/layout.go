package sheet

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// SignerBox is where one signer signs, on a page of the printed PDF.
type SignerBox struct {
	Role  string `json:"role"`
	Label string `json:"label"`
	Rect  Rect   `json:"rect"`
}

// PageLayout is one page: its size in points and its signers' boxes.
type PageLayout struct {
	Width  float64     `json:"width"`
	Height float64     `json:"height"`
	Boxes  []SignerBox `json:"boxes,omitempty"`
}

// Layout is where everyone signs in a printed PDF, page by page; a layout
// saved for an act kind is a template for the next acts of that kind.
type Layout struct {
	Pages []PageLayout `json:"pages"`
}

// SheetSigner is one person signing a signature sheet.
type SheetSigner struct{ Role, Label, Name string }

// Sheet is Autografo's own signature sheet, for uses that are not an ANSC
// processo verbale (an identity-card home visit, a declaration): a header
// with the act's description and one labelled box per signer.
type Sheet struct {
	Office      string // e.g. "Comune di Borgo Sereno - Ufficio dello Stato Civile"
	Title       string
	Description string
	Signers     []SheetSigner
}

// PDF draws the sheet on A4 with Helvetica (a sheet is printed, not
// archived) and returns it with its layout. It carries no code yet: Stamp
// it like any other PDF.
func (s Sheet) PDF() ([]byte, Layout, error) {
	if len(s.Signers) == 0 || len(s.Signers) > 12 {
		return nil, Layout{}, fmt.Errorf("sheet: %d signers, want 1 to 12", len(s.Signers))
	}
	const w, h = 595.28, 841.89
	page := PageLayout{Width: w, Height: h}
	var c strings.Builder
	text := func(x, y, size float64, str string) {
		fmt.Fprintf(&c, "BT /F1 %s Tf %s %s Td %s Tj ET\n", num(size), num(x), num(y), winAnsi(str))
	}
	y := h - 60.0
	if s.Office != "" {
		text(50, y, 10, s.Office)
		y -= 28
	}
	text(50, y, 16, s.Title)
	y -= 24
	for _, line := range wrap(s.Description, 90) {
		text(50, y, 11, line)
		y -= 15
	}
	y -= 20
	// Boxes in two columns, 80 mm by 28 mm, labels above.
	bw, bh := 80*mm, 28*mm
	for i, sg := range s.Signers {
		col, row := i%2, i/2
		x := 50 + float64(col)*(bw+30)
		top := y - 14 - float64(row)*(bh+34)
		label := sg.Label
		if sg.Name != "" {
			label += ": " + sg.Name
		}
		text(x, top+4, 9, label)
		r := Rect{X: x, Y: top - bh, W: bw, H: bh}
		fmt.Fprintf(&c, "0.8 w %s %s %s %s re S\n", num(r.X), num(r.Y), num(r.W), num(r.H))
		page.Boxes = append(page.Boxes, SignerBox{Role: sg.Role, Label: label, Rect: r})
		if top-bh < 40*mm {
			return nil, Layout{}, fmt.Errorf("sheet: %d signers do not fit one page", len(s.Signers))
		}
	}
	return PlainPDF(w, h, []string{c.String()}), Layout{Pages: []PageLayout{page}}, nil
}

// PlainPDF is a PDF of pages w×h points with the given content streams,
// Helvetica in WinAnsi as font /F1: what sheets are drawn with (a sheet is
// printed, not archived, so no font needs embedding).
func PlainPDF(w, h float64, contents []string) []byte {
	objects := []string{"<< /Type /Catalog /Pages 2 0 R >>"}
	font := 3 + 2*len(contents)
	kids := make([]string, len(contents))
	for i := range contents {
		kids[i] = fmt.Sprintf("%d 0 R", 3+2*i)
	}
	objects = append(objects, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(contents)))
	for i, content := range contents {
		objects = append(objects,
			fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>",
				num(w), num(h), font, 4+2*i),
			fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content)+1, content))
	}
	objects = append(objects, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	return writePDF("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", objects)
}

// writePDF writes a PDF of its objects, numbered from 1 (the first is the
// catalog), with their cross-reference table.
func writePDF(header string, objects []string) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// winAnsi writes a string literal in WinAnsi (Latin-1 for Italian).
func winAnsi(s string) string {
	var b strings.Builder
	b.WriteByte('(')
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 32 && r < 127:
			b.WriteRune(r)
		case r >= 0xa0 && r <= 0xff:
			fmt.Fprintf(&b, "\\%03o", r)
		default:
			b.WriteByte('?')
		}
	}
	b.WriteByte(')')
	return b.String()
}

func wrap(s string, n int) []string {
	var out []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > n {
			out = append(out, line)
			line = w
			continue
		}
		line = strings.TrimSpace(line + " " + w)
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}
