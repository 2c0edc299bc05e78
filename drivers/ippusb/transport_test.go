package ippusb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/autografo/autografo/drivers/escl"
	"github.com/autografo/autografo/drivers/escl/escltest"
	"github.com/autografo/autografo/drivers/ippusb/ippusbtest"
	"github.com/autografo/autografo/scanner"
)

// device is an eSCL emulator behind n in-process IPP-over-USB interfaces.
func device(t *testing.T, emu http.Handler, n int) (*Transport, []*ippusbtest.Stream) {
	t.Helper()
	var pipes []Pipe
	var streams []*ippusbtest.Stream
	for range n {
		s := ippusbtest.NewStream(emu)
		streams = append(streams, s)
		pipes = append(pipes, ippusbtest.Pipe{S: s})
	}
	tr := NewTransport(pipes, TransportOptions{ZeroLengthBackoff: time.Millisecond})
	t.Cleanup(func() { tr.Close() })
	return tr, streams
}

func esclDevice(t *testing.T, tr *Transport) *escl.Device {
	t.Helper()
	c, err := escl.NewClient("http://localhost/eSCL", tr, escl.ClientOptions{Host: "localhost", RetryDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return escl.NewDevice("usb:test", c, tr)
}

// A whole feeder job through the transport: capabilities, the job, every
// page, the end of the feeder; every request carried Host: localhost.
func TestFeederJobOverTransport(t *testing.T) {
	emu := escltest.New(3)
	tr, _ := device(t, emu, 2)
	dev := esclDevice(t, tr)
	ctx := context.Background()
	caps, err := dev.Caps(ctx)
	if err != nil || len(caps.Sources) == 0 {
		t.Fatalf("caps %+v %v", caps, err)
	}
	pages := len(scanPages(t, dev))
	if pages != 3 {
		t.Fatalf("%d pages, want 3", pages)
	}
	for _, h := range emu.Hosts {
		if h != "localhost" {
			t.Fatalf("Host %q reached the device", h)
		}
	}
}

// slowHandler answers /slow once release is closed and everything else at
// once, saying which request it answers.
type slowHandler struct{ release chan struct{} }

func (h slowHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/slow" {
		<-h.release
	}
	b, _ := io.ReadAll(r.Body)
	fmt.Fprintf(w, "%s %s %d %s", r.Method, r.URL.Path, len(b), strings.Join(r.TransferEncoding, ","))
}

func get(t *testing.T, tr http.RoundTripper, ctx context.Context, path string) (string, error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://localhost"+path, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// A caller that gives up does not leave its answer to the next request:
// the exchange is read to its end in the background first.
func TestAbandonedRequestDoesNotDesynchronize(t *testing.T) {
	release := make(chan struct{})
	tr, _ := device(t, slowHandler{release: release}, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	// The device answers only after the caller has given up: a caller that
	// waited for the answer would hang here (the test's timeout).
	if _, err := get(t, tr, ctx, "/slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("abandoned request: %v", err)
	}
	close(release)
	got, err := get(t, tr, context.Background(), "/next")
	if err != nil || got != "GET /next 0 " {
		t.Fatalf("next request got %q, %v", got, err)
	}
}

// A body closed before its end is drained before the interface is used
// again, and the same goes for one never read at all.
func TestEarlyCloseDrains(t *testing.T) {
	emu := escltest.New(2)
	tr, _ := device(t, emu, 1)
	req, _ := http.NewRequest("GET", "http://localhost/eSCL/ScannerCapabilities", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	io.ReadFull(resp.Body, buf)
	resp.Body.Close()
	got, err := get(t, tr, context.Background(), "/eSCL/ScannerStatus")
	if err != nil || !strings.Contains(got, "ScannerStatus") {
		t.Fatalf("after an early close: %q %v", got, err)
	}
}

// overlapHandler answers /slow once need requests are in it at the same
// time, and records the most it ever held at once.
type overlapHandler struct {
	need              int
	mu                sync.Mutex
	cond              *sync.Cond
	arrived, in, most int
}

func (h *overlapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.arrived++
	h.in++
	h.most = max(h.most, h.in)
	h.cond.Broadcast()
	for h.arrived < h.need {
		h.cond.Wait()
	}
	h.mu.Unlock()
	if h.need == 1 {
		time.Sleep(20 * time.Millisecond) // a chance for a second request to overlap, were it let through
	}
	h.mu.Lock()
	h.in--
	h.mu.Unlock()
	fmt.Fprintf(w, "%s %s 0 ", r.Method, r.URL.Path)
}

// Two interfaces serve two requests at once (the device answers only when
// both are in it: serialized, they would hang the test until its timeout);
// one interface serves them in turn, never both at once.
func TestInterfacesWorkInParallel(t *testing.T) {
	for _, n := range []int{1, 2} {
		h := &overlapHandler{need: n}
		h.cond = sync.NewCond(&h.mu)
		tr, _ := device(t, h, n)
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if got, err := get(t, tr, context.Background(), "/slow"); err != nil || got != "GET /slow 0 " {
					t.Errorf("%q %v", got, err)
				}
			}()
		}
		wg.Wait()
		if h.most != n {
			t.Errorf("%d interfaces: at most %d requests at once, want %d", n, h.most, n)
		}
	}
}

// Small bodies go whole, large ones chunked; no Connection or Expect
// header reaches the device.
func TestRequestFraming(t *testing.T) {
	var seen http.Header
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		slowHandler{}.ServeHTTP(w, r)
	})
	tr, _ := device(t, h, 1)
	for size, want := range map[int]string{100: "POST /x 100 ", 40 << 10: "POST /x 40960 chunked"} {
		req, _ := http.NewRequest("POST", "http://localhost/x", bytes.NewReader(make([]byte, size)))
		req.Header.Set("Connection", "close")
		req.Header.Set("Expect", "100-continue")
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != want {
			t.Errorf("%d-byte body: device saw %q, want %q", size, b, want)
		}
		if seen.Get("Connection") != "" || seen.Get("Expect") != "" {
			t.Errorf("headers reached the device: %v", seen)
		}
	}
}

