//go:build umockdev

package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/autografo/autografo/drivers/escl/escltest"
	"github.com/autografo/autografo/drivers/ippusb/ippusbtest"
	"github.com/autografo/autografo/drivers/ippusb/usbemu"
	"github.com/autografo/autografo/scanner/scannertest"
)

// underUmockdev runs the test again in a child process under umockdev's
// preload with an emulated USB multifunction printer plugged in; it
// returns false in the parent, which only checks the child's verdict.
func underUmockdev(t *testing.T, feeder int) bool {
	t.Helper()
	if !usbemu.Preloaded() {
		scannertest.Need(t, "umockdev-run")
		out, err := usbemu.Reexec(t.Name(), false)
		if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
			t.Fatalf("under umockdev: %v\n%s", err, out)
		}
		return false
	}
	emu := escltest.New(feeder)
	dev := &usbemu.Device{Vendor: 0x1209, ProductID: 0x4a47, Manufacturer: "Autografo", Product: "Emulated MFP", Serial: "EMU0001",
		Configured: true,
		Interfaces: [][]usbemu.Alt{{{Class: 7, SubClass: 1, Protocol: 4, Endpoints: []uint8{0x01, 0x81}}},
			{{Class: 7, SubClass: 1, Protocol: 4, Endpoints: []uint8{0x02, 0x82}}}},
		Streams: map[uint8]*ippusbtest.Stream{0x01: ippusbtest.NewStream(emu), 0x02: ippusbtest.NewStream(emu)}}
	if err := usbemu.Start(dev); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(usbemu.Stop)
	return true
}

// autografo devices lists the USB scanner with what it can do.
func TestDevicesListsUSBScanner(t *testing.T) {
	if !underUmockdev(t, 2) {
		return
	}
	var out, errb bytes.Buffer
	code := run([]string{"devices", "--saned", ""}, &out, &errb)
	want := "usb:1209:4a47:1-4\tAutografo Emulated MFP\n\tplaten: 25.4-215.9 x 25.4-297.0 mm\n\t\tcolor: 150 300 600 dpi\n\t\tgray: 150 300 600 dpi\n\tfeeder: 25.4-215.9 x 25.4-355.6 mm\n\t\tcolor: 150 300 600 dpi\n\t\tgray: 150 300 600 dpi\n\tformats: image/jpeg application/pdf\n"
	if code != 0 || out.String() != want {
		t.Fatalf("devices (%d):\n%q\nwant\n%q\n%s", code, out.String(), want, errb.String())
	}
}

// The page captures two pages from the USB scanner's feeder. The agent
// runs in this process, with the emulated device; Chromium runs outside
// the preload.
func TestBrowserCaptureFromUSBScanner(t *testing.T) {
	if !underUmockdev(t, 2) {
		return
	}
	os.Unsetenv("LD_PRELOAD") // for Chromium: this process already has it
	pr, pw := io.Pipe()
	var logs syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"serve", "--port", "0", "--saned", "", "--poll", "200ms",
			"--state-dir", t.TempDir(), "--store", t.TempDir()}, pw, &logs)
		pw.Close()
	}()
	t.Cleanup(func() {
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
		<-done // serve that does not stop hangs here: the test's timeout reports it
	})
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := pairLink(sc.Text()); m != nil {
				urlc <- m[0]
			}
		}
	}()
	url := <-urlc
	ctx := browser(t)
	dev := "usb:1209:4a47:1-4"
	captureTwoFromFeeder(t, ctx, url, dev)
	if t.Failed() {
		t.Logf("agent logs:\n%s", logs.String())
	}
}

// doctor opens the USB scanner plugged in, and says so.
func TestDoctorOpensTheUSBScanner(t *testing.T) {
	if !underUmockdev(t, 1) {
		return
	}
	t.Setenv("AUTOGRAFO_SYSTEM_CONFIG", t.TempDir()+"/none.toml")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	var out, errb bytes.Buffer
	code := run([]string{"doctor", "--port", "0", "--store", t.TempDir() + "/store", "--state-dir", t.TempDir(), "--saned", "", "--policy-dir", t.TempDir()}, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "ok   usb          the USB scanner USB 1209:4a47 (usb:1209:4a47:1-4) opens") {
		t.Fatalf("doctor (%d):\n%s%s", code, out.String(), errb.String())
	}
}
