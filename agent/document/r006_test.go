package document

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/yaml"

	"github.com/autografo/autografo/scanner/scannertest"
)

// r006Schema loads FirmaDichiaranteInput and FirmatarioDTO from ANSC's own
// R006 file. Only these two, which refer to nothing outside R006: the
// request envelope refers on to files on ANSC's and ANPR's sites that are
// not here.
func r006Schema(t *testing.T) *openapi3.Schema {
	t.Helper()
	raw, err := os.ReadFile(scannertest.Shared(t, "ansc", "openapi", "R006_firma_dichiarante.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(js, &file); err != nil {
		t.Fatal(err)
	}
	doc := &openapi3.T{OpenAPI: "3.0.0", Info: &openapi3.Info{Title: "R006", Version: "1"}, Paths: openapi3.NewPaths(),
		Components: &openapi3.Components{Schemas: openapi3.Schemas{}}}
	for _, name := range []string{"FirmaDichiaranteInput", "FirmatarioDTO"} {
		var s openapi3.Schema
		if err := json.Unmarshal(file.Components.Schemas[name], &s); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		doc.Components.Schemas[name] = &openapi3.SchemaRef{Value: &s}
	}
	if err := openapi3.NewLoader().ResolveRefsIn(doc, nil); err != nil {
		t.Fatalf("resolving R006's own references: %v", err)
	}
	return doc.Components.Schemas["FirmaDichiaranteInput"].Value
}

func TestR006FieldsValidateAgainstANSCsSchema(t *testing.T) {
	schema := r006Schema(t)
	pdf := []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\nminimal")
	in, err := R006(pdf, "application/pdf", DefaultName("matrimonio", "12/A", time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)), "137484",
		[]Firmatario{{Nome: "Giulia", Cognome: "Esposito", Sesso: "F", DataNascita: "1994-03-02"}})
	if err != nil {
		t.Fatal(err)
	}
	if in.TipoFile != "1" || in.TipoAllegato != "999" || in.Nomefile != "verbale matrimonio 12_A 2026-11-23 1030.pdf" {
		t.Fatalf("fields %+v", in)
	}
	var v any
	b, _ := json.Marshal(in)
	json.Unmarshal(b, &v)
	if err := schema.VisitJSON(v); err != nil {
		t.Fatalf("our R006 input does not validate: %v", err)
	}
	// The check can fail: a number where ANSC wants a string.
	var bad map[string]any
	json.Unmarshal(b, &bad)
	bad["tipoFile"] = 1
	if err := schema.VisitJSON(bad); err == nil {
		t.Fatal("the schema accepted tipoFile as a number: the validation checks nothing")
	}
	json.Unmarshal(b, &bad)
	bad["listaFirmatari"] = []any{map[string]any{"nome": 5}}
	if err := schema.VisitJSON(bad); err == nil {
		t.Fatal("a signer's name as a number passed: FirmatarioDTO is not checked")
	}
}

func TestR006RefusesWhatANSCRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		data      []byte
		mediaType string
	}{
		"PNG":               {[]byte("\x89PNG\r\n\x1a\n"), "image/png"},
		"PDF declared JPG":  {[]byte("%PDF-1.4"), "image/jpeg"},
		"JPEG declared PDF": {[]byte{0xFF, 0xD8, 0xFF, 0xE0}, "application/pdf"},
		"unknown type":      {[]byte("hello"), "text/plain"},
	} {
		if _, err := R006(tc.data, tc.mediaType, "a.pdf", "", nil); !errors.Is(err, ErrType) {
			t.Errorf("%s: %v, want ErrType", name, err)
		}
	}
	big := append([]byte("%PDF-1.4"), make([]byte, MaxUpload)...)
	if _, err := R006(big, "application/pdf", "a.pdf", "", nil); err == nil {
		t.Error("a document over 10 MB was accepted")
	}
}

func TestFileNames(t *testing.T) {
	valid := regexp.MustCompile(`^[-. _a-zA-Z0-9_]*$`)
	for in, want := range map[string]string{
		"Atto di matrimonio — Città di Forlì": "Atto di matrimonio _ Citta di Forli.pdf",
		"../../etc/passwd":                    "etc_passwd.pdf",
		"":                                    "verbale.pdf",
		strings.Repeat("a", 300):              strings.Repeat("a", 196) + ".pdf",
	} {
		got := FileName(in, "pdf")
		if got != want || !valid.MatchString(got) || len(got) > 200 {
			t.Errorf("FileName(%.30q) = %q, want %q", in, got, want)
		}
	}
}

func TestDigests(t *testing.T) {
	d := Digests([]byte("abc"))
	if d.SHA256 != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" || d.SHA1 != "a9993e364706816aba3e25717850c26c9cd0d89d" {
		t.Fatalf("%+v", d)
	}
}
