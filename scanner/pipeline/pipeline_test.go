package pipeline

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"slices"
	"testing"

	"github.com/autografo/autografo/drivers/sim"
	"github.com/autografo/autografo/scanner/jpegturbo"
)

// The page's skew and orientation from the page alone, against the
// simulator's truth: skews across ±10°, every quarter turn, 150 to 600
// dpi, with and without the dark scanner bed, text pages and the page with
// the signature boxes.
func TestGeometryOnSimulatedPages(t *testing.T) {
	for _, s := range []simSpec{
		{dpi: 300, skew: 0.4},
		{dpi: 300, skew: -7.7, page: 3},
		{dpi: 150, skew: 9.5, rotation: 180},
		{dpi: 300, skew: -3.1, rotation: 90},
		{dpi: 300, skew: 4.4, rotation: 270, page: 3},
		{dpi: 600, skew: 0.07, noBed: true},
		{dpi: 300, skew: -9.9, noBed: true, page: 2},
		{dpi: 150, skew: 2.2, rotation: 270, color: true},
	} {
		if short(s.dpi) {
			continue
		}
		data, truth := simPage(t, s)
		g, err := Decode(data, "image/jpeg")
		if err != nil {
			t.Fatal(err)
		}
		geo := EstimateGeometry(g, s.dpi)
		// A turn is never trusted wrong. At 150 dpi a page skewed far
		// may leave up and down to the officer; from 300 dpi it must not.
		wrongTurn := geo.OrientationTrusted && geo.Orientation != truth.Rotation
		untrusted := !geo.OrientationTrusted && s.dpi > 150
		if e := math.Abs(geo.SkewDeg - truth.SkewDeg); e > 0.1 || wrongTurn || untrusted || !geo.Trusted {
			t.Errorf("%+v: skew %.3f (error %.3f), turned %d, trusted %v/%v", s, geo.SkewDeg, e, geo.Orientation, geo.Trusted, geo.OrientationTrusted)
		}
		if !geo.OrientationTrusted {
			t.Logf("%+v: up and down left to the officer", s)
		}
	}
}

// A page with nothing on it gives no trusted angle, so nothing would be
// rotated.
func TestBlankPageIsNotTrusted(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 1240, 1754))
	for i := range g.Pix {
		g.Pix[i] = 235
	}
	if geo := EstimateGeometry(g, 150); geo.Trusted {
		t.Fatalf("blank page: %+v", geo)
	}
}

