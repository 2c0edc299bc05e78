package seal

import (
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/autografo/autografo/agent/document/doctest"
	"github.com/autografo/autografo/agent/seal/sealtest"
)

func timestampedSealer(t *testing.T, authority string, timeout time.Duration) (*Sealer, *TSA) {
	t.Helper()
	s, err := FromPKCS12(workstationP12(t, "p", time.Now().Add(time.Hour)), "p")
	if err != nil {
		t.Fatal(err)
	}
	relay, err := NewTSA(authority, &http.Client{Timeout: timeout}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relay.Close() })
	s.SetTSA(relay)
	return s, relay
}

// A seal made with a timestamp authority carries its RFC 3161 token: the
// time is the authority's, not the workstation's clock, and our verifier,
// poppler and the independent checkers all read it.
func TestSealCarriesATimestamp(t *testing.T) {
	tsa := sealtest.NewTSA(t)
	// The authority's clock is an hour behind the workstation's: the
	// time reported must be the authority's.
	authorityTime := time.Now().Add(-time.Hour).Truncate(time.Second)
	tsa.Now = func() time.Time { return authorityTime }
	s, _ := timestampedSealer(t, tsa.URL, time.Minute)
	sealed, err := s.Seal(verbale(t), Info{Reason: "Sigillo della postazione"})
	if err != nil {
		t.Fatal(err)
	}
	if tsa.Served.Load() != 1 {
		t.Fatalf("the authority gave %d tokens, want 1", tsa.Served.Load())
	}
	r, err := Verify(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Seals) != 1 || !r.Intact {
		t.Fatalf("report %+v", r)
	}
	si := r.Seals[0]
	if !si.Timestamp.Equal(authorityTime) || si.TimestampCertificate == nil || !si.TimestampCertificate.Equal(tsa.Cert) {
		t.Errorf("timestamp %v by %v, want %v by the test authority", si.Timestamp, si.TimestampCertificate, authorityTime)
	}
	if _, ok := si.TimestampTrustedBy(nil); ok {
		t.Error("an authority nobody was told to trust is trusted")
	}
	if _, ok := si.TimestampTrustedBy([]*x509.Certificate{tsa.Cert}); !ok {
		t.Error("the authority given to trust is not trusted")
	}
	path := filepath.Join(t.TempDir(), "marcato.pdf")
	os.WriteFile(path, sealed, 0o600)
	out, _ := exec.Command(tool(t, "pdfsig"), path).CombinedOutput()
	if !strings.Contains(string(out), "Signature is Valid.") {
		t.Errorf("pdfsig:\n%s", out)
	}
	for _, c := range doctest.Readers(t, path) {
		t.Error(c)
	}
}

// An authority that does not answer (a laptop with no network) holds the
// seal no longer than the client's timeout, and the failure is
// ErrTimestamp: the caller may seal again without a timestamp.
func TestUnreachableAuthorityIsErrTimestamp(t *testing.T) {
	tsa := sealtest.NewTSA(t)
	tsa.Hang.Store(true)
	s, _ := timestampedSealer(t, tsa.URL, 100*time.Millisecond)
	_, err := s.Seal(verbale(t), Info{})
	if !errors.Is(err, ErrTimestamp) || errors.Is(err, ErrDocument) {
		t.Fatalf("seal with a silent authority: %v, want ErrTimestamp", err)
	}
	sealed, err := s.Seal(verbale(t), Info{NoTimestamp: true})
	if err != nil {
		t.Fatalf("seal without a timestamp: %v", err)
	}
	r, err := Verify(sealed)
	if err != nil || !r.Intact || !r.Seals[0].Timestamp.IsZero() {
		t.Fatalf("the seal without timestamp: %+v, %v", r, err)
	}

	// Nothing listens there at all.
	s2, _ := timestampedSealer(t, "http://127.0.0.1:1/tsa", time.Minute)
	if _, err := s2.Seal(verbale(t), Info{}); !errors.Is(err, ErrTimestamp) {
		t.Fatalf("seal with no authority listening: %v, want ErrTimestamp", err)
	}
}
