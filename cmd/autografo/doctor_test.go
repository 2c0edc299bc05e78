package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/pkcs11"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/autografo/autografo/agent/seal/sealtest"
	"github.com/autografo/autografo/agent/store"
	"github.com/autografo/autografo/drivers/saned/sanedtest"
)

// doctorReport is doctor --json's output.
type doctorReport struct {
	Exit     int       `json:"exit"`
	Findings []finding `json:"findings"`
}

// doctor runs `autografo doctor --json` with the flags, on a workstation
// whose every other check passes or is left out: a free port, a new store,
// no saned, no keys, no app origin.
func doctor(t *testing.T, flags ...string) (int, doctorReport, map[string]finding) {
	t.Helper()
	// The configuration files of this test's own, none unless it wrote
	// them.
	if os.Getenv("AUTOGRAFO_SYSTEM_CONFIG") == "" {
		t.Setenv("AUTOGRAFO_SYSTEM_CONFIG", filepath.Join(t.TempDir(), "autografo.toml"))
		t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	}
	base := []string{"doctor", "--json", "--port", strconv.Itoa(freeLoopbackPort(t)), "--store", filepath.Join(t.TempDir(), "store"),
		"--state-dir", t.TempDir(), "--saned", "", "--policy-dir", t.TempDir()}
	var out, errb bytes.Buffer
	code := run(append(base, flags...), &out, &errb)
	var r doctorReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("doctor --json (%d): %v\n%s%s", code, err, out.String(), errb.String())
	}
	if r.Exit != code {
		t.Errorf("doctor said exit %d and exited %d", r.Exit, code)
	}
	by := map[string]finding{}
	for _, f := range r.Findings {
		if _, seen := by[f.Check]; !seen {
			by[f.Check] = f
		}
		if (f.Status == "fail" || f.Status == "warn") && f.Fix == "" {
			t.Errorf("%s: %s without a fix: %s", f.Check, f.Status, f.Detail)
		}
	}
	return code, r, by
}

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if ln6, err := net.Listen("tcp", net.JoinHostPort("::1", strconv.Itoa(port))); err == nil {
			ln6.Close()
			return port
		}
	}
	t.Fatal("no port free on both loopback addresses")
	return 0
}

func TestDoctorOnAWorkstationThatIsReady(t *testing.T) {
	code, r, by := doctor(t)
	if code != 0 || by["configuration"].Status != "ok" || by["port"].Status != "ok" || by["store"].Status != "ok" || by["saned"].Status != "skip" ||
		by["certificates"].Status != "skip" || by["browser"].Status != "skip" {
		t.Errorf("doctor (%d): %+v", code, r.Findings)
	}
	// Without --json: one line per check, and 0.
	t.Setenv("AUTOGRAFO_SYSTEM_CONFIG", filepath.Join(t.TempDir(), "autografo.toml"))
	var out, errb bytes.Buffer
	if code := run([]string{"doctor", "--port", strconv.Itoa(freeLoopbackPort(t)), "--store", filepath.Join(t.TempDir(), "new"), "--state-dir", t.TempDir(), "--saned", ""}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "ok   port") || !strings.Contains(out.String(), "ok   store") {
		t.Errorf("doctor (%d):\n%s%s", code, out.String(), errb.String())
	}
}

func TestDoctorPort(t *testing.T) {
	// Taken by another program on one loopback address.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	code, _, by := doctor(t, "--port", port, "--ports", "1")
	if code != exitPort || by["port"].Status != "fail" || !strings.Contains(by["port"].Detail, "127.0.0.1") {
		t.Errorf("the one port serve may take, taken: %d %+v", code, by["port"])
	}
	// With the ports after it to try (another user's agent holds the
	// first on a shared machine): serve takes the next free one.
	code, _, by = doctor(t, "--port", port)
	if by["port"].Status != "ok" || !strings.Contains(by["port"].Detail, "before it, port "+port+" on 127.0.0.1 is taken") {
		t.Errorf("a port taken, the next ones to try: %d %+v", code, by["port"])
	}
	// Held by this user's running agent: that is where it should be.
	ag := startAgent(t, "--saned", "")
	code, _, by = doctor(t, "--port", strconv.Itoa(portOf(t, ag.Base)), "--state-dir", ag.StateDir)
	if code != 0 || by["port"].Status != "ok" || !strings.Contains(by["port"].Detail, "Autografo is running") {
		t.Errorf("the agent's own port: %d %+v", code, by["port"])
	}
}

