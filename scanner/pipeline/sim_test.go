package pipeline

import (
	"context"
	"io"
	"testing"

	"github.com/autografo/autografo/drivers/sim"
	"github.com/autografo/autografo/scanner"
)

// simPage is page n of a simulated act scanned at dpi with the given skew
// and quarter turn, with its ground truth.
type simSpec struct {
	dpi      int
	skew     float64
	rotation int
	page     int // 1-based; the act has 3, boxes on the last
	seed     uint64
	noBed    bool
	unsigned []sim.Role
	color    bool
	strayDot bool
	penInk   uint8
}

func simPage(t testing.TB, s simSpec) ([]byte, sim.Truth) {
	t.Helper()
	skew := s.skew
	eff := sim.DefaultEffects()
	if s.noBed {
		eff.Bed = 250
	}
	d, err := sim.New(sim.Options{Seed: s.seed, SkewDeg: &skew, Rotation: s.rotation, Effects: &eff, FeederPages: 3, Unsigned: s.unsigned,
		StrayDot: s.strayDot, PenInk: s.penInk})
	if err != nil {
		t.Fatal(err)
	}
	return pageOf(t, d, s.dpi, s.color, s.page)
}

// pageOf scans the simulator's feeder and returns page n (0: the last).
func pageOf(t testing.TB, d *sim.Driver, dpi int, colour bool, n int) ([]byte, sim.Truth) {
	t.Helper()
	ctx := context.Background()
	dev, _ := d.Open(ctx, "sim:0")
	color := scanner.Gray
	if colour {
		color = scanner.Color
	}
	job, err := dev.Scan(ctx, scanner.Request{Source: scanner.Feeder, DPI: dpi, Color: color})
	if err != nil {
		t.Fatal(err)
	}
	var data []byte
	var truth sim.Truth
	for i := 1; ; i++ {
		p, err := job.NextPage(ctx)
		if err == io.EOF {
			return data, truth
		}
		if err != nil {
			t.Fatal(err)
		}
		truth, _ = sim.TruthOf(p)
		if data, err = io.ReadAll(p.Body); err != nil {
			t.Fatal(err)
		}
		if i == n {
			return data, truth
		}
	}
}

// boxesOf turns the simulator's ground-truth boxes into the pipeline's.
func boxesOf(truth sim.Truth) []Box {
	var boxes []Box
	for _, b := range truth.Boxes {
		var c [4]Point
		for i, p := range b.Corners {
			c[i] = Point{float64(p.X), float64(p.Y)}
		}
		boxes = append(boxes, Box{Role: string(b.Role), Label: b.Label, Corners: c})
	}
	return boxes
}
