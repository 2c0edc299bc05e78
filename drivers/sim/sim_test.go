package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/autografo/autografo/scanner"
)

type scanned struct {
	img   image.Image
	data  []byte
	truth Truth
}

func scanAll(t *testing.T, d *Driver, req scanner.Request) ([]scanned, error) {
	t.Helper()
	dev, err := d.Open(context.Background(), deviceID)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	job, err := dev.Scan(context.Background(), req)
	if err != nil {
		return nil, err
	}
	var out []scanned
	for {
		p, err := job.NextPage(context.Background())
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		data, err := io.ReadAll(p.Body)
		if err != nil {
			return out, err
		}
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("page %d is not a valid JPEG: %v", len(out)+1, err)
		}
		tr, ok := TruthOf(p)
		if !ok {
			t.Fatal("no ground truth on a simulated page")
		}
		if b := img.Bounds(); b.Dx() != tr.Width || b.Dy() != tr.Height || p.Width != tr.Width {
			t.Fatalf("image %v, truth %dx%d, page %dx%d", b, tr.Width, tr.Height, p.Width, p.Height)
		}
		// What the agent checks of every page: the simulator's are as asked.
		caps, _ := dev.Caps(context.Background())
		b := img.Bounds()
		if c := caps.CheckPage(req, b.Dx(), b.Dy()); c.Fit != scanner.FitAsked {
			t.Fatalf("a %dx%d page checked as %+v", b.Dx(), b.Dy(), c)
		}
		out = append(out, scanned{img, data, tr})
	}
}

