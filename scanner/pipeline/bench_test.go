package pipeline

import (
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/autografo/autografo/drivers/sim"
)

// sixBoxes is the last page of a marriage with an interpreter: six boxes.
func sixBoxes(b *testing.B, dpi int) ([]byte, []Box) {
	b.Helper()
	skew := 3.5
	act := sim.DefaultAct()
	act.Signers = append(act.Signers[:4:4], sim.Signer{Role: sim.Interprete, Name: "Sara Conti"}, act.Signers[4])
	d, err := sim.New(sim.Options{Seed: 7, SkewDeg: &skew, Act: act, FeederPages: 1})
	if err != nil {
		b.Fatal(err)
	}
	data, truth := pageOf(b, d, dpi, false, 0)
	if len(truth.Boxes) != 6 {
		b.Fatalf("%d boxes", len(truth.Boxes))
	}
	return data, boxesOf(truth)
}

// BenchmarkProcess: a gray A4 JPEG page with six boxes, from bytes to
// decisions, normalized signatures and a 1200 px preview. Targets: median
// 200 ms at 300 dpi, 700 ms at 600 dpi, on two cores.
func BenchmarkProcess(b *testing.B) {
	for _, dpi := range []int{300, 600} {
		b.Run(fmt.Sprintf("%ddpi", dpi), func(b *testing.B) {
			data, boxes := sixBoxes(b, dpi)
			b.ResetTimer()
			for b.Loop() {
				res, err := Process(data, "image/jpeg", dpi, boxes, Options{})
				if err != nil || len(res.Verdicts) != 6 {
					b.Fatal(err)
				}
			}
		})
	}
}

var accuracyReport = flag.String("accuracy-report", "", "write the accuracy table of BenchmarkAccuracy to this file")

// syntheticSet is the ground-truth set: 60 pages with signature boxes
// (over 300 boxes) at 150, 300 and 600 dpi, skews across -8..+8°, some
// upside down or sideways, on a dark bed or not, with faint pens, empty
// boxes with a stray dot or only their printed label; and 24 text pages
// with skews across -10..+10°.
type syntheticPage struct {
	spec  simSpec
	data  []byte
	truth sim.Truth
}

var (
	synthOnce sync.Once
	synth     []syntheticPage
)

func syntheticSet(b *testing.B) []syntheticPage {
	synthOnce.Do(func() {
		roles := []sim.Role{sim.Sposo, sim.Sposa, sim.Testimone1, sim.Testimone2, sim.Ufficiale}
		for i := range 84 {
			s := simSpec{dpi: []int{150, 300, 600}[i%3], seed: uint64(1000 + i), noBed: i%2 == 1, page: 3}
			if i < 60 {
				s.skew = -8 + 16*float64((i*7)%60)/59
				switch {
				case i%5 == 0:
					s.rotation = 180
				case i%11 == 3:
					s.rotation = 90
				}
				if i%4 == 1 {
					s.unsigned = []sim.Role{roles[i%5], roles[(i+2)%5]}
					s.strayDot = i%8 == 1
				}
				if i%6 == 2 {
					s.penInk = 170
				}
			} else {
				s.page = 1
				s.skew = -10 + 20*float64(i-60)/23
			}
			data, truth := simPage(b, s)
			synth = append(synth, syntheticPage{s, data, truth})
		}
	})
	return synth
}

// BenchmarkAccuracy measures the pipeline against the synthetic set's
// truth: skew error (median and largest), turns found, and box decisions.
// Targets: median error at most 0.02°, largest 0.1°; no signed box called
// empty and no empty box called signed (doubtful is allowed and counted).
func BenchmarkAccuracy(b *testing.B) {
	set := syntheticSet(b)
	for b.Loop() {
		var errs []float64
		turns, untrusted, boxes, signedEmpty, emptySigned, doubtful := 0, 0, 0, 0, 0, 0
		var rows []string
		for _, p := range set {
			res, err := Process(p.data, "image/jpeg", p.spec.dpi, boxesOf(p.truth), Options{PreviewSize: -1})
			if err != nil {
				b.Fatal(err)
			}
			g := res.Geometry
			if !g.Trusted {
				untrusted++
			}
			e := math.Abs(g.SkewDeg - p.truth.SkewDeg)
			errs = append(errs, e)
			if g.Orientation == p.truth.Rotation {
				turns++
			}
			for i, v := range res.Verdicts {
				boxes++
				t := p.truth.Boxes[i]
				switch {
				case t.Signed && v.Decision == Empty:
					signedEmpty++
				case !t.Signed && v.Decision == Signed:
					emptySigned++
				case v.Decision == Doubtful:
					doubtful++
				}
			}
			rows = append(rows, fmt.Sprintf("| %d | %.2f | %d | %v | %.4f | %d |", p.spec.dpi, p.truth.SkewDeg, p.truth.Rotation, !p.spec.noBed, e, len(res.Verdicts)))
		}
		slices.Sort(errs)
		med, worst := errs[len(errs)/2], errs[len(errs)-1]
		b.ReportMetric(med, "median-skew-err-deg")
		b.ReportMetric(worst, "max-skew-err-deg")
		b.ReportMetric(float64(turns)/float64(len(set))*100, "turns-right-%")
		b.ReportMetric(float64(boxes), "boxes")
		b.ReportMetric(float64(signedEmpty), "signed-called-empty")
		b.ReportMetric(float64(emptySigned), "empty-called-signed")
		b.ReportMetric(float64(doubtful), "doubtful")
		b.ReportMetric(float64(untrusted), "untrusted-pages")
		if *accuracyReport != "" {
			head := "| dpi | true skew ° | turn | dark bed | skew error ° | boxes |\n|---|---|---|---|---|---|\n"
			os.WriteFile(*accuracyReport, []byte(head+strings.Join(rows, "\n")+"\n"), 0o644)
		}
	}
}
