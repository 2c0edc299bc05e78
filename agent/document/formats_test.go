package document

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/tiff"

	"github.com/autografo/autografo/agent/document/doctest"
)

// The act's JPG is the scanner's own image data, its header saying the
// page's resolution.
func TestJPGIsTheScannersOwnFile(t *testing.T) {
	pages := corpusPages(t)
	got, err := BuildJPG(pages[:1].inputs())
	if err != nil || !bytes.Equal(afterHeader(t, got), afterHeader(t, pages[0].JPEG)) {
		t.Fatalf("one-page JPG: %v", err)
	}
	if d := jfifDensity(got); d != pages[0].DPI {
		t.Errorf("the JPG says %d dpi, the page is %d", d, pages[0].DPI)
	}
	if _, err := BuildJPG(pages[:2].inputs()); !errors.Is(err, ErrFormat) {
		t.Fatalf("two pages as JPG: %v", err)
	}
	r, err := R006(got, "image/jpeg", "verbale.jpg", "", nil)
	if err != nil || r.TipoFile != "2" {
		t.Fatalf("R006 of a JPG: %+v %v", r.TipoFile, err)
	}
}

type pageList []Page

func (p pageList) inputs() []Input {
	out := make([]Input, len(p))
	for i, pg := range p {
		out[i] = Input{Data: pg.JPEG, MediaType: "image/jpeg", DPI: pg.DPI}
	}
	return out
}

