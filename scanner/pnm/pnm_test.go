package pnm

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"testing"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		at   image.Point
		want color.Color
		w, h int
	}{
		{"P5", "P5\n# SANE data follows\n2 2\n255\n\x00\x10\x20\xff", image.Pt(1, 1), color.Gray{0xff}, 2, 2},
		{"P5 16-bit", "P5 1 1 65535\n\x12\x34", image.Pt(0, 0), color.Gray16{0x1234}, 1, 1},
		{"P6", "P6 1 2 255\n\x01\x02\x03\x04\x05\x06", image.Pt(0, 1), color.RGBA{4, 5, 6, 255}, 1, 2},
		{"P4", "P4\n10 1\n\x80\x40", image.Pt(0, 0), color.Gray{0}, 10, 1},
		{"P4 white", "P4\n10 1\n\x80\x40", image.Pt(1, 0), color.Gray{255}, 10, 1},
		{"P5 maxval 15", "P5 1 1 15\n\x0f", image.Pt(0, 0), color.Gray{255}, 1, 1},
	} {
		img, format, err := image.Decode(bytes.NewReader([]byte(tc.data)))
		if err != nil || format != "pnm" {
			t.Fatalf("%s: %v (format %q)", tc.name, err, format)
		}
		if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
			t.Errorf("%s: bounds %v", tc.name, b)
		}
		r1, g1, b1, a1 := img.At(tc.at.X, tc.at.Y).RGBA()
		r2, g2, b2, a2 := tc.want.RGBA()
		if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
			t.Errorf("%s: pixel %v = %v, want %v", tc.name, tc.at, img.At(tc.at.X, tc.at.Y), tc.want)
		}
	}
}

func TestRefusesBadInput(t *testing.T) {
	for _, bad := range []string{
		"P5\n2 2\n255\n\x00\x00\x00",          // short
		"P5\n0 2\n255\n",                      // empty
		"P5\n2 2\n70000\n",                    // maxval
		"P5\n100000 100000\n255\n",            // too many pixels
		"P5\n2x 2\n255\n",                     // junk
		"P7\n2 2\n255\n",                      // PAM, not supported
		"P5 99999999999999999999 1 255\n\x00", // overflow
		"P5" + string(bytes.Repeat([]byte("#"), 5000)),
	} {
		if _, err := Decode(bytes.NewReader([]byte(bad))); !errors.Is(err, ErrFormat) {
			t.Errorf("Decode(%.30q) = %v, want ErrFormat", bad, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("P5\n2 2\n255\n\x00\x10\x20\xff"))
	f.Add([]byte("P6 1 1 65535\n\x00\x01\x00\x02\x00\x03"))
	f.Add([]byte("P4\n10 1\n\x80\x40"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := DecodeConfig(bytes.NewReader(data))
		img, err2 := Decode(bytes.NewReader(data))
		if err2 != nil {
			if !errors.Is(err2, ErrFormat) {
				t.Fatalf("untyped error %v", err2)
			}
			return
		}
		if err != nil || img.Bounds().Dx() != cfg.Width || img.Bounds().Dy() != cfg.Height {
			t.Fatalf("config %+v / %v disagrees with image %v", cfg, err, img.Bounds())
		}
	})
}
