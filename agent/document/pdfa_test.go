package document

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/autografo/autografo/agent/document/doctest"
	"github.com/autografo/autografo/scanner/scannertest"
)

var tool = scannertest.Need

// corpusPages are real scanned pages (gray and colour), beside the project.
func corpusPages(t *testing.T) pageList {
	t.Helper()
	dir := scannertest.Shared(t, "corpus", "images")
	var pages []Page
	for _, name := range []string{"caltech_hale-letter-1.jpg", "lept_lucasta.047.jpg", "lept_zanotti-78.jpg", "lept_w91frag.jpg", "caltech_hale-letter-2.jpg"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("corpus image %s: %v", name, err)
		}
		pages = append(pages, Page{JPEG: b, DPI: 150})
	}
	return pages
}

func build(t *testing.T, pages []Page) string {
	t.Helper()
	return buildMeta(t, pages, Meta{Title: "Atto di matrimonio n. 12 — Comune di Borgo Sereno"})
}

// buildMeta writes the document to a file for the independent tools.
func buildMeta(t *testing.T, pages []Page, meta Meta) string {
	t.Helper()
	meta.Created = time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)
	out, err := BuildPDFA(pages, meta)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "verbale.pdf")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, out)
	}
	return string(out)
}

func TestQpdfAndPdfinfoAcceptTheDocument(t *testing.T) {
	pages := corpusPages(t)
	path := build(t, pages)
	if out := run(t, tool(t, "qpdf"), "--check", path); !strings.Contains(out, "No syntax or stream encoding errors found") || strings.Contains(out, "WARNING") {
		t.Fatalf("qpdf --check:\n%s", out)
	}
	info := run(t, tool(t, "pdfinfo"), path)
	for _, want := range []string{"Pages:           5", "Producer:        Autografo", "Title:           Atto di matrimonio n. 12 — Comune di Borgo Sereno", "Encrypted:       no"} {
		if !strings.Contains(info, want) {
			t.Errorf("pdfinfo lacks %q:\n%s", want, info)
		}
	}
	// The first page: 1065 x 1347 px at 150 dpi = 511.2 x 646.56 pt.
	if !regexp.MustCompile(`Page size:\s+511\.2 x 646\.56 pts`).MatchString(info) {
		t.Errorf("page size:\n%s", info)
	}
}

// The scanner's JPEG is in the PDF byte for byte: no re-encoding.
func TestJPEGPassThrough(t *testing.T) {
	pages := corpusPages(t)
	path := build(t, pages)
	dir := t.TempDir()
	run(t, tool(t, "pdfimages"), "-all", path, filepath.Join(dir, "img"))
	for i, p := range pages {
		got, err := os.ReadFile(filepath.Join(dir, "img-"+pad(i)+".jpg"))
		if err != nil {
			t.Fatalf("page %d: no JPEG extracted: %v", i+1, err)
		}
		if !bytes.Equal(got, p.JPEG) {
			t.Errorf("page %d: the embedded stream differs from the scanner's bytes", i+1)
		}
	}
}

func pad(i int) string { return strings.Repeat("0", 3-len(itoa(i))) + itoa(i) }
func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return string(rune('0'+i/10)) + string(rune('0'+i%10))
}

// Apache PDFBox is the parser ANSC uses: Preflight must call the file
// valid PDF/A-1b, and PDFBox must render every page.
func TestPDFBoxPreflightAndRender(t *testing.T) {
	path := build(t, corpusPages(t))
	if ok, out := doctest.Preflight(t, path); !ok {
		t.Fatalf("Preflight:\n%s", out)
	}
	if c := doctest.Mutool(t, path); c != "" {
		t.Errorf("mutool: %s", c)
	}
	prefix := filepath.Join(t.TempDir(), "render")
	doctest.PDFBox(t, "org.apache.pdfbox.tools.PDFToImage", "-dpi", "30", "-outputPrefix", prefix, path)
	for i := 1; i <= 5; i++ {
		f, err := os.Open(prefix + itoa(i) + ".jpg")
		if err != nil {
			t.Fatalf("PDFBox did not render page %d: %v", i, err)
		}
		img, err := jpeg.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() < 50 {
			t.Fatalf("page %d rendering: %v", i, err)
		}
	}
}

