package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/autografo/autografo/agent/private"
	"github.com/autografo/autografo/drivers/ippusb"
	"github.com/autografo/autografo/drivers/saned"
	"github.com/autografo/autografo/scanner"
)

// A doctor's finding: what was checked, what was found, and what to do
// when it is wrong.
type finding struct {
	Check  string `json:"check"`
	Status string `json:"status"` // ok, warn, fail, skip
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// The exit status of doctor when a check fails: stable, for monitoring
// scripts; the first failing check's, in this order. Warnings leave 0.
const (
	exitConfig      = 9
	exitPort        = 10
	exitStore       = 11
	exitSaned       = 12
	exitCertificate = 13
	exitBrowser     = 14
	exitUSB         = 15
	exitClock       = 16
)

var doctorExits = map[string]int{"configuration": exitConfig, "port": exitPort, "store": exitStore, "saned": exitSaned,
	"certificates": exitCertificate, "browser": exitBrowser, "usb": exitUSB, "clock": exitClock}

// The directories Chrome and Debian's Chromium read managed policies from.
var defaultPolicyDirs = []string{"/etc/opt/chrome/policies/managed", "/etc/chromium/policies/managed"}

// doctorCmd checks what Autografo needs on this workstation and says how
// to fix what is wrong. It reads serve's settings as serve does (the
// files, the AUTOGRAFO_* variables, its flags): it checks what serve
// will use.
func doctorCmd(args []string, stdout, stderr io.Writer) int {
	fs, sv := newServeFlags("doctor", stderr)
	var policyDirs, udevDirs stringList
	fs.Var(&policyDirs, "policy-dir", "a directory of the browser's managed policies (repeatable; default Chrome's and Chromium's)")
	fs.Var(&udevDirs, "udev-dir", "a directory of udev rules (repeatable; default the system's)")
	asJSON := fs.Bool("json", false, "print the findings as JSON, for monitoring")
	findings := []finding{{Check: "configuration", Status: "ok", Detail: "the configuration files and AUTOGRAFO_* variables are valid"}}
	if _, err := configure(fs, args, os.LookupEnv); errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
		return 2
	} else if err != nil {
		findings[0].Status, findings[0].Detail, findings[0].Fix = "fail", "serve would refuse to start: "+err.Error(), "correct the setting named"
		var ce *ConfigError
		if errors.As(err, &ce) && ce.Fix != "" {
			findings[0].Fix = "correct the setting named: " + ce.Fix
		}
	}
	if len(policyDirs) == 0 {
		policyDirs = defaultPolicyDirs
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store, written := checkStore(ctx, *sv.storeDir)
	findings = append(findings,
		checkPort(*sv.port, *sv.ports, *sv.stateDir),
		store,
		checkClock(time.Now(), written),
		checkSaned(ctx, sv.df.sanedAddr),
	)
	findings = append(findings, checkCertificates(&sv.sf, *sv.storeDir, time.Now())...)
	findings = append(findings, checkBrowserPolicy(sv.origins, policyDirs))
	if len(udevDirs) == 0 {
		udevDirs = defaultUdevDirs
	}
	findings = append(findings, checkUSB(ctx, sv.df.usb, udevDirs, "/proc")...)
	code := 0
	for _, f := range findings {
		if f.Status == "fail" && code == 0 {
			code = doctorExits[f.Check]
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{"exit": code, "findings": findings})
		return code
	}
	mark := map[string]string{"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "--  "}
	for _, f := range findings {
		fmt.Fprintf(stdout, "%s %-12s %s\n", mark[f.Status], f.Check, f.Detail)
		if f.Fix != "" {
			fmt.Fprintf(stdout, "     %-12s fix: %s\n", "", f.Fix)
		}
	}
	return code
}

// checkPort: one of serve's ports is free on both loopback addresses, or
// this user's running agent holds one. Ports held by others (another
// user's agent on a shared machine) only move serve to the next.
func checkPort(port, ports int, stateDir string) finding {
	f := finding{Check: "port"}
	ports = max(ports, 1)
	if info, err := readRuntime(stateDir); err == nil && info.Port >= port && info.Port < port+ports && processAlive(info.PID) {
		f.Status, f.Detail = "ok", fmt.Sprintf("Autografo is running on port %d (pid %d)", info.Port, info.PID)
		return f
	}
	var held []string
	for p := port; p < port+ports; p++ {
		if err := portFree(p); err != nil {
			held = append(held, err.Error())
			continue
		}
		f.Status, f.Detail = "ok", fmt.Sprintf("port %d is free on 127.0.0.1 and [::1]", p)
		if len(held) > 0 {
			f.Detail += fmt.Sprintf(" (before it, %s)", strings.Join(held, "; "))
		}
		return f
	}
	f.Status = "fail"
	f.Detail = fmt.Sprintf("no port free from %d to %d: %s", port, port+ports-1, strings.Join(held, "; "))
	f.Fix = fmt.Sprintf("find the programs that hold them (ss -ltnp 'sport = :%d') and stop one, or run serve with another --port", port)
	return f
}

// portFree tells why a port cannot be bound on both loopback addresses.
func portFree(port int) error {
	for _, host := range []string{"127.0.0.1", "::1"} {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("port %d on %s is taken: %w", port, host, err)
		}
		ln.Close()
	}
	return nil
}

// storeWrite is when the store was last written, and by what: what the
// clock must not be behind.
type storeWrite struct {
	at   time.Time
	what string
}

// checkStore: the store's files are the user's alone, it opens with its
// key, and its pages and journal verify. The modes are read before the
// store is opened, which sets them right. It also says when the store was
// last written: its database file, or its journal's last entry.
func checkStore(ctx context.Context, dir string) (f finding, last storeWrite) {
	f = finding{Check: "store"}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		f.Status, f.Detail = "ok", fmt.Sprintf("no store in %s yet: serve creates it", dir)
		return f, last
	}
	if st, err := os.Stat(filepath.Join(dir, "autografo.db")); err == nil {
		last = storeWrite{st.ModTime(), "the store's database was written"}
	}
	var loose, fixes []string
	for _, name := range []string{".", "autografo.db", "key"} {
		var exposed *private.ExposedError
		if err := private.Check(filepath.Join(dir, name)); errors.As(err, &exposed) {
			loose = append(loose, fmt.Sprintf("%s (%s)", exposed.Path, exposed.Who))
			fixes = append(fixes, exposed.Fix)
		}
	}
	if len(loose) > 0 {
		f.Status = "fail"
		f.Detail = "the store can be read by other users: " + strings.Join(loose, ", ")
		f.Fix = strings.Join(fixes, " && ")
		return f, last
	}
	s, err := openStore(dir)
	if err != nil {
		f.Status, f.Detail = "fail", fmt.Sprintf("the store in %s does not open: %v", dir, err)
		f.Fix = "restore the store's key file from its backup (a store without its key cannot be read), or move the store aside to start a new one"
		return f, last
	}
	defer s.Close()
	pages, err := s.Check(ctx)
	if err != nil {
		f.Status, f.Detail = "fail", fmt.Sprintf("the store in %s fails its check after %d good pages: %v", dir, pages, err)
		f.Fix = "keep the store as it is, and restore it from a backup; `autografo check` says the same"
		return f, last
	}
	if entries, err := s.Journal(ctx); err == nil && len(entries) > 0 && entries[len(entries)-1].At.After(last.at) {
		last = storeWrite{entries[len(entries)-1].At, "the journal's last entry is dated"}
	}
	f.Status, f.Detail = "ok", fmt.Sprintf("the store in %s opens, %d pages and the journal verify", dir, pages)
	return f, last
}

