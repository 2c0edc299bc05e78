package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autografo/autografo/agent/seal/sealtest"
	"github.com/autografo/autografo/scanner/scannertest"
)

// pkcs11Spy is OpenSC's logging PKCS#11 module: it passes every call to
// the module named in PKCS11SPY and writes it to PKCS11SPY_OUTPUT.
const pkcs11Spy = "/usr/lib/x86_64-linux-gnu/pkcs11-spy.so"

// logins counts the C_Login calls a spy log holds (none when the module
// was never loaded and the log never written).
func logins(t *testing.T, log string) int {
	t.Helper()
	b, err := os.ReadFile(log)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "C_Login")
}

// A wrong PIN in the PIN file is tried once: serve goes on without the
// officer's card, says why in Italian when asked to attest, and starts
// after that without touching the card, until the PIN file is written
// anew. Each start of a service restarting in a loop would otherwise spend
// one of the card's PIN tries.
func TestWrongPINIsNeverTriedAgainByARestart(t *testing.T) {
	scannertest.NeedFiles(t, pkcs11Spy)
	hsm := sealtest.NewSoftHSM(t, "Giuseppina Cortàzzo")
	dir := t.TempDir()
	store := t.TempDir()
	pin := filepath.Join(dir, "pin")
	if err := os.WriteFile(pin, []byte("135799\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PKCS11SPY", hsm.Module)
	card := []string{"--attest-pkcs11-module", pkcs11Spy, "--attest-token", hsm.Token, "--attest-key", hsm.KeyLabel,
		"--attest-pin-file", pin, "--office", "Comune di Borgo Sereno"}
	args := append([]string{"--store", store, "--sim-pages", "1", "--sim-page-time", "1ms", "--saned", ""}, card...)
	start := func(spyLog string) *agentProc {
		t.Helper()
		t.Setenv("PKCS11SPY_OUTPUT", spyLog)
		return startAgent(t, args...)
	}

	first := filepath.Join(dir, "spy-1.log")
	ag := start(first)
	if n := logins(t, first); n != 1 {
		t.Fatalf("first start: %d logins, want 1", n)
	}
	if !ag.logged("refused the PIN") {
		t.Fatalf("no word of the refused PIN in the log:\n%s", ag.logs)
	}
	cl, err := dialAgent(t, ag)
	if err != nil {
		t.Fatal(err)
	}
	actID, _, _ := captureDocument(t, ag, cl, map[string]any{"type": "act.open", "kind": "nascita",
		"signers": []map[string]string{{"role": "dichiarante", "nome": "Anna", "cognome": "Neri"}}}, "dichiarante")
	failed, err := cl.call(map[string]any{"type": "document.build", "act": actID, "attest": true}, "document.failed")
	if err != nil {
		t.Fatal(err)
	}
	e := failed.msg["error"].(map[string]any)
	if e["code"] != "pin_refused" || !strings.Contains(e["message"].(string), "ha rifiutato il PIN") {
		t.Fatalf("attesting after a refused PIN: %s", failed.raw)
	}
	cl.c.Close()
	ag.stop(t)
	// doctor says so, and does not touch the card either.
	t.Setenv("PKCS11SPY_OUTPUT", filepath.Join(dir, "spy-doctor.log"))
	if code, r, _ := doctor(t, append([]string{"--store", store}, card...)...); code != exitCertificate ||
		!hasFinding(r, "certificates", "fail", "refused the PIN in "+pin) {
		t.Errorf("doctor after the refusal: %d %+v", code, r.Findings)
	}
	if n := logins(t, filepath.Join(dir, "spy-doctor.log")); n != 0 {
		t.Errorf("doctor logged in %d times", n)
	}

	// Restarted with the same PIN file: the card is not touched.
	second := filepath.Join(dir, "spy-2.log")
	ag = start(second)
	if n := logins(t, second); n != 0 {
		t.Fatalf("restart with the refused PIN file: %d logins, want 0", n)
	}
	if !ag.logged("not tried again") {
		t.Fatalf("the restart does not say the PIN was not tried:\n%s", ag.logs)
	}
	ag.stop(t)

	// The operator writes the right PIN: the next start logs in once and
	// attests again.
	if err := os.WriteFile(pin, []byte(hsm.PIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	third := filepath.Join(dir, "spy-3.log")
	ag = start(third)
	if n := logins(t, third); n != 1 {
		t.Fatalf("start with the right PIN: %d logins, want 1", n)
	}
	if !ag.logged("attestations of conformity enabled") {
		t.Fatalf("the right PIN did not enable attestations:\n%s", ag.logs)
	}
	if _, err := os.Stat(filepath.Join(store, pinRefusalFile)); !os.IsNotExist(err) {
		t.Fatalf("the refusal is still remembered after the right PIN: %v", err)
	}
}
