// Package doctest runs the independent checkers every document Autografo
// makes is put through: Apache PDFBox (the parser ANSC uses) and its
// Preflight PDF/A validator, from Debian's libpdfbox2-java, pdfcpu's
// strict validation, and MuPDF's renderer.
package doctest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"github.com/autografo/autografo/scanner/scannertest"
)

func init() {
	// pdfcpu would otherwise write its configuration into the home of
	// whoever runs the tests.
	api.DisableConfigDir()
}

// PdfcpuStrict validates a PDF with pdfcpu in its strict mode.
func PdfcpuStrict(pdf []byte) error {
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationStrict
	return api.Validate(bytes.NewReader(pdf), conf)
}

// PDFBox 2 on Java 11+ needs the activation and JAXB jars beside its own.
var jars = []string{
	"/usr/share/java/pdfbox2.jar", "/usr/share/java/preflight.jar", "/usr/share/java/fontbox2.jar",
	"/usr/share/java/xmpbox.jar", "/usr/share/java/commons-logging.jar", "/usr/share/java/javax.activation.jar",
	"/usr/share/java/jaxb-api.jar", "/usr/share/java/pdfbox2-tools.jar",
}

// PDFBox runs a PDFBox main class with args and returns its output; a
// failing run fails the test.
func PDFBox(t testing.TB, class string, args ...string) string {
	t.Helper()
	java := scannertest.Need(t, "java")
	scannertest.NeedFiles(t, jars...)
	out, err := exec.Command(java, append([]string{"-cp", strings.Join(jars, ":"), class}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("PDFBox %s %v: %v\n%s", class, args, err, out)
	}
	return string(out)
}

// Preflight reports whether Preflight calls the file valid PDF/A-1b, and
// its output.
func Preflight(t testing.TB, path string) (bool, string) {
	t.Helper()
	java := scannertest.Need(t, "java")
	scannertest.NeedFiles(t, jars...)
	// Preflight exits non-zero for an invalid file: its verdict is the output.
	out, _ := exec.Command(java, "-cp", strings.Join(jars, ":"), "org.apache.pdfbox.preflight.Validator_A1b", path).CombinedOutput()
	return strings.Contains(string(out), "is a valid PDF/A-1b file"), string(out)
}

// mutoolBuildNotes are what Debian's mutool prints of itself, whatever the
// file: it is built without Little CMS.
var mutoolBuildNotes = map[string]bool{"warning: ICC support is not available": true}

// Mutool opens and renders every page of a file (a PDF, a JPG, a TIF) with
// MuPDF (mupdf-tools), a reader apart from poppler, PDFBox and libtiff,
// and returns what it complained of: every warning or error it printed
// about the file, or its failure; empty when it read the file cleanly.
func Mutool(t testing.TB, path string) string {
	t.Helper()
	mutool := scannertest.Need(t, "mutool")
	// With no output file, draw renders each page and throws it away.
	out, err := exec.Command(mutool, "draw", "-q", "-r", "30", path).CombinedOutput()
	var complaints []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" && !mutoolBuildNotes[line] {
			complaints = append(complaints, line)
		}
	}
	if err != nil {
		complaints = append(complaints, fmt.Sprintf("mutool draw: %v", err))
	}
	return strings.Join(complaints, "\n")
}

// Readers has the three readers apart from poppler read a PDF written at
// path: Preflight (PDF/A-1b), MuPDF and pdfcpu's strict validation. It
// returns what each complained of, one entry per reader that did; none
// when all three read it cleanly.
func Readers(t testing.TB, path string) []string {
	t.Helper()
	var out []string
	if ok, report := Preflight(t, path); !ok {
		out = append(out, "Preflight:\n"+report)
	}
	if c := Mutool(t, path); c != "" {
		out = append(out, "mutool: "+c)
	}
	data, err := os.ReadFile(path)
	if err == nil {
		err = PdfcpuStrict(data)
	}
	if err != nil {
		out = append(out, "pdfcpu validate, strict: "+err.Error())
	}
	return out
}