// checkSaned: the SANE daemon answers, and which devices it offers.
func checkSaned(ctx context.Context, addr string) finding {
	f := finding{Check: "saned"}
	if addr == "" {
		f.Status, f.Detail = "skip", "no SANE daemon configured (--saned empty)"
		return f
	}
	c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		f.Status, f.Detail = "warn", fmt.Sprintf("no SANE daemon answers on %s: %v", addr, err)
		f.Fix = "for SANE scanners: apt-get install sane-utils, put 127.0.0.1 in /etc/sane.d/saned.conf, systemctl enable --now saned.socket; without them, run serve with --saned ''"
		if runtime.GOOS == "windows" {
			f.Fix = "Windows has no saned: for SANE scanners run serve with --saned HOST:6566 of a Linux machine that shares them; without one, --saned ''"
		}
		return f
	}
	c.Close()
	infos, err := saned.New(saned.Options{Addr: addr}).Discover(ctx)
	if err != nil {
		f.Status, f.Detail = "fail", fmt.Sprintf("the SANE daemon on %s does not list its devices: %v", addr, err)
		f.Fix = "check /etc/sane.d/saned.conf allows 127.0.0.1, and the daemon's log (journalctl -u saned@*)"
		return f
	}
	var names []string
	for _, in := range infos {
		names = append(names, in.Model)
	}
	f.Status = "ok"
	f.Detail = fmt.Sprintf("the SANE daemon on %s offers %d devices", addr, len(infos))
	if len(names) > 0 {
		f.Detail += ": " + strings.Join(names, ", ")
	}
	return f
}

