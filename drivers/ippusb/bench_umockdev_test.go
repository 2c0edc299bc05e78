//go:build umockdev

package ippusb

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/autografo/autografo/drivers/ippusb/ippusbtest"
	"github.com/autografo/autografo/drivers/ippusb/usbemu"
)

// These benchmarks run only in a process started under umockdev's preload
// (.ci/bench-usb does that); plain go test -bench skips them.

// bigPage is what a 300 dpi gray A4 scan weighs as JPEG, roughly.
var bigPage = bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB

func benchDevice(b *testing.B) *usbemu.Device {
	b.Helper()
	if !usbemu.Preloaded() {
		b.Skip("run under umockdev: .ci/bench-usb")
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(bigPage)
	})
	d := &usbemu.Device{Vendor: 0x1209, ProductID: 0x4a47, Manufacturer: "Autografo", Product: "Bench MFP", Serial: "B1", Configured: true,
		Interfaces: [][]usbemu.Alt{{{Class: 7, SubClass: 1, Protocol: 4, Endpoints: []uint8{0x01, 0x81}}}},
		Streams:    map[uint8]*ippusbtest.Stream{0x01: ippusbtest.NewStream(h)}}
	if err := usbemu.Start(d); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(usbemu.Stop)
	return d
}

// BenchmarkUSBTransfer moves a 1 MiB page over the same emulated bulk pair
// two ways in one run: through the HTTP transport, and with a raw loop of
// 16 KiB bulk reads that only finds the end of the headers. Target: the
// transport within 10% of the raw loop.
func BenchmarkUSBTransfer(b *testing.B) {
	benchDevice(b)
	bus, err := NewBus()
	if err != nil {
		b.Fatal(err)
	}
	defer bus.Close()
	cands, err := bus.Find()
	if err != nil || len(cands) != 1 {
		b.Fatalf("find: %v %v", cands, err)
	}
	h, err := bus.Open(context.Background(), cands[0])
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	pipe := h.Pipes()[0]
	b.Run("raw-bulk", func(b *testing.B) {
		b.SetBytes(int64(len(bigPage)))
		buf := make([]byte, readSize)
		ctx := context.Background()
		for b.Loop() {
			if _, err := pipe.WriteContext(ctx, []byte("GET /page HTTP/1.1\r\nHost: localhost\r\n\r\n")); err != nil {
				b.Fatal(err)
			}
			total, want := 0, -1
			var head []byte
			for want < 0 || total < want {
				n, err := pipe.ReadContext(ctx, buf)
				if err != nil {
					b.Fatal(err)
				}
				total += n
				if want < 0 {
					head = append(head, buf[:n]...)
					if i := bytes.Index(head, []byte("\r\n\r\n")); i >= 0 {
						j := bytes.Index(head, []byte("Content-Length: "))
						k := bytes.Index(head[j:], []byte("\r\n"))
						cl, _ := strconv.Atoi(string(head[j+16 : j+k]))
						want = i + 4 + cl
					}
				}
			}
		}
	})
	tr := NewTransport([]Pipe{pipe}, TransportOptions{})
	defer tr.Close()
	b.Run("transport", func(b *testing.B) {
		b.SetBytes(int64(len(bigPage)))
		for b.Loop() {
			req, _ := http.NewRequest("GET", "http://localhost/page", nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || n != int64(len(bigPage)) {
				b.Fatalf("%d bytes, %v", n, err)
			}
		}
	})
}

var idleWindow = flag.Duration("idle-window", 20*time.Second, "how long BenchmarkUSBIdleDiscovery polls")

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkUSBIdleDiscovery polls for devices every 2 s, as the agent
// does, with a device plugged in and nothing scanning, and reports the
// process's CPU time as a share of one core. Target: under 0.5%.
func BenchmarkUSBIdleDiscovery(b *testing.B) {
	benchDevice(b)
	d, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	for b.Loop() {
		start, cpu0 := time.Now(), cpuTime()
		polls := 0
		for time.Since(start) < *idleWindow {
			infos, err := d.Discover(ctx)
			if err != nil || len(infos) != 1 {
				b.Fatalf("discover: %v %v", infos, err)
			}
			polls++
			time.Sleep(2 * time.Second)
		}
		wall, cpu := time.Since(start), cpuTime()-cpu0
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu-%")
		b.ReportMetric(float64(cpu.Microseconds())/float64(polls), "cpu-µs/poll")
	}
}