// Every box of the simulated acts decided as the truth says: signed boxes
// signed (or at worst doubtful), empty ones empty, with stray dots, faint
// pens, pages upside down and sideways, 150 to 600 dpi.
func TestDecisionsOnSimulatedPages(t *testing.T) {
	specs := []simSpec{
		{dpi: 300, skew: 2.3, page: 3, seed: 1},
		{dpi: 150, skew: -6, rotation: 180, page: 3, seed: 2, unsigned: []sim.Role{sim.Testimone1}, strayDot: true},
		{dpi: 300, skew: 1, rotation: 90, page: 3, seed: 3, unsigned: []sim.Role{sim.Sposa, sim.Ufficiale}},
		{dpi: 300, skew: -1.5, page: 3, seed: 4, penInk: 175},
		{dpi: 600, skew: 8, page: 3, seed: 5, unsigned: []sim.Role{sim.Sposo}, strayDot: true, noBed: true},
		{dpi: 200, skew: -8, rotation: 270, page: 3, seed: 6, color: true, penInk: 190},
	}
	counts := map[string]int{}
	for _, s := range specs {
		if short(s.dpi) {
			continue
		}
		data, truth := simPage(t, s)
		res, err := Process(data, "image/jpeg", s.dpi, boxesOf(truth), Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range res.Verdicts {
			b := truth.Boxes[i]
			counts[string(v.Decision)]++
			switch {
			case b.Signed && v.Decision == Empty, !b.Signed && v.Decision == Signed:
				t.Errorf("%+v %s: signed %v, decided %s %v (ink %.1f mm², span %.1f mm)", s, v.Role, b.Signed, v.Decision, v.Reasons, v.InkMM2, v.SpanMM)
			case b.Signed && v.Signature == nil:
				t.Errorf("%+v %s: signed but no signature image", s, v.Role)
			case !b.Signed && v.Signature != nil:
				t.Errorf("%+v %s: empty box with a signature image", s, v.Role)
			}
			if b.Signed && s.penInk >= 160 && !slices.Contains(v.Reasons, ReasonFaint) {
				t.Errorf("%+v %s: faint pen not reported: %v", s, v.Role, v.Reasons)
			}
			if b.Signed && s.penInk == 0 && slices.Contains(v.Reasons, ReasonFaint) {
				t.Errorf("%+v %s: a black pen reported faint", s, v.Role)
			}
			if !b.Signed && s.strayDot && !slices.Contains(v.Reasons, ReasonStrayMark) && !slices.Contains(v.Reasons, ReasonDot) {
				t.Errorf("%+v %s: stray dot not reported: %v", s, v.Role, v.Reasons)
			}
			if b.Signed && b.InkLeavesBox != slices.Contains(v.Reasons, ReasonCrossesEdge) {
				t.Errorf("%+v %s: ink leaves the box %v, reasons %v", s, v.Role, b.InkLeavesBox, v.Reasons)
			}
		}
	}
	t.Logf("decisions: %v", counts)
}

// The normalized signature: a gray PNG at 300 dpi, white paper, no taller
// than the bound, and ink in several gray levels (not thresholded).
func TestNormalizedSignature(t *testing.T) {
	dpi := 600
	if testing.Short() {
		dpi = 400
	}
	data, truth := simPage(t, simSpec{dpi: dpi, skew: 3, page: 3, seed: 9})
	res, err := Process(data, "image/jpeg", dpi, boxesOf(truth)[:1], Options{PreviewSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	v := res.Verdicts[0]
	img, err := png.Decode(bytes.NewReader(v.Signature))
	if err != nil {
		t.Fatal(err)
	}
	g, ok := img.(*image.Gray)
	if !ok {
		t.Fatalf("signature is %T, want gray", img)
	}
	// The ink's extent scaled to 300 dpi.
	if want := v.Ink.Dx() * 300 / min(dpi, analysisDPI); math.Abs(float64(g.Rect.Dx()-want)) > float64(want)/4+30 || g.Rect.Dy() > MaxSignatureHeight {
		t.Errorf("signature %v for ink %v at 600 dpi", g.Rect, v.Ink)
	}
	levels := map[uint8]bool{}
	white := 0
	for _, p := range g.Pix {
		levels[p] = true
		if p == 255 {
			white++
		}
	}
	if len(levels) < 20 || white < len(g.Pix)/2 {
		t.Errorf("%d gray levels, %d of %d pixels white", len(levels), white, len(g.Pix))
	}
	if res.Preview != nil {
		t.Error("a preview was made although none was asked for")
	}
}

// The preview is a JPEG of about 1200 px on its long side.
func TestPreview(t *testing.T) {
	data, _ := simPage(t, simSpec{dpi: 300, skew: 1})
	res, err := Process(data, "image/jpeg", 300, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(res.Preview))
	if err != nil || max(cfg.Width, cfg.Height) > 1200 || max(cfg.Width, cfg.Height) < 1000 {
		t.Fatalf("preview %+v %v", cfg, err)
	}
}

func TestBadInput(t *testing.T) {
	var buf bytes.Buffer
	jpegturbo.Encode(&buf, image.NewGray(image.Rect(0, 0, 64, 64)), 80)
	good := buf.Bytes()
	// A PNG whose header claims 100000 x 100000 pixels.
	var pbuf bytes.Buffer
	png.Encode(&pbuf, image.NewGray(image.Rect(0, 0, 4, 4)))
	huge := bytes.Clone(pbuf.Bytes())
	copy(huge[16:24], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0})
	binary.BigEndian.PutUint32(huge[29:33], crc32.ChecksumIEEE(huge[12:29])) // IHDR's CRC
	for name, tc := range map[string]struct {
		data []byte
		mt   string
		want error
	}{
		"empty":       {nil, "image/jpeg", ErrDecode},
		"truncated":   {good[:len(good)/2], "image/jpeg", ErrDecode},
		"garbage":     {[]byte("not an image at all"), "image/png", ErrDecode},
		"huge header": {huge, "image/png", ErrTooLarge},
		"absurd dpi":  {good, "image/jpeg", ErrDecode},
	} {
		dpi := 300
		if name == "absurd dpi" {
			dpi = 0
		}
		if _, err := Process(tc.data, tc.mt, dpi, nil, Options{}); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

// Whatever bytes arrive as a page, and whatever box a layout gives, the
// analysis returns a result or a typed error.
func FuzzProcess(f *testing.F) {
	var buf bytes.Buffer
	jpegturbo.Encode(&buf, image.NewGray(image.Rect(0, 0, 120, 90)), 80)
	f.Add(buf.Bytes(), "image/jpeg", 2.0, 2.0, 60.0, 40.0)
	buf.Reset()
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 20, 10)))
	f.Add(buf.Bytes(), "image/png", 1.0, 1.0, 19.0, 9.0)
	f.Add([]byte("P5\n4 2\n255\n\x00\x01\x02\x03\x04\x05\x06\x07"), "image/x-portable-graymap", 0.0, 0.0, 1e308, 1e308)
	f.Add(buf.Bytes(), "image/png", math.NaN(), 0.0, 60000.0, 40000.0)
	f.Fuzz(func(t *testing.T, data []byte, mediaType string, x0, y0, x1, y1 float64) {
		box := Box{Role: "sposo", Corners: [4]Point{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}}
		res, err := Process(data, mediaType, 150, []Box{box}, Options{PreviewSize: 100})
		if err != nil {
			if !errors.Is(err, ErrDecode) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrLayout) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(res.Verdicts) != 1 || res.Width <= 0 {
			t.Fatalf("result %+v", res)
		}
	})
}

// Layouts the page cannot hold are refused, typed, before anything is
// allocated for them.
func TestUnusableLayoutsAreRefused(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 1240, 1754)) // A4 at 150 dpi
	rect := func(x0, y0, x1, y1 float64) Box {
		return Box{Role: "sposo", Corners: [4]Point{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}}
	}
	for name, tc := range map[string]struct {
		box  Box
		want error
	}{
		"inside":           {rect(100, 100, 500, 250), nil},
		"a little off":     {rect(1100, 100, 1300, 250), nil},
		"far off":          {rect(5000, 100, 5400, 250), ErrLayout},
		"huge":             {rect(0, 0, 60000, 40000), ErrLayout},
		"at 1e308":         {rect(0, 0, 1e308, 1e308), ErrLayout},
		"not a number":     {rect(math.NaN(), 0, 100, 100), ErrLayout},
		"infinite":         {rect(0, math.Inf(-1), 100, 100), ErrLayout},
		"smaller than 2mm": {rect(100, 100, 105, 105), ErrLayout},
	} {
		_, err := ProcessImage(g, 150, []Box{tc.box}, Options{PreviewSize: -1})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

// card cuts a region around one of a simulated page's boxes, as a card
// with a label and one signature box, scanned on its own.
func card(t *testing.T, signed bool) ([]byte, image.Rectangle) {
	t.Helper()
	var unsigned []sim.Role
	if !signed {
		unsigned = []sim.Role{sim.Sposo}
	}
	data, truth := simPage(t, simSpec{dpi: 300, page: 3, seed: 21, unsigned: unsigned, noBed: true})
	g, err := Decode(data, "image/jpeg")
	if err != nil {
		t.Fatal(err)
	}
	box := truth.Boxes[0].Bounds
	region := box.Inset(-180).Intersect(g.Rect)
	c := g.SubImage(region).(*image.Gray)
	var buf bytes.Buffer
	if err := jpegturbo.Encode(&buf, c, 90); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), box.Sub(region.Min)
}

