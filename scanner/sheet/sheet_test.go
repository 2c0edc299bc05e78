package sheet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/image/draw"
	"golang.org/x/image/math/f64"

	"github.com/autografo/autografo/agent/document/doctest"
	"github.com/autografo/autografo/scanner/jpegturbo"
	"github.com/autografo/autografo/scanner/pipeline"
	"github.com/autografo/autografo/scanner/scannertest"
)

var sampleSheet = Sheet{Office: "Comune di Borgo Sereno - Ufficio dello Stato Civile", Title: "Dichiarazione sostitutiva di atto di notorietà",
	Description: "Resa durante la visita a domicilio del 23 novembre 2026, davanti all'ufficiale dello stato civile.",
	Signers: []SheetSigner{{"dichiarante", "Il dichiarante", "Mario Rossi"}, {"ufficiale", "L'Ufficiale dello Stato Civile", "Anna Ricci"},
		{"testimone1", "Il testimone", "Luca Romano"}, {"testimone2", "Il testimone", "Chiara Colombo"}}}

const testAct = "act-0123456789abcdef"

// printed is the stamped sheet and its layout.
func printed(t testing.TB) ([]byte, Layout) {
	t.Helper()
	pdf, layout, err := sampleSheet.PDF()
	if err != nil {
		t.Fatal(err)
	}
	stamped, err := Stamp(pdf, testAct)
	if err != nil {
		t.Fatal(err)
	}
	return stamped, layout
}

