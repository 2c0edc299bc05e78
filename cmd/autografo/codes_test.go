package main

import (
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/autografo/autografo/drivers/sim"
	"github.com/autografo/autografo/scanner"
	"github.com/autografo/autografo/scanner/jpegturbo"
	"github.com/autografo/autografo/scanner/sheet"
)

// The code of every printed page is read on the simulator's 150 dpi scans
// of them, for acts whose codes once were not: act-fbf7500a6b85fa01's
// second page, skewed 2.3 degrees, read as 23 modules wide (one page in
// 300 of random acts). A page whose code is not read is placed by its
// order, or not at all, and the act waits for the officer.
func TestPrintedCodesAreReadOnSimulatedScans(t *testing.T) {
	preview, layout := previewPDF()
	for _, act := range []string{"act-fbf7500a6b85fa01", "act-403c980bdc3cced9", "act-0123456789abcdef"} {
		stamped, err := sheet.Stamp(preview, act)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		rasterize(t, stamped, dir, "p", 150, false)
		// Each page first in the feeder, where the simulator turns it most
		// (2.3 degrees with its default seed), then the others after it.
		for _, order := range [][]int{{1, 2, 3}, {2, 3, 1}, {3, 1, 2}} {
			var files string
			var pages []sheet.PageLayout
			for k, n := range order {
				if k > 0 {
					files += ","
				}
				files += filepath.Join(dir, fmt.Sprintf("p-%d.png", n))
				pages = append(pages, layout.Pages[n-1])
			}
			opts := sim.Options{Seed: 1}
			if err := loadPaper(&opts, files, ""); err != nil {
				t.Fatal(err)
			}
			opts.PaperBoxes = paperBoxes(sheet.Layout{Pages: pages})
			d, err := sim.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			dev, err := d.Open(t.Context(), "sim:0")
			if err != nil {
				t.Fatal(err)
			}
			job, err := dev.Scan(t.Context(), scanner.Request{Source: scanner.Feeder, DPI: 150, Color: scanner.Gray})
			if err != nil {
				t.Fatal(err)
			}
			for k := 0; ; k++ {
				pg, err := job.NextPage(t.Context())
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				data, err := io.ReadAll(pg.Body)
				if err != nil {
					t.Fatal(err)
				}
				g, err := jpegturbo.DecodeGray(data)
				if err != nil {
					t.Fatal(err)
				}
				if found, err := sheet.Find(g, 150); err != nil || found.Code.Act != act || found.Code.Page != order[k] {
					t.Errorf("%s, page %d at feeder position %d: %+v %v", act, order[k], k+1, found.Code, err)
				}
			}
			dev.Close()
		}
	}
}
