package seal

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"image"
	"image/jpeg"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/autografo/autografo/agent/document"
	"github.com/autografo/autografo/agent/document/doctest"
	"github.com/autografo/autografo/agent/seal/sealtest"
	"github.com/autografo/autografo/scanner/scannertest"
)

var tool = scannertest.Need

// workstationP12 makes the kind of PKCS#12 file an office configures: a
// key and a certificate for "Postazione anagrafe 3, Comune di Borgo Sereno".
func workstationP12(t testing.TB, password string, notAfter time.Time) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "Postazione anagrafe 3", Organization: []string{"Comune di Borgo Sereno"}},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	p12, err := pkcs12.Modern.Encode(key, cert, nil, password)
	if err != nil {
		t.Fatal(err)
	}
	return p12
}

func verbalePages(t testing.TB) []document.Page {
	t.Helper()
	var pages []document.Page
	for range 2 {
		var buf bytes.Buffer
		jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 600, 840)), nil)
		pages = append(pages, document.Page{JPEG: buf.Bytes(), DPI: 100})
	}
	return pages
}

func verbale(t testing.TB) []byte {
	t.Helper()
	pdf, err := document.BuildPDFA(verbalePages(t), document.Meta{Title: "Verbale"})
	if err != nil {
		t.Fatal(err)
	}
	return pdf
}

func TestWorkstationSealIsValidAndShowsTampering(t *testing.T) {
	s, err := FromPKCS12(workstationP12(t, "segreta", time.Now().Add(365*24*time.Hour)), "segreta")
	if err != nil {
		t.Fatal(err)
	}
	doc := verbale(t)
	sealed, err := s.Seal(doc, Info{Reason: "Sigillo della postazione", Location: "Borgo Sereno"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sealed, doc) {
		t.Fatal("sealing changed the original bytes instead of appending")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "sealed.pdf")
	os.WriteFile(path, sealed, 0o600)

	out, _ := exec.Command(tool(t, "pdfsig"), path).CombinedOutput()
	for _, want := range []string{"Signer Certificate Common Name: Postazione anagrafe 3", "Signature Validation: Signature is Valid.", "Total document signed"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("pdfsig lacks %q:\n%s", want, out)
		}
	}
	if out, err := exec.Command(tool(t, "qpdf"), "--check", path).CombinedOutput(); err != nil {
		t.Errorf("qpdf --check on the sealed file: %v\n%s", err, out)
	}
	// PDFBox, ANSC's parser, must still take it as PDF/A-1b, and pdfcpu
	// (strict) as PDF.
	for _, c := range doctest.Readers(t, path) {
		t.Errorf("the sealed file: %s", c)
	}

	// One byte changed inside a page image after sealing.
	tampered := bytes.Clone(sealed)
	i := bytes.Index(tampered, []byte("/Filter /DCTDecode"))
	tampered[i+200] ^= 0x20
	tpath := filepath.Join(dir, "tampered.pdf")
	os.WriteFile(tpath, tampered, 0o600)
	out, _ = exec.Command(tool(t, "pdfsig"), tpath).CombinedOutput()
	if strings.Contains(string(out), "Signature is Valid.") {
		t.Errorf("pdfsig still calls a tampered document valid:\n%s", out)
	}
}

func TestBadCredentials(t *testing.T) {
	good := workstationP12(t, "segreta", time.Now().Add(time.Hour))
	if _, err := FromPKCS12(good, "sbagliata"); !errors.Is(err, ErrCredentials) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := FromPKCS12([]byte("not a p12"), ""); !errors.Is(err, ErrCredentials) {
		t.Errorf("garbage: %v", err)
	}
	expired := workstationP12(t, "x", time.Now().Add(-time.Minute))
	if _, err := FromPKCS12(expired, "x"); !errors.Is(err, ErrCredentials) {
		t.Errorf("expired certificate: %v", err)
	}
	s, _ := FromPKCS12(good, "segreta")
	if _, err := s.Seal([]byte("%PDF-1.4 broken"), Info{}); !errors.Is(err, ErrDocument) {
		t.Errorf("broken PDF: %v", err)
	}
	// Valid when the agent started, expired since: checked at each seal.
	s.SetClock(func() time.Time { return time.Now().Add(2 * time.Hour) })
	if _, err := s.Seal(verbale(t), Info{}); !errors.Is(err, ErrExpired) || !errors.Is(err, ErrCredentials) {
		t.Errorf("sealing after the certificate expired: %v, want ErrExpired", err)
	}
}

// sealedVerbale is a verbale sealed with a workstation's PKCS#12 seal.
func sealedVerbale(t *testing.T) (*Sealer, []byte) {
	t.Helper()
	s, err := FromPKCS12(workstationP12(t, "p", time.Now().Add(time.Hour)), "p")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal(verbale(t), Info{Reason: "Sigillo della postazione"})
	if err != nil {
		t.Fatal(err)
	}
	return s, sealed
}

