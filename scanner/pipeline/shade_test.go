package pipeline

import (
	"image"
	"image/color"
	"math"
	"slices"
	"testing"
)

// shadedPhoto is a phone photo at 150 dpi: a table of tone 95 around a
// sheet (15 mm in from every side of 160 x 200 mm), lit evenly down to
// 120 mm and falling off below to paperAtFoot at its foot. A box of
// 70 x 22 mm lies in the shade, 3 mm above the foot; signed, it holds
// a pen's loops.
func shadedPhoto(paperAtFoot float64, signed bool) (*image.Gray, Box) {
	const dpi = 150
	mm := func(v float64) float64 { return v * dpi / 25.4 }
	g := image.NewGray(image.Rect(0, 0, int(mm(160)), int(mm(200))))
	for y := range g.Rect.Dy() {
		ymm := float64(y) / mm(1)
		paper := 230.0
		if ymm > 120 {
			paper = 230 - (230-paperAtFoot)*math.Min(1, (ymm-120)/65)
		}
		for x := range g.Rect.Dx() {
			xmm := float64(x) / mm(1)
			v := 95.0
			if xmm >= 15 && xmm < 145 && ymm >= 15 && ymm < 185 {
				v = paper
			}
			g.Pix[y*g.Stride+x] = uint8(v)
		}
	}
	x0, y0, x1, y1 := mm(30), mm(160), mm(100), mm(182)
	ink := func(x, y float64) {
		if image.Pt(int(x), int(y)).In(g.Rect) {
			g.SetGray(int(x), int(y), color.Gray{25})
		}
	}
	// The printed frame, 0.3 mm.
	for t := 0.0; t < mm(0.3); t++ {
		for x := x0; x <= x1; x++ {
			ink(x, y0+t)
			ink(x, y1-t)
		}
		for y := y0; y <= y1; y++ {
			ink(x0+t, y)
			ink(x1-t, y)
		}
	}
	// Some print above it, so that the page has text lines.
	for line := range 20 {
		for x := mm(20); x < mm(140); x += mm(3) {
			for dy := 0.0; dy < mm(2); dy++ {
				for dx := 0.0; dx < mm(1.8); dx++ {
					ink(x+dx, mm(25+float64(line)*4.5)+dy)
				}
			}
		}
	}
	if signed {
		r := mm(0.25)
		for s := 0.0; s <= 45; s += 0.02 {
			cx, cy := mm(40+s+1.5*math.Sin(s*1.7)), mm(172+3.5*math.Sin(s*0.9))
			for py := cy - r; py <= cy+r; py++ {
				for px := cx - r; px <= cx+r; px++ {
					if math.Hypot(px-cx, py-cy) <= r {
						ink(px, py)
					}
				}
			}
		}
	}
	box := Box{Role: "testimone1", Corners: [4]Point{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}}
	return g, box
}

// Paper in a photo's shade, darker than the page's threshold but far
// lighter than the table, is the sheet: a box there is read, not taken
// as lying off the sheet. Paper as dark as the table cannot be told from
// it, and its box stays doubtful.
func TestShadedPaperIsTheSheet(t *testing.T) {
	for name, tc := range map[string]struct {
		paperAtFoot float64
		signed      bool
		want        Decision
		offPage     bool
	}{
		"a signature in the shade":              {130, true, Signed, false},
		"an empty box in the shade":             {130, false, Empty, false},
		"a signature where the paper is table":  {98, true, Doubtful, true},
		"an empty box where the paper is table": {98, false, Doubtful, true},
	} {
		g, box := shadedPhoto(tc.paperAtFoot, tc.signed)
		res, err := ProcessImage(g, 150, []Box{box}, Options{PreviewSize: -1})
		if err != nil {
			t.Fatal(err)
		}
		v := res.Verdicts[0]
		if v.Decision != tc.want || slices.Contains(v.Reasons, ReasonOffPage) != tc.offPage {
			t.Errorf("%s: %s %v, want %s (off the sheet: %v)", name, v.Decision, v.Reasons, tc.want, tc.offPage)
		}
	}
}

// What of the table is lighter than the rest stays table: a streak that
// runs to the photo's edge, a patch that does not reach the paper, and
// the sheet's edge's own shadow in a band along the table.
func TestTheLighterTableStaysBed(t *testing.T) {
	g, _ := shadedPhoto(130, false)
	const pxmm = 150 / 25.4
	mm := func(v float64) int { return int(v * pxmm) }
	set := func(x0, y0, x1, y1 float64, v uint8) {
		for y := mm(y0); y < mm(y1); y++ {
			for x := mm(x0); x < mm(x1); x++ {
				g.Pix[y*g.Stride+x] = v
			}
		}
	}
	set(0, 30, 15.2, 50, 140)     // a streak from the photo's edge to the sheet
	set(3, 60, 10, 70, 140)       // a lighter knot, table all round it
	set(145, 80, 147.5, 120, 140) // the sheet's shadow along its right edge
	thr := pageThreshold(g)
	bed := bedOutOfShade(g, bedMask(g, thr), thr, pxmm)
	at := func(xmm, ymm float64) bool { return bed[mm(ymm)*g.Rect.Dx()+mm(xmm)] }
	for name, tc := range map[string]struct {
		x, y float64
		bed  bool
	}{
		"the table":                   {5, 100, true},
		"the streak":                  {8, 40, true},
		"the knot":                    {6.5, 65, true},
		"the shadow":                  {146, 100, true},
		"the lit paper":               {80, 60, false},
		"the shaded paper":            {80, 180, false},
		"the shaded paper by its rim": {20, 181, false},
	} {
		if at(tc.x, tc.y) != tc.bed {
			t.Errorf("%s (%.1f, %.1f mm): bed %v, want %v", name, tc.x, tc.y, !tc.bed, tc.bed)
		}
	}
}

// BenchmarkBedOutOfShade: what narrowing the bed adds to a photo's page
// (the reduced page of 160 x 200 mm at 150 dpi), beside the flood itself.
func BenchmarkBedOutOfShade(b *testing.B) {
	g, _ := shadedPhoto(130, false)
	thr := pageThreshold(g)
	b.Run("flood", func(b *testing.B) {
		for b.Loop() {
			bedMask(g, thr)
		}
	})
	b.Run("flood and narrowing", func(b *testing.B) {
		for b.Loop() {
			bedOutOfShade(g, bedMask(g, thr), thr, 150/25.4)
		}
	})
}
