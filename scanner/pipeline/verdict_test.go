package pipeline

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"slices"
	"testing"
)

// The flat joins of a line of cursive are not printed lines: clearing
// them cut real handwriting into strokes that read as a cross, as
// initials or as too little ink. A printed line stays one, however it is
// written on or crossed.
func TestJoinsOfWritingAreNotPrintedLines(t *testing.T) {
	const dpi = 200
	mm := func(v float64) int { return int(v * dpi / 25.4) }
	// A box of 80 x 26 mm, its frame printed; the line in question runs
	// from 15 mm in, 14 mm below its top (or as far as it says).
	x0, y0 := mm(20), mm(20)
	box := Box{Role: "sposo", Corners: [4]Point{
		{float64(x0), float64(y0)}, {float64(x0 + mm(80)), float64(y0)},
		{float64(x0 + mm(80)), float64(y0 + mm(26))}, {float64(x0), float64(y0 + mm(26))}}}
	for name, tc := range map[string]struct {
		lengthMM      float64
		above, below  bool // strokes that stand on the line, or hang from it
		wantCleared   bool
		strokeEveryMM float64
		belowTopMM    float64
	}{
		"the joins of a word":                   {16, true, true, false, 1.4, 14},
		"a printed line written on":             {16, true, false, true, 1.4, 14},
		"a printed line crossed here and there": {16, true, true, true, 5, 14},
		"a long printed line crossed densely":   {50, true, true, true, 1.4, 14},
		"a printed line alone":                  {16, false, false, true, 1.4, 14},
		"a line by the frame, written across":   {16, true, true, true, 1.4, 3.2},
	} {
		lineY := y0 + mm(tc.belowTopMM)
		g := image.NewGray(image.Rect(0, 0, mm(120), mm(70)))
		draw.Draw(g, g.Rect, image.NewUniform(color.Gray{245}), image.Point{}, draw.Src)
		ink := image.NewUniform(color.Gray{30})
		fill := func(r image.Rectangle) { draw.Draw(g, r, ink, image.Point{}, draw.Src) }
		// The frame, 0.3 mm.
		w := max(1, mm(0.3))
		fill(image.Rect(x0, y0, x0+mm(80), y0+w))
		fill(image.Rect(x0, y0+mm(26)-w, x0+mm(80), y0+mm(26)))
		fill(image.Rect(x0, y0, x0+w, y0+mm(26)))
		fill(image.Rect(x0+mm(80)-w, y0, x0+mm(80), y0+mm(26)))
		// The line, 0.4 mm, and the strokes along it, 0.5 mm wide.
		lx0, lx1 := x0+mm(15), x0+mm(15+tc.lengthMM)
		fill(image.Rect(lx0, lineY, lx1, lineY+mm(0.4)))
		for x := float64(lx0); x < float64(lx1)-float64(mm(0.5)); x += tc.strokeEveryMM * dpi / 25.4 {
			sx := int(x)
			if tc.above {
				fill(image.Rect(sx, lineY-mm(3), sx+mm(0.5), lineY))
			}
			if tc.below {
				fill(image.Rect(sx, lineY, sx+mm(0.5), lineY+mm(2)))
			}
		}
		v := newBoxView(g, box, nil, dpi, nil, nil)
		// The line's row, between the strokes, in the crop.
		cleared, along := 0, 0
		row := v.box.Min.Y + int(float64(lineY-y0)*v.pxmm/(dpi/25.4)) + 1
		for x := v.box.Min.X + int(16*v.pxmm); x < v.box.Min.X+int((14+tc.lengthMM)*v.pxmm); x++ {
			if v.rules[row*v.w+x] {
				cleared++
			}
			if v.rules[row*v.w+x] || v.ink[row*v.w+x] {
				along++
			}
		}
		if along == 0 {
			t.Fatalf("%s: no ink along the line's row %d in the crop", name, row)
		}
		got := cleared*2 > along
		if got != tc.wantCleared {
			t.Errorf("%s: cleared as a printed line = %v (%d of %d pixels along it), want %v", name, got, cleared, along, tc.wantCleared)
		}
	}
}

