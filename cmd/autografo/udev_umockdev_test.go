//go:build umockdev

package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autografo/autografo/drivers/ippusb/usbemu"
	"github.com/autografo/autografo/scanner/scannertest"
)

// udevOutcome is what udev's rules engine makes of a device: the tags this
// event gives it and the group and mode its node gets.
type udevOutcome struct {
	tags        string
	group, mode string // the last GROUP and MODE set, with the rule that set them
}

// udevTest runs udev's own rules engine (udevadm test, no daemon needed) on
// an emulated device, umockdev standing in for sysfs.
func udevTest(t *testing.T, d *usbemu.Device) udevOutcome {
	t.Helper()
	desc := filepath.Join(t.TempDir(), "device.umockdev")
	if err := os.WriteFile(desc, []byte(d.Description()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(scannertest.Need(t, "umockdev-run"), "-d", desc, "--",
		scannertest.Need(t, "udevadm"), "test", "--action=add", usbemu.SysPath).CombinedOutput()
	if err != nil {
		t.Fatalf("udevadm test: %v\n%s", err, out)
	}
	var o udevOutcome
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "CURRENT_TAGS="):
			// This event's tags (TAGS also keeps those of earlier events,
			// from umockdev's record of the device).
			o.tags = strings.TrimPrefix(line, "CURRENT_TAGS=")
		case strings.Contains(line, ".rules:") && strings.Contains(line, " GROUP "):
			o.group = line
		case strings.Contains(line, ".rules:") && strings.Contains(line, " MODE "):
			o.mode = line
		}
	}
	return o
}

// The project's udev rules, read by udev's own rules engine: an
// IPP-over-USB scanner and an HP scanner of the vendor-specific interface
// get the uaccess tag (the user at the desk) and the group autografo with
// mode 0660 (the kiosk's service); a device that is no scanner gets
// neither; without the rules, the HP scanner gets neither either.
func TestUdevRulesGiveScannersToTheDeskAndTheGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		scannertest.Unavailable(t, "installing udev rules in /run/udev/rules.d needs root")
	}
	// The group the rules name, as the package's sysusers file makes it.
	if _, err := exec.Command("getent", "group", "autografo").Output(); err != nil {
		if out, err := exec.Command(scannertest.Need(t, "groupadd"), "--system", "autografo").CombinedOutput(); err != nil {
			t.Fatalf("groupadd: %v\n%s", err, out)
		}
		t.Cleanup(func() { exec.Command("groupdel", "autografo").Run() })
	}
	gid, err := exec.Command("getent", "group", "autografo").Output()
	if err != nil {
		t.Fatal(err)
	}
	autografoGID := strings.Split(strings.TrimSpace(string(gid)), ":")[2]

	ipp := &usbemu.Device{Vendor: 0x1209, ProductID: 0x4a47, Manufacturer: "Autografo", Product: "Emulated MFP", Serial: "EMU0004", Configured: true,
		Interfaces: [][]usbemu.Alt{{{Class: 7, SubClass: 1, Protocol: 4, Endpoints: []uint8{0x01, 0x81}}}}}
	hp := &usbemu.Device{Vendor: 0x03f0, ProductID: 0x1234, Manufacturer: "HP", Product: "Scanjet", Serial: "HP0001", Configured: true,
		Interfaces: [][]usbemu.Alt{{{Class: 0xff, SubClass: 0x09, Protocol: 0x01, Endpoints: []uint8{0x01, 0x81}}}}}
	mouse := &usbemu.Device{Vendor: 0x046d, ProductID: 0xc077, Manufacturer: "Logitech", Product: "Mouse", Serial: "M0001", Configured: true,
		Interfaces: [][]usbemu.Alt{{{Class: 3, SubClass: 1, Protocol: 2, Endpoints: []uint8{0x81}}}}}

	without := udevTest(t, hp)
	if strings.Contains(without.tags, ":uaccess:") || strings.Contains(without.group, "autografo") {
		t.Fatalf("without the rules the HP scanner already gets %+v: the test would prove nothing", without)
	}

	const dir = "/run/udev/rules.d"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"70-autografo-ipp-usb.rules", "71-autografo-group.rules"} {
		rule, err := os.ReadFile(filepath.Join("..", "..", "docs", "udev", name))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, name)
		if _, err := os.Stat(dst); err == nil {
			t.Fatalf("%s is already installed here: the test would replace it", dst)
		}
		if err := os.WriteFile(dst, rule, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(dst) })
	}
	for _, c := range []struct {
		name string
		d    *usbemu.Device
	}{{"IPP-over-USB", ipp}, {"HP vendor-specific", hp}} {
		o := udevTest(t, c.d)
		if !strings.Contains(o.tags, ":uaccess:") {
			t.Errorf("%s: tags %q lack uaccess", c.name, o.tags)
		}
		if !strings.Contains(o.group, "71-autografo-group.rules") || !strings.HasSuffix(o.group, "GROUP "+autografoGID) ||
			!strings.Contains(o.mode, "71-autografo-group.rules") || !strings.HasSuffix(o.mode, "MODE 0660") {
			t.Errorf("%s: group %q, mode %q; want group autografo (%s), mode 0660, from 71-autografo-group.rules", c.name, o.group, o.mode, autografoGID)
		}
	}
	if o := udevTest(t, mouse); strings.Contains(o.group, "autografo") || strings.Contains(o.mode, "autografo") {
		t.Errorf("a mouse was given to the group: %+v", o)
	}
}
