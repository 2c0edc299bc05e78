package sheet

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"

	"github.com/autografo/autografo/scanner/scannertest"
)

// Act previews as an act-drafting app prints them from a browser: other
// layouts, fonts and sizes than the project's own PDFs, made by another
// generator (Chromium's Skia, with embedded subset fonts).
var previewPages = map[string]string{
	"boxes-below": `<h1>Processo verbale di matrimonio</h1><p>L'anno duemilaventisei, addì quattro del mese di dicembre, nella Casa comunale, davanti a me, Ufficiale dello Stato Civile, sono comparsi gli sposi.</p>
<table style="width:100%;margin-top:2cm"><tr><td style="width:50%">Lo sposo<div class=b></div></td><td>La sposa<div class=b></div></td></tr>
<tr><td>Il testimone<div class=b></div></td><td>Il testimone<div class=b></div></td></tr>
<tr><td>L'Ufficiale dello Stato Civile<div class=b></div></td><td></td></tr></table>`,
	"serif-small": `<div style="font-family:'DejaVu Serif';font-size:8pt"><p>Atto di nascita n. 37, parte I, serie A. Il dichiarante, identificato con carta d’identità, dichiara quanto segue; letto, confermato e sottoscritto.</p>
<p style="margin-top:3cm">Il dichiarante</p><div class=b></div><p>L’interprete</p><div class=b></div><p>L’Ufficiale dello Stato Civile</p><div class=b></div></div>`,
	"bold-columns": `<div style="columns:2;font-weight:bold;font-size:11pt"><p>La sposa</p><div class=b></div><p>La testimone</p><div class=b></div><p>Lo sposo</p><div class=b></div><p>Il testimone</p><div class=b></div></div>
<p style="font-family:'DejaVu Sans Mono'">Codice: F205-2026-000123 — àèìòù ÀÈÌÒÙ</p>`,
	"two-pages": `<p>Prima pagina del verbale, senza firme.</p><div style="break-after:page"></div><p style="font-size:14pt">Lo sposo</p><div class=b></div><p style="font-size:14pt">La sposa</p><div class=b></div>`,
}

// heldOutPages were written after the reader was made to agree on the
// pages above, and looked at once: other faces, justified lines (word
// spacing), letter spacing, capitals, a scaled block, text turned aside.
var heldOutPages = map[string]string{
	"liberation-justified": `<div style="font-family:'Liberation Serif';font-size:12pt;text-align:justify;width:12cm"><p>Il sottoscritto Ufficiale dello Stato Civile dà atto che gli sposi hanno dichiarato di voler contrarre matrimonio; letto il presente atto agli intervenuti, che lo approvano, viene sottoscritto come segue da tutti, con l’interprete.</p></div>
<p style="font-family:'Liberation Sans'">Lo sposo</p><div class=b></div><p style="font-family:'Liberation Sans'">La sposa</p><div class=b></div>`,
	"spaced-capitals": `<p style="letter-spacing:1.5pt;text-transform:uppercase;font-family:'Liberation Sans'">Il testimone</p><div class=b></div>
<p style="word-spacing:6pt;font-family:'Liberation Mono'">L'interprete giura di tradurre fedelmente</p><div class=b></div>`,
	"scaled-turned": `<div style="transform:scale(0.8);transform-origin:0 0"><p>Lo sposo</p><div class=b></div><p>La sposa</p><div class=b></div></div>
<div style="transform:rotate(-90deg);position:absolute;right:0;top:12cm">Copia conforme all'originale</div>`,
}

const previewStyle = `<style>body{font-family:'DejaVu Sans';font-size:10pt;margin:2cm}.b{border:1px solid #000;height:2cm;width:7cm;margin:2mm 0 6mm}</style>`