// A line found without the label's bands must be a pen's: inked all
// along. Lines through the tops of separate letters are not.
func TestLinesWithoutTheBandsMustBeInkedAlong(t *testing.T) {
	v := &boxView{pxmm: 200 / 25.4}
	// A slanted stroke 40 mm long and 0.4 mm wide, whole or in pieces.
	stroke := func(pieceMM, everyMM float64) []image.Point {
		var pts []image.Point
		for s := 0.0; s < 40; s += 0.05 {
			if math.Mod(s, everyMM) >= pieceMM {
				continue
			}
			for w := 0.0; w < 0.4; w += 0.1 {
				pts = append(pts, image.Pt(int((10+s)*v.pxmm), int((10+0.3*s+w)*v.pxmm)))
			}
		}
		return pts
	}
	for name, tc := range map[string]struct {
		pts              []image.Point
		withCover, alone int
	}{
		"a pen's stroke":                      {stroke(1, 1), 1, 1},
		"a stroke a fax broke here and there": {stroke(1.6, 2), 1, 1},
		"the tops of separate letters":        {stroke(1.5, 4), 0, 1},
	} {
		if got := v.linesThrough(tc.pts, 3, bandLineCover); got != tc.withCover {
			t.Errorf("%s: %d lines when they must be inked along, want %d", name, got, tc.withCover)
		}
		if got := v.linesThrough(tc.pts, 3, 0); got != tc.alone {
			t.Errorf("%s: %d lines, want %d", name, got, tc.alone)
		}
	}
}

// The last few millimetres of a neighbour's signature, cut from the rest
// by the cleared frame, are the neighbour's: the box holding only them is
// empty. Pieces of the signer's own are not taken with them.
func TestTheCutOffEndOfANeighboursSignature(t *testing.T) {
	const dpi = 300
	mm := func(v float64) float64 { return v * dpi / 25.4 }
	// Two boxes of 60 x 20 mm side by side, 4 mm apart: the groom's on
	// the left, the bride's on the right.
	groom, bride := sideBySide(dpi, 60, 20, 10, 74)
	pen := func(g *image.Gray, path func(s float64) (x, y float64), from, to float64) {
		penStroke(g, dpi, path, from, to)
	}
	// The groom's hand: loops along a baseline 12 mm below the boxes'
	// top, ending where the caller says (mm from the page's left).
	groomHand := func(s float64) (float64, float64) {
		return 30 + s + 1.2*math.Sin(s*1.3), 32 + 3*math.Sin(s*1.1)
	}
	for name, tc := range map[string]struct {
		endMM float64 // where the groom's hand ends, from the page's left
		// the bride's own: a signature; a short stroke from hookMM (0: none)
		brideSigns bool
		hookMM     float64
		want       Decision
	}{
		"the end of the groom's last letter":                {76.5, false, 0, Empty},
		"the end of the groom's letter, her stroke further": {76.5, false, 80, Doubtful},
		"the end of the groom's letter, and her signing":    {76.5, true, 0, Signed},
		"the groom's hand stopping at his frame":            {69, false, 0, Empty},
		"her stroke by her edge, nothing across from it":    {69, false, 75, Doubtful},
		"her stroke across her edge, not reaching his box":  {69, false, 72.5, Doubtful},
	} {
		g := image.NewGray(image.Rect(0, 0, int(mm(150)), int(mm(60))))
		draw.Draw(g, g.Rect, image.NewUniform(color.Gray{240}), image.Point{}, draw.Src)
		printFrames(g, dpi, groom, bride)
		pen(g, groomHand, 0, tc.endMM-30)
		if tc.brideSigns {
			pen(g, func(s float64) (float64, float64) {
				return 90 + s + 1.5*math.Sin(s*1.7), 31 + 3.5*math.Sin(s*0.9)
			}, 0, 35)
		}
		if tc.hookMM > 0 {
			pen(g, func(s float64) (float64, float64) { return tc.hookMM + s, 27 - 0.8*s }, 0, 3)
		}
		v := analyse(g, bride, []Box{groom}, dpi, nil, nil, false)
		if v.Decision != tc.want {
			t.Errorf("%s: %s %v (ink %.1f mm², span %.1f mm), want %s", name, v.Decision, v.Reasons, v.InkMM2, v.SpanMM, tc.want)
		}
		if tc.want == Empty && tc.endMM > 74 && !slices.Contains(v.Reasons, ReasonNeighbour) {
			t.Errorf("%s: reasons %v, want %s", name, v.Reasons, ReasonNeighbour)
		}
	}
}

