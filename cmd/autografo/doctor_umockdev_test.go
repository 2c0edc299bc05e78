//go:build umockdev

package main

import (
	"os"
	"strings"
	"testing"

	"github.com/autografo/autografo/drivers/escl/escltest"
	"github.com/autografo/autografo/drivers/ippusb/ippusbtest"
	"github.com/autografo/autografo/drivers/ippusb/usbemu"
	"github.com/autografo/autografo/scanner/scannertest"
)

// doctor meets a USB scanner this user may not open: the emulated device's
// node readable by nobody, and the test's process without the privilege
// that would let root open it anyway (CAP_DAC_OVERRIDE, dropped by
// setpriv). Through the real libusb, doctor names the scanner, says it
// cannot be opened by this user, gives the udev rule as the fix and exits
// with the USB code; with the node open to the user it says the scanner
// opens.
func TestDoctorUSBScannerTheUserMayNotOpen(t *testing.T) {
	if !usbemu.Preloaded() {
		scannertest.Need(t, "umockdev-run")
		setpriv := scannertest.Need(t, "setpriv")
		out, err := usbemu.ReexecVia(t.Name(), false, setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search")
		if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
			t.Fatalf("under umockdev, without DAC override: %v\n%s", err, out)
		}
		return
	}
	emu := escltest.New(1)
	dev := &usbemu.Device{Vendor: 0x1209, ProductID: 0x4a47, Manufacturer: "Autografo", Product: "Emulated MFP", Serial: "EMU0002",
		Configured: true,
		Interfaces: [][]usbemu.Alt{{{Class: 7, SubClass: 1, Protocol: 4, Endpoints: []uint8{0x01, 0x81}}}},
		Streams:    map[uint8]*ippusbtest.Stream{0x01: ippusbtest.NewStream(emu)}}
	if err := usbemu.Start(dev); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(usbemu.Stop)
	node := usbemu.TestbedNode()

	if code, r, _ := doctor(t); code != 0 || !hasFinding(r, "usb", "ok", "the USB scanner USB 1209:4a47 (usb:1209:4a47:1-4) opens") {
		t.Fatalf("the scanner open to this user: %d %+v", code, r.Findings)
	}
	if err := os.Chmod(node, 0); err != nil {
		t.Fatal(err)
	}
	code, r, _ := doctor(t)
	if code != exitUSB || !hasFinding(r, "usb", "fail", "the USB scanner USB 1209:4a47 (usb:1209:4a47:1-4) cannot be opened by this user") {
		t.Fatalf("the scanner closed to this user: %d %+v", code, r.Findings)
	}
	for _, f := range r.Findings {
		if f.Check == "usb" && f.Status == "fail" && !strings.Contains(f.Fix, "udev rule") {
			t.Errorf("the fix does not name the udev rule: %+v", f)
		}
	}
}

// doctor meets a USB scanner another program holds (ipp-usb claimed its
// interfaces): through the real libusb, a warning that names the holder to
// stop, not a failure of permissions.
func TestDoctorUSBScannerHeldByAnotherProgram(t *testing.T) {
	if !usbemu.Preloaded() {
		scannertest.Need(t, "umockdev-run")
		out, err := usbemu.Reexec(t.Name(), false)
		if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
			t.Fatalf("under umockdev: %v\n%s", err, out)
		}
		return
	}
	emu := escltest.New(1)
	dev := &usbemu.Device{Vendor: 0x1209, ProductID: 0x4a47, Manufacturer: "Autografo", Product: "Emulated MFP", Serial: "EMU0003",
		Configured: true, Held: true,
		Interfaces: [][]usbemu.Alt{{{Class: 7, SubClass: 1, Protocol: 4, Endpoints: []uint8{0x01, 0x81}}}},
		Streams:    map[uint8]*ippusbtest.Stream{0x01: ippusbtest.NewStream(emu)}}
	if err := usbemu.Start(dev); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(usbemu.Stop)
	code, r, _ := doctor(t)
	if code != 0 || !hasFinding(r, "usb", "warn", "the USB scanner USB 1209:4a47 (usb:1209:4a47:1-4) is held by another program") {
		t.Fatalf("a scanner held by another program: %d %+v", code, r.Findings)
	}
}
