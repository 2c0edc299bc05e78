package seal

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/autografo/autografo/agent/document"
	"github.com/autografo/autografo/agent/document/doctest"
	"github.com/autografo/autografo/agent/seal/sealtest"
)

// attestedVerbale is a two-page act with the officer's declaration added.
func attestedVerbale(t *testing.T, officer string) []byte {
	t.Helper()
	pdf, err := document.BuildPDFA(verbalePages(t), document.Meta{Title: "Verbale", Attestation: &document.Attestation{
		Officer: officer, Office: "Comune di Borgo Sereno", Act: "processo verbale di matrimonio n. 4",
		Register: "registro di emergenza 2026, n. 1", Date: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	return pdf
}

// The whole path of an emergency-register act: the document with the
// attestation page, the workstation seal, then the officer's signature
// made on a real PKCS#11 token (SoftHSM 2). poppler, qpdf, Preflight and
// our own verifier must all agree.
func TestAttestationSignedOnPKCS11Token(t *testing.T) {
	hsm := sealtest.NewSoftHSM(t, "Giuseppina Cortàzzo")
	officer, err := FromPKCS11(Token{Module: hsm.Module, Label: hsm.Token, PIN: hsm.PIN, Key: hsm.KeyLabel})
	if err != nil {
		t.Fatal(err)
	}
	defer officer.Close()
	if officer.Name() != "Giuseppina Cortàzzo" {
		t.Fatalf("officer from the token's certificate: %q", officer.Name())
	}
	workstation, err := FromPKCS12(workstationP12(t, "p", time.Now().Add(time.Hour)), "p")
	if err != nil {
		t.Fatal(err)
	}
	doc := attestedVerbale(t, officer.Name())
	sealed, err := workstation.Seal(doc, Info{Reason: "Sigillo della postazione"})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := officer.Seal(sealed, Info{Reason: "Attestazione di conformità", Location: "Borgo Sereno", LastPage: true, Rect: document.SignatureRect})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "attestato.pdf")
	os.WriteFile(path, signed, 0o600)

	out, _ := exec.Command(tool(t, "pdfsig"), path).CombinedOutput()
	sigs := regexp.MustCompile(`Signature Validation: Signature is Valid\.`).FindAllString(string(out), -1)
	if len(sigs) != 2 || !strings.Contains(string(out), "Signer Certificate Common Name: Giuseppina Cortàzzo") ||
		!strings.Contains(string(out), "Signer Certificate Common Name: Postazione anagrafe 3") {
		t.Fatalf("pdfsig: want two valid signatures, the workstation's and the officer's:\n%s", out)
	}
	// The officer's signature is the last and covers the whole file.
	if i := strings.LastIndex(string(out), "Signature #2"); i < 0 || !strings.Contains(string(out[i:]), "Total document signed") {
		t.Errorf("the officer's signature does not cover the whole document:\n%s", out)
	}
	if out, err := exec.Command(tool(t, "qpdf"), "--check", path).CombinedOutput(); err != nil {
		t.Errorf("qpdf --check: %v\n%s", err, out)
	}
	for _, c := range doctest.Readers(t, path) {
		t.Errorf("the attested file: %s", c)
	}
	// The signature's mark sits on the attestation page (page 3).
	info, _ := exec.Command(tool(t, "pdfinfo"), "-f", "3", "-l", "3", "-box", path).CombinedOutput()
	if !strings.Contains(string(info), "Pages:           3") {
		t.Errorf("pdfinfo:\n%s", info)
	}
	r, err := Verify(signed)
	if err != nil || !r.Intact || len(r.Seals) != 2 || r.Seals[1].Reason != "Attestazione di conformità" || !strings.Contains(r.Seals[1].Signer, "Giuseppina Cortàzzo") {
		t.Fatalf("verify: %+v %v", r, err)
	}
}

func TestTokenErrors(t *testing.T) {
	hsm := sealtest.NewSoftHSM(t, "Mario Bianchi")
	for name, tok := range map[string]Token{
		"no module":     {Module: "/nonexistent/libpkcs11.so", Label: hsm.Token, PIN: hsm.PIN, Key: hsm.KeyLabel},
		"no such token": {Module: hsm.Module, Label: "altro", PIN: hsm.PIN, Key: hsm.KeyLabel},
		"wrong PIN":     {Module: hsm.Module, Label: hsm.Token, PIN: "000000", Key: hsm.KeyLabel},
		"no such key":   {Module: hsm.Module, Label: hsm.Token, PIN: hsm.PIN, Key: "assente"},
		"nothing given": {},
	} {
		s, err := FromPKCS11(tok)
		if !errors.Is(err, ErrToken) {
			t.Errorf("%s: %v, want ErrToken", name, err)
		}
		if name == "no module" && (err == nil || !strings.Contains(err.Error(), "/nonexistent/libpkcs11.so")) {
			t.Errorf("a library not there, not named: %v", err)
		}
		if s != nil {
			s.Close()
		}
	}
}
