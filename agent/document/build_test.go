package document

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"testing"
)

// noisyPage is a page that compresses badly, like a scan with texture.
func noisyPage(w, h int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(256))
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95})
	return buf.Bytes()
}

func TestBuildWithinBudget(t *testing.T) {
	page := noisyPage(600, 800) // about 400 KB at quality 95
	in := []Input{{page, "image/jpeg", 300}, {page, "image/jpeg", 300}}

	r, err := Build(in, Meta{Title: "t"}, Options{Budget: 4 << 20})
	if err != nil || !r.PassThrough || !bytes.Contains(r.PDF, page) {
		t.Fatalf("roomy budget: pass-through %v, %v", r.PassThrough, err)
	}
	r, err = Build(in, Meta{Title: "t"}, Options{Budget: len(page) * 3 / 2})
	if err != nil || r.PassThrough || len(r.PDF) > len(page)*3/2 || r.Quality == 0 {
		t.Fatalf("tight budget: %d bytes, quality %d, %v", len(r.PDF), r.Quality, err)
	}
	r, err = Build(in, Meta{Title: "t"}, Options{Budget: 150_000, FloorDPI: 150})
	if err != nil || r.DPI == 0 || r.DPI < 150 {
		t.Fatalf("budget that needs a lower resolution: dpi %d, %v", r.DPI, err)
	}
	if _, err := Build(in, Meta{Title: "t"}, Options{Budget: 10_000}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("impossible budget: %v", err)
	}
	if _, err := Build(nil, Meta{}, Options{}); !errors.Is(err, ErrNoPages) {
		t.Fatalf("no pages: %v", err)
	}
	if _, err := Build([]Input{{[]byte("P5 2 2 255\n\x00\x01"), "image/x-portable-anymap", 300}}, Meta{}, Options{}); !errors.Is(err, ErrPage) {
		t.Fatalf("truncated PNM page: %v", err)
	}
}

func TestNonJPEGPagesAreEncodedOnce(t *testing.T) {
	pnm := append([]byte("P5\n4 2\n255\n"), 0, 50, 100, 150, 200, 250, 255, 0)
	r, err := Build([]Input{{pnm, "image/x-portable-anymap", 300}}, Meta{Title: "saned"}, Options{})
	if err != nil || r.PassThrough || r.Quality != 90 {
		t.Fatalf("PNM page: %+v %v", r.Quality, err)
	}
}
