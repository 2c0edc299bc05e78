package document

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/tiff"
)

func TestJPGIsTheScannersOwnFile(t *testing.T) {
	pages := corpusPages(t)
	got, err := BuildJPG(pages[:1].inputs())
	if err != nil || !bytes.Equal(got, pages[0].JPEG) {
		t.Fatalf("one-page JPG: %v", err)
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
	tif, err := BuildTIFF(pages.inputs())
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
	if _, err := BuildTIFF(nil); !errors.Is(err, ErrNoPages) {
		t.Fatal(err)
	}
}
