package document

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/autografo/autografo/agent/document/doctest"
)

func attested(t *testing.T, pages []Page, a Attestation) string {
	t.Helper()
	return buildMeta(t, pages, Meta{Title: "Atto di nascita n. 7", Attestation: &a})
}

var sampleAttestation = Attestation{Officer: "Giuseppina Cortàzzo", Office: "Comune di Borgo Sereno", Act: "processo verbale di nascita n. 7, parte I, serie A",
	Register: "registro di emergenza 2026, n. 3", Date: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), OnDevice: true}

// The declaration is real text in an embedded font: poppler extracts it,
// accents included, and it names every page by the digest of the image
// embedded in the same file.
func TestAttestationPageText(t *testing.T) {
	pages := corpusPages(t)
	path := attested(t, pages, sampleAttestation)
	info := run(t, tool(t, "pdfinfo"), path)
	if !strings.Contains(info, "Pages:           6") {
		t.Fatalf("pdfinfo: want 6 pages (5 scanned, 1 attestation):\n%s", info)
	}
	fonts := run(t, tool(t, "pdffonts"), path)
	if !regexp.MustCompile(`GoRegular\s+CID TrueType\s+Identity-H\s+yes\s+no\s+yes`).MatchString(fonts) {
		t.Fatalf("pdffonts: the font must be embedded:\n%s", fonts)
	}
	text := run(t, tool(t, "pdftotext"), "-f", "6", "-l", "6", "-layout", path, "-")
	flat := strings.Join(strings.Fields(text), " ")
	for _, want := range []string{
		"Attestazione di conformità",
		"Giuseppina Cortàzzo, ufficiale dello stato civile del Comune di Borgo Sereno, attesta che le 5 pagine che precedono sono copia per immagine conforme",
		"Documento sottoscritto con firma digitale ai sensi dell'art. 24",
		"processo verbale di nascita n. 7, parte I, serie A",
		"registro di emergenza 2026, n. 3",
		"Data: 23/11/2026",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("attestation lacks %q:\n%s", want, text)
		}
	}
	dir := t.TempDir()
	run(t, tool(t, "pdfimages"), "-all", path, filepath.Join(dir, "img"))
	for i := range pages {
		img, err := os.ReadFile(filepath.Join(dir, "img-"+pad(i)+".jpg"))
		if err != nil {
			t.Fatal(err)
		}
		d := PageDigest(img)
		want := "Pagina " + itoa(i+1) + " " + hex.EncodeToString(d[:])
		if !strings.Contains(flat, want) {
			t.Errorf("attestation lacks %q", want)
		}
	}
}

// The attestation keeps the document PDF/A-1b (embedded font, widths that
// agree with it) and PDFBox renders it.
func TestAttestationPreflight(t *testing.T) {
	path := attested(t, corpusPages(t), sampleAttestation)
	if out := run(t, tool(t, "qpdf"), "--check", path); strings.Contains(out, "WARNING") {
		t.Fatalf("qpdf:\n%s", out)
	}
	if ok, out := doctest.Preflight(t, path); !ok {
		t.Fatalf("Preflight:\n%s", out)
	}
	if c := doctest.Mutool(t, path); c != "" {
		t.Errorf("mutool: %s", c)
	}
	prefix := filepath.Join(t.TempDir(), "render")
	doctest.PDFBox(t, "org.apache.pdfbox.tools.PDFToImage", "-dpi", "30", "-page", "6", "-outputPrefix", prefix, path)
	if _, err := os.Stat(prefix + "6.jpg"); err != nil {
		t.Fatalf("PDFBox did not render the attestation: %v", err)
	}
}

