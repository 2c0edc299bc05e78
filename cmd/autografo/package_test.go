package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/autografo/autografo/scanner/scannertest"
)

// The .deb as an office installs it: `make package` builds it, dpkg
// installs it on this machine, the installed autografo runs doctor and
// serves the simulated scanner from the installed files, and dpkg removes
// it again. It changes the machine's /usr, so it runs as root on a machine
// where no autografo package is installed (CI's).
func TestDebianPackageInstallsRunsAndRemoves(t *testing.T) {
	dpkg := scannertest.Need(t, "dpkg")
	scannertest.Need(t, "make")
	if os.Geteuid() != 0 {
		scannertest.Unavailable(t, "installing a package needs root")
	}
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "autografo").Output(); err == nil && strings.Contains(string(out), "installed") {
		scannertest.Unavailable(t, "an autografo package is installed here: the test would replace and remove it")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	const version = "0.0.1~test"
	mk := exec.Command("make", "package", "VERSION="+version)
	mk.Dir = root
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make package: %v\n%s", err, out)
	}
	arch, err := exec.Command("go", "env", "GOARCH").Output()
	if err != nil {
		t.Fatal(err)
	}
	deb := filepath.Join(root, "dist", "autografo_"+version+"_"+strings.TrimSpace(string(arch))+".deb")
	if strings.TrimSpace(string(arch)) == "amd64" {
		t.Run("rpm", func(t *testing.T) {
			checkRPM(t, filepath.Join(root, "dist", "autografo-"+version+"-1.x86_64.rpm"), version)
		})
	}
	if out, err := exec.Command(dpkg, "-i", deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	removed := false
	remove := func() {
		if removed {
			return
		}
		removed = true
		if out, err := exec.Command(dpkg, "--purge", "autografo").CombinedOutput(); err != nil {
			t.Errorf("dpkg --purge: %v\n%s", err, out)
		}
	}
	t.Cleanup(remove)

	for _, f := range []string{"/usr/bin/autografo", "/usr/lib/udev/rules.d/70-autografo-ipp-usb.rules", "/usr/lib/udev/rules.d/71-autografo-group.rules",
		"/usr/lib/systemd/user/autografo.service", "/usr/lib/systemd/system/autografo-kiosk.service", "/usr/lib/sysusers.d/autografo.conf",
		"/usr/share/man/man1/autografo.1.gz", "/etc/autografo/autografo.toml"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	// The machine's configuration is a conffile: the office's edits stay.
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Conffiles}", "autografo").Output(); err != nil || !strings.Contains(string(out), "/etc/autografo/autografo.toml") {
		t.Errorf("the configuration is not a conffile: %q %v", out, err)
	}
	// The installed manual is the installed program's.
	if gz, err := os.Open("/usr/share/man/man1/autografo.1.gz"); err == nil {
		zr, err := gzip.NewReader(gz)
		var page []byte
		if err == nil {
			page, err = io.ReadAll(zr)
		}
		gz.Close()
		want, werr := exec.Command("/usr/bin/autografo", "man").Output()
		if err != nil || werr != nil || !bytes.Equal(page, want) || !bytes.Contains(page, []byte(".SH SERVE OPTIONS")) {
			t.Errorf("the installed manual is not the installed program's: %v %v", err, werr)
		}
	}
	if out, err := exec.Command("/usr/bin/autografo", "version").Output(); err != nil || strings.TrimSpace(string(out)) != "autografo "+version {
		t.Errorf("autografo version: %q %v", out, err)
	}
	// The kiosk's user, made by the package's systemd-sysusers.
	if _, err := exec.LookPath("systemd-sysusers"); err == nil {
		if out, err := exec.Command("getent", "passwd", "autografo").Output(); err != nil || !strings.HasPrefix(string(out), "autografo:") {
			t.Errorf("no user autografo after the install: %q %v", out, err)
		}
	}

	home := t.TempDir()
	env := append(os.Environ(), "HOME="+home, "XDG_DATA_HOME=", "XDG_STATE_HOME=")
	port := strconv.Itoa(freeLoopbackPort(t))
	doc := exec.Command("/usr/bin/autografo", "doctor", "--json", "--port", port, "--saned", "")
	doc.Env = env
	out, err := doc.Output()
	var report doctorReport
	if err != nil || json.Unmarshal(out, &report) != nil || report.Exit != 0 || len(report.Findings) < 5 {
		t.Errorf("the installed doctor: %v\n%s", err, out)
	}

	serve := exec.Command("/usr/bin/autografo", "serve", "--sim", "--port", port, "--saned", "", "--usb=false", "--mdns=false")
	serve.Env = env
	if logs, err := serveOnce(t, serve, "Autografo è pronto su http://127.0.0.1:"+port+"/", func() {
		// The installed agent answers its health with the simulated
		// scanner, from its embedded files.
		resp, err := exec.Command("curl", "-sf", "http://127.0.0.1:"+port+"/v1/health").Output()
		if err != nil || !strings.Contains(string(resp), `"driver":"sim"`) {
			t.Errorf("health of the installed agent: %q %v", resp, err)
		}
	}); err != nil {
		t.Errorf("the installed serve: %v\n%s", err, logs)
	}
	if _, err := os.Stat(filepath.Join(home, ".local", "share", "autografo", "autografo.db")); err != nil {
		t.Errorf("the installed serve kept no store in the user's data folder: %v", err)
	}

	remove()
	if _, err := os.Stat("/usr/bin/autografo"); err == nil {
		t.Error("/usr/bin/autografo stays after dpkg --purge")
	}
}

