package pipeline

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/autografo/autografo/scanner/scannertest"
)

var update = flag.Bool("update", false, "rewrite testdata/real-pages.json from the current estimates")

// realPages are the real scans beside the project, with their resolution
// (from SOURCES.md, or from the page size where it says none).
var realPages = []struct {
	name string
	dpi  int
}{
	{"ocrmypdf_skew_1.865deg_r300.png", 300}, {"ocrmypdf_linn.png", 300}, {"ocrmypdf_typewriter.png", 300},
	{"ocrmypdf_c02-22.jpg", 150}, {"lept_feyn.tif", 300}, {"lept_rabi.png", 300}, {"lept_pageseg1.tif", 300},
	{"lept_scots-frag.tif", 300}, {"lept_1555.007.jpg", 150}, {"lept_lucasta.047.jpg", 150}, {"lept_w91frag.jpg", 150},
	{"lept_form1.tif", 300}, {"lept_boxedpage.jpg", 75}, {"lept_underline1.jpg", 100}, {"lept_zanotti-78.jpg", 150},
	{"caltech_hale-letter-1.jpg", 100}, {"caltech_hale-letter-2.jpg", 100}, {"caltech_hale-letter-3.jpg", 100},
	{"unpaper_imgsrc001.png", 300}, {"unpaper_imgsrcE001.png", 300}, {"unpaper_imgsrc004.png", 150}, {"unpaper_imgsrc005.png", 150},
}

type goldenGeometry struct {
	SkewDeg            float64 `json:"skewDeg"`
	Orientation        int     `json:"orientation"`
	Trusted            bool    `json:"trusted"`
	OrientationTrusted bool    `json:"orientationTrusted"`
	Paper              [4]int  `json:"paper"`
}

// The geometry of every real page, against values kept in testdata. They
// were checked once: by eye, every page is upright; the rotated linn
// page's skew is the 1.865° of its PDF matrix; ImageMagick's -deskew
// agrees within 0.04° on the printed pages (feyn 0.92, scots-frag 0.17,
// typewriter 0.22, the unpaper sheets 4.02 and 2.63, with its sign
// reversed), less on the curved book page and the halftone one; the
// hand-lettered unpaper sheets and the framed letter have no lines of text
// to trust, and say so.
func TestRealPagesGolden(t *testing.T) {
	dir := scannertest.Shared(t, "corpus", "images")
	path := filepath.Join("testdata", "real-pages.json")
	want := map[string]goldenGeometry{}
	if !*update {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]goldenGeometry{}
	pages := realPages
	if testing.Short() && !*update {
		pages = pages[:3] // under the race detector; the full set runs without it
	}
	for _, p := range pages {
		data, err := os.ReadFile(filepath.Join(dir, p.name))
		if err != nil {
			t.Fatal(err)
		}
		g, err := Decode(data, "")
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		geo := EstimateGeometry(g, p.dpi)
		r := geo.Paper
		got[p.name] = goldenGeometry{math.Round(geo.SkewDeg*1000) / 1000, geo.Orientation, geo.Trusted, geo.OrientationTrusted,
			[4]int{r.Min.X, r.Min.Y, r.Max.X, r.Max.Y}}
		if geo.OrientationTrusted && geo.Orientation != 0 {
			t.Errorf("%s: every real page is upright, estimated turned by %d", p.name, geo.Orientation)
		}
	}
	if k := got["ocrmypdf_skew_1.865deg_r300.png"]; math.Abs(k.SkewDeg-1.865) > 0.02 || !k.Trusted {
		t.Errorf("the page rotated by 1.865°: %+v", k)
	}
	if *update {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			continue
		}
		if math.Abs(g.SkewDeg-w.SkewDeg) > 0.02 || g.Orientation != w.Orientation || g.Trusted != w.Trusted || g.OrientationTrusted != w.OrientationTrusted {
			t.Errorf("%s: %+v, golden %+v", name, g, w)
		}
		for i := range 4 {
			if abs(g.Paper[i]-w.Paper[i]) > 4 {
				t.Errorf("%s: paper %v, golden %v", name, g.Paper, w.Paper)
				break
			}
		}
	}
}
