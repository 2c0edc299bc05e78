//go:build umockdev

package ippusb

import (
	"context"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/autografo/autografo/drivers/escl"
	"github.com/autografo/autografo/drivers/escl/escltest"
	"github.com/autografo/autografo/drivers/ippusb/ippusbtest"
	"github.com/autografo/autografo/drivers/ippusb/usbemu"
	"github.com/autografo/autografo/scanner"
	"github.com/autografo/autografo/scanner/scannertest"
)

// mfp is a multifunction printer as they come: interface 0 offers plain
// printing in alt 0 and IPP over USB in alt 1, interface 1 is IPP over USB,
// interface 2 is the vendor's own with an interrupt endpoint.
func mfp(emu http.Handler) *usbemu.Device {
	return &usbemu.Device{
		Vendor: 0x1209, ProductID: 0x4a47, Manufacturer: "Autografo", Product: "Emulated MFP", Serial: "EMU0001",
		Configured: true,
		Interfaces: [][]usbemu.Alt{
			{{Class: 7, SubClass: 1, Protocol: 2, Endpoints: []uint8{0x01, 0x81}}, {Class: 7, SubClass: 1, Protocol: 4, Endpoints: []uint8{0x01, 0x81}}},
			{{Class: 7, SubClass: 1, Protocol: 4, Endpoints: []uint8{0x02, 0x82}}},
			{{Class: 0xff, Interrupt: []uint8{0x83}}},
		},
		Streams: map[uint8]*ippusbtest.Stream{0x01: ippusbtest.NewStream(emu), 0x02: ippusbtest.NewStream(emu)},
	}
}

// emulated runs fn in a child process under umockdev's preload with dev
// plugged in, and a driver over libusb.
func emulated(t *testing.T, dev func() *usbemu.Device, fn func(t *testing.T, d *Driver, dev *usbemu.Device), quirks ...QuirkRule) {
	t.Helper()
	if !usbemu.Preloaded() {
		scannertest.Need(t, "umockdev-run") // the preload library comes with it
		out, err := usbemu.Reexec(t.Name(), false)
		if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
			t.Fatalf("under umockdev: %v\n%s", err, out)
		}
		t.Logf("under umockdev:\n%s", out)
		return
	}
	d := dev()
	if err := usbemu.Start(d); err != nil {
		t.Fatal(err)
	}
	drv, err := New(Options{Transport: TransportOptions{ZeroLengthBackoff: time.Millisecond},
		Client: escl.ClientOptions{RetryDelay: 20 * time.Millisecond, Retries: 3}, Quirks: quirks})
	if err != nil {
		t.Fatal(err)
	}
	defer usbemu.Stop()
	defer drv.Close()
	fn(t, drv, d)
	t.Logf("ioctls: %v", d.Counts())
}

func scanAll(ctx context.Context, dev scanner.Device, source scanner.Source) (int, error) {
	job, err := dev.Scan(ctx, scanner.Request{Source: source, DPI: 150, Color: scanner.Gray})
	if err != nil {
		return 0, err
	}
	pages := 0
	for {
		p, err := job.NextPage(ctx)
		if err == io.EOF {
			return pages, nil
		}
		if err != nil {
			return pages, err
		}
		_, err = jpeg.Decode(p.Body)
		p.Body.Close()
		if err != nil {
			return pages, err
		}
		pages++
	}
}

