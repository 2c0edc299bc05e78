//go:build !windows

package saned

import (
	"io"
	"os"
	"testing"

	"github.com/autografo/autografo/drivers/saned/sanedtest"
	"github.com/autografo/autografo/scanner"
)

// BenchmarkFetchA4Gray300 fetches a 300 dpi gray A4 page from saned through
// the whole client path: connect, open, set options, start, stream, close.
// AUTOGRAFO_SANED_ADDR points it at a running saned (the comparison script
// uses the one scanimage reaches); otherwise it starts its own.
func BenchmarkFetchA4Gray300(b *testing.B) {
	addr := os.Getenv("AUTOGRAFO_SANED_ADDR")
	if addr == "" {
		addr = sanedtest.Start(b, sanedtest.Options{}).Addr
	}
	d := New(Options{Addr: addr})
	req := scanner.Request{Source: scanner.Platen, DPI: 300, Color: scanner.Gray, Region: a4}
	var pageBytes int64
	b.ResetTimer()
	for b.Loop() {
		dev, err := d.Open(b.Context(), d.id("test:0"))
		if err != nil {
			b.Fatal(err)
		}
		job, err := dev.Scan(b.Context(), req)
		if err != nil {
			b.Fatal(err)
		}
		pg, err := job.NextPage(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, pg.Body)
		if err != nil {
			b.Fatal(err)
		}
		pageBytes = n
		pg.Body.Close()
		job.Cancel(b.Context())
		dev.Close()
	}
	b.SetBytes(pageBytes)
	b.ReportMetric(float64(pageBytes), "page-bytes")
}