func portOf(t *testing.T, url string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

func TestDoctorStore(t *testing.T) {
	dir := newStore(t)
	if code, _, by := doctor(t, "--store", dir); code != 0 || by["store"].Status != "ok" {
		t.Fatalf("a good store: %d %+v", code, by["store"])
	}
	// Readable by others.
	os.Chmod(filepath.Join(dir, "autografo.db"), 0o644)
	if code, _, by := doctor(t, "--store", dir); code != exitStore || by["store"].Status != "fail" || !strings.Contains(by["store"].Detail, "autografo.db (mode 644)") || !strings.Contains(by["store"].Fix, "chmod 600") {
		t.Errorf("a store others can read: %d %+v", code, by["store"])
	}
	os.Chmod(filepath.Join(dir, "autografo.db"), 0o600)
	// Its key lost, and another in its place.
	other, err := store.LoadOrCreateKey(filepath.Join(t.TempDir(), "key"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "key"), other, 0o600)
	if code, _, by := doctor(t, "--store", dir); code != exitStore || by["store"].Status != "fail" || !strings.Contains(by["store"].Fix, "key") {
		t.Errorf("a store with the wrong key: %d %+v", code, by["store"])
	}
}

func TestDoctorSaned(t *testing.T) {
	s := sanedtest.Start(t, sanedtest.Options{})
	if code, _, by := doctor(t, "--saned", s.Addr); code != 0 || by["saned"].Status != "ok" || !strings.Contains(by["saned"].Detail, "frontend-tester") {
		t.Errorf("a real saned: %d %+v", code, by["saned"])
	}
	// None answers: a warning (an office may have no SANE scanner), with
	// what to install.
	nobody := net.JoinHostPort("127.0.0.1", strconv.Itoa(freeLoopbackPort(t)))
	if code, _, by := doctor(t, "--saned", nobody); code != 0 || by["saned"].Status != "warn" || !strings.Contains(by["saned"].Fix, "saned.socket") {
		t.Errorf("no saned: %d %+v", code, by["saned"])
	}
}

func TestDoctorCertificates(t *testing.T) {
	dir := t.TempDir()
	p12 := func(name string, from, until time.Time) []string {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Postazione demografici 4"},
			NotBefore: from, NotAfter: until, KeyUsage: x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		cert, _ := x509.ParseCertificate(der)
		data, err := pkcs12.Modern.Encode(key, cert, nil, "sigillo")
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name+".p12"), data, 0o600)
		os.WriteFile(filepath.Join(dir, name+".pass"), []byte("sigillo\n"), 0o600)
		return []string{"--seal-p12", filepath.Join(dir, name+".p12"), "--seal-password-file", filepath.Join(dir, name+".pass")}
	}
	now := time.Now()
	if code, _, by := doctor(t, p12("year", now.Add(-time.Hour), now.Add(365*24*time.Hour))...); code != 0 || by["certificates"].Status != "ok" ||
		!strings.Contains(by["certificates"].Detail, "Postazione demografici 4") {
		t.Errorf("a seal valid for a year: %d %+v", code, by["certificates"])
	}
	if code, _, by := doctor(t, p12("soon", now.Add(-time.Hour), now.Add(10*24*time.Hour))...); code != 0 || by["certificates"].Status != "warn" ||
		!strings.Contains(by["certificates"].Detail, "(9 days)") && !strings.Contains(by["certificates"].Detail, "(10 days)") {
		t.Errorf("a seal that expires in ten days: %d %+v", code, by["certificates"])
	}
	if code, _, by := doctor(t, p12("expired", now.Add(-48*time.Hour), now.Add(-24*time.Hour))...); code != exitCertificate || by["certificates"].Status != "fail" {
		t.Errorf("an expired seal: %d %+v", code, by["certificates"])
	}
	wrong := p12("wrongpass", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	os.WriteFile(filepath.Join(dir, "wrongpass.pass"), []byte("altro\n"), 0o600)
	if code, _, by := doctor(t, wrong...); code != exitCertificate || by["certificates"].Status != "fail" {
		t.Errorf("a wrong password: %d %+v", code, by["certificates"])
	}
}

