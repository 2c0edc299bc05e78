// Package sealtest sets up real signing tokens for tests: a SoftHSM 2
// token reached through PKCS#11, as an officer's smart card would be.
package sealtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ThalesGroup/crypto11"

	"github.com/autografo/autografo/scanner/scannertest"
)

// Module is SoftHSM 2's PKCS#11 library as Debian installs it.
const Module = "/usr/lib/softhsm/libsofthsm2.so"

// SoftHSM is an initialized token holding an officer's key pair and
// certificate under one label.
type SoftHSM struct {
	Module, Token, PIN, KeyLabel string
	Conf                         string // the SOFTHSM2_CONF file, set in the environment
	Cert                         *x509.Certificate
}

// NewSoftHSM makes a token in a temporary directory with an RSA key and a
// certificate for officer, and points SOFTHSM2_CONF at it for the test.
func NewSoftHSM(t *testing.T, officer string) *SoftHSM {
	t.Helper()
	util := scannertest.Need(t, "softhsm2-util")
	scannertest.NeedFiles(t, Module)
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+tokens+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	h := &SoftHSM{Module: Module, Token: "ufficiale", PIN: "246810", KeyLabel: "firma", Conf: conf}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(util, args...)
		cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+conf)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("softhsm2-util %v: %v\n%s", args, err, out)
		}
	}
	run("--init-token", "--free", "--label", h.Token, "--pin", h.PIN, "--so-pin", "13579111")

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	run("--import", keyFile, "--token", h.Token, "--label", h.KeyLabel, "--id", "01", "--pin", h.PIN)
	_ = os.Remove(keyFile) // from here on the key lives only on the token

	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2026),
		Subject:      pkix.Name{CommonName: officer, Organization: []string{"Comune di Borgo Sereno"}, OrganizationalUnit: []string{"Ufficio di stato civile"}},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	h.Cert, _ = x509.ParseCertificate(certDER)
	ctx, err := crypto11.Configure(&crypto11.Config{Path: Module, TokenLabel: h.Token, Pin: h.PIN})
	if err != nil {
		t.Fatalf("PKCS#11 session on SoftHSM: %v", err)
	}
	defer ctx.Close()
	if err := ctx.ImportCertificateWithLabel([]byte{1}, []byte(h.KeyLabel), h.Cert); err != nil {
		t.Fatalf("importing the certificate: %v", err)
	}
	return h
}