func openOnly(t *testing.T, d *Driver) scanner.Device {
	t.Helper()
	ctx := context.Background()
	infos, err := d.Discover(ctx)
	if err != nil || len(infos) != 1 {
		t.Fatalf("discover: %v %v", infos, err)
	}
	dev, err := d.Open(ctx, infos[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return dev
}

// Enumerate, open, claim both IPP-over-USB interfaces (interface 0 in its
// alt setting 1), and a 3-page feeder job end to end through libusb.
func TestUSBFeederJob(t *testing.T) {
	emulated(t, func() *usbemu.Device { return mfp(escltest.New(3)) }, func(t *testing.T, d *Driver, dev *usbemu.Device) {
		ctx := context.Background()
		infos, err := d.Discover(ctx)
		if err != nil || len(infos) != 1 || infos[0].ID != "usb:1209:4a47:1-4" || infos[0].Model != "USB 1209:4a47" {
			t.Fatalf("discover before opening: %+v %v", infos, err)
		}
		if c := dev.Counts(); c["CLAIMINTERFACE"]+c["DISCONNECT_CLAIM"] != 0 {
			t.Fatalf("discovery claimed interfaces: %v", c)
		}
		sd, err := d.Open(ctx, infos[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		caps, err := sd.Caps(ctx)
		if err != nil || len(caps.Sources) != 2 {
			t.Fatalf("caps %+v %v", caps, err)
		}
		n, err := scanAll(ctx, sd, scanner.Feeder)
		if err != nil || n != 3 {
			t.Fatalf("%d pages, %v", n, err)
		}
		if dev.Alt(0) != 1 {
			t.Errorf("interface 0 in alt setting %d, want 1 (IPP over USB)", dev.Alt(0))
		}
		c := dev.Counts()
		if c["CLAIMINTERFACE"]+c["DISCONNECT_CLAIM"] != 2 {
			t.Errorf("claimed %v, want both IPP-over-USB interfaces and not the vendor's", c)
		}
		if err := sd.Close(); err != nil {
			t.Fatal(err)
		}
		infos, _ = d.Discover(ctx)
		if infos[0].Make != "Autografo" || infos[0].Model != "Emulated MFP" || infos[0].Serial != "EMU0001" {
			t.Errorf("after opening, discovery knows the model: %+v", infos[0])
		}
	})
}

// Faults come back as the scanner errors the agent explains in Italian.
func TestUSBBusyEmptyJam(t *testing.T) {
	for _, tc := range []struct {
		name   string
		emu    func() *escltest.Emulator
		source scanner.Source
		want   error
		pages  int
	}{
		{"busy", func() *escltest.Emulator { e := escltest.New(3); e.BusyFor = 100; return e }, scanner.Feeder, scanner.ErrBusy, 0},
		{"empty", func() *escltest.Emulator { return escltest.New(0) }, scanner.Feeder, scanner.ErrNoDocs, 0},
		{"jam", func() *escltest.Emulator { e := escltest.New(3); e.JamAfter = 1; return e }, scanner.Feeder, scanner.ErrJammed, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emulated(t, func() *usbemu.Device { return mfp(tc.emu()) }, func(t *testing.T, d *Driver, dev *usbemu.Device) {
				sd := openOnly(t, d)
				defer sd.Close()
				n, err := scanAll(context.Background(), sd, tc.source)
				if !errors.Is(err, tc.want) || n != tc.pages {
					t.Fatalf("%d pages, %v; want %d and %v", n, err, tc.pages, tc.want)
				}
			})
		})
	}
}

// Duplex over IPP-over-USB: two sheets, each front then its back, through
// libusb.
func TestUSBDuplexJob(t *testing.T) {
	emulated(t, func() *usbemu.Device { e := escltest.New(2); e.Duplex = true; return mfp(e) }, func(t *testing.T, d *Driver, dev *usbemu.Device) {
		sd := openOnly(t, d)
		defer sd.Close()
		ctx := context.Background()
		job, err := sd.Scan(ctx, scanner.Request{Source: scanner.Feeder, DPI: 150, Color: scanner.Gray, Duplex: true})
		if err != nil {
			t.Fatal(err)
		}
		var backs []bool
		for {
			p, err := job.NextPage(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := jpeg.Decode(p.Body); err != nil {
				t.Fatal(err)
			}
			p.Body.Close()
			backs = append(backs, p.Back)
		}
		if fmt.Sprint(backs) != "[false true false true]" {
			t.Fatalf("pages are backs %v, want each sheet's front then back", backs)
		}
	})
}

// The cable pulled in the middle of the second page: ErrGone, the first
// page kept, and the device gone from discovery. (No deadline: a device
// listed for ever hangs the test, and its timeout reports it.)
func TestUSBPulledMidPage(t *testing.T) {
	emulated(t, func() *usbemu.Device { e := escltest.New(3); e.PullAfter = 1; return mfp(e) }, func(t *testing.T, d *Driver, dev *usbemu.Device) {
		sd := openOnly(t, d)
		defer sd.Close()
		pulledOnSecondPage(t, sd)
		ctx := context.Background()
		for {
			infos, _ := d.Discover(ctx)
			if len(infos) == 0 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// A device that stops answering: the request fails with a timeout instead
// of hanging the capture.
func TestUSBReadTimeout(t *testing.T) {
	emulated(t, func() *usbemu.Device {
		d := mfp(escltest.New(3))
		for _, s := range d.Streams {
			s.Delay = 3 * time.Second
		}
		return d
	}, func(t *testing.T, d *Driver, dev *usbemu.Device) {
		d.opts.Transport.ReadTimeout = 300 * time.Millisecond
		sd := openOnly(t, d)
		defer sd.Close()
		// The device answers after 3 s: only the 300 ms read timeout
		// can end the request with DeadlineExceeded.
		_, err := sd.Caps(context.Background())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("silent device: %v, want the read timeout", err)
		}
	})
}

// Quirks: a model known to hang with two interfaces gets one; a device
// without strings is reset first; an office's own rule sends the printer
// class's soft reset to the device and to each interface it uses.
func TestUSBQuirks(t *testing.T) {
	soft, err := ParseQuirkRule("Autografo Emulated MFP=soft-reset,interfaces=2")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		make, model string
		quirks      []QuirkRule
		claims      int
		resets      int
		softResets  map[string]int
	}{
		{"one-interface model", "HP", "ScanJet Pro 4500 fn1", nil, 1, 0, nil},
		{"no strings", "", "", nil, 2, 1, nil},
		{"office rule", "Autografo", "Emulated MFP", []QuirkRule{soft}, 2, 0, map[string]int{"CLASS 0x23/2": 1, "CLASS 0x21/2": 2}},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "-"), func(t *testing.T) {
			emulated(t, func() *usbemu.Device {
				d := mfp(escltest.New(1))
				d.Manufacturer, d.Product = tc.make, tc.model
				return d
			}, func(t *testing.T, d *Driver, dev *usbemu.Device) {
				sd := openOnly(t, d)
				n, err := scanAll(context.Background(), sd, scanner.Feeder)
				sd.Close()
				if err != nil || n != 1 {
					t.Fatalf("%d pages, %v", n, err)
				}
				c := dev.Counts()
				if got := c["CLAIMINTERFACE"] + c["DISCONNECT_CLAIM"]; got != tc.claims {
					t.Errorf("claimed %d interfaces, want %d", got, tc.claims)
				}
				if c["RESET"] != tc.resets {
					t.Errorf("%d resets, want %d", c["RESET"], tc.resets)
				}
				for k, v := range tc.softResets {
					if c[k] != v {
						t.Errorf("%s sent %d times, want %d", k, c[k], v)
					}
				}
			}, tc.quirks...)
		})
	}
}

// Zero-length transfers from the device, through libusb, are waited out.
func TestUSBZeroLengthReads(t *testing.T) {
	emulated(t, func() *usbemu.Device {
		d := mfp(escltest.New(1))
		for _, s := range d.Streams {
			s.ZeroLengthReads = 4
		}
		return d
	}, func(t *testing.T, d *Driver, dev *usbemu.Device) {
		sd := openOnly(t, d)
		defer sd.Close()
		if _, err := sd.Caps(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}
