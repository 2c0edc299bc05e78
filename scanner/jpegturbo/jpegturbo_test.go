package jpegturbo

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/autografo/autografo/scanner/scannertest"
)

func corpus(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(scannertest.Shared(t, "corpus", "images"), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// diff is the largest and mean absolute difference between two images of
// the same size, over gray levels or RGB channels.
func diff(a, b image.Image) (maxd int, mean float64) {
	r := a.Bounds()
	var sum, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ar, ag, ab, _ := a.At(x, y).RGBA()
			br, bg, bb, _ := b.At(x, y).RGBA()
			for _, d := range []int{int(ar>>8) - int(br>>8), int(ag>>8) - int(bg>>8), int(ab>>8) - int(bb>>8)} {
				d = max(d, -d)
				maxd = max(maxd, d)
				sum += float64(d)
				n++
			}
		}
	}
	return maxd, sum / n
}

// Real scans decode to the same pixels as Go's own decoder, up to the
// rounding of two IDCT implementations and chroma upsampling.
func TestDecodeMatchesImageJPEG(t *testing.T) {
	for _, tc := range []struct {
		name    string
		gray    bool
		maxDiff int
	}{
		{"lept_lucasta.047.jpg", true, 2},
		{"lept_w91frag.jpg", true, 2},
		{"caltech_hale-letter-1.jpg", false, 40}, // upsampling differs at sharp chroma edges
		{"lept_zanotti-78.jpg", false, 40},
	} {
		data := corpus(t, tc.name)
		got, err := Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if got.Bounds() != want.Bounds() {
			t.Fatalf("%s: %v, want %v", tc.name, got.Bounds(), want.Bounds())
		}
		if _, isGray := got.(*image.Gray); isGray != tc.gray {
			t.Errorf("%s: decoded as %T", tc.name, got)
		}
		maxd, mean := diff(got, want)
		if maxd > tc.maxDiff || mean > 0.6 {
			t.Errorf("%s: differs from image/jpeg by up to %d, %.3f on average", tc.name, maxd, mean)
		}
	}
}

// What we encode, Go's independent decoder reads back close to the source.
// A colour scan decodes straight to gray with the luminance Go's own
// conversion gives.
func TestDecodeGray(t *testing.T) {
	data := corpus(t, "caltech_hale-letter-1.jpg")
	got, err := DecodeGray(data)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := jpeg.Decode(bytes.NewReader(data))
	g := image.NewGray(want.Bounds())
	for y := range want.Bounds().Dy() {
		for x := range want.Bounds().Dx() {
			g.Set(x, y, want.At(x, y))
		}
	}
	if maxd, mean := diff(got, g); maxd > 12 || mean > 1 {
		t.Errorf("gray decode differs from image/jpeg's luminance by up to %d, %.3f on average", maxd, mean)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	src := image.NewGray(image.Rect(0, 0, 301, 199)) // odd sizes: partial blocks
	r := rand.New(rand.NewPCG(1, 1))
	for y := range 199 {
		for x := range 301 {
			src.SetGray(x, y, color.Gray{uint8(128 + 100*((x/20+y/20)%2) - 50 + r.IntN(5))})
		}
	}
	rgba := image.NewRGBA(src.Bounds())
	for y := range 199 {
		for x := range 301 {
			v := src.GrayAt(x, y).Y
			rgba.Set(x, y, color.RGBA{v, 255 - v, v / 2, 255})
		}
	}
	for name, img := range map[string]image.Image{"gray": src, "rgba": rgba, "sub-image": src.SubImage(image.Rect(10, 10, 200, 150))} {
		var buf bytes.Buffer
		if err := Encode(&buf, img, 92); err != nil {
			t.Fatal(err)
		}
		back, err := jpeg.Decode(&buf)
		if err != nil {
			t.Fatalf("%s: image/jpeg cannot read our JPEG: %v", name, err)
		}
		if back.Bounds().Size() != img.Bounds().Size() {
			t.Fatalf("%s: %v", name, back.Bounds())
		}
		shifted := image.NewRGBA(back.Bounds())
		for y := range back.Bounds().Dy() {
			for x := range back.Bounds().Dx() {
				shifted.Set(x, y, img.At(img.Bounds().Min.X+x, img.Bounds().Min.Y+y))
			}
		}
		if _, mean := diff(back, shifted); mean > 3 {
			t.Errorf("%s: mean error %.2f after a quality 92 round trip", name, mean)
		}
		if _, gray := img.(*image.Gray); gray {
			if _, g := back.(*image.Gray); !g {
				t.Errorf("%s: a gray page became %T", name, back)
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	good := corpus(t, "lept_lucasta.047.jpg")
	for name, data := range map[string][]byte{
		"empty":       nil,
		"not a JPEG":  []byte("\x89PNG\r\n\x1a\nrest"),
		"header only": good[:300],
		"truncated":   good[:len(good)/2],
	} {
		if _, err := Decode(data); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
	// A header that claims 60000 x 60000: refused before any allocation.
	var buf bytes.Buffer
	jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 16, 16)), nil)
	huge := bytes.Clone(buf.Bytes())
	i := bytes.Index(huge, []byte{0xFF, 0xC0})
	huge[i+5], huge[i+6], huge[i+7], huge[i+8] = 0xEA, 0x60, 0xEA, 0x60
	if _, err := Decode(huge); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge: %v, want ErrTooLarge", err)
	}
}

// A truncated page says why, on whichever thread the goroutine lands: the
// error text is read inside the C call that failed, not after it.
func TestErrorTextSurvivesThreadChanges(t *testing.T) {
	good := corpus(t, "lept_lucasta.047.jpg")
	truncated := good[:len(good)/2]
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				runtime.Gosched() // invite the scheduler to move us
				_, err := Decode(truncated)
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrCorrupt) || strings.HasSuffix(err.Error(), ": No error") || strings.HasSuffix(err.Error(), ": ") {
			t.Fatalf("truncated JPEG: %v", err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 24, 16)), nil)
	f.Add(buf.Bytes())
	buf.Reset()
	jpeg.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 17, 9)), nil)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, cerr := DecodeConfig(data)
		img, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrCMYK) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if cerr != nil || img.Bounds().Dx() != cfg.Width || img.Bounds().Dy() != cfg.Height {
			t.Fatalf("decoded %v, header said %+v (%v)", img.Bounds(), cfg, cerr)
		}
	})
}

// Decoding and encoding a 300 dpi gray A4 page, against image/jpeg in the
// same run.
func BenchmarkDecode(b *testing.B) {
	data := scannertest.PrintedPageJPEG(3)
	b.Run("turbo", func(b *testing.B) {
		for b.Loop() {
			if _, err := Decode(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("image-jpeg", func(b *testing.B) {
		for b.Loop() {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	img := scannertest.PrintedPage(3)
	b.Run("turbo", func(b *testing.B) {
		for b.Loop() {
			if err := Encode(io.Discard, img, 80); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("image-jpeg", func(b *testing.B) {
		for b.Loop() {
			if err := jpeg.Encode(io.Discard, img, &jpeg.Options{Quality: 80}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
