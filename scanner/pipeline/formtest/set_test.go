package formtest

import (
	"bytes"
	"image"
	"math"
	"testing"

	"github.com/autografo/autografo/scanner/pipeline"
	"github.com/autografo/autografo/scanner/scannertest"
)

// The set holds what the pipeline is measured on: every form style, every
// signature source, every content, the three media, 150 to 600 dpi, JPEG
// down to quality 30 and layouts off by up to 2 mm, in both halves.
func TestSetCoversWhatItClaims(t *testing.T) {
	for half := range 2 {
		specs := Set(half, 340, 300)
		styles, media, dpis := map[Style]int{}, map[Medium]int{}, map[int]int{}
		minQ, maxErr, text := 100, 0.0, 0
		for _, s := range specs {
			if s.Index%2 != half {
				t.Fatalf("half %d holds page %d", half, s.Index)
			}
			if s.TextOnly {
				text++
				continue
			}
			styles[s.Style]++
			media[s.Medium]++
			dpis[s.DPI]++
			minQ = min(minQ, s.Quality)
			maxErr = math.Max(maxErr, s.LayoutErrMM)
		}
		if len(styles) != len(Styles) || len(media) != 3 || dpis[150] == 0 || dpis[600] == 0 || minQ > 35 || maxErr < 1.8 || text != 150 {
			t.Errorf("half %d: styles %v media %v dpi %v quality from %d, layout error to %.2f mm, %d text pages", half, styles, media, dpis, minQ, maxErr, text)
		}
	}
}

// A spec always draws the same page, and its truth lies on the page: the
// boxes the pipeline is given are where the layout says, within the
// error the spec names of where they truly are.
func TestGenerateIsRepeatableAndTruthful(t *testing.T) {
	if err := CheckFonts(); err != nil {
		scannertest.Unavailable(t, "%v", err)
	}
	o := Options{Shared: scannertest.Shared(t)}
	contents, sources := map[Content]int{}, map[Source]int{}
	n := 12
	if RaceDetector {
		n = 3
	}
	for i, s := range Set(0, 340, 300)[:n] {
		a, err := Generate(s, o)
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		if i < 3 {
			b, err := Generate(s, o)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Data, b.Data) {
				t.Fatalf("%s: two pages from one spec", s.Name())
			}
		}
		g, err := pipeline.Decode(a.Data, a.MediaType)
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		page := g.Bounds()
		pxmm := float64(a.DPI) / 25.4
		for _, bx := range a.Boxes {
			contents[bx.Content]++
			if bx.Content.Signed() {
				sources[bx.Source]++
			}
			for k := range 4 {
				c, tr := bx.Corners[k], bx.True[k]
				if !image.Pt(int(tr.X), int(tr.Y)).In(page) {
					t.Errorf("%s %s: corner %v off the page %v", s.Name(), bx.Role, tr, page)
				}
				// A photo's scale varies over the page with its perspective.
				slack := 0.3
				if s.Medium == MediumPhoto {
					slack = 0.8
				}
				if d := math.Hypot(c.X-tr.X, c.Y-tr.Y) / pxmm; d > s.LayoutErrMM*1.5+slack {
					t.Errorf("%s %s: layout off by %.2f mm, spec says %.2f", s.Name(), bx.Role, d, s.LayoutErrMM)
				}
			}
		}
	}
	if !RaceDetector && (len(sources) < 3 || contents[Signature] == 0 || contents[Empty] == 0) {
		t.Errorf("12 pages hold contents %v, sources %v", contents, sources)
	}
}