func newSim(t *testing.T, o Options) *Driver {
	t.Helper()
	d, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// lum is the luminance of a pixel, read from the decoded planes directly:
// the tests look at many pixels, and At with a colour conversion is slow
// under the race detector.
func lum(img image.Image, x, y int) float64 {
	if !(image.Point{x, y}.In(img.Bounds())) {
		return 255
	}
	switch m := img.(type) {
	case *image.Gray:
		return float64(m.Pix[m.PixOffset(x, y)])
	case *image.YCbCr:
		return float64(m.Y[m.YOffset(x, y)])
	}
	return float64(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
}

// topEdgeAngle fits a line to the printed top edge of a box, found in the
// pixels near where the truth puts it, and returns its angle in degrees
// (clockwise as seen, like Truth.SkewDeg).
func topEdgeAngle(t *testing.T, s scanned, r RectMM) float64 {
	t.Helper()
	x0, y0 := s.truth.ToScan(r.X, r.Y)
	x1, y1 := s.truth.ToScan(r.X+r.W, r.Y)
	var n, sx, sy, sxx, sxy float64
	const window = 8 // px; the label above is further than this at 150 dpi
	for i := 1; i < 40; i++ {
		f := float64(i) / 40
		x := x0 + (x1-x0)*f
		yExp := y0 + (y1-y0)*f
		// Darkness-weighted centre of the line in this column.
		var w, wy float64
		for y := int(yExp) - window; y <= int(yExp)+window; y++ {
			d := 255 - lum(s.img, int(x), y)
			if d > 127 {
				w += d
				wy += d * (float64(y) + 0.5)
			}
		}
		if w == 0 {
			t.Fatalf("no printed line near the top edge of box %+v at x=%.0f", r, x)
		}
		yc := wy / w
		n++
		sx += x
		sy += yc
		sxx += x * x
		sxy += x * yc
	}
	slope := (n*sxy - sx*sy) / (n*sxx - sx*sx)
	return math.Atan(slope) * 180 / math.Pi
}

func TestReportedSkewIsTheSkewOfThePixels(t *testing.T) {
	for _, tc := range []struct {
		skew float64
		dpi  int
	}{{-9.5, 150}, {-2.5, 150}, {0, 150}, {3.3, 150}, {7, 300}} {
		skew := tc.skew
		d := newSim(t, Options{Seed: 7, SkewDeg: &skew})
		pages, err := scanAll(t, d, scanner.Request{Source: scanner.Platen, DPI: tc.dpi, Color: scanner.Gray})
		if err != nil {
			t.Fatal(err)
		}
		s := pages[0]
		if s.truth.SkewDeg != skew {
			t.Errorf("truth skew %.2f, asked %.2f", s.truth.SkewDeg, skew)
		}
		if len(s.truth.Boxes) != len(DefaultAct().Signers) {
			t.Fatalf("%d boxes on a one-page act, want one per signer", len(s.truth.Boxes))
		}
		for _, b := range s.truth.Boxes {
			got := topEdgeAngle(t, s, b.RectMM)
			if math.Abs(got-skew) > 0.1 {
				t.Errorf("skew %.2f at %d dpi: the %s box's edge is at %.3f°", skew, tc.dpi, b.Role, got)
			}
		}
	}
}

func TestRandomSkewStaysWithinBounds(t *testing.T) {
	for _, max := range []float64{4, 10} {
		d := newSim(t, Options{Seed: 3, MaxSkewDeg: max})
		var seen float64
		for i := range 40 {
			_, skew := d.pageRandom(1, i+1)
			if math.Abs(skew) > max {
				t.Errorf("skew %.2f beyond ±%.0f", skew, max)
			}
			seen = math.Max(seen, math.Abs(skew))
		}
		if seen < max/2 {
			t.Errorf("40 pages with skew at most %.2f: the random skew does not use its range ±%.0f", seen, max)
		}
		// And a rendered page reports the skew it was drawn with.
		_, want := d.pageRandom(1, 1)
		_, tr, err := d.render(1, 1, 1, scanner.Request{DPI: 150, Color: scanner.Gray})
		if err != nil || tr.SkewDeg != want {
			t.Errorf("rendered skew %.3f, drawn %.3f (%v)", tr.SkewDeg, want, err)
		}
	}
}

// edgeDark reports the share of points along a box edge where a dark line is
// found within tol pixels.
func edgeDark(s scanned, ax, ay, bx, by float64, tol int) float64 {
	hit := 0
	const n = 30
	for i := 1; i <= n; i++ {
		f := (float64(i) - 0.5) / n
		x, y := ax+(bx-ax)*f, ay+(by-ay)*f
		darkest := 255.0
		for dy := -tol; dy <= tol; dy++ {
			for dx := -tol; dx <= tol; dx++ {
				darkest = math.Min(darkest, lum(s.img, int(x)+dx, int(y)+dy))
			}
		}
		if darkest < 110 {
			hit++
		}
	}
	return float64(hit) / n
}

// inkInside counts dark pixels well inside a box: away from its printed
// lines, where only a signature can be.
func inkInside(s scanned, r RectMM) (dark, total int) {
	const inset = 2.0 // mm
	for ymm := r.Y + inset; ymm < r.Y+r.H-inset; ymm += 0.25 {
		for xmm := r.X + inset; xmm < r.X+r.W-inset; xmm += 0.25 {
			x, y := s.truth.ToScan(xmm, ymm)
			total++
			if lum(s.img, int(x), int(y)) < 120 {
				dark++
			}
		}
	}
	return dark, total
}

func TestBoxesAreWhereThePixelsAre(t *testing.T) {
	for _, rot := range []int{0, 90, 180, 270} {
		skew := 2.0
		d := newSim(t, Options{Seed: 11, SkewDeg: &skew, Rotation: rot, Unsigned: []Role{Sposa, Testimone2}})
		pages, err := scanAll(t, d, scanner.Request{Source: scanner.Platen, DPI: 150, Color: scanner.Color})
		if err != nil {
			t.Fatal(err)
		}
		s := pages[0]
		if s.truth.Rotation != rot {
			t.Errorf("truth rotation %d, asked %d", s.truth.Rotation, rot)
		}
		if portrait := s.truth.Height > s.truth.Width; portrait != (rot == 0 || rot == 180) {
			t.Errorf("rotation %d: scan is %dx%d", rot, s.truth.Width, s.truth.Height)
		}
		for _, b := range s.truth.Boxes {
			c := b.Corners
			for k := range 4 {
				a, z := c[k], c[(k+1)%4]
				if got := edgeDark(s, float64(a.X), float64(a.Y), float64(z.X), float64(z.Y), 2); got < 0.95 {
					t.Errorf("rotation %d, %s box: only %.0f%% of edge %d is on a printed line", rot, b.Role, got*100, k)
				}
			}
			for _, p := range c {
				if !p.In(b.Bounds.Inset(-1)) {
					t.Errorf("corner %v outside bounds %v", p, b.Bounds)
				}
			}
			dark, total := inkInside(s, b.RectMM)
			wantSigned := b.Role != Sposa && b.Role != Testimone2
			if b.Signed != wantSigned {
				t.Errorf("%s: truth says signed=%v", b.Role, b.Signed)
			}
			share := float64(dark) / float64(total)
			if b.Signed && share < 0.01 {
				t.Errorf("rotation %d, %s signed but only %.2f%% ink inside", rot, b.Role, share*100)
			}
			if !b.Signed && dark > 0 {
				t.Errorf("rotation %d, %s empty but %d dark pixels inside", rot, b.Role, dark)
			}
		}
	}
}

func TestStrokesLeaveTheBoxNowAndThen(t *testing.T) {
	d := newSim(t, Options{Seed: 5})
	leaves, boxes := 0, 0
	for i := range 4 {
		_, tr, err := d.render(uint64(i+1), 1, 1, scanner.Request{DPI: 150, Color: scanner.Gray})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range tr.Boxes {
			boxes++
			if b.InkLeavesBox {
				leaves++
			}
		}
	}
	if boxes != 4*len(DefaultAct().Signers) {
		t.Fatalf("%d boxes on 4 one-page acts", boxes)
	}
	if leaves == 0 || leaves == boxes {
		t.Errorf("%d of %d signatures leave their box: want some, not all", leaves, boxes)
	}
}

func TestDeterministicFromSeed(t *testing.T) {
	req := scanner.Request{Source: scanner.Platen, DPI: 150, Color: scanner.Gray}
	a, err := scanAll(t, newSim(t, Options{Seed: 42}), req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := scanAll(t, newSim(t, Options{Seed: 42}), req)
	c, _ := scanAll(t, newSim(t, Options{Seed: 43}), req)
	if !bytes.Equal(a[0].data, b[0].data) {
		t.Error("same seed, different pages")
	}
	if bytes.Equal(a[0].data, c[0].data) {
		t.Error("different seeds, same page")
	}
}

func TestResolutionAndColourMode(t *testing.T) {
	d := newSim(t, Options{Seed: 1})
	for _, tc := range []struct {
		dpi   int
		color scanner.ColorMode
	}{{150, scanner.Gray}, {200, scanner.Color}} {
		pages, err := scanAll(t, d, scanner.Request{Source: scanner.Platen, DPI: tc.dpi, Color: tc.color})
		if err != nil {
			t.Fatal(err)
		}
		s := pages[0]
		// A4 plus the bed border on each side.
		wantW := int(math.Round(210.0/25.4*float64(tc.dpi)) + 2*math.Round(borderMM/25.4*float64(tc.dpi)))
		if s.truth.Width != wantW {
			t.Errorf("%d dpi: width %d, want %d", tc.dpi, s.truth.Width, wantW)
		}
		_, isGray := s.img.(*image.Gray)
		if isGray != (tc.color == scanner.Gray) {
			t.Errorf("%s: decoded as %T", tc.color, s.img)
		}
	}
	if _, err := scanAll(t, d, scanner.Request{Source: scanner.Platen, DPI: 1200, Color: scanner.Gray}); !errors.Is(err, scanner.ErrUnsupported) {
		t.Errorf("1200 dpi: %v, want ErrUnsupported", err)
	}
}

func TestFeederGivesEveryPageThenEOF(t *testing.T) {
	d := newSim(t, Options{Seed: 1, FeederPages: 4})
	pages, err := scanAll(t, d, scanner.Request{Source: scanner.Feeder, DPI: 150, Color: scanner.Gray})
	if err != nil || len(pages) != 4 {
		t.Fatalf("feeder: %d pages, %v; want 4", len(pages), err)
	}
	for i, p := range pages {
		if p.truth.Page != i+1 || p.truth.Pages != 4 {
			t.Errorf("page %d reports %d of %d", i+1, p.truth.Page, p.truth.Pages)
		}
		if hasBoxes := len(p.truth.Boxes) > 0; hasBoxes != (i == 3) {
			t.Errorf("page %d: %d boxes; the signature block is on the last page", i+1, len(p.truth.Boxes))
		}
	}
	platen, _ := scanAll(t, d, scanner.Request{Source: scanner.Platen, DPI: 150, Color: scanner.Gray})
	if len(platen) != 1 {
		t.Errorf("platen: %d pages, want 1", len(platen))
	}
}

func TestFaults(t *testing.T) {
	feeder := scanner.Request{Source: scanner.Feeder, DPI: 150, Color: scanner.Gray}
	t.Run("busy", func(t *testing.T) {
		d := newSim(t, Options{Faults: []Fault{{Kind: FaultBusy}}})
		if _, err := scanAll(t, d, feeder); !errors.Is(err, scanner.ErrBusy) {
			t.Fatalf("got %v, want ErrBusy", err)
		}
		if p, err := scanAll(t, d, feeder); err != nil || len(p) != 3 {
			t.Fatalf("next job: %d pages, %v", len(p), err)
		}
	})
	t.Run("jam then the rest of the act", func(t *testing.T) {
		d := newSim(t, Options{FeederPages: 3})
		d.Inject(Fault{Kind: FaultJam, AfterPage: 2})
		p, err := scanAll(t, d, feeder)
		if !errors.Is(err, scanner.ErrJammed) || len(p) != 2 {
			t.Fatalf("got %d pages, %v; want 2 then ErrJammed", len(p), err)
		}
		p, err = scanAll(t, d, feeder)
		if err != nil || len(p) != 1 || p[0].truth.Page != 3 {
			t.Fatalf("retry: %d pages, %v; want page 3 alone", len(p), err)
		}
		p, _ = scanAll(t, d, feeder)
		if len(p) != 3 {
			t.Fatalf("after a complete act the feeder holds it again: %d pages", len(p))
		}
	})
	t.Run("empty feeder", func(t *testing.T) {
		d := newSim(t, Options{Faults: []Fault{{Kind: FaultNoDocs}}})
		if p, err := scanAll(t, d, feeder); !errors.Is(err, scanner.ErrNoDocs) || len(p) != 0 {
			t.Fatalf("got %d pages, %v; want ErrNoDocs", len(p), err)
		}
	})
	t.Run("gone mid-page", func(t *testing.T) {
		now := time.Unix(1000, 0)
		d := newSim(t, Options{Faults: []Fault{{Kind: FaultGone, AfterPage: 1}}, GoneFor: 3 * time.Second})
		d.now = func() time.Time { return now }
		p, err := scanAll(t, d, feeder)
		if !errors.Is(err, scanner.ErrGone) || len(p) != 1 {
			t.Fatalf("got %d pages, %v; want 1 then ErrGone while reading page 2", len(p), err)
		}
		if l, _ := d.Discover(context.Background()); len(l) != 0 {
			t.Fatalf("an unplugged device is still discovered: %v", l)
		}
		if _, err := d.Open(context.Background(), deviceID); !errors.Is(err, scanner.ErrNotFound) {
			t.Fatalf("Open while unplugged: %v", err)
		}
		now = now.Add(3 * time.Second)
		if l, _ := d.Discover(context.Background()); len(l) != 1 {
			t.Fatal("the device did not come back")
		}
		p, err = scanAll(t, d, feeder)
		if err != nil || len(p) != 2 || p[0].truth.Page != 2 {
			t.Fatalf("after replug: %d pages, %v; want pages 2 and 3", len(p), err)
		}
	})
}

func TestParseFaults(t *testing.T) {
	got, err := ParseFaults("jam@2, busy,gone@0,nodocs")
	if err != nil {
		t.Fatal(err)
	}
	want := []Fault{{FaultJam, 2}, {FaultBusy, 0}, {FaultGone, 0}, {FaultNoDocs, 0}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("fault %d = %v, want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"fire", "jam@x", "jam@-1"} {
		if _, err := ParseFaults(bad); err == nil {
			t.Errorf("ParseFaults(%q) accepted", bad)
		}
	}
}

func TestOptionsAreChecked(t *testing.T) {
	big := 12.0
	for _, o := range []Options{{MaxSkewDeg: 11}, {SkewDeg: &big}, {Rotation: 45}, {FeederPages: -1}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

// Paper loaded while running takes the place of the simulator's own act
// from the next job: every page of it, each drawn once, signed in its
// boxes except by the signers left unsigned.
func TestLoadedPaperIsWhatTheFeederHolds(t *testing.T) {
	d := newSim(t, Options{Seed: 1, FeederPages: 4, Unsigned: []Role{Testimone2}})
	drawn := map[int]int{}
	white := func(page int) (image.Image, error) {
		drawn[page]++
		img := image.NewGray(image.Rect(0, 0, 420, 594)) // A4 at 50 dpi
		for i := range img.Pix {
			img.Pix[i] = 255
		}
		return img, nil
	}
	boxes := [][]PaperBox{
		{{Role: Sposo, Rect: RectMM{X: 20, Y: 200, W: 70, H: 25}}},
		{{Role: Testimone1, Rect: RectMM{X: 20, Y: 200, W: 70, H: 25}}, {Role: Testimone2, Rect: RectMM{X: 110, Y: 200, W: 70, H: 25}}},
	}
	if err := d.LoadPaper(Printed{Pages: 2, Draw: white, Boxes: boxes}); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		pages, err := scanAll(t, d, scanner.Request{Source: scanner.Feeder, DPI: 150, Color: scanner.Gray})
		if err != nil || len(pages) != 2 {
			t.Fatalf("round %d: %d pages, %v; want the 2 loaded", round, len(pages), err)
		}
		var got []string
		for _, p := range pages {
			for _, b := range p.truth.Boxes {
				got = append(got, fmt.Sprintf("%d:%s:%v", p.truth.Page, b.Role, b.Signed))
			}
		}
		if want := "1:sposo:true 2:testimone1:true 2:testimone2:false"; strings.Join(got, " ") != want {
			t.Errorf("round %d: boxes %v, want %s", round, got, want)
		}
	}
	if drawn[1] != 1 || drawn[2] != 1 {
		t.Errorf("pages drawn %v times, want once each", drawn)
	}
	if err := d.LoadPaper(Printed{Pages: 0, Draw: white}); err == nil {
		t.Error("paper of no pages accepted")
	}
}

// A box left empty in the feeder is signed once its page comes back on the
// glass: the next platen scan is that page, every box signed; after it the
// glass holds the act's first page again.
func TestUnsignedPageComesBackSignedOnTheGlass(t *testing.T) {
	d := newSim(t, Options{Seed: 3, FeederPages: 4, Unsigned: []Role{Testimone2}})
	feeder, err := scanAll(t, d, scanner.Request{Source: scanner.Feeder, DPI: 150, Color: scanner.Gray})
	if err != nil || len(feeder) != 4 {
		t.Fatalf("feeder: %d pages, %v", len(feeder), err)
	}
	empty := 0
	for _, b := range feeder[3].truth.Boxes {
		if !b.Signed {
			empty++
		}
	}
	if empty != 1 {
		t.Fatalf("%d empty boxes on the signature page, want 1", empty)
	}
	glass, err := scanAll(t, d, scanner.Request{Source: scanner.Platen, DPI: 150, Color: scanner.Gray})
	if err != nil || len(glass) != 1 {
		t.Fatalf("platen: %d pages, %v", len(glass), err)
	}
	if tr := glass[0].truth; tr.Page != 4 || tr.Pages != 4 || len(tr.Boxes) == 0 || slices.ContainsFunc(tr.Boxes, func(b BoxTruth) bool { return !b.Signed }) {
		t.Errorf("the page on the glass: page %d of %d, boxes %+v", tr.Page, tr.Pages, tr.Boxes)
	}
	again, _ := scanAll(t, d, scanner.Request{Source: scanner.Platen, DPI: 150, Color: scanner.Gray})
	if len(again) != 1 || again[0].truth.Page != 1 {
		t.Errorf("the glass after the retake holds page %d", again[0].truth.Page)
	}
}

// A single page fed the wrong way round turns alone.
func TestTurnsOfSinglePages(t *testing.T) {
	d := newSim(t, Options{Seed: 1, FeederPages: 3, Turns: map[int]int{2: 180}})
	pages, err := scanAll(t, d, scanner.Request{Source: scanner.Feeder, DPI: 150, Color: scanner.Gray})
	if err != nil || len(pages) != 3 {
		t.Fatal(len(pages), err)
	}
	for i, want := range []int{0, 180, 0} {
		if got := pages[i].truth.Rotation; got != want {
			t.Errorf("page %d turned %d, want %d", i+1, got, want)
		}
	}
	if _, err := New(Options{Turns: map[int]int{1: 45}}); err == nil {
		t.Error("a turn of 45 degrees accepted")
	}
}

// Duplex from the feeder: each sheet's front, then its blank back (paper
// and the scanner's noise, nothing printed); the glass does not scan both
// sides.
func TestDuplexGivesEachSheetsBlankBack(t *testing.T) {
	d := newSim(t, Options{Seed: 1, FeederPages: 3})
	dev, err := d.Open(context.Background(), deviceID)
	if err != nil {
		t.Fatal(err)
	}
	caps, _ := dev.Caps(context.Background())
	if err := caps.Supports(scanner.Request{Source: scanner.Feeder, DPI: 300, Color: scanner.Gray, Duplex: true}); err != nil {
		t.Fatalf("duplex from the feeder: %v", err)
	}
	if err := caps.Supports(scanner.Request{Source: scanner.Platen, DPI: 300, Color: scanner.Gray, Duplex: true}); !errors.Is(err, scanner.ErrUnsupported) {
		t.Errorf("duplex from the glass: %v", err)
	}
	pages, err := scanAll(t, d, scanner.Request{Source: scanner.Feeder, DPI: 150, Color: scanner.Gray, Duplex: true})
	if err != nil || len(pages) != 6 {
		t.Fatalf("3 sheets duplex: %d pages, %v; want 6", len(pages), err)
	}
	for i, p := range pages {
		sheet, back := i/2+1, i%2 == 1
		if p.truth.Page != sheet || p.truth.Back != back {
			t.Errorf("page %d is sheet %d back=%v, want sheet %d back=%v", i+1, p.truth.Page, p.truth.Back, sheet, back)
		}
		// A back's paper: in the middle of the sheet (away from its
		// edges and the bed) no pixel is far darker than the paper.
		if back {
			g := p.img.(*image.Gray)
			b := g.Bounds()
			inner := image.Rect(b.Dx()/8, b.Dy()/8, b.Dx()*7/8, b.Dy()*7/8)
			for y := inner.Min.Y; y < inner.Max.Y; y++ {
				for x := inner.Min.X; x < inner.Max.X; x++ {
					if v := g.GrayAt(x, y).Y; v < 200 {
						t.Fatalf("back of sheet %d: pixel (%d,%d) is %d, ink on a blank back", sheet, x, y, v)
					}
				}
			}
		}
	}
}