// Without a layout, the free-form mode finds the one signature on a card
// and leaves it to the officer, never signed on its own word; a card with
// an empty box gives no signature.
func TestFreeFormSignature(t *testing.T) {
	data, box := card(t, true)
	res, err := Process(data, "image/jpeg", 300, nil, Options{FreeForm: true, PreviewSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Verdicts) != 1 || res.Verdicts[0].Decision != Doubtful || !slices.Contains(res.Verdicts[0].Reasons, ReasonNoLayout) ||
		res.Verdicts[0].Signature == nil || res.Verdicts[0].Role != FreeFormRole {
		t.Fatalf("signed card: %+v", res.Verdicts)
	}
	// The found region's centre lies in the printed box.
	data2, _ := card(t, false)
	g, _ := Decode(data, "image/jpeg")
	found, ok := FindSignature(g, 300)
	cx, cy := (found.Corners[0].X+found.Corners[2].X)/2, (found.Corners[0].Y+found.Corners[2].Y)/2
	if !ok || !image.Pt(int(cx), int(cy)).In(box) {
		t.Errorf("signature found at %+v, the box is %v", found, box)
	}
	res, err = Process(data2, "image/jpeg", 300, nil, Options{FreeForm: true, PreviewSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Verdicts) != 0 {
		t.Errorf("a card with an empty box: %+v", res.Verdicts)
	}
}

// short leaves out the 600 dpi pages when the tests run under the race
// detector (make test runs them again in full without it).
func short(dpi int) bool { return testing.Short() && dpi >= 600 }