func TestDoctorBrowserPolicy(t *testing.T) {
	const app = "https://side.comune.example"
	policies := t.TempDir()
	if code, _, by := doctor(t, "--allow-origin", app, "--policy-dir", policies); code != 0 || by["browser"].Status != "warn" ||
		!strings.Contains(by["browser"].Detail, "LocalNetworkAccessAllowedForUrls "+app) {
		t.Errorf("no policy: %d %+v", code, by["browser"])
	}
	os.WriteFile(filepath.Join(policies, "autografo.json"), []byte(`{"LoopbackNetworkAllowedForUrls": ["`+app+`"], "LocalNetworkAccessAllowedForUrls": ["`+app+`"]}`), 0o644)
	if code, _, by := doctor(t, "--allow-origin", app, "--policy-dir", policies); code != 0 || by["browser"].Status != "ok" {
		t.Errorf("the policy installed: %d %+v", code, by["browser"])
	}
	os.WriteFile(filepath.Join(policies, "other.json"), []byte(`{"LoopbackNetworkAllowedForUrls": [`), 0o644)
	if code, _, by := doctor(t, "--allow-origin", app, "--policy-dir", policies); code != exitBrowser || by["browser"].Status != "fail" ||
		!strings.Contains(by["browser"].Detail, "other.json") {
		t.Errorf("a broken policy file: %d %+v", code, by["browser"])
	}
}

// The configuration serve would refuse: doctor says which setting, where,
// and checks the rest with what it could read.
func TestDoctorConfiguration(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "autografo"), 0o755)
	os.WriteFile(filepath.Join(dir, "autografo", "autografo.toml"), []byte("saned = \"\"\nsession-max = \"mezza giornata\"\n"), 0o644)
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("AUTOGRAFO_SYSTEM_CONFIG", filepath.Join(t.TempDir(), "none.toml"))
	code, _, by := doctor(t)
	if code != exitConfig || by["configuration"].Status != "fail" || !strings.Contains(by["configuration"].Detail, "autografo.toml:2: session-max") ||
		by["port"].Status != "ok" {
		t.Errorf("a file serve refuses: %d %+v %+v", code, by["configuration"], by["port"])
	}
	os.WriteFile(filepath.Join(dir, "autografo", "autografo.toml"), []byte("saned = \"\"\nsession-max = \"8h\"\n"), 0o644)
	if code, _, by := doctor(t); code != 0 || by["configuration"].Status != "ok" {
		t.Errorf("the file corrected: %d %+v", code, by["configuration"])
	}
}

// USB: the udev rule, ipp-usb holding the scanners. (A scanner plugged in
// and opened is tested under umockdev, in usb_umockdev_test.go.)
func TestDoctorUSB(t *testing.T) {
	rules := t.TempDir()
	code, r, _ := doctor(t, "--udev-dir", rules)
	if code != 0 || !hasFinding(r, "usb", "warn", "no udev rule gives IPP-over-USB scanners") {
		t.Errorf("no udev rule: %d %+v", code, r.Findings)
	}
	rule, err := os.ReadFile(filepath.Join("..", "..", "docs", "udev", "70-autografo-ipp-usb.rules"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(rules, "70-autografo-ipp-usb.rules"), rule, 0o644)
	if code, r, _ := doctor(t, "--udev-dir", rules); code != 0 || !hasFinding(r, "usb", "ok", "70-autografo-ipp-usb.rules gives IPP-over-USB scanners") {
		t.Errorf("the project's rule: %d %+v", code, r.Findings)
	}
	// A process called ipp-usb.
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "ipp-usb")
	data, _ := os.ReadFile(sleep)
	os.WriteFile(bin, data, 0o755)
	ippusb := exec.Command(bin, "600")
	if err := ippusb.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { ippusb.Process.Kill(); ippusb.Wait() }()
	if code, r, _ := doctor(t, "--udev-dir", rules); code != 0 || !hasFinding(r, "usb", "warn", "ipp-usb is running (pid "+strconv.Itoa(ippusb.Process.Pid)+")") {
		t.Errorf("ipp-usb running: %d %+v", code, r.Findings)
	}
	if code, r, _ := doctor(t, "--udev-dir", rules, "--usb=false"); code != 0 || !hasFinding(r, "usb", "skip", "--usb=false") {
		t.Errorf("USB off: %d %+v", code, r.Findings)
	}
}