// A rectangular stamp inside a box is found to the outer edges of its
// frame's lines (a line's width beyond at most), so what a thick frame
// leaves at its corners goes with it;
// and it is found when it sits low in the box, its bottom line as close
// to the box's edge as the box's own frame would be. The box's own frame
// and a printed line across the box are not a stamp.
func TestRectangularStampsWithinTheBox(t *testing.T) {
	const dpi = 200
	mm := func(v float64) int { return int(math.Round(v * dpi / 25.4)) }
	// A box of 90 x 30 mm, its frame 0.3 mm, 20 mm from the page's corner.
	x0, y0 := mm(20), mm(20)
	box := Box{Role: "ufficiale", Corners: [4]Point{
		{float64(x0), float64(y0)}, {float64(x0 + mm(90)), float64(y0)},
		{float64(x0 + mm(90)), float64(y0 + mm(30))}, {float64(x0), float64(y0 + mm(30))}}}
	type frame struct{ x, y, w, h, line float64 } // mm, from the box's corner
	for name, tc := range map[string]struct {
		stamp    *frame
		lineAtMM float64 // a printed line across the whole box, this far below its top (0: none)
		want     bool
	}{
		"a stamp with a 1 mm frame, in the middle":              {&frame{20, 8, 50, 14, 1}, 0, true},
		"a stamp set low, its bottom line 1 mm above the box's": {&frame{20, 15, 50, 14, 0.4}, 0, true},
		"the box's frame alone":                                 {nil, 0, false},
		"a printed line across the box":                         {nil, 22, false},
	} {
		g := image.NewGray(image.Rect(0, 0, mm(130), mm(70)))
		draw.Draw(g, g.Rect, image.NewUniform(color.Gray{245}), image.Point{}, draw.Src)
		fill := func(x, y, w, h float64) {
			r := image.Rect(x0+mm(x), y0+mm(y), x0+mm(x+w), y0+mm(y+h))
			draw.Draw(g, r, image.NewUniform(color.Gray{30}), image.Point{}, draw.Src)
		}
		outline := func(f frame) {
			fill(f.x, f.y, f.w, f.line)
			fill(f.x, f.y+f.h-f.line, f.w, f.line)
			fill(f.x, f.y, f.line, f.h)
			fill(f.x+f.w-f.line, f.y, f.line, f.h)
		}
		outline(frame{0, 0, 90, 30, 0.3})
		if tc.lineAtMM > 0 {
			fill(0, tc.lineAtMM, 90, 0.3)
		}
		if tc.stamp != nil {
			outline(*tc.stamp)
		}
		v := newBoxView(g, box, nil, dpi, nil, nil)
		rects := v.innerRects()
		if !tc.want {
			if len(rects) > 0 {
				t.Errorf("%s: stamps found at %v, want none", name, rects)
			}
			continue
		}
		// The stamp's outer edges in the crop (the box found by its frame
		// is where the drawing's box is).
		s := tc.stamp
		at := func(xmm, ymm float64) image.Point {
			return v.box.Min.Add(image.Pt(int(math.Round(xmm*v.pxmm)), int(math.Round(ymm*v.pxmm))))
		}
		outer := image.Rectangle{at(s.x, s.y), at(s.x+s.w, s.y+s.h)}
		found := false
		for _, r := range rects {
			found = found || outer.Inset(1).In(r) && r.In(outer.Inset(-int(math.Ceil(1.2*v.pxmm))))
		}
		if !found {
			t.Errorf("%s: stamps found at %v, want one at %v", name, rects, outer)
		}
	}
}