// certificateWarning is how long before a certificate expires doctor (and
// serve) start to warn.
const certificateWarning = 30 * 24 * time.Hour

// checkCertificates: the seal's and the officer's key files open, and
// their certificates are valid now and for how long. A smart card is not
// opened: that would spend one of its PIN tries on a wrong PIN.
func checkCertificates(sf *sealFlags, storeDir string, now time.Time) []finding {
	var out []finding
	for _, c := range []struct{ use, p12, pass string }{{"seal", sf.sealP12, sf.sealPass}, {"attestation", sf.attestP12, sf.attestPass}} {
		if c.p12 == "" {
			continue
		}
		f := finding{Check: "certificates"}
		s, err := fromP12(c.p12, c.pass)
		if err != nil {
			f.Status, f.Detail = "fail", fmt.Sprintf("the %s key %s cannot be used: %v", c.use, c.p12, err)
			f.Fix = "check the file and its password file; a certificate that has expired must be renewed by the office's certification authority"
			out = append(out, f)
			continue
		}
		if err := s.Unfit(); err != nil {
			f.Status, f.Detail = "fail", fmt.Sprintf("the %s certificate in %s cannot sign documents: %v", c.use, c.p12, err)
			f.Fix = "configure the signature certificate (digital signature or non-repudiation key usage), not an authentication or TLS certificate"
			out = append(out, f)
			continue
		}
		_, until, _ := s.Validity()
		left := until.Sub(now)
		f.Status = "ok"
		f.Detail = fmt.Sprintf("the %s certificate of %s is valid until %s (%d days)", c.use, s.Name(), until.Format(time.DateOnly), int(left.Hours()/24))
		if left < certificateWarning {
			f.Status, f.Fix = "warn", "renew it before it expires: documents cannot be sealed or attested after"
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		out = append(out, finding{Check: "certificates", Status: "skip", Detail: "no seal or attestation key file configured"})
	}
	if sf.module != "" {
		if len(out) == 1 && out[0].Status == "skip" {
			out = out[:0]
		}
		out = append(out, checkToken(sf, storeDir, now))
	}
	return out
}

// checkBrowserPolicy: Chrome lets each allowed app origin reach Autografo
// on loopback without asking (Local Network Access, Chrome 142 and later).
func checkBrowserPolicy(origins, dirs []string) finding {
	f := finding{Check: "browser"}
	if len(origins) == 0 {
		f.Status, f.Detail = "skip", "no act-drafting app origin given (--allow-origin): the page on 127.0.0.1 needs no policy"
		return f
	}
	allowed := map[string]map[string]bool{"LocalNetworkAccessAllowedForUrls": {}, "LoopbackNetworkAllowedForUrls": {}}
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				continue
			}
			var policy map[string]json.RawMessage
			if json.Unmarshal(data, &policy) != nil {
				f.Status, f.Detail = "fail", fmt.Sprintf("%s is not valid JSON: Chrome ignores it", file)
				f.Fix = "correct the file (docs/LOCAL-NETWORK-ACCESS.md shows it)"
				return f
			}
			for name := range allowed {
				var urls []string
				json.Unmarshal(policy[name], &urls)
				for _, u := range urls {
					allowed[name][u] = true
				}
			}
		}
	}
	var missing []string
	for _, o := range origins {
		for _, name := range []string{"LocalNetworkAccessAllowedForUrls", "LoopbackNetworkAllowedForUrls"} {
			if !allowed[name][o] {
				missing = append(missing, name+" "+o)
			}
		}
	}
	if len(missing) > 0 {
		f.Status = "warn"
		f.Detail = "the browser's policy does not allow: " + strings.Join(missing, ", ") + " (Chrome then asks the user, or refuses)"
		f.Fix = "install the policy of docs/LOCAL-NETWORK-ACCESS.md in " + dirs[0]
		return f
	}
	f.Status, f.Detail = "ok", fmt.Sprintf("the browser's policy allows %s", strings.Join(origins, ", "))
	return f
}

