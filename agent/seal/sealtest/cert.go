package sealtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"testing"
)

// SelfSigned makes an RSA key and a certificate from tmpl, signed by
// itself: a seal's, an officer's or a timestamp authority's, as a test
// needs it.
func SelfSigned(t testing.TB, tmpl *x509.Certificate) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}