func TestVerifyReportsWhoWhenAndIntegrity(t *testing.T) {
	s, err := FromPKCS12(workstationP12(t, "p", time.Now().Add(time.Hour)), "p")
	if err != nil {
		t.Fatal(err)
	}
	// The seal's clock, set: the time verify reports must be that one.
	at := time.Now().Add(-30 * time.Minute).Truncate(time.Second)
	s.SetClock(func() time.Time { return at })
	sealed, err := s.Seal(verbale(t), Info{Reason: "Sigillo della postazione"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Verify(sealed)
	if err != nil || !r.Intact || len(r.Seals) != 1 || !strings.Contains(r.Seals[0].Signer, "Postazione anagrafe 3") ||
		r.Seals[0].Reason != "Sigillo della postazione" || !r.Seals[0].Time.Equal(at) {
		t.Fatalf("report %+v %v, want the seal dated %v", r, err, at)
	}
	tampered := bytes.Clone(sealed)
	i := bytes.Index(tampered, []byte("/Filter /DCTDecode"))
	tampered[i+200] ^= 0x20
	if r, err := Verify(tampered); err == nil && r.Intact {
		t.Error("a changed byte left the document intact")
	}
	appended := append(bytes.Clone(sealed), []byte("\n% added after sealing\n")...)
	if r, err := Verify(appended); err == nil && r.Intact {
		t.Error("bytes appended after the seal left the document intact")
	}
	if r, err := Verify(verbale(t)); err == nil && r.Intact {
		t.Error("an unsealed document was called intact")
	}
}

// testKey is a workstation key and self-signed certificate.
func testKey(tb testing.TB) (*rsa.PrivateKey, *x509.Certificate, []*x509.Certificate) {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "Postazione bench"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert, _ := x509.ParseCertificate(der)
	return key, cert, nil
}

// The signing certificate is the one the signature names, and a verifier
// trusts it only when it is, or chains to, a certificate given to trust.
func TestSealsAreTrustedOnlyByTheirOwnCertificate(t *testing.T) {
	s, sealed := sealedVerbale(t)
	r, err := Verify(sealed)
	if err != nil || len(r.Seals) != 1 || r.Seals[0].Certificate == nil || !r.Seals[0].Certificate.Equal(s.cert) {
		t.Fatalf("the seal's certificate: %+v %v", r.Seals, err)
	}
	if _, ok := r.Seals[0].TrustedBy([]*x509.Certificate{s.cert}); !ok {
		t.Error("the workstation's own certificate is not trusted for its seal")
	}
	other, err := FromPKCS12(workstationP12(t, "q", time.Now().Add(time.Hour)), "q") // same name, another key
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Seals[0].TrustedBy([]*x509.Certificate{other.cert}); ok {
		t.Error("a certificate of the same name, another key, vouches for the seal")
	}
	if _, ok := r.Seals[0].TrustedBy(nil); ok {
		t.Error("trusted with nothing to trust")
	}
}

// Verify reads PDFs from anywhere: whatever the bytes, a report or an
// error, never a panic.
func FuzzVerify(f *testing.F) {
	s, err := FromPKCS12(workstationP12(f, "p", time.Now().Add(time.Hour)), "p")
	if err != nil {
		f.Fatal(err)
	}
	sealed, err := s.Seal(verbale(f), Info{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	// Two revisions after the first seal: a change, and a second seal.
	_, contents := sealtest.FirstPage(f, sealed)
	if resealed, err := s.Seal(sealtest.AppendRevision(f, sealed, map[uint32]string{contents: sealtest.PaintOver}), Info{}); err == nil {
		f.Add(resealed)
	} else {
		f.Fatal(err)
	}
	f.Add([]byte("%PDF-1.4\n/ByteRange [0 10 20 5] <3082>"))
	f.Add([]byte("/ByteRange [0 99999999999 3 4]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Verify(data)
		if err == nil && r.Intact && len(r.Seals) == 0 {
			t.Fatal("intact with no seal")
		}
		for _, si := range r.Seals {
			if r.Intact && (len(si.LaterChanges) > 0 || !si.Valid) {
				t.Fatalf("intact with a seal that is invalid or changed after: %+v", si)
			}
		}
		signingCertificates(data, byteRange.FindAllSubmatch(data, -1))
	})
}

// certFor is a self-signed certificate with the given usages, and its key.
func certFor(t *testing.T, usage x509.KeyUsage, ext []x509.ExtKeyUsage, unknown []asn1.ObjectIdentifier) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	return sealtest.SelfSigned(t, &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "Mario Rossi"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: usage, ExtKeyUsage: ext, UnknownExtKeyUsage: unknown})
}

func TestKeysNotIssuedForSigningDocumentsAreRefused(t *testing.T) {
	docSigning := asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}
	cases := []struct {
		name    string
		usage   x509.KeyUsage
		ext     []x509.ExtKeyUsage
		unknown []asn1.ObjectIdentifier
		refused bool
	}{
		{"no usage named", 0, nil, nil, false},
		{"qualified signature (non-repudiation)", x509.KeyUsageContentCommitment, nil, nil, false},
		{"digital signature, e-mail protection", x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}, nil, false},
		{"document signing (RFC 9336)", x509.KeyUsageDigitalSignature, nil, []asn1.ObjectIdentifier{docSigning}, false},
		{"any extended usage", x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, nil, false},
		{"key encipherment only", x509.KeyUsageKeyEncipherment, nil, nil, true},
		{"certificate signing only (a CA)", x509.KeyUsageCertSign, nil, nil, true},
		{"TLS server", x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, nil, true},
		{"smart card authentication (CNS)", x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key, cert := certFor(t, c.usage, c.ext, c.unknown)
			s, err := New(key, cert, nil)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			_, err = s.Seal(verbale(t), Info{})
			if c.refused {
				if !errors.Is(err, ErrKeyUsage) || !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "Mario Rossi") {
					t.Fatalf("Seal: %v, want ErrKeyUsage naming the holder", err)
				}
				if !errors.Is(s.Unfit(), ErrKeyUsage) {
					t.Errorf("Unfit: %v", s.Unfit())
				}
				return
			}
			if err != nil || s.Unfit() != nil {
				t.Fatalf("Seal: %v, Unfit: %v", err, s.Unfit())
			}
		})
	}
}