func TestMultiPageTIFF(t *testing.T) {
	pages := pageList(corpusPages(t))[:2] // a colour and a gray page
	tif, err := BuildTIFF(pages.inputs(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "verbale.tif")
	os.WriteFile(path, tif, 0o600)
	out, err := exec.Command(tool(t, "tiffinfo"), path).CombinedOutput()
	if err != nil {
		t.Fatalf("tiffinfo: %v\n%s", err, out)
	}
	info := string(out)
	for _, want := range []string{"TIFF Directory at offset", "Image Width: 1065 Image Length: 1347", "Image Width: 1065 Image Length: 1879",
		"Compression Scheme: AdobeDeflate", "Photometric Interpretation: RGB color", "Photometric Interpretation: min-is-black",
		"Resolution: 150, 150 pixels/inch", "Page Number: 0-2", "Page Number: 1-2"} {
		if !strings.Contains(info, want) {
			t.Errorf("tiffinfo lacks %q:\n%s", want, info)
		}
	}
	tiffReadersReadIt(t, tif)
	if strings.Count(info, "TIFF Directory at offset") != 2 {
		t.Errorf("%d pages in the TIFF, want 2", strings.Count(info, "TIFF Directory at offset"))
	}
	// Lossless: the first page decodes to the scanner's decoded pixels.
	img, err := tiff.Decode(bytes.NewReader(tif))
	if err != nil {
		t.Fatal(err)
	}
	src, _ := jpeg.Decode(bytes.NewReader(pages[0].JPEG))
	for _, p := range []image.Point{{10, 10}, {500, 600}, {1000, 1300}} {
		a := color.RGBAModel.Convert(img.At(p.X, p.Y)).(color.RGBA)
		b := color.RGBAModel.Convert(src.At(p.X, p.Y)).(color.RGBA)
		if a != b {
			t.Errorf("pixel %v: %v in the TIFF, %v in the scan", p, a, b)
		}
	}
	if r, err := R006(tif, "image/tiff", "verbale.tif", "", nil); err != nil || r.TipoFile != "3" {
		t.Fatalf("R006 of a TIFF: %v", err)
	}
	if _, err := BuildTIFF(nil, Options{}); !errors.Is(err, ErrNoPages) {
		t.Fatal(err)
	}
}

// afterHeader is a JPEG from its first segment after the JFIF header (or
// after SOI when it has none): what the density leaves alone.
func afterHeader(t *testing.T, data []byte) []byte {
	t.Helper()
	if len(data) < 4 || data[0] != 0xff || data[1] != 0xd8 {
		t.Fatal("not a JPEG")
	}
	if data[2] == 0xff && data[3] == 0xe0 && string(data[6:11]) == "JFIF\x00" {
		return data[4+int(data[4])<<8+int(data[5]):]
	}
	return data[2:]
}

// markedPage is a gray page, wider than tall, with a black mark in its
// top left corner: which way it was turned shows.
func markedPage(t *testing.T, dpi int) Input {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 300, 150))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for y := 0; y < 40; y++ {
		for x := 0; x < 40; x++ {
			img.Pix[y*img.Stride+x] = 0
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return Input{Data: buf.Bytes(), MediaType: "image/jpeg", DPI: dpi}
}

// darkCorner names the corner of img that holds the mark.
func darkCorner(img image.Image) string {
	b := img.Bounds()
	dark := func(x, y int) bool { c := color.GrayModel.Convert(img.At(x, y)).(color.Gray); return c.Y < 100 }
	switch {
	case dark(b.Min.X+5, b.Min.Y+5):
		return "top left"
	case dark(b.Max.X-6, b.Min.Y+5):
		return "top right"
	case dark(b.Min.X+5, b.Max.Y-6):
		return "bottom left"
	case dark(b.Max.X-6, b.Max.Y-6):
		return "bottom right"
	}
	return "none"
}

// The page's turn is in the JPG and the TIF as it is in the PDF: their
// readers obey no /Rotate, so the pixels are turned. A page turned 90°
// clockwise has its top left corner at the top right.
func TestJPGAndTIFFAreUpright(t *testing.T) {
	for _, tc := range []struct {
		rotate int
		w, h   int
		corner string
	}{{0, 300, 150, "top left"}, {90, 150, 300, "top right"}, {180, 300, 150, "bottom right"}, {270, 150, 300, "bottom left"}} {
		in := markedPage(t, 200)
		in.Rotate = tc.rotate
		jpg, err := BuildJPG([]Input{in})
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(jpg))
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h || darkCorner(img) != tc.corner {
			t.Errorf("JPG turned %d: %dx%d, mark %s; want %dx%d, %s", tc.rotate, b.Dx(), b.Dy(), darkCorner(img), tc.w, tc.h, tc.corner)
		}
		// What another reader makes of its header: file(1), independently.
		path := filepath.Join(t.TempDir(), "verbale.jpg")
		os.WriteFile(path, jpg, 0o600)
		if c := doctest.Mutool(t, path); c != "" {
			t.Errorf("JPG turned %d: mutool: %s", tc.rotate, c)
		}
		out, err := exec.Command(tool(t, "file"), "-b", path).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "resolution (DPI), density 200x200") {
			t.Errorf("JPG turned %d: file says %q (%v), want a density of 200x200 dpi", tc.rotate, out, err)
		}
		tif, err := BuildTIFF([]Input{in}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		img, err = tiff.Decode(bytes.NewReader(tif))
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h || darkCorner(img) != tc.corner {
			t.Errorf("TIF turned %d: %dx%d, mark %s; want %dx%d, %s", tc.rotate, b.Dx(), b.Dy(), darkCorner(img), tc.w, tc.h, tc.corner)
		}
		path = filepath.Join(t.TempDir(), "verbale.tif")
		os.WriteFile(path, tif, 0o600)
		out, err = exec.Command(tool(t, "tiffinfo"), path).CombinedOutput()
		if want := fmt.Sprintf("Image Width: %d Image Length: %d", tc.w, tc.h); err != nil || !strings.Contains(string(out), want) {
			t.Errorf("TIF turned %d: tiffinfo lacks %q (%v):\n%s", tc.rotate, want, err, out)
		}
	}
}