// The directories udev reads rules from.
var defaultUdevDirs = []string{"/etc/udev/rules.d", "/usr/lib/udev/rules.d", "/lib/udev/rules.d"}

// checkUSB: a udev rule gives IPP-over-USB scanners to the user, ipp-usb
// does not hold them, and each one plugged in opens.
func checkUSB(ctx context.Context, enabled bool, udevDirs []string, proc string) []finding {
	if !enabled {
		return []finding{{Check: "usb", Status: "skip", Detail: "USB scanners not driven (--usb=false)"}}
	}
	var out []finding
	if runtime.GOOS == "windows" {
		// No udev and no ipp-usb: libusb opens only the interfaces bound
		// to WinUSB, which is what opening each device below finds out.
		out = append(out, finding{Check: "usb", Status: "skip", Detail: "udev and ipp-usb are Linux's: on Windows a scanner's IPP-over-USB interface must be bound to WinUSB (docs/PLATFORMS.md)"})
		return append(out, checkUSBDevices(ctx)...)
	}
	rule := finding{Check: "usb", Status: "warn", Detail: "no udev rule gives IPP-over-USB scanners (interface 07/01/04) to the user at the desk",
		Fix: "install docs/udev/70-autografo-ipp-usb.rules in /etc/udev/rules.d, udevadm control --reload, and plug the scanner in again"}
	for _, dir := range udevDirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.rules"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err == nil && strings.Contains(string(data), "070104") && (strings.Contains(string(data), "uaccess") || strings.Contains(string(data), "GROUP=")) {
				rule = finding{Check: "usb", Status: "ok", Detail: "the udev rule " + file + " gives IPP-over-USB scanners to the user"}
				break
			}
		}
		if rule.Status == "ok" {
			break
		}
	}
	out = append(out, rule)
	// ipp-usb, which shares such devices with CUPS, holds their interfaces.
	comms, _ := filepath.Glob(filepath.Join(proc, "[0-9]*", "comm"))
	for _, c := range comms {
		if b, err := os.ReadFile(c); err == nil && strings.TrimSpace(string(b)) == "ipp-usb" {
			out = append(out, finding{Check: "usb", Status: "warn", Detail: "ipp-usb is running (pid " + filepath.Base(filepath.Dir(c)) + "): it holds the IPP-over-USB scanners, which then show as busy",
				Fix: "systemctl disable --now ipp-usb, or reach the scanner through it: serve --usb=false --escl http://localhost:60000/eSCL"})
			break
		}
	}
	return append(out, checkUSBDevices(ctx)...)
}