// Zero-length reads are waited out.
func TestZeroLengthReads(t *testing.T) {
	tr, streams := device(t, slowHandler{}, 1)
	streams[0].ZeroLengthReads = 5
	if got, err := get(t, tr, context.Background(), "/a"); err != nil || got != "GET /a 0 " {
		t.Fatalf("%q %v", got, err)
	}
}

// The cable pulled in the middle of a page: the page's read fails with
// ErrGone, and so does every later request, at once.
func TestPulledMidPage(t *testing.T) {
	emu := escltest.New(3)
	emu.PullAfter = 1
	tr, _ := device(t, emu, 1)
	pulledOnSecondPage(t, esclDevice(t, tr))
	ctx := context.Background()
	if _, err := get(t, tr, ctx, "/eSCL/ScannerStatus"); !errors.Is(err, scanner.ErrGone) {
		t.Fatalf("after the pull: %v", err)
	}
}

// bytesPipe is a device that answers any request with fixed bytes, then
// goes away.
type bytesPipe struct {
	mu   sync.Mutex
	data []byte
}

func (p *bytesPipe) ReadContext(ctx context.Context, b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.data) == 0 {
		return 0, fmt.Errorf("bulk IN: %w", scanner.ErrGone)
	}
	n := copy(b, p.data)
	p.data = p.data[n:]
	return n, nil
}

func (p *bytesPipe) WriteContext(ctx context.Context, b []byte) (int, error) { return len(b), nil }

// Whatever a device sends back, the transport answers with a response or
// an error, and never hangs.
func FuzzResponseReader(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\nshort"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr := NewTransport([]Pipe{&bytesPipe{data: data}}, TransportOptions{ZeroLengthBackoff: time.Microsecond})
		defer tr.Close()
		done := make(chan struct{})
		go func() {
			defer close(done)
			req, _ := http.NewRequest("GET", "http://localhost/eSCL/ScannerStatus", nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				return
			}
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
		}()
		<-done // a hang here is the test's timeout, with every goroutine's stack
	})
}

// A session recorded from a device replays into the same pages, byte for
// byte: how a real device's traffic becomes a regression test.
func TestRecordAndReplay(t *testing.T) {
	dir := t.TempDir()
	emu := escltest.New(2)
	tr, _ := device(t, emu, 1)
	rec := &Recorder{Dir: dir, Next: tr}
	c, _ := escl.NewClient("http://localhost/eSCL", rec, escl.ClientOptions{Host: "localhost"})
	recorded := scanPages(t, escl.NewDevice("usb:rec", c, nil))

	replay, err := ippusbtest.LoadReplay(dir)
	if err != nil {
		t.Fatal(err)
	}
	tr2, _ := device(t, replay, 1)
	replayed := scanPages(t, esclDevice(t, tr2))
	if len(recorded) != 2 || len(replayed) != len(recorded) {
		t.Fatalf("recorded %d pages, replayed %d", len(recorded), len(replayed))
	}
	for i := range recorded {
		if !bytes.Equal(recorded[i], replayed[i]) {
			t.Errorf("page %d differs in the replay", i+1)
		}
	}
}

