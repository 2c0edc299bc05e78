package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/autografo/autografo/scanner/pipeline"
)

// analyseCmd runs the signature pipeline on one page file: for trying it
// on a real scan, and for the benchmarks that compare it with other tools.
func analyseCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("analyse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dpi := fs.Int("dpi", 300, "resolution the page was scanned at")
	boxesFile := fs.String("boxes", "", "JSON file of the signers' boxes (as autografo scan writes them for simulated pages)")
	out := fs.String("out", "", "directory for the preview and the signatures (PNG), if wanted")
	freeForm := fs.Bool("free-form", false, "without --boxes, look for one signature anywhere on the page (a signed card)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: autografo analyse [--dpi N] [--boxes FILE] [--out DIR] PAGE")
		return 2
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	var boxes []pipeline.Box
	if *boxesFile != "" {
		b, err := os.ReadFile(*boxesFile)
		if err == nil {
			err = json.Unmarshal(b, &boxes)
		}
		if err != nil {
			fmt.Fprintln(stderr, "autografo: boxes:", err)
			return 2
		}
	}
	res, err := pipeline.Process(data, "", *dpi, boxes, pipeline.Options{FreeForm: *freeForm})
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	type verdict struct {
		Role       string   `json:"role"`
		Decision   string   `json:"decision"`
		Confidence float64  `json:"confidence"`
		Reasons    []string `json:"reasons,omitempty"`
		InkMM2     float64  `json:"inkMM2"`
		SpanMM     float64  `json:"spanMM"`
	}
	report := struct {
		Width, Height, DPI int
		Geometry           pipeline.Geometry
		Verdicts           []verdict
		TimingsMS          map[string]float64
	}{Width: res.Width, Height: res.Height, DPI: res.DPI, Geometry: res.Geometry,
		TimingsMS: map[string]float64{"decode": ms(res.Timings.Decode), "geometry": ms(res.Timings.Geometry),
			"boxes": ms(res.Timings.Boxes), "preview": ms(res.Timings.Preview), "total": ms(res.Timings.Total)}}
	for _, v := range res.Verdicts {
		report.Verdicts = append(report.Verdicts, verdict{v.Role, string(v.Decision), v.Confidence, v.Reasons, v.InkMM2, v.SpanMM})
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			fmt.Fprintln(stderr, "autografo:", err)
			return 1
		}
		files := map[string][]byte{"preview.jpg": res.Preview}
		for _, v := range res.Verdicts {
			if v.Signature != nil {
				files[strings.ReplaceAll(v.Role, "/", "_")+".png"] = v.Signature
			}
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(*out, name), b, 0o644); err != nil {
				fmt.Fprintln(stderr, "autografo:", err)
				return 1
			}
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.Encode(report)
	return 0
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