func hasFinding(r doctorReport, check, status, detail string) bool {
	for _, f := range r.Findings {
		if f.Check == check && f.Status == status && strings.Contains(f.Detail, detail) {
			return true
		}
	}
	return false
}

// The officer's smart card, a real PKCS#11 token (SoftHSM 2), looked at
// without a login: found by its label, its certificate read and dated;
// a card not in the reader, a key label not on it, a library not there.
func TestDoctorSmartCard(t *testing.T) {
	h := sealtest.NewSoftHSM(t, "Anna Ricci")
	card := []string{"--attest-pkcs11-module", h.Module, "--attest-token", h.Token, "--attest-key", h.KeyLabel}
	code, r, _ := doctor(t, card...)
	if code != 0 || !hasFinding(r, "certificates", "ok", `the officer's card "ufficiale" holds the certificate of Anna Ricci`) ||
		!hasFinding(r, "certificates", "ok", "its PIN was not tried") {
		t.Errorf("the card: %d %+v", code, r.Findings)
	}
	if code, r, _ := doctor(t, "--attest-pkcs11-module", h.Module, "--attest-token", "altro", "--attest-key", h.KeyLabel); code != exitCertificate ||
		!hasFinding(r, "certificates", "fail", `no card labelled "altro" in the readers (seen: "ufficiale"`) {
		t.Errorf("another card's label: %d %+v", code, r.Findings)
	}
	if code, r, _ := doctor(t, "--attest-pkcs11-module", h.Module, "--attest-token", h.Token, "--attest-key", "sigillo"); code != exitCertificate ||
		!hasFinding(r, "certificates", "fail", `no certificate labelled "sigillo"`) {
		t.Errorf("a key label not on the card: %d %+v", code, r.Findings)
	}
	// A wrong PIN in the PIN file: doctor does not try it, so the card
	// still counts no wrong PIN; then one wrong login, and doctor says so.
	pinFile := filepath.Join(t.TempDir(), "pin")
	os.WriteFile(pinFile, []byte("000000\n"), 0o600)
	if code, r, _ := doctor(t, append(card, "--attest-pin-file", pinFile)...); code != 0 || !hasFinding(r, "certificates", "ok", "its PIN was not tried") {
		t.Errorf("with a wrong PIN file: %d %+v", code, r.Findings)
	}
	p := pkcs11.New(h.Module)
	if err := p.Initialize(); err != nil {
		t.Fatal(err)
	}
	slots, _ := p.GetSlotList(true)
	for _, slot := range slots {
		if ti, err := p.GetTokenInfo(slot); err == nil && strings.TrimRight(ti.Label, " ") == h.Token {
			session, _ := p.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
			if err := p.Login(session, pkcs11.CKU_USER, "000000"); err == nil {
				t.Fatal("SoftHSM took a wrong PIN")
			}
			p.CloseSession(session)
		}
	}
	p.Finalize()
	p.Destroy()
	if code, r, _ := doctor(t, card...); code != 0 || !hasFinding(r, "certificates", "warn", "a wrong PIN has been entered since the last right one") {
		t.Errorf("after a wrong PIN: %d %+v", code, r.Findings)
	}
	missing := filepath.Join(t.TempDir(), "libbit4xpki.so")
	if code, r, _ := doctor(t, "--attest-pkcs11-module", missing, "--attest-token", h.Token, "--attest-key", h.KeyLabel); code != exitCertificate ||
		!hasFinding(r, "certificates", "fail", "the smart card's PKCS#11 library "+missing+" is not there") {
		t.Errorf("a library not there: %d %+v", code, r.Findings)
	}
}

// The clock behind what the store last wrote: a database file dated a day
// ahead (as after the clock was set back).
func TestDoctorClock(t *testing.T) {
	dir := newStore(t)
	if code, _, by := doctor(t, "--store", dir); code != 0 || by["clock"].Status != "ok" {
		t.Fatalf("a store written now: %d %+v", code, by["clock"])
	}
	ahead := time.Now().Add(24 * time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "autografo.db"), ahead, ahead); err != nil {
		t.Fatal(err)
	}
	if code, _, by := doctor(t, "--store", dir); code != exitClock || by["clock"].Status != "fail" || !strings.Contains(by["clock"].Detail, "the clock went back") {
		t.Errorf("a store written a day ahead: %d %+v", code, by["clock"])
	}
}

// newStore makes a store as serve would, and returns its directory.
func newStore(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	s, err := openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	return dir
}
