package document

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"testing"
)

func TestWithDensity(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	var withJFIF bytes.Buffer
	jpeg.Encode(&withJFIF, img, nil)
	// Go's encoder writes no JFIF header; one with it is made by hand.
	bare := withJFIF.Bytes()
	if bare[2] == 0xff && bare[3] == 0xe0 {
		t.Fatal("expected a JPEG without APP0 from image/jpeg")
	}
	added, err := withDensity(bare, 300)
	if err != nil || jfifDensity(added) != 300 || !bytes.Equal(added[20:], bare[2:]) {
		t.Fatalf("JFIF added: %d dpi, %v", jfifDensity(added), err)
	}
	if _, err := jpeg.Decode(bytes.NewReader(added)); err != nil {
		t.Fatalf("the JPEG with its JFIF header does not decode: %v", err)
	}
	again, err := withDensity(added, 150)
	if err != nil || jfifDensity(again) != 150 || len(again) != len(added) || !bytes.Equal(again[18:], added[18:]) {
		t.Fatalf("JFIF density changed in place: %d dpi, %v", jfifDensity(again), err)
	}
	for _, bad := range [][]byte{nil, {0xff}, []byte("PNG....")} {
		if _, err := withDensity(bad, 300); err == nil {
			t.Errorf("withDensity(%q) took it", bad)
		}
	}
	if _, err := withDensity(bare, 0); err == nil {
		t.Error("a resolution of 0 dpi was taken")
	}
}

// FuzzWithDensity: whatever bytes come from a scanner, the density is set
// or refused, never a panic, and a JPEG in is a JPEG out with the density.
func FuzzWithDensity(f *testing.F) {
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	var b bytes.Buffer
	jpeg.Encode(&b, img, nil)
	f.Add(b.Bytes(), uint16(300))
	withJ, _ := withDensity(b.Bytes(), 200)
	f.Add(withJ, uint16(600))
	f.Add([]byte{0xff, 0xd8, 0xff, 0xe0, 0, 2}, uint16(150))
	f.Fuzz(func(t *testing.T, data []byte, dpi uint16) {
		out, err := withDensity(data, int(dpi))
		if err != nil {
			return
		}
		if out[0] != 0xff || out[1] != 0xd8 || jfifDensity(out) != int(dpi) {
			t.Fatalf("density %d in, %d out", dpi, jfifDensity(out))
		}
		if binary.BigEndian.Uint16(out[4:6]) < 16 {
			t.Fatal("a JFIF segment shorter than its fields")
		}
	})
}

// jfifDensity reads the resolution a JPEG's JFIF header gives, in dots per
// inch (0 when it gives none).
func jfifDensity(data []byte) int {
	if len(data) < 20 || data[2] != 0xff || data[3] != 0xe0 || string(data[6:11]) != "JFIF\x00" {
		return 0
	}
	x := int(binary.BigEndian.Uint16(data[14:16]))
	switch data[13] {
	case 1:
		return x
	case 2:
		return int(float64(x)*2.54 + 0.5)
	}
	return 0
}
