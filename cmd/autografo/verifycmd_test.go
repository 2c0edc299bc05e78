package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"image"
	"image/jpeg"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/autografo/autografo/agent/document"
	"github.com/autografo/autografo/agent/seal"
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
	s, err := seal.New(key, cert, nil)
	if err != nil {
		t.Fatal(err)
	}
	var img bytes.Buffer
	jpeg.Encode(&img, image.NewGray(image.Rect(0, 0, 300, 400)), nil)
	pdf, err := document.BuildPDFA([]document.Page{{JPEG: img.Bytes(), DPI: 100}}, document.Meta{Title: "Verbale"})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal(pdf, seal.Info{Reason: "Sigillo della postazione"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.pdf"), filepath.Join(dir, "bad.pdf")
	os.WriteFile(good, sealed, 0o600)
	os.WriteFile(bad, append(bytes.Clone(sealed), "% changed\n"...), 0o600)
	var out, errb bytes.Buffer
	if code := run([]string{"verify", good}, &out, &errb); code != 0 || !strings.Contains(out.String(), "CN=Postazione stato civile 1") ||
		!strings.Contains(out.String(), "intact: every byte is covered") {
		t.Fatalf("verify good (%d):\n%s%s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run([]string{"verify", bad}, &out, &errb); code != 1 || !strings.Contains(out.String(), "NOT INTACT") {
		t.Fatalf("verify changed (%d):\n%s", code, out.String())
	}
}