// A long act's list of digests runs onto a second attestation page.
func TestAttestationOverflows(t *testing.T) {
	one := corpusPages(t)[0]
	pages := make([]Page, 70)
	for i := range pages {
		pages[i] = one
	}
	path := attested(t, pages, sampleAttestation)
	if info := run(t, tool(t, "pdfinfo"), path); !strings.Contains(info, "Pages:           72") {
		t.Fatalf("want 70 pages and 2 of attestation:\n%s", info)
	}
	text := strings.Join(strings.Fields(run(t, tool(t, "pdftotext"), "-f", "72", "-l", "72", "-layout", path, "-")), " ")
	if !strings.Contains(text, "Pagina 70 ") || !strings.Contains(text, "Data: 23/11/2026") {
		t.Fatalf("second attestation page:\n%s", text)
	}
}

// An officer's key in a file cannot make a firma digitale: the page says
// which signature it carries, and never «Il sottoscritto» of an officer
// who may be a woman.
func TestAttestationSaysWhichSignature(t *testing.T) {
	pages := corpusPages(t)[:1]
	a := sampleAttestation
	a.OnDevice = false
	text := run(t, tool(t, "pdftotext"), "-f", "2", "-l", "2", attested(t, pages, a), "-")
	flat := strings.Join(strings.Fields(text), " ")
	if !strings.Contains(flat, "firma elettronica dell'ufficiale") || !strings.Contains(flat, "non è una firma digitale") ||
		strings.Contains(flat, "sottoscritto con firma digitale") {
		t.Errorf("a key in a file, attestation says:\n%s", text)
	}
	if strings.Contains(flat, "Il sottoscritto") {
		t.Errorf("the attestation genders the officer:\n%s", text)
	}
}

// Officers' names are not all in Windows-1252: each prints with its own
// letters, and poppler extracts them again from the ToUnicode map.
func TestAttestationPrintsEveryName(t *testing.T) {
	pages := corpusPages(t)[:1]
	for _, name := range []string{"Mojca Kovačič", "Łukasz Wróbel", "Ayşe Şahin", "Αθηνά Παπαδοπούλου"} {
		a := sampleAttestation
		a.Officer = name
		path := attested(t, pages, a)
		text := run(t, tool(t, "pdftotext"), "-f", "2", "-l", "2", path, "-")
		flat := strings.Join(strings.Fields(text), " ")
		if !strings.Contains(flat, name+", ufficiale dello stato civile") || strings.Contains(flat, "?") {
			t.Errorf("%s: the attestation reads:\n%s", name, text)
		}
		if ok, out := doctest.Preflight(t, path); !ok {
			t.Errorf("%s: Preflight:\n%s", name, out)
		}
		if c := doctest.Mutool(t, path); c != "" {
			t.Errorf("%s: mutool: %s", name, c)
		}
	}
}

// The officer is spoken of as configured: by name alone (no gender), or as
// «La sottoscritta» or «Il sottoscritto».
func TestAttestationGender(t *testing.T) {
	pages := corpusPages(t)[:1]
	for _, c := range []struct{ gender, want, not string }{
		{"", "sottoscritto con firma digitale", "sottoscritt" + "a"},
		{"f", "La sottoscritta Giuseppina Cortàzzo, ufficiale dello stato civile del Comune di Borgo Sereno, attesta", "Il sottoscritto"},
		{"m", "Il sottoscritto Giuseppina Cortàzzo, ufficiale dello stato civile del Comune di Borgo Sereno, attesta", "La sottoscritta"},
	} {
		a := sampleAttestation
		a.Gender = c.gender
		flat := strings.Join(strings.Fields(run(t, tool(t, "pdftotext"), "-f", "2", "-l", "2", attested(t, pages, a), "-")), " ")
		if !strings.Contains(flat, c.want) || strings.Contains(flat, c.not) {
			t.Errorf("gender %q: want %q and no %q:\n%s", c.gender, c.want, c.not, flat)
		}
		if c.gender == "" && !strings.Contains(flat, "Cortàzzo, ufficiale dello stato civile del Comune di Borgo Sereno, attesta") {
			t.Errorf("no gender: the name does not open the declaration:\n%s", flat)
		}
	}
}