// previewPDFs prints each preview page with headless Chromium, and
// rewrites each print with qpdf into object and cross-reference streams,
// as many generators write PDFs.
func previewPDFs(t *testing.T, pages map[string]string) map[string][]byte {
	t.Helper()
	chromium := scannertest.Need(t, "chromium", "chromium-browser", "google-chrome")
	qpdf := scannertest.Need(t, "qpdf")
	dir := t.TempDir()
	out := map[string][]byte{}
	for name, body := range pages {
		html := filepath.Join(dir, name+".html")
		if err := os.WriteFile(html, []byte("<!doctype html><meta charset=utf-8>"+previewStyle+body), 0o644); err != nil {
			t.Fatal(err)
		}
		pdf := filepath.Join(dir, name+".pdf")
		cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
			"--user-data-dir="+filepath.Join(dir, "profile-"+name), "--print-to-pdf="+pdf, "file://"+html)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("chromium printing %s: %v\n%s", name, err, b)
		}
		data, err := os.ReadFile(pdf)
		if err != nil {
			t.Fatal(err)
		}
		out["chromium/"+name] = data
		streams := filepath.Join(dir, name+"-streams.pdf")
		if b, err := exec.Command(qpdf, "--object-streams=generate", "--compress-streams=y", "--recompress-flate", pdf, streams).CombinedOutput(); err != nil {
			t.Fatalf("qpdf: %v\n%s", err, b)
		}
		if data, err = os.ReadFile(streams); err != nil {
			t.Fatal(err)
		}
		out["qpdf/"+name] = data
	}
	return out
}