// Letters of a neighbour's signature that come in deeper than its tail,
// cut from it where a long flat stroke of theirs was cleared as a printed
// line, are the neighbour's as much as the tail: a cross with them beside
// it is not a signature. The signer's own signature away from them still
// is.
func TestANeighboursLettersBeyondAClearedStroke(t *testing.T) {
	const dpi = 200
	mm := func(v float64) float64 { return v * dpi / 25.4 }
	// Two boxes of 70 x 24 mm side by side, 4 mm apart.
	groom, bride := sideBySide(dpi, 70, 24, 10, 84)
	// The groom's hand: loops along a baseline 14 mm below the boxes'
	// top, from inside his box to 10 mm into hers (crossing her frame on
	// a flat stretch, which clearing the frame leaves whole); when it goes
	// deep, a flat underline their loops stand on, from his box to 28 mm
	// into hers, and more loops on it 12 to 26 mm in.
	loops := func(x0 float64) func(s float64) (float64, float64) {
		return func(s float64) (float64, float64) { return x0 + s + 1.2*math.Sin(s*1.3), 34 + 3*math.Sin(s*1.1) }
	}
	groomHand := func(g *image.Gray, deep bool) {
		penStroke(g, dpi, loops(45.6), 0, 17*math.Pi/1.1)
		if deep {
			penStroke(g, dpi, func(s float64) (float64, float64) { return 70 + s, 37 }, 0, 42)
			penStroke(g, dpi, loops(96), 0, 14)
		}
	}
	cross := func(g *image.Gray) {
		penStroke(g, dpi, func(s float64) (float64, float64) { return 120 + s, 23 + 0.55*s }, 0, 30)
		penStroke(g, dpi, func(s float64) (float64, float64) { return 120 + s, 39.5 - 0.55*s }, 0, 30)
	}
	signs := func(g *image.Gray) {
		penStroke(g, dpi, func(s float64) (float64, float64) {
			return 122 + s + 1.5*math.Sin(s*1.7), 31 + 3.5*math.Sin(s*0.9)
		}, 0, 28)
	}
	for name, tc := range map[string]struct {
		deep bool // the groom's hand goes on past its flat stroke
		mine func(g *image.Gray)
		want Decision
	}{
		"a cross beside his letters coming in 26 mm": {true, cross, Doubtful},
		"his letters coming in 26 mm, and her name":  {true, signs, Signed},
		"his letters coming in 26 mm, nothing else":  {true, func(*image.Gray) {}, Doubtful},
		"a cross beside the end of his hand":         {false, cross, Doubtful},
	} {
		g := image.NewGray(image.Rect(0, 0, int(mm(170)), int(mm(64))))
		draw.Draw(g, g.Rect, image.NewUniform(color.Gray{240}), image.Point{}, draw.Src)
		printFrames(g, dpi, groom, bride)
		groomHand(g, tc.deep)
		tc.mine(g)
		v := analyse(g, bride, []Box{groom}, dpi, nil, nil, false)
		if v.Decision != tc.want {
			t.Errorf("%s: %s %v (ink %.1f mm², span %.1f mm), want %s", name, v.Decision, v.Reasons, v.InkMM2, v.SpanMM, tc.want)
		}
	}
}

// sideBySide is two signers' boxes w x h mm, their tops 20 mm down, the
// first x0 mm from the page's left and the second x1, at dpi.
func sideBySide(dpi float64, w, h, x0, x1 float64) (left, right Box) {
	mm := func(v float64) float64 { return v * dpi / 25.4 }
	rect := func(role string, x float64) Box {
		y0 := mm(20)
		return Box{Role: role, Corners: [4]Point{
			{mm(x), y0}, {mm(x + w), y0}, {mm(x + w), y0 + mm(h)}, {mm(x), y0 + mm(h)}}}
	}
	return rect("sposo", x0), rect("sposa", x1)
}

// printFrames draws the boxes' frames, 0.3 mm wide.
func printFrames(g *image.Gray, dpi float64, boxes ...Box) {
	w := int(0.3 * dpi / 25.4)
	for _, b := range boxes {
		c := b.Corners
		for _, r := range []image.Rectangle{
			image.Rect(int(c[0].X), int(c[0].Y), int(c[1].X), int(c[0].Y)+w),
			image.Rect(int(c[3].X), int(c[3].Y)-w, int(c[2].X), int(c[3].Y)),
			image.Rect(int(c[0].X), int(c[0].Y), int(c[0].X)+w, int(c[3].Y)),
			image.Rect(int(c[1].X)-w, int(c[0].Y), int(c[1].X), int(c[3].Y)),
		} {
			draw.Draw(g, r, image.NewUniform(color.Gray{40}), image.Point{}, draw.Src)
		}
	}
}

// penStroke draws a pen 0.5 mm wide along a path given in mm, at dpi.
func penStroke(g *image.Gray, dpi float64, path func(s float64) (x, y float64), from, to float64) {
	mm := func(v float64) float64 { return v * dpi / 25.4 }
	r := mm(0.25)
	for s := from; s <= to; s += 0.02 {
		x, y := path(s)
		cx, cy := mm(x), mm(y)
		for py := int(cy - r); py <= int(cy+r); py++ {
			for px := int(cx - r); px <= int(cx+r); px++ {
				if math.Hypot(float64(px)-cx, float64(py)-cy) <= r {
					g.SetGray(px, py, color.Gray{25})
				}
			}
		}
	}
}
