package seal

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/autografo/autografo/agent/document"
	"github.com/autografo/autografo/scanner/scannertest"
)

func benchBuild(b *testing.B, budget int, measurePeak bool) {
	var pages []document.Input
	total := 0
	for i := range 5 {
		p := scannertest.PrintedPageJPEG(uint64(i))
		total += len(p)
		pages = append(pages, document.Input{Data: p, MediaType: "image/jpeg", DPI: 300})
	}
	s, err := New(testKey(b))
	if err != nil {
		b.Fatal(err)
	}
	var size, quality int
	// Peak live heap while building and sealing, sampled: the bound
	// is twice the document plus one decoded page.
	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	if measurePeak {
		// With the collector nearly continuous, the heap in use stays close
		// to the live heap, so the sampled peak approaches the live peak
		// (and the time per act means nothing).
		defer debug.SetGCPercent(debug.SetGCPercent(5))
	}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak {
					peak = m.HeapInuse
				}
			}
		}
	}()
	b.ResetTimer()
	for b.Loop() {
		res, err := document.Build(pages, document.Meta{Title: "Verbale", Created: time.Now()}, document.Options{Budget: budget})
		if err != nil {
			b.Fatal(err)
		}
		sealed, err := s.Seal(res.PDF, Info{Reason: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		size, quality = len(sealed), res.Quality
	}
	close(stop)
	<-sampled
	if measurePeak {
		b.ReportMetric(float64(peak-min(peak, base.HeapInuse))/1e6, "peak-live-MB")
	}
	b.ReportMetric(float64(total)/1e6, "pages-MB")
	b.ReportMetric(float64(size)/1e6, "doc-MB")
	b.ReportMetric(float64(quality), "quality")
}

// BenchmarkBuildAndSealPassThrough: a 5-page 300 dpi gray act, the scanner's
// JPEGs unchanged. Target ≤ 150 ms.
func BenchmarkBuildAndSealPassThrough(b *testing.B) { benchBuild(b, 0, false) }

// BenchmarkBuildAndSealReencoded: the same act with a budget that forces
// every page to be re-encoded once. Target ≤ 600 ms.
// The budget is set just under the pass-through document's size.
func BenchmarkBuildAndSealReencoded(b *testing.B) { benchBuild(b, 7_000_000, false) }

// The peak live heap of the same two builds. Target: at most twice the
// document plus one decoded page.
func BenchmarkPeakMemoryPassThrough(b *testing.B) { benchBuild(b, 0, true) }
func BenchmarkPeakMemoryReencoded(b *testing.B)   { benchBuild(b, 7_000_000, true) }