// render rasterizes page 1 with poppler, the real renderer, in gray.
func render(t testing.TB, pdf []byte, dpi int) *image.Gray {
	t.Helper()
	scannertest.Need(t, "pdftoppm")
	g, err := Render(context.Background(), pdf, 1, dpi, "")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// distortion is what a scanner does to a printed page: a turn of the page
// on the bed (deg, clockwise), a quarter turn, noise and JPEG.
type distortion struct {
	deg     float64
	quarter int
	noise   float64
	jpeg    int
	seed    uint64
	fold    bool // the shadow of a fold down the middle of the sheet
}

// distort applies d and returns the scan and the map from rendered pixels
// to scan pixels.
func distort(t testing.TB, g *image.Gray, d distortion) (*image.Gray, func(x, y float64) (float64, float64)) {
	t.Helper()
	phi := (d.deg + float64(d.quarter)) * math.Pi / 180
	s, c := math.Sincos(phi)
	w, h := float64(g.Rect.Dx()), float64(g.Rect.Dy())
	ow, oh := math.Abs(w*c)+math.Abs(h*s)+40, math.Abs(w*s)+math.Abs(h*c)+40
	cx, cy, dx, dy := w/2, h/2, ow/2, oh/2
	fwd := func(x, y float64) (float64, float64) {
		x, y = x-cx, y-cy
		return x*c - y*s + dx, x*s + y*c + dy
	}
	dst := image.NewGray(image.Rect(0, 0, int(ow), int(oh)))
	for i := range dst.Pix {
		dst.Pix[i] = 200 // a lid, lighter than a bed, darker than paper
	}
	aff := f64.Aff3{c, -s, dx - cx*c + cy*s, s, c, dy - cx*s - cy*c}
	src := g
	if d.fold {
		// A sheet folded in half for the post lies with a valley down its
		// middle: a soft shadow, darkest (to 60%) on the fold.
		src = image.NewGray(g.Rect)
		copy(src.Pix, g.Pix)
		mid, width := float64(g.Rect.Dx())/2, float64(g.Rect.Dx())/25
		for y := range g.Rect.Dy() {
			for x := range g.Rect.Dx() {
				k := 1 - 0.4*math.Exp(-math.Pow((float64(x)-mid)/width, 2))
				src.Pix[y*src.Stride+x] = uint8(float64(src.Pix[y*src.Stride+x]) * k)
			}
		}
	}
	draw.BiLinear.Transform(dst, aff, src, src.Rect, draw.Src, nil)
	r := rand.New(rand.NewPCG(d.seed, 3))
	if d.noise > 0 {
		for i := range dst.Pix {
			v := float64(dst.Pix[i]) + r.NormFloat64()*d.noise
			dst.Pix[i] = uint8(math.Max(0, math.Min(255, v)))
		}
	}
	if d.jpeg > 0 {
		var buf bytes.Buffer
		if err := jpegturbo.Encode(&buf, dst, d.jpeg); err != nil {
			t.Fatal(err)
		}
		j, err := jpegturbo.DecodeGray(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		dst = j
	}
	return dst, fwd
}

// locateError finds the code on a distorted scan, places the boxes, and
// returns the largest distance in millimetres between a placed corner and
// the truth.
func locateError(t testing.TB, pdf []byte, layout Layout, dpi int, d distortion, rendered *image.Gray) (float64, error) {
	scan, fwd := distort(t, rendered, d)
	found, err := Find(scan, dpi)
	if err != nil {
		return 0, err
	}
	if found.Code.Act != testAct || found.Code.Page != 1 || found.Code.Pages != 1 || found.Code.PDFHash != PDFHash(mustUnstamped(t)) {
		t.Fatalf("code %+v", found.Code)
	}
	p := layout.Pages[0]
	tf, err := found.TransformFor(p.Width, p.Height)
	if err != nil {
		return 0, err
	}
	tf, marks := tf.Refine(scan, p.Width, p.Height)
	if marks != 4 {
		t.Errorf("%d dpi %+v: %d of 4 marks found", dpi, d, marks)
	}
	s := float64(dpi) / 72
	worst := 0.0
	for i, b := range tf.Boxes(p) {
		r := p.Boxes[i].Rect
		truth := [4][2]float64{{r.X, r.Y + r.H}, {r.X + r.W, r.Y + r.H}, {r.X + r.W, r.Y}, {r.X, r.Y}}
		for k, c := range b.Corners {
			x, y := fwd(truth[k][0]*s, (p.Height-truth[k][1])*s)
			worst = math.Max(worst, math.Hypot(c.X-x, c.Y-y)/(float64(dpi)/25.4))
		}
	}
	return worst, nil
}

func mustUnstamped(t testing.TB) []byte {
	pdf, _, err := sampleSheet.PDF()
	if err != nil {
		t.Fatal(err)
	}
	return pdf
}

// The sheet printed, rasterized by poppler, turned on the bed, sideways or
// upside down, noisy and JPEG-compressed: the code is read and every box
// placed within a millimetre.
func TestLocateBoxesOnDistortedScans(t *testing.T) {
	pdf, layout := printed(t)
	cases := []struct {
		dpi int
		d   distortion
	}{
		{150, distortion{deg: 0}},
		{150, distortion{deg: 7.5, quarter: 180, noise: 4, jpeg: 80}},
		{200, distortion{deg: -9.8, quarter: 90, noise: 3, jpeg: 75}},
		{300, distortion{deg: 3.2, noise: 5, jpeg: 85}},
		{300, distortion{deg: -4.4, quarter: 270, jpeg: 70}},
		{300, distortion{deg: 10, quarter: 180, noise: 2, fold: true}},
		{600, distortion{deg: -1.3, quarter: 90, jpeg: 85}},
	}
	rendered := map[int]*image.Gray{}
	for _, c := range cases {
		if testing.Short() && c.dpi >= 600 {
			continue // under the race detector; the full set runs without it
		}
		if rendered[c.dpi] == nil {
			rendered[c.dpi] = render(t, pdf, c.dpi)
		}
		e, err := locateError(t, pdf, layout, c.dpi, c.d, rendered[c.dpi])
		if err != nil {
			t.Errorf("%d dpi %+v: %v", c.dpi, c.d, err)
			continue
		}
		if e > 1 {
			t.Errorf("%d dpi %+v: a box corner %.2f mm off", c.dpi, c.d, e)
		}
	}
}

func TestCodePayload(t *testing.T) {
	c := Code{Act: testAct, Page: 2, Pages: 3, PDFHash: "0a1b2c3d"}
	got, err := ParseCode(c.String())
	if err != nil || got != c {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range []string{"", "https://example.org/", "AG1:act:1/2", "AG1:act x:1/2:0a1b2c3d", "AG1:act:3/2:0a1b2c3d",
		"AG1:act:0/2:0a1b2c3d", "AG1:act:1/2:0A1B2C3D", "AG1:act:1/2:0a1b2c3", "AG2:act:1/2:0a1b2c3d", "AG1:act:1/1000:0a1b2c3d"} {
		if _, err := ParseCode(bad); !errors.Is(err, ErrForeignCode) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if err := c.Check("act-other", ""); !errors.Is(err, ErrOtherAct) || !strings.Contains(err.Error(), testAct) {
		t.Errorf("another act's page: %v", err)
	}
	if err := c.Check(testAct, "ffffffff"); !errors.Is(err, ErrOtherVersion) {
		t.Errorf("another version: %v", err)
	}
	if err := c.Check(testAct, "0a1b2c3d"); err != nil {
		t.Errorf("the right page: %v", err)
	}
}

func FuzzParseCode(f *testing.F) {
	f.Add("AG1:act-1:1/2:0a1b2c3d")
	f.Add("AG1::1/1:00000000")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCode(s)
		if err != nil {
			if !errors.Is(err, ErrForeignCode) {
				t.Fatalf("untyped %v", err)
			}
			return
		}
		if back, err := ParseCode(c.String()); err != nil || back != c {
			t.Fatalf("%q parsed to %+v, which does not read back: %v", s, c, err)
		}
	})
}

// Stamping leaves a valid PDF (qpdf) with the code on every page, and
// refuses what is not a usable PDF.
func TestStamp(t *testing.T) {
	pdf, _ := printed(t)
	path := filepath.Join(t.TempDir(), "s.pdf")
	os.WriteFile(path, pdf, 0o600)
	if out, err := exec.Command(scannertest.Need(t, "qpdf"), "--check", path).CombinedOutput(); err != nil {
		t.Fatalf("qpdf: %v\n%s", err, out)
	}
	unstamped := mustUnstamped(t)
	// Both the sheet as drawn and as stamped render cleanly in MuPDF, a
	// reader apart from poppler, which prints them.
	plain := filepath.Join(t.TempDir(), "sheet.pdf")
	os.WriteFile(plain, unstamped, 0o600)
	for _, p := range []string{plain, path} {
		if c := doctest.Mutool(t, p); c != "" {
			t.Errorf("mutool %s: %s", filepath.Base(p), c)
		}
	}
	for name, bad := range map[string][]byte{
		"not a PDF": []byte("hello"),
		"truncated": unstamped[:len(unstamped)/3],
		"too large": append([]byte("%PDF-1.4\n"), make([]byte, MaxPDF)...),
		"no pages":  PlainPDF(595, 842, nil),
	} {
		if _, err := Stamp(bad, testAct); !errors.Is(err, ErrPDF) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// An encrypted PDF (qpdf, AES-256) is refused, not stamped.
	enc := filepath.Join(t.TempDir(), "enc.pdf")
	os.WriteFile(path+".plain", unstamped, 0o600)
	if out, err := exec.Command(scannertest.Need(t, "qpdf"), "--encrypt", "utente", "proprietario", "256", "--", path+".plain", enc).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --encrypt: %v\n%s", err, out)
	}
	encrypted, _ := os.ReadFile(enc)
	if _, err := Stamp(encrypted, testAct); !errors.Is(err, ErrPDF) {
		t.Errorf("encrypted: %v", err)
	}
	if _, err := Stamp(unstamped, "bad act id"); err == nil {
		t.Error("an act id with a space went into a code")
	}
}

// A page with no code, or with a QR code that is not ours, is not
// identified.
func TestNoOrForeignCode(t *testing.T) {
	blank := image.NewGray(image.Rect(0, 0, 1240, 1754))
	for i := range blank.Pix {
		blank.Pix[i] = 250
	}
	if _, err := Find(blank, 150); !errors.Is(err, ErrNoCode) {
		t.Errorf("blank page: %v", err)
	}
	qr, err := qrImage("https://example.org/not-ours", 6)
	if err != nil {
		t.Fatal(err)
	}
	draw.Draw(blank, qr.Rect.Add(image.Pt(900, 1400)), qr, image.Point{}, draw.Src)
	if _, err := Find(blank, 150); !errors.Is(err, ErrForeignCode) {
		t.Errorf("someone else's QR code: %v", err)
	}
}

var _ = pipeline.Point{}

// BenchmarkLocate runs the whole path on 216 distorted scans of the printed
// sheet: 150, 300 and 600 dpi rendered by poppler, turned by -10..+10° on
// the bed, in all four orientations, with noise and JPEG. It reports how
// many were identified and how far the placed box corners are from the
// truth. Target: every page identified, every corner within 1 mm.
func BenchmarkLocate(b *testing.B) {
	pdf, layout := printed(b)
	rendered := map[int]*image.Gray{}
	for b.Loop() {
		var errs []float64
		missed := 0
		for i := range 216 {
			dpi := []int{150, 300, 600}[i%3]
			if rendered[dpi] == nil {
				rendered[dpi] = render(b, pdf, dpi)
			}
			d := distortion{deg: -10 + 20*float64((i*37)%216)/215, quarter: 90 * (i / 3 % 4), noise: float64(i % 6), jpeg: 70 + i%25, seed: uint64(i), fold: i%4 == 1}
			e, err := locateError(b, pdf, layout, dpi, d, rendered[dpi])
			if err != nil {
				missed++
				continue
			}
			errs = append(errs, e)
		}
		slices.Sort(errs)
		b.ReportMetric(float64(len(errs)), "identified")
		b.ReportMetric(float64(missed), "missed")
		if len(errs) > 0 {
			b.ReportMetric(errs[len(errs)/2], "median-corner-err-mm")
			b.ReportMetric(errs[len(errs)-1], "max-corner-err-mm")
		}
	}
}

// With its code torn off, a printed page is still placed from its four
// marks, once the page's text has told its skew and turn.
func TestMarksWithoutCode(t *testing.T) {
	s := sampleSheet
	s.Description = strings.Repeat("Il dichiarante, identificato con documento in corso di validità, dichiara sotto la propria responsabilità quanto segue. ", 12)
	pdf, layout, err := s.PDF()
	if err != nil {
		t.Fatal(err)
	}
	stamped, err := Stamp(pdf, testAct)
	if err != nil {
		t.Fatal(err)
	}
	p := layout.Pages[0]
	for _, d := range []distortion{{deg: 2.5}, {deg: -4, quarter: 180, noise: 3, jpeg: 80}, {deg: 6, quarter: 90, jpeg: 85}, {deg: -1, quarter: 270}} {
		rendered := render(t, stamped, 200)
		// Tear the code off: paint its area white before the scan.
		r := CodeRect(p.Width, p.Height)
		sc := 200.0 / 72
		for y := int((p.Height - r.Y - r.H) * sc); y < int((p.Height-r.Y)*sc); y++ {
			for x := int(r.X * sc); x < int((r.X+r.W)*sc); x++ {
				rendered.Pix[y*rendered.Stride+x] = 255
			}
		}
		scan, fwd := distort(t, rendered, d)
		if _, err := Find(scan, 200); !errors.Is(err, ErrNoCode) {
			t.Fatalf("the code was still read: %v", err)
		}
		geo := pipeline.EstimateGeometry(scan, 200)
		tf, err := FromMarks(scan, 200, geo, p.Width, p.Height)
		if err != nil {
			t.Fatalf("%+v: %v (geometry %+v)", d, err, geo)
		}
		worst := 0.0
		for i, b := range tf.Boxes(p) {
			rr := p.Boxes[i].Rect
			truth := [4][2]float64{{rr.X, rr.Y + rr.H}, {rr.X + rr.W, rr.Y + rr.H}, {rr.X + rr.W, rr.Y}, {rr.X, rr.Y}}
			for k, c := range b.Corners {
				x, y := fwd(truth[k][0]*sc, (p.Height-truth[k][1])*sc)
				worst = math.Max(worst, math.Hypot(c.X-x, c.Y-y)/(200/25.4))
			}
		}
		if worst > 1 {
			t.Errorf("%+v: a corner %.2f mm off", d, worst)
		}
	}
}

// The boxes of a preview are found from the labels printed in its text:
// each one below its label, in the order printed, witnesses numbered.
// The labels give the same boxes whether poppler's pdftotext reads the
// text or Autografo's own reader does (a Windows workstation has no
// poppler).
func TestLayoutFromText(t *testing.T) {
	tool := scannertest.Need(t, "pdftotext")
	testLayoutFromText(t, func(pdf []byte) (Layout, error) { return LayoutFromText(context.Background(), pdf, DefaultRules, tool) })
}

func TestLayoutFromPDFText(t *testing.T) {
	testLayoutFromText(t, func(pdf []byte) (Layout, error) { return LayoutFromPDFText(pdf, DefaultRules) })
}

func testLayoutFromText(t *testing.T, layoutOf func([]byte) (Layout, error)) {
	const w, h = 595.28, 841.89
	printed := []SignerBox{
		{Role: "sposo", Label: "Lo sposo", Rect: Rect{X: 60, Y: 420, W: 220, H: 70}},
		{Role: "sposa", Label: "La sposa", Rect: Rect{X: 315, Y: 420, W: 220, H: 70}},
		{Role: "testimone1", Label: "Il testimone", Rect: Rect{X: 60, Y: 310, W: 220, H: 70}},
		{Role: "testimone2", Label: "Il testimone", Rect: Rect{X: 315, Y: 310, W: 220, H: 70}},
		{Role: "ufficiale", Label: "L’Ufficiale dello Stato Civile", Rect: Rect{X: 60, Y: 200, W: 220, H: 70}},
	}
	content := "BT /F1 12 Tf 60 780 Td (Processo verbale di matrimonio) Tj ET\n"
	for _, b := range printed {
		r := b.Rect
		content += fmt.Sprintf("BT /F1 9 Tf %.0f %.0f Td %s Tj ET\n%.0f %.0f %.0f %.0f re S\n", r.X, r.Y+r.H+4, winAnsi(strings.ReplaceAll(b.Label, "’", "'")), r.X, r.Y, r.W, r.H)
	}
	pdf := PlainPDF(w, h, []string{"BT /F1 12 Tf 60 780 Td (Prima pagina) Tj ET\n", content})
	layout, err := layoutOf(pdf)
	if err != nil {
		t.Fatal(err)
	}
	if len(layout.Pages) != 2 || len(layout.Pages[0].Boxes) != 0 || len(layout.Pages[1].Boxes) != len(printed) {
		t.Fatalf("layout %+v", layout)
	}
	for i, b := range layout.Pages[1].Boxes {
		want := printed[i]
		if b.Role != want.Role {
			t.Errorf("box %d: role %q, want %q", i, b.Role, want.Role)
		}
		// The found box covers most of the printed one.
		r, p := b.Rect, want.Rect
		ix := math.Max(0, math.Min(r.X+r.W, p.X+p.W)-math.Max(r.X, p.X))
		iy := math.Max(0, math.Min(r.Y+r.H, p.Y+p.H)-math.Max(r.Y, p.Y))
		if cover := ix * iy / (p.W * p.H); cover < 0.8 {
			t.Errorf("%s: found %+v covers %.0f%% of the printed %+v", b.Role, r, cover*100, p)
		}
	}
	if _, err := layoutOf(PlainPDF(w, h, []string{"BT /F1 12 Tf 60 780 Td (Nessuna firma) Tj ET\n"})); !errors.Is(err, ErrNoText) {
		t.Errorf("a PDF without labels: %v", err)
	}
	if _, err := layoutOf([]byte("not a pdf")); !errors.Is(err, ErrPDF) {
		t.Errorf("not a PDF: %v", err)
	}
}

// BenchmarkFindWithoutCode is the cost of a page with no code at 150 dpi
// (a blank back, a page of something else): every way of reading is tried
// before it is called unread.
func BenchmarkFindWithoutCode(b *testing.B) {
	g := image.NewGray(image.Rect(0, 0, 1288, 1802))
	for i := range g.Pix {
		g.Pix[i] = uint8(200 + (i*7)%40)
	}
	for b.Loop() {
		if _, err := Find(g, 150); !errors.Is(err, ErrNoCode) {
			b.Fatalf("a page without a code: %v", err)
		}
	}
}