// pdftotextWords are the words poppler reads.
func pdftotextWords(t *testing.T, pdf []byte) []bboxPage {
	t.Helper()
	cmd := exec.Command(scannertest.Need(t, "pdftotext"), "-bbox-layout", "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	pages, err := parseBBox(out)
	if err != nil {
		t.Fatal(err)
	}
	return pages
}

// matchWords counts poppler's words that the Go reader read alike: the
// same text, each edge within tol points.
func matchWords(want, got []word, tol float64) (matched int, missed []string) {
	used := make([]bool, len(got))
	for _, w := range want {
		found := false
		for i, g := range got {
			if !used[i] && g.Text == w.Text && math.Abs(g.X0-w.X0) <= tol && math.Abs(g.X1-w.X1) <= tol &&
				math.Abs(g.Y0-w.Y0) <= tol && math.Abs(g.Y1-w.Y1) <= tol {
				used[i], found = true, true
				break
			}
		}
		if found {
			matched++
		} else {
			missed = append(missed, fmt.Sprintf("%q (%.1f,%.1f)-(%.1f,%.1f)", w.Text, w.X0, w.Y0, w.X1, w.Y1))
		}
	}
	return matched, missed
}

// The Go reader reads what pdftotext reads, placed alike, on PDFs of
// other generators, and their labels give the same boxes.
func TestTextReaderAgreesWithPdftotext(t *testing.T) {
	pdfs := previewPDFs(t, previewPages)
	if shared := scannertest.Shared(t); shared != "" {
		// A real file of another tool: ocrmypdf's invisible text over a
		// scanned page.
		if data, err := os.ReadFile(filepath.Join(shared, "corpus", "images", "ocrmypdf_skew.pdf")); err == nil {
			pdfs["ocrmypdf/skew"] = data
		} else {
			t.Fatal(err)
		}
	}
	agree(t, pdfs, true)
}

func sameLayout(t *testing.T, name string, got, want Layout) {
	t.Helper()
	if len(got.Pages) != len(want.Pages) {
		t.Fatalf("%s: %d pages of layout, want %d", name, len(got.Pages), len(want.Pages))
	}
	for i, p := range want.Pages {
		g := got.Pages[i]
		if len(g.Boxes) != len(p.Boxes) {
			t.Errorf("%s page %d: %d boxes %+v, want %d %+v", name, i+1, len(g.Boxes), g.Boxes, len(p.Boxes), p.Boxes)
			continue
		}
		for k, b := range p.Boxes {
			r, w := g.Boxes[k].Rect, b.Rect
			if g.Boxes[k].Role != b.Role || math.Abs(r.X-w.X) > 2 || math.Abs(r.Y-w.Y) > 2 || math.Abs(r.W-w.W) > 2 || math.Abs(r.H-w.H) > 2 {
				t.Errorf("%s page %d box %d: %s %+v, want %s %+v", name, i+1, k, g.Boxes[k].Role, r, b.Role, w)
			}
		}
	}
}

// textToPDF makes a PDF of text with PDFBox's TextToPDF: one of the 14
// standard fonts (not embedded: widths from their metrics), or a
// TrueType face embedded.
func textToPDF(t *testing.T, text string, fontArgs ...string) []byte {
	t.Helper()
	java := scannertest.Need(t, "java")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.pdf")
	if err := os.WriteFile(in, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cp := "/usr/share/java/pdfbox2-tools.jar:/usr/share/java/pdfbox2.jar:/usr/share/java/fontbox2.jar:/usr/share/java/commons-logging.jar"
	args := append([]string{"-Dpdfbox.fontcache=" + dir, "-cp", cp, "org.apache.pdfbox.tools.TextToPDF"}, fontArgs...)
	if b, err := exec.Command(java, append(args, out, in)...).CombinedOutput(); err != nil {
		t.Fatalf("TextToPDF: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// The reader on PDFs it was not made to agree on: Chromium's prints of
// other pages, and PDFBox's, with standard fonts and embedded ones.
func TestTextReaderAgreesOnHeldOutPDFs(t *testing.T) {
	pdfs := previewPDFs(t, heldOutPages)
	text := "Processo verbale di pubblicazione\n\nLo sposo\n\n\n\nLa sposa\n\n\n\nIl testimone\n\n\n\nL'Ufficiale dello Stato Civile\n\nàèìòù perché caffè — «virgolette»\n"
	for _, f := range []string{"Helvetica", "Times-Roman", "Courier-Bold"} {
		pdfs["pdfbox/"+f] = textToPDF(t, text, "-standardFont", f, "-fontSize", "11")
	}
	for _, f := range []string{"liberation2/LiberationSerif-Regular.ttf", "dejavu/DejaVuSansCondensed.ttf"} {
		pdfs["pdfbox/"+filepath.Base(f)] = textToPDF(t, text, "-ttf", filepath.Join("/usr/share/fonts/truetype", f))
	}
	agree(t, pdfs, false)
}

// thirdPages were written after the reader agreed on both sets above and
// were read once, its figures kept in docs/PLATFORMS.md: a bordered table
// with the labels in its cells, italics and condensed bold, a large
// heading, underlined labels, a landscape page.
var thirdPages = map[string]string{
	"table-cells": `<table style="border-collapse:collapse;width:100%" border=1><tr><td style="height:3cm;vertical-align:top">Lo sposo</td><td style="vertical-align:top">La sposa</td></tr>
<tr><td style="height:3cm;vertical-align:top">Il testimone</td><td style="vertical-align:top">La testimone</td></tr></table>`,
	"italic-condensed": `<h1 style="font-size:22pt">ATTO DI MORTE</h1><p style="font-style:italic;font-family:'DejaVu Serif'">Il dichiarante</p><div class=b></div>
<p style="font-family:'DejaVu Sans Condensed';font-weight:bold">L'Ufficiale dello Stato Civile</p><div class=b></div>`,
	"underlined-landscape": `<style>@page{size:A4 landscape}</style><p><u>L'interprete</u></p><div class=b></div><p><u>Il testimone</u></p><div class=b></div><p style="font-family:'Liberation Serif';font-size:9pt">Letto, confermato e sottoscritto.</p>`,
}

func TestTextReaderOnAThirdSet(t *testing.T) {
	pdfs := previewPDFs(t, thirdPages)
	pdfs["pdfbox/Times-Bold-8"] = textToPDF(t, "Il dichiarante\n\n\n\nL'interprete\n\n\n\nL'Ufficiale dello Stato Civile\n", "-standardFont", "Times-Bold", "-fontSize", "8", "-landscape")
	agree(t, pdfs, false)
}

// agree compares, on each PDF, the Go reader's words with pdftotext's,
// each edge within 1.5 points (the words read otherwise are counted, and
// with every set a failure), its pages' sizes, and the layouts their
// labels give, which must be the same.
func agree(t *testing.T, pdfs map[string][]byte, every bool) {
	t.Helper()
	total, agreed, layouts := 0, 0, 0
	for name, pdf := range pdfs {
		want := pdftotextWords(t, pdf)
		got, err := readWords(pdf)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d pages, pdftotext reads %d", name, len(got), len(want))
		}
		for i := range want {
			if math.Abs(got[i].w-want[i].w) > 0.01 || math.Abs(got[i].h-want[i].h) > 0.01 {
				t.Errorf("%s page %d: %.2fx%.2f, pdftotext %.2fx%.2f", name, i+1, got[i].w, got[i].h, want[i].w, want[i].h)
			}
			m, missed := matchWords(want[i].words, got[i].words, 1.5)
			total += len(want[i].words)
			agreed += m
			if len(missed) > 0 {
				report := t.Logf
				if every {
					report = t.Errorf
				}
				report("%s page %d: %d of %d read otherwise: %s", name, i+1, len(missed), len(want[i].words), strings.Join(missed, ", "))
			}
		}
		byPoppler, perr := layoutFromWords(want, DefaultRules)
		byGo, gerr := LayoutFromPDFText(pdf, DefaultRules)
		if (perr == nil) != (gerr == nil) {
			t.Errorf("%s: pdftotext's words %v, the Go reader %v", name, perr, gerr)
			continue
		}
		if perr == nil {
			sameLayout(t, name, byGo, byPoppler)
			layouts++
		}
	}
	t.Logf("%d of %d words of pdftotext's read alike (within 1.5 pt) in %d PDFs; %d layouts compared", agreed, total, len(pdfs), layouts)
}

// The content of a page comes from whoever made the PDF, through the
// browser: any bytes are read to words or refused, and what is read is
// well formed and the same every time.
func FuzzPageContent(f *testing.F) {
	f.Add([]byte("BT /F1 12 Tf 60 780 Td (Lo sposo) Tj ET"))
	f.Add([]byte("q 0.75 0 0 -0.75 0 842 cm BT /F1 16 Tf 1 0 0 -1 8 30 Tm [(L) 120 (a) -3000 (sposa)] TJ T* (x) ' 1 2 (y) \" ET Q"))
	f.Add([]byte("BI /W 2 /H 2 /BPC 8 /CS /G ID \x00\x01EI\x02\x03 EI Q BT /F1 9 Tf <4c6f> Tj ET"))
	f.Add([]byte("[[[[(a)]]]] << /A << /B (>>) >> >> /F1 1 Tf (\\101\\(\\)) Tj"))
	ctx, err := api.ReadAndValidate(bytes.NewReader(PlainPDF(595, 842, []string{"BT /F1 12 Tf 0 0 Td (a) Tj ET\n"})), config())
	if err != nil {
		f.Fatal(err)
	}
	_, _, inh, err := ctx.PageDict(1, false)
	if err != nil {
		f.Fatal(err)
	}
	read := func(content []byte) ([]word, error) {
		r := &textReader{x: ctx.XRefTable, fonts: map[string]*pdfFont{}}
		err := r.run(content, inh.Resources, identity, 0)
		return r.words(0, 842), err
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		words, err := read(content)
		if err != nil {
			if !errors.Is(err, errTooMuch) && !errors.Is(err, errUnbalanced) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		for _, w := range words {
			if w.Text == "" || !(w.X0 <= w.X1) || !(w.Y0 <= w.Y1) {
				t.Fatalf("a malformed word %+v", w)
			}
		}
		again, _ := read(content)
		if fmt.Sprint(again) != fmt.Sprint(words) {
			t.Fatalf("read twice, two readings:\n%v\n%v", words, again)
		}
	})
}

// A ToUnicode map from a file: any bytes give a map or an empty one.
func FuzzToUnicode(f *testing.F) {
	f.Add([]byte("1 begincodespacerange <0000> <ffff> endcodespacerange 2 beginbfchar <0003> <0020> <0011> <00660066> endbfchar 1 beginbfrange <0024> <0026> <0041> endbfrange 1 beginbfrange <0030> <0031> [<0061> <0062>] endbfrange"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := parseToUnicode(data)
		if len(m) > maxCodes {
			t.Fatalf("%d entries from %d bytes", len(m), len(data))
		}
	})
}

// A whole PDF from the browser: read, or refused as ErrPDF.
func FuzzReadWords(f *testing.F) {
	f.Add(PlainPDF(595, 842, []string{"BT /F1 9 Tf 60 500 Td (Lo sposo) Tj ET\n", "BT /F1 9 Tf 60 500 Td (La sposa) Tj ET\n"}))
	f.Add([]byte("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF"))
	f.Fuzz(func(t *testing.T, pdf []byte) {
		pages, err := readWords(pdf)
		if err != nil {
			if !errors.Is(err, ErrPDF) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		sizes, err := PageSizes(pdf)
		if err != nil || len(sizes) != len(pages) {
			t.Fatalf("%d pages read, page sizes %v %v", len(pages), sizes, err)
		}
	})
}

// A ToUnicode range up to the last four-byte code ends, and a map that
// names more codes than a font has is cut at that.
func TestToUnicodeBounds(t *testing.T) {
	m := parseToUnicode([]byte("1 beginbfrange <ffffff00> <ffffffff> <0041> endbfrange"))
	if len(m) != 256 || m[0xffffffff] != string(rune(0x41+255)) {
		t.Errorf("a range to the last code: %d entries, last %q", len(m), m[0xffffffff])
	}
	var b strings.Builder
	b.WriteString("100 beginbfrange ")
	for i := range 100 {
		fmt.Fprintf(&b, "<%04x0000> <%04xffff> <0041> ", i, i)
	}
	b.WriteString("endbfrange")
	if m := parseToUnicode([]byte(b.String())); len(m) != maxCodes {
		t.Errorf("100 ranges of 65536 codes: %d entries, want the cap %d", len(m), maxCodes)
	}
}

// rawPDF writes a PDF of the given objects (numbered from 1; the first
// is the catalog).
func rawPDF(objects ...string) []byte { return writePDF("%PDF-1.7\n", objects) }

func stream(dict, content string) string {
	return fmt.Sprintf("<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(content), content)
}

// Text in a form XObject is read; a form that draws itself a thousand
// times at every level is refused, not read for ever.
func TestFormsAreReadWithinBounds(t *testing.T) {
	font := "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
	page := func(content, form string) []byte {
		return rawPDF("<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /X 5 0 R >> /Font << /F1 6 0 R >> >> /Contents 4 0 R >>",
			stream("", content),
			stream("/Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources << /XObject << /X 5 0 R >> /Font << /F1 6 0 R >> >>", form),
			font)
	}
	pages, err := readWords(page("/X Do", "BT /F1 9 Tf 60 500 Td (Lo sposo) Tj ET"))
	if err != nil {
		t.Fatal(err)
	}
	if w := pages[0].words; len(w) != 2 || w[0].Text != "Lo" || w[1].Text != "sposo" {
		t.Errorf("the form's words: %+v", w)
	}
	many := strings.Repeat("/X Do ", 1000)
	if _, err := readWords(page(many, many)); !errors.Is(err, ErrPDF) {
		t.Errorf("a form drawing itself a thousand times at every level: %v", err)
	}
}
