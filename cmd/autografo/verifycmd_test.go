package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"image"
	"image/jpeg"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/autografo/autografo/agent/document"
	"github.com/autografo/autografo/agent/seal"
	"github.com/autografo/autografo/agent/seal/sealtest"
	"github.com/autografo/autografo/scanner/scannertest"
)

// workstationCert is a key and a self-signed certificate for a seal.
func workstationCert(t *testing.T, cn string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert
}

func TestVerifyCommand(t *testing.T) {
	key, cert := workstationCert(t, "Postazione stato civile 1")
	sealed := sealedPage(t, key, cert, 255)
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.pdf"), filepath.Join(dir, "bad.pdf")
	os.WriteFile(good, sealed, 0o600)
	os.WriteFile(bad, append(bytes.Clone(sealed), "% changed\n"...), 0o600)
	trust := writeCertPEM(t, dir, "seal.pem", cert)
	var out, errb bytes.Buffer
	if code := run([]string{"verify", "--trust", trust, good}, &out, &errb); code != 0 || !strings.Contains(out.String(), "CN=Postazione stato civile 1") ||
		!strings.Contains(out.String(), "intact: every byte is covered by a valid seal from a trusted certificate") ||
		!strings.Contains(out.String(), "no timestamp") {
		t.Fatalf("verify good (%d):\n%s%s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run([]string{"verify", "--trust", trust, bad}, &out, &errb); code != 1 || !strings.Contains(out.String(), "NOT INTACT") {
		t.Fatalf("verify changed (%d):\n%s", code, out.String())
	}
	// Nobody said whom to trust: intact bytes prove nothing of origin.
	out.Reset()
	if code := run([]string{"verify", good}, &out, &errb); code != 1 || !strings.Contains(out.String(), "NOT TRUSTED") {
		t.Fatalf("verify without --trust (%d):\n%s", code, out.String())
	}

	// A page painted over and sealed again by a certificate made to look
	// like the workstation's, same name: the bytes are intact, the seal
	// is not the office's.
	fkey, fcert := workstationCert(t, "Postazione stato civile 1")
	forged := sealedPage(t, fkey, fcert, 0)
	fake := filepath.Join(dir, "forged.pdf")
	os.WriteFile(fake, forged, 0o600)
	out.Reset()
	if code := run([]string{"verify", "--trust", trust, fake}, &out, &errb); code != 1 || !strings.Contains(out.String(), "NOT TRUSTED") ||
		strings.Contains(out.String(), "from a trusted certificate") {
		t.Fatalf("verify of a forged seal (%d):\n%s", code, out.String())
	}

	// Worse: the page painted over in a new revision and signed again
	// with the office's own key (an insider, or a stolen seal). Each
	// signature is valid and trusted; the first one's revision was
	// changed after it, and verify names the change.
	s, err := seal.New(key, cert, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, contents := sealtest.FirstPage(t, sealed)
	resealed, err := s.Seal(sealtest.AppendRevision(t, sealed, map[uint32]string{contents: sealtest.PaintOver}), seal.Info{Reason: "Sigillo della postazione"})
	if err != nil {
		t.Fatal(err)
	}
	inside := filepath.Join(dir, "resealed.pdf")
	os.WriteFile(inside, resealed, 0o600)
	out.Reset()
	if code := run([]string{"verify", "--trust", trust, inside}, &out, &errb); code != 1 || strings.Contains(out.String(), "NOT TRUSTED") ||
		!strings.Contains(out.String(), "later revisions CHANGE THE DOCUMENT:\n      object ") || !strings.Contains(out.String(), "NOT INTACT: a revision after a seal changed the document") {
		t.Fatalf("verify of a document changed and sealed again (%d):\n%s", code, out.String())
	}
}

// sealedPage is a one-page verbale of one gray tone, sealed with key as
// the workstation seal does.
func sealedPage(t *testing.T, key *rsa.PrivateKey, cert *x509.Certificate, tone uint8) []byte {
	t.Helper()
	s, err := seal.New(key, cert, nil)
	if err != nil {
		t.Fatal(err)
	}
	page := image.NewGray(image.Rect(0, 0, 300, 400))
	for i := range page.Pix {
		page.Pix[i] = tone
	}
	var img bytes.Buffer
	jpeg.Encode(&img, page, nil)
	pdf, err := document.BuildPDFA([]document.Page{{JPEG: img.Bytes(), DPI: 100}}, document.Meta{Title: "Verbale"})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal(pdf, seal.Info{Reason: "Sigillo della postazione"})
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

// writeCertPEM writes certificates as PEM into dir and returns the path.
func writeCertPEM(t *testing.T, dir, name string, certs ...*x509.Certificate) string {
	t.Helper()
	var b bytes.Buffer
	for _, c := range certs {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// autografo sheet makes a signature sheet with its layout and stamps a
// PDF; poppler reads both, and the stamped pages keep their count.
func TestSheetCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "foglio.pdf")
	var o, e bytes.Buffer
	if code := run([]string{"sheet", "new", "--act", "act-1", "--title", "Dichiarazione", "--office", "Comune di Borgo Sereno",
		"--signer", "dichiarante=Il dichiarante:Mario Rossi", "--signer", "ufficiale=L'ufficiale", out}, &o, &e); code != 0 {
		t.Fatalf("sheet new (%d): %s", code, e.String())
	}
	layout, err := os.ReadFile(filepath.Join(dir, "foglio.layout.json"))
	if err != nil || !strings.Contains(string(layout), `"role": "dichiarante"`) {
		t.Fatalf("layout %s %v", layout, err)
	}
	text, err := exec.Command(scannertest.Need(t, "pdftotext"), out, "-").CombinedOutput()
	if err != nil || !strings.Contains(string(text), "Il dichiarante: Mario Rossi") {
		t.Fatalf("pdftotext: %v\n%s", err, text)
	}
	stamped := filepath.Join(dir, "stampato.pdf")
	o.Reset()
	if code := run([]string{"sheet", "stamp", "--act", "act-2", out, stamped}, &o, &e); code != 0 {
		t.Fatalf("sheet stamp (%d): %s", code, e.String())
	}
	if info, err := exec.Command(scannertest.Need(t, "pdfinfo"), stamped).CombinedOutput(); err != nil || !regexp.MustCompile(`Pages:\s+1\n`).Match(info) {
		t.Fatalf("pdfinfo: %v\n%s", err, info)
	}
	if code := run([]string{"sheet", "stamp", "--act", "act-2", filepath.Join(dir, "foglio.layout.json"), stamped}, &o, &e); code == 0 {
		t.Fatal("a JSON file was stamped as a PDF")
	}
}
