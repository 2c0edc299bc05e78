package doctest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The renderer check can fail: a PDF cut short, or bytes that are no
// document at all, are complained of.
func TestMutoolComplainsOfBrokenFiles(t *testing.T) {
	dir := t.TempDir()
	// A one-page PDF with its cross-reference table right.
	var good []byte
	var offsets []int
	for _, obj := range []string{"<</Type/Catalog/Pages 2 0 R>>", "<</Type/Pages/Kids[3 0 R]/Count 1>>",
		"<</Type/Page/Parent 2 0 R/MediaBox[0 0 100 100]>>"} {
		if good == nil {
			good = []byte("%PDF-1.4\n")
		}
		offsets = append(offsets, len(good))
		good = fmt.Appendf(good, "%d 0 obj\n%s\nendobj\n", len(offsets), obj)
	}
	xref := len(good)
	good = append(good, "xref\n0 4\n0000000000 65535 f \n"...)
	for _, o := range offsets {
		good = fmt.Appendf(good, "%010d 00000 n \n", o)
	}
	good = fmt.Appendf(good, "trailer\n<</Size 4/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n", xref)
	cases := map[string][]byte{"good.pdf": good, "cut.pdf": good[:len(good)/2], "noise.pdf": []byte("not a document")}
	for name, b := range cases {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		got := Mutool(t, path)
		if (got == "") != (name == "good.pdf") {
			t.Errorf("%s: complaints %q", name, got)
		}
		if strings.Contains(got, "ICC support") {
			t.Errorf("%s: the build's own note was not left out: %q", name, got)
		}
	}
}