// scannedGray is a gray A4 page at 300 dpi as a scanner gives it: paper
// with sensor noise and lines of print, about 5 MB when kept lossless.
func scannedGray(t *testing.T, seed uint64) Input {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 2480, 3508))
	r := rand.New(rand.NewPCG(seed, 11))
	for y := range 3508 {
		for x := range 2480 {
			v := 232 + r.NormFloat64()*5
			if y%70 < 28 && (x/9)%7 != 0 && x > 240 && x < 2240 && y > 300 && y < 3200 {
				v = 40 + r.NormFloat64()*12 // print
			}
			img.Pix[y*img.Stride+x] = uint8(max(0, min(255, v)))
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	return Input{Data: buf.Bytes(), MediaType: "image/jpeg", DPI: 300}
}

// Five gray pages at 300 dpi do not fit in ANSC's 10 MB lossless: the TIFF
// then holds each page as JPEG, at the first quality that fits, and libtiff
// reads it through (tiffinfo, tiffcp, tiff2pdf). One page stays lossless;
// a budget nothing fits is ErrTooLarge (document_too_big), not a failure.
func TestTIFFWithinTheBudget(t *testing.T) {
	page := scannedGray(t, 1)
	five := []Input{page, page, page, page, page}
	one, err := BuildTIFF(five[:1], Options{})
	if err != nil {
		t.Fatal(err)
	}
	if info := tiffInfo(t, one); !strings.Contains(info, "Compression Scheme: AdobeDeflate") || len(one) < 4_000_000 {
		t.Errorf("one page (%d bytes) not lossless:\n%s", len(one), info)
	}
	tif, err := BuildTIFF(five, Options{})
	if err != nil {
		t.Fatalf("five gray pages: %v", err)
	}
	if len(tif) > 9_500_000 {
		t.Errorf("five gray pages: %d bytes, over the budget", len(tif))
	}
	t.Logf("one gray page lossless: %d bytes; five as JPEG-in-TIFF: %d bytes", len(one), len(tif))
	info := tiffInfo(t, tif)
	if strings.Count(info, "TIFF Directory at offset") != 5 || strings.Count(info, "Compression Scheme: JPEG") != 5 ||
		!strings.Contains(info, "Resolution: 300, 300 pixels/inch") || !strings.Contains(info, "Page Number: 4-5") {
		t.Errorf("five gray pages (%d bytes):\n%s", len(tif), info)
	}
	tiffReadersReadIt(t, tif)

	// A colour page made to go JPEG: YCbCr, subsampled as libjpeg-turbo
	// encodes it.
	colour := pageList(corpusPages(t))[:1].inputs()
	lossless, err := BuildTIFF(colour, Options{})
	if err != nil {
		t.Fatal(err)
	}
	small, err := BuildTIFF(colour, Options{Budget: len(lossless) / 3})
	if err != nil {
		t.Fatal(err)
	}
	if info := tiffInfo(t, small); !strings.Contains(info, "Compression Scheme: JPEG") || !strings.Contains(info, "Photometric Interpretation: YCbCr") {
		t.Errorf("a colour page as JPEG:\n%s", info)
	}
	tiffReadersReadIt(t, small)

	if _, err := BuildTIFF(five, Options{Budget: 100_000}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a budget nothing fits: %v, want ErrTooLarge", err)
	}
}

func tiffInfo(t *testing.T, tif []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "verbale.tif")
	os.WriteFile(path, tif, 0o600)
	out, err := exec.Command(tool(t, "tiffinfo"), path).CombinedOutput()
	if err != nil {
		t.Fatalf("tiffinfo: %v\n%s", err, out)
	}
	return string(out)
}

// tiffReadersReadIt has libtiff decode every page, tiffcp to an
// uncompressed copy and tiff2pdf, and MuPDF render them, each without a
// warning.
func tiffReadersReadIt(t *testing.T, tif []byte) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "verbale.tif")
	os.WriteFile(path, tif, 0o600)
	for _, args := range [][]string{{tool(t, "tiffcp"), "-c", "none", path, filepath.Join(dir, "copia.tif")},
		{tool(t, "tiff2pdf"), "-o", filepath.Join(dir, "verbale.pdf"), path}} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("%s: %v\n%s", filepath.Base(args[0]), err, out)
		}
	}
	if c := doctest.Mutool(t, path); c != "" {
		t.Errorf("mutool: %s", c)
	}
}
