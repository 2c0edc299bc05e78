package sealtest

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
)

// TSA is an RFC 3161 timestamp authority for tests, built on
// digitorus/timestamp: it answers each query with a token signed by its
// own certificate, at the time its clock says.
type TSA struct {
	URL  string
	Cert *x509.Certificate
	// Now is the authority's clock.
	Now func() time.Time
	// Hang makes it answer nothing until the client gives up.
	Hang atomic.Bool
	// Served counts the tokens it gave.
	Served atomic.Int64
}

// NewTSA starts a timestamp authority for the test.
func NewTSA(t testing.TB) *TSA {
	t.Helper()
	key, cert := SelfSigned(t, &x509.Certificate{SerialNumber: big.NewInt(3161), Subject: pkix.Name{CommonName: "Autorità di marcatura temporale di prova"},
		NotBefore: time.Now().Add(-24 * time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}})
	a := &TSA{Cert: cert, Now: time.Now}
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The body first: the server notices a client that gave up only
		// once it has read the request.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if a.Hang.Load() {
			select {
			case <-r.Context().Done():
			case <-stop:
			}
			return
		}
		req, err := timestamp.ParseRequest(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ts := timestamp.Timestamp{HashAlgorithm: req.HashAlgorithm, HashedMessage: req.HashedMessage, Time: a.Now().UTC(),
			Nonce: req.Nonce, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Ordering: true,
			Accuracy: time.Second, Qualified: false, AddTSACertificate: req.Certificates}
		reply, err := ts.CreateResponseWithOpts(cert, key, crypto.SHA256)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		a.Served.Add(1)
		w.Header().Set("Content-Type", "application/timestamp-reply")
		_, _ = w.Write(reply)
	}))
	t.Cleanup(func() { close(stop); srv.Close() })
	a.URL = srv.URL
	return a
}