// checkUSBDevices opens each IPP-over-USB scanner plugged in.
func checkUSBDevices(ctx context.Context) []finding {
	var out []finding
	permissionFix := "install the udev rule (docs/udev), reload udev, and plug the scanner in again; for the kiosk's service, the rule that gives it to the group autografo"
	if runtime.GOOS == "windows" {
		permissionFix = "bind the scanner's IPP-over-USB interface (07/01/04) to WinUSB (docs/PLATFORMS.md), or reach the scanner over the network: serve --escl"
	}
	drv, err := ippusb.New(ippusb.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		out = append(out, finding{Check: "usb", Status: "warn", Detail: "no USB access here: " + err.Error(),
			Fix: "on a workstation: install libusb-1.0-0; in a container, USB devices are not passed in"})
		return out
	}
	defer drv.Close()
	infos, err := drv.Discover(ctx)
	if err != nil {
		out = append(out, finding{Check: "usb", Status: "fail", Detail: "listing USB scanners failed: " + err.Error(), Fix: "see the system log (journalctl -k) for the USB bus"})
		return out
	}
	if len(infos) == 0 {
		out = append(out, finding{Check: "usb", Status: "ok", Detail: "no IPP-over-USB scanner is plugged in"})
	}
	for _, in := range infos {
		name := strings.TrimSpace(in.Make + " " + in.Model)
		f := finding{Check: "usb", Status: "ok", Detail: fmt.Sprintf("the USB scanner %s (%s) opens", name, in.ID)}
		dev, err := drv.Open(ctx, in.ID)
		switch {
		case err == nil:
			dev.Close()
		case errors.Is(err, scanner.ErrPermission):
			f.Status, f.Detail = "fail", fmt.Sprintf("the USB scanner %s (%s) cannot be opened by this user: %v", name, in.ID, err)
			f.Fix = permissionFix
		case errors.Is(err, scanner.ErrBusy):
			f.Status, f.Detail = "warn", fmt.Sprintf("the USB scanner %s (%s) is held by another program: %v", name, in.ID, err)
			f.Fix = "stop the program that holds it (ipp-usb, or another Autografo)"
		default:
			f.Status, f.Detail = "fail", fmt.Sprintf("the USB scanner %s (%s) does not open: %v", name, in.ID, err)
			f.Fix = "plug it in again; if it persists, record it (docs/SCANNERS.md) and report it"
		}
		out = append(out, f)
	}
	return out
}

// ansc is when every comune had to move its civil-status acts to ANSC: a
// clock before it is wrong.
var ansc = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)

// clockSlack is how far behind the store's last write the clock may be:
// two minutes of a clock set by hand.
const clockSlack = 2 * time.Minute

// checkClock: the clock is not before ANSC, nor behind what the store last
// wrote: acts and their journal would then be dated before what precedes
// them, and an emergency register's order would be wrong.
func checkClock(now time.Time, last storeWrite) finding {
	f := finding{Check: "clock", Status: "ok", Detail: "the clock says " + now.Format(time.RFC3339)}
	fix := "set the clock right (timedatectl set-ntp true, or the BIOS clock), then start serve"
	if now.Before(ansc) {
		f.Status, f.Detail, f.Fix = "fail", "the clock says "+now.Format(time.RFC3339)+", before ANSC existed", fix
		return f
	}
	if last.at.After(now.Add(clockSlack)) {
		f.Status = "fail"
		f.Detail = fmt.Sprintf("the clock says %s, but %s %s: the clock went back", now.Format(time.RFC3339), last.what, last.at.Format(time.RFC3339))
		f.Fix = fix
	}
	return f
}
