package scannertest

import (
	"bytes"
	"image"
	"image/jpeg"
	"math/rand/v2"
)

// PrintedPage is a 300 dpi gray A4 page with lines of "text" at a regular
// pitch: what a scanner sends for a printed act page, in size and in how
// it compresses, and the pattern most likely to fool a sampler.
func PrintedPage(seed uint64) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, 2480, 3508))
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range img.Pix {
		img.Pix[i] = 240 // paper; scanners' noise mostly goes in their JPEG quantization
	}
	for y := 300; y < 3200; y += 66 {
		for x := 240; x < 2240; {
			w := 20 + r.IntN(90)
			for yy := y; yy < y+30; yy++ {
				row := img.Pix[yy*img.Stride:]
				for xx := x; xx < x+w && xx < 2240; xx++ {
					if (xx/3+yy/4)%5 != 0 {
						row[xx] = 35
					}
				}
			}
			x += w + 24
		}
	}
	return img
}

// PrintedPageJPEG is PrintedPage as a scanner's quality 85 JPEG (about
// 1.4 MB).
func PrintedPageJPEG(seed uint64) []byte {
	var buf bytes.Buffer
	jpeg.Encode(&buf, PrintedPage(seed), &jpeg.Options{Quality: 85})
	return buf.Bytes()
}