func TestBadInput(t *testing.T) {
	var buf bytes.Buffer
	jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 20, 20)), nil)
	good := buf.Bytes()
	for name, tc := range map[string]struct {
		pages []Page
		want  error
	}{
		"no pages":       {nil, ErrNoPages},
		"truncated":      {[]Page{{JPEG: good[:10], DPI: 300}}, ErrPage},
		"not a JPEG":     {[]Page{{JPEG: []byte("\x89PNG\r\n\x1a\n"), DPI: 300}}, ErrPage},
		"absurd dpi":     {[]Page{{JPEG: good, DPI: 0}}, ErrPage},
		"one bad of two": {[]Page{{JPEG: good, DPI: 300}, {JPEG: nil, DPI: 300}}, ErrPage},
	} {
		if _, err := BuildPDFA(tc.pages, Meta{Title: "x"}); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

func TestColourAndGrayColourSpaces(t *testing.T) {
	var g, c bytes.Buffer
	jpeg.Encode(&g, image.NewGray(image.Rect(0, 0, 30, 40)), nil)
	rgb := image.NewRGBA(image.Rect(0, 0, 30, 40))
	rgb.Set(1, 1, color.RGBA{200, 10, 10, 255})
	jpeg.Encode(&c, rgb, nil)
	out, err := BuildPDFA([]Page{{JPEG: g.Bytes(), DPI: 300}, {JPEG: c.Bytes(), DPI: 300}}, Meta{Title: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte("/ColorSpace /DeviceGray")) || !bytes.Contains(out, []byte("/ColorSpace /DeviceRGB")) {
		t.Fatal("colour spaces not declared per page")
	}
}

func FuzzBuildPDFA(f *testing.F) {
	var buf bytes.Buffer
	jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 8, 8)), nil)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := BuildPDFA([]Page{{JPEG: data, DPI: 300}}, Meta{Title: "fuzz"})
		if err != nil {
			if !errors.Is(err, ErrPage) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !bytes.HasPrefix(out, []byte("%PDF-1.5")) || !bytes.Contains(out, data) {
			t.Fatal("a document without the page's bytes")
		}
	})
}

// A page scanned upside down or sideways is turned upright by the page's
// /Rotate: poppler shows it turned, and the scanner's JPEG is still in the
// file byte for byte.
func TestQuarterTurnsKeepThePassThrough(t *testing.T) {
	pages := corpusPages(t)[:3]
	pages[1].Rotate, pages[2].Rotate = 180, 90
	path := build(t, pages)
	info := run(t, tool(t, "pdfinfo"), "-f", "1", "-l", "3", path)
	for i, want := range []string{`Page    1 rot:\s+0`, `Page    2 rot:\s+180`, `Page    3 rot:\s+90`} {
		if !regexp.MustCompile(want).MatchString(info) {
			t.Errorf("page %d: want %s in:\n%s", i+1, want, info)
		}
	}
	out, _ := os.ReadFile(path)
	for i, p := range pages {
		if !bytes.Contains(out, p.JPEG) {
			t.Errorf("page %d: the scanner's JPEG is not in the file unchanged", i+1)
		}
	}
	if _, err := BuildPDFA([]Page{{JPEG: pages[0].JPEG, DPI: 150, Rotate: 45}}, Meta{}); !errors.Is(err, ErrPage) {
		t.Errorf("a 45 degree turn: %v", err)
	}
}

// pdfcpu's strict validation, a third reader beside qpdf and PDFBox,
// accepts the document; its dates are in PDF's own form, D:...+00'00',
// and the same instant as the XMP's, whatever the zone of the act's time.
func TestPdfcpuStrictAcceptsTheDocument(t *testing.T) {
	pages := corpusPages(t)
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 12, 3, 9, 30, 0, 0, rome) // 08:30 UTC
	res, err := Build(pages.inputs()[:2], Meta{Title: "Atto di matrimonio n. 12", Created: created}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := doctest.PdfcpuStrict(res.PDF); err != nil {
		t.Errorf("pdfcpu validate, strict: %v", err)
	}
	for _, want := range []string{"/CreationDate (D:20261203083000+00'00')", "<xmp:CreateDate>2026-12-03T08:30:00Z</xmp:CreateDate>"} {
		if !bytes.Contains(res.PDF, []byte(want)) {
			t.Errorf("the document has no %s", want)
		}
	}
}

// The output intent is sRGB as IEC 61966-2-1 defines it: Little CMS
// (transicc), converting from it to its own built-in sRGB, gives every
// colour back within half a level; a 2.2 gamma gave 20 back as 12.
func TestOutputIntentIsSRGB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "srgb.icc")
	if err := os.WriteFile(path, srgbProfile(), 0o600); err != nil {
		t.Fatal(err)
	}
	colours := [][3]float64{{0, 0, 0}, {5, 5, 5}, {20, 20, 20}, {64, 64, 64}, {128, 128, 128}, {200, 200, 200}, {255, 255, 255},
		{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {30, 120, 220}}
	var in strings.Builder
	for _, c := range colours {
		fmt.Fprintf(&in, "%g %g %g\n", c[0], c[1], c[2])
	}
	cmd := exec.Command(tool(t, "transicc"), "-i", path, "-o", "*sRGB", "-n")
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("transicc: %v\n%s", err, out)
	}
	var got [][3]float64
	for _, line := range strings.Split(string(out), "\n") {
		var c [3]float64
		if n, _ := fmt.Sscanf(line, "%g %g %g", &c[0], &c[1], &c[2]); n == 3 {
			got = append(got, c)
		}
	}
	if len(got) != len(colours) {
		t.Fatalf("transicc gave %d colours for %d:\n%s", len(got), len(colours), out)
	}
	for i, c := range colours {
		for k := range 3 {
			if d := got[i][k] - c[k]; d > 0.5 || d < -0.5 {
				t.Errorf("%v came back as %v", c, got[i])
				break
			}
		}
	}
}
