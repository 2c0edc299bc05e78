package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autografo/autografo/agent/document/doctest"
	"github.com/autografo/autografo/scanner/scannertest"
)

// `autografo scan --pdf` writes the feeder's pages as one PDF/A document,
// as the agent builds an act's: poppler counts its pages, qpdf finds it
// sound, PDFBox's Preflight finds it PDF/A-1b. Not on a terminal, it
// prints no progress.
func TestScanToOnePDF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scansione.pdf")
	var out, errb bytes.Buffer
	if code := run([]string{"scan", "--sim", "--sim-page-time", "1ms", "--saned", "", "--usb=false", "--mdns=false",
		"--source", "feeder", "--dpi", "150", "--pdf", path}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), path+" (3 pages, ") {
		t.Fatalf("scan --pdf (%d): %s%s", code, out.String(), errb.String())
	}
	if strings.Contains(errb.String(), "\r") {
		t.Errorf("progress written where no terminal is: %q", errb.String())
	}
	info, err := exec.Command(scannertest.Need(t, "pdfinfo"), path).Output()
	if err != nil || !strings.Contains(string(info), "Pages:           3\n") {
		t.Errorf("pdfinfo: %v\n%s", err, info)
	}
	if out, err := exec.Command(scannertest.Need(t, "qpdf"), "--check", path).CombinedOutput(); err != nil {
		t.Errorf("qpdf --check: %v\n%s", err, out)
	}
	if ok, report := doctest.Preflight(t, path); !ok {
		t.Errorf("Preflight:\n%s", report)
	}
	if c := doctest.Mutool(t, path); c != "" {
		t.Errorf("mutool: %s", c)
	}
	// On a terminal (a real pseudo-terminal, made by script(1)), each
	// page's progress, drawn over itself, and the line cleared at the end.
	term := exec.Command(scannertest.Need(t, "script"), "-qec", agentBinary(t)+" scan --sim --sim-page-time 1ms --saned '' --usb=false --mdns=false"+
		" --source feeder --dpi 150 --pdf "+filepath.Join(t.TempDir(), "t.pdf"), "/dev/null")
	shown, err := term.Output()
	if err != nil || !strings.Contains(string(shown), "\rpage 3 [##############################] 100%") || !strings.Contains(string(shown), "\r\x1b[K") {
		t.Errorf("on a terminal: %v %q", err, shown)
	}
}

func TestProgressLine(t *testing.T) {
	for _, tc := range []struct {
		page      int
		got, size int64
		want      string
	}{
		{1, 0, 2_000_000, "page 1 [..............................]   0% 0.0 MB "},
		{2, 1_000_000, 2_000_000, "page 2 [###############...............]  50% 1.0 MB "},
		{3, 2_500_000, 2_000_000, "page 3 [##############################] 100% 2.5 MB "},
		{4, 1_500_000, -1, "page 4: 1.5 MB received     "},
	} {
		if got := progressLine(tc.page, tc.got, tc.size); got != tc.want {
			t.Errorf("progressLine(%d, %d, %d) = %q, want %q", tc.page, tc.got, tc.size, got, tc.want)
		}
	}
}
