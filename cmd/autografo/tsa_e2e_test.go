package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autografo/autografo/agent/document/doctest"
	"github.com/autografo/autografo/agent/seal/sealtest"
)

// With --tsa the seal carries the authority's RFC 3161 timestamp: the
// document says it is timestamped, and verify, given the seal's and the
// authority's certificates, reports the authority's time and exits 0.
// With the authority silent (a home visit with no network) the act is
// still made ready, sealed without a timestamp, and says so.
func TestSealIsTimestampedAndSurvivesASilentAuthority(t *testing.T) {
	tsa := sealtest.NewTSA(t)
	dir := t.TempDir()
	tsaPEM := writeCertPEM(t, dir, "tsa.pem", tsa.Cert)
	open := map[string]any{"type": "act.open", "kind": "matrimonio",
		"signers": []map[string]string{{"role": "sposa", "nome": "Giulia", "cognome": "Esposito"}}}
	args := append([]string{"--sim-pages", "1", "--sim-page-time", "1ms", "--saned", "", "--tsa", tsa.URL}, workstationSeal(t, dir)...)

	ag := startAgent(t, args...)
	cl, err := dialAgent(t, ag)
	if err != nil {
		t.Fatal(err)
	}
	_, ready, data := captureDocument(t, ag, cl, open)
	cl.c.Close()
	if doc := ready.msg["document"].(map[string]any); doc["sealed"] != true || doc["timestamped"] != true {
		t.Fatalf("document.ready %s", ready.raw)
	}
	if tsa.Served.Load() != 1 {
		t.Fatalf("the authority gave %d tokens, want 1", tsa.Served.Load())
	}
	path := filepath.Join(dir, "marcato.pdf")
	os.WriteFile(path, data, 0o600)
	var out, errb bytes.Buffer
	if code := run([]string{"verify", "--trust", filepath.Join(dir, "seal.pem"), "--trust", tsaPEM, path}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "by the RFC 3161 timestamp of CN=Autorità di marcatura temporale di prova") {
		t.Fatalf("verify (%d):\n%s%s", code, out.String(), errb.String())
	}
	// The authority not given to trust: its time proves nothing.
	out.Reset()
	if code := run([]string{"verify", "--trust", filepath.Join(dir, "seal.pem"), path}, &out, &errb); code != 1 ||
		!strings.Contains(out.String(), "timestamp: NOT TRUSTED") {
		t.Fatalf("verify without trusting the authority (%d):\n%s", code, out.String())
	}
	ag.stop(t)

	tsa.Hang.Store(true)
	ag = startAgent(t, append(args, "--tsa-timeout", "300ms", "--tsa-retry", "100ms")...)
	cl, err = dialAgent(t, ag)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.c.Close()
	actID, ready, _ := captureDocument(t, ag, cl, open)
	if doc := ready.msg["document"].(map[string]any); doc["sealed"] != true || doc["timestamped"] == true || doc["timestampPending"] != true {
		t.Fatalf("document.ready with a silent authority %s", ready.raw)
	}
	if !ag.logged("timestamp authority unreachable: signing without a timestamp") {
		t.Fatalf("no word of the silent authority:\n%s", ag.logs)
	}

	// The network is back: the agent adds a timestamped seal as a new
	// revision and announces the document again.
	tsa.Hang.Store(false)
	for {
		f, err := cl.read()
		if err != nil {
			t.Fatalf("waiting for the timestamped document: %v\n%s", err, ag.logs)
		}
		if f.msg == nil || f.msg["type"] != "document.ready" || f.msg["act"] != actID {
			continue
		}
		if doc := f.msg["document"].(map[string]any); doc["timestamped"] == true && doc["timestampPending"] != true {
			break
		}
	}
	_, data = documentOf(t, cl, actID, nil)
	later := filepath.Join(dir, "marcato-dopo.pdf")
	os.WriteFile(later, data, 0o600)
	out.Reset()
	if code := run([]string{"verify", "--trust", filepath.Join(dir, "seal.pem"), "--trust", tsaPEM, later}, &out, &errb); code != 0 ||
		strings.Count(out.String(), "  seal ") != 2 || !strings.Contains(out.String(), "later revisions only add signatures") ||
		!strings.Contains(out.String(), "reason: Marca temporale del documento") || !strings.Contains(out.String(), "by the RFC 3161 timestamp of") {
		t.Fatalf("verify the document timestamped later (%d):\n%s%s", code, out.String(), errb.String())
	}
	if ok, report := doctest.Preflight(t, later); !ok {
		t.Errorf("Preflight:\n%s", report)
	}
}