// checkRPM installs the .rpm with rpm itself (Debian's rpm package) into a
// root of its own, since this machine's packages are Debian's: its digests
// verify, it asks for the Fedora/openSUSE names of the libraries, its
// configuration is a config file, every file lands where the .deb puts it,
// and the installed program runs. The install scripts are not run there:
// they act on the machine's udev and systemd, and are the .deb's own,
// which the .deb's install runs.
func checkRPM(t *testing.T, pkg, version string) {
	rpm := scannertest.Need(t, "rpm")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(rpm, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("rpm %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := run("-K", "--nosignature", pkg); !strings.Contains(out, "digests OK") {
		t.Errorf("rpm -K: %s", out)
	}
	requires := run("-qp", "--requires", pkg)
	for _, want := range []string{"libusb1", "turbojpeg", "poppler-utils"} {
		if !strings.Contains(requires, want+"\n") {
			t.Errorf("the rpm does not require %s:\n%s", want, requires)
		}
	}
	if out := run("-qp", "--queryformat", "%{VERSION}", pkg); !strings.HasPrefix(out, version) && !strings.Contains(out, version) {
		t.Errorf("rpm version %q, want %s", out, version)
	}
	scripts := run("-qp", "--scripts", pkg)
	for _, name := range []string{"postinstall.sh", "postremove.sh"} {
		body, err := os.ReadFile(filepath.Join("..", "..", "docs", "packaging", name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(scripts, strings.TrimSpace(string(body))) {
			t.Errorf("the rpm's scripts are not %s:\n%s", name, scripts)
		}
	}
	root := t.TempDir()
	run("-i", "--root", root, "--nodeps", "--noscripts", pkg)
	for _, f := range []string{"/usr/bin/autografo", "/usr/lib/udev/rules.d/70-autografo-ipp-usb.rules", "/usr/lib/udev/rules.d/71-autografo-group.rules",
		"/usr/lib/systemd/user/autografo.service", "/usr/lib/systemd/system/autografo-kiosk.service", "/usr/lib/sysusers.d/autografo.conf",
		"/usr/share/man/man1/autografo.1.gz", "/etc/autografo/autografo.toml"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("not installed by the rpm: %v", err)
		}
	}
	if out := run("-q", "--root", root, "-c", "autografo"); strings.TrimSpace(out) != "/etc/autografo/autografo.toml" {
		t.Errorf("the rpm's config files: %q", out)
	}
	bin := filepath.Join(root, "usr", "bin", "autografo")
	if out, err := exec.Command(bin, "version").Output(); err != nil || strings.TrimSpace(string(out)) != "autografo "+version {
		t.Errorf("the rpm's autografo version: %q %v", out, err)
	}
	doc := exec.Command(bin, "doctor", "--json", "--port", strconv.Itoa(freeLoopbackPort(t)), "--saned", "", "--store", filepath.Join(t.TempDir(), "store"))
	doc.Env = append(os.Environ(), "AUTOGRAFO_SYSTEM_CONFIG="+filepath.Join(root, "etc", "autografo", "autografo.toml"), "XDG_CONFIG_HOME="+t.TempDir())
	out, err := doc.Output()
	var report doctorReport
	if err != nil || json.Unmarshal(out, &report) != nil || report.Exit != 0 {
		t.Errorf("the rpm's doctor, with the rpm's configuration: %v\n%s", err, out)
	}
	run("-e", "--root", root, "--nodeps", "--noscripts", "autografo")
	if _, err := os.Stat(bin); err == nil {
		t.Error("the rpm's autografo stays after rpm -e")
	}
}