func scanPages(t *testing.T, dev scanner.Device) [][]byte {
	t.Helper()
	return scanPagesWith(t, dev, scanner.Request{Source: scanner.Feeder, DPI: 150, Color: scanner.Gray})
}

// scanPagesWith runs a job to its end and returns its pages, each checked
// to be a JPEG.
func scanPagesWith(t *testing.T, dev scanner.Device, req scanner.Request) [][]byte {
	t.Helper()
	ctx := context.Background()
	job, err := dev.Scan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var pages [][]byte
	for {
		p, err := job.NextPage(ctx)
		if err == io.EOF {
			return pages
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p.Body)
		p.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := jpeg.Decode(bytes.NewReader(b)); err != nil {
			t.Fatalf("page %d: %v", len(pages)+1, err)
		}
		pages = append(pages, b)
	}
}

// pulledOnSecondPage scans from a device whose cable is pulled in the
// middle of the second page: the first arrives whole, the second fails
// with ErrGone within two seconds.
func pulledOnSecondPage(t *testing.T, dev scanner.Device) {
	t.Helper()
	ctx := context.Background()
	job, err := dev.Scan(ctx, scanner.Request{Source: scanner.Feeder, DPI: 150, Color: scanner.Gray})
	if err != nil {
		t.Fatal(err)
	}
	p, err := job.NextPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jpeg.Decode(p.Body); err != nil {
		t.Fatalf("first page: %v", err)
	}
	p.Body.Close()
	// A pull that is never noticed hangs here: the test's timeout reports it.
	p, err = job.NextPage(ctx)
	if err == nil {
		_, err = io.Copy(io.Discard, p.Body)
	}
	if !errors.Is(err, scanner.ErrGone) {
		t.Fatalf("pulled mid-page: %v, want ErrGone", err)
	}
}

var updateRecordings = flag.Bool("update-recordings", false, "rewrite testdata/devices/emulator from the eSCL emulator")

// Every recording under testdata/devices (one directory per device, with
// expect.json) replays through the driver's transport and gives the pages
// it should. A municipality's recording of a real scanner goes there.
func TestRecordedDevices(t *testing.T) {
	if *updateRecordings {
		dir := filepath.Join("testdata", "devices", "emulator")
		os.RemoveAll(dir)
		os.MkdirAll(dir, 0o755)
		tr, _ := device(t, escltest.New(2), 1)
		c, _ := escl.NewClient("http://localhost/eSCL", &Recorder{Dir: dir, Next: tr}, escl.ClientOptions{Host: "localhost"})
		scanPages(t, escl.NewDevice("usb:rec", c, nil))
		os.WriteFile(filepath.Join(dir, "expect.json"), []byte(`{"source": "feeder", "dpi": 150, "pages": 2}`+"\n"), 0o644)
	}
	dirs, _ := filepath.Glob(filepath.Join("testdata", "devices", "*"))
	if len(dirs) == 0 {
		t.Fatal("no recordings in testdata/devices")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var want struct {
				Source scanner.Source
				DPI    int
				Pages  int
			}
			b, err := os.ReadFile(filepath.Join(dir, "expect.json"))
			if err != nil || json.Unmarshal(b, &want) != nil {
				t.Fatalf("expect.json: %v", err)
			}
			replay, err := ippusbtest.LoadReplay(dir)
			if err != nil {
				t.Fatal(err)
			}
			tr, _ := device(t, replay, 1)
			n := len(scanPagesWith(t, esclDevice(t, tr), scanner.Request{Source: want.Source, DPI: want.DPI, Color: scanner.Gray}))
			if n != want.Pages {
				t.Fatalf("%d pages, want %d", n, want.Pages)
			}
		})
	}
}

func TestParseQuirkRule(t *testing.T) {
	r, err := ParseQuirkRule("Canon MF440 = interfaces=1, soft-reset")
	if err != nil || r.Product != "Canon MF440" || r.Quirks != (Quirks{MaxInterfaces: 1, SoftReset: true}) {
		t.Fatalf("%+v %v", r, err)
	}
	for _, bad := range []string{"", "=hard-reset", "X", "X=interfaces=0", "X=reboot"} {
		if _, err := ParseQuirkRule(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if q := quirksFor(nil, "HP", "ScanJet Pro 4500 fn1"); q.MaxInterfaces != 1 {
		t.Errorf("built-in quirk: %+v", q)
	}
	if q := quirksFor([]QuirkRule{{Product: "hp scanjet", Quirks: Quirks{HardReset: true}}}, "HP", "ScanJet Pro 4500 fn1"); !q.HardReset || q.MaxInterfaces != 0 {
		t.Errorf("the office's rule comes first: %+v", q)
	}
}
