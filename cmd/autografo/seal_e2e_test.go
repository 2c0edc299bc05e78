package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

// The agent configured with a workstation seal: a capture's document
// arrives sealed, and autografo verify finds it intact.
func TestCapturedDocumentIsSealedAndVerifies(t *testing.T) {
	key, cert := workstationCert(t, "Postazione demografici 2")
	p12, err := pkcs12.Modern.Encode(key, cert, nil, "sigillo")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "seal.p12"), p12, 0o600)
	os.WriteFile(filepath.Join(dir, "seal.pass"), []byte("sigillo\n"), 0o600)

	ag := startAgent(t, "--sim-pages", "2", "--sim-page-time", "1ms", "--saned", "",
		"--seal-p12", filepath.Join(dir, "seal.p12"), "--seal-password-file", filepath.Join(dir, "seal.pass"))
	cl, err := dialAgent(t, ag)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.c.Close()
	act, err := cl.call(map[string]any{"type": "act.open", "kind": "matrimonio",
		"signers": []map[string]string{{"role": "sposa", "name": "Giulia Esposito"}}}, "act.opened")
	if err != nil {
		t.Fatal(err)
	}
	actID := act.msg["act"].(map[string]any)["id"].(string)
	if _, err := cl.call(map[string]any{"type": "capture.start", "act": actID, "device": "sim:0", "source": "feeder",
		"dpi": 150, "color": "gray"}, "capture.started"); err != nil {
		t.Fatal(err)
	}
	var ready frame
	for ready.msg == nil {
		f, err := cl.read()
		if err != nil {
			t.Fatalf("%v\n%s", err, ag.logs)
		}
		if f.msg != nil && f.msg["type"] == "document.ready" {
			ready = f
		}
	}
	doc := ready.msg["document"].(map[string]any)
	r006 := ready.msg["r006"].(map[string]any)
	if doc["sealed"] != true || doc["pages"] != 2.0 || r006["listaFirmatari"].([]any)[0].(map[string]any)["cognome"] != "Esposito" {
		t.Fatalf("document.ready %s", ready.raw)
	}
	var data []byte
	for data == nil {
		f, err := cl.read()
		if err != nil {
			t.Fatal(err)
		}
		data = f.blob
	}
	path := filepath.Join(dir, "verbale.pdf")
	os.WriteFile(path, data, 0o600)
	var out, errb bytes.Buffer
	if code := run([]string{"verify", path}, &out, &errb); code != 0 || !strings.Contains(out.String(), "CN=Postazione demografici 2") {
		t.Fatalf("verify (%d):\n%s%s", code, out.String(), errb.String())
	}
}
