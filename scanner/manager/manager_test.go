package manager

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/autografo/autografo/scanner"
	"github.com/autografo/autografo/scanner/scannertest"
)

var quiet = slog.New(slog.DiscardHandler)

var gray = scanner.Request{Source: scanner.Feeder, DPI: 300, Color: scanner.Gray}

func recv(t *testing.T, ch <-chan []scanner.Info) []scanner.Info {
	t.Helper()
	return <-ch // no event hangs here, and the test's timeout reports it
}

func noEvent(t *testing.T, ch <-chan []scanner.Info) {
	t.Helper()
	select {
	case l := <-ch:
		t.Fatalf("unexpected change event %v", l)
	default:
	}
}

func TestChangeEventsFollowPlugAndUnplug(t *testing.T) {
	usb := scannertest.NewDriver("usb")
	m := New([]scanner.Driver{usb}, Options{Logger: quiet})
	ch, unsub := m.Subscribe()
	defer unsub()
	ctx := context.Background()

	m.Poll(ctx)
	noEvent(t, ch) // empty stays empty: no event

	usb.Plug(scanner.Info{ID: "usb:1", Model: "A"})
	m.Poll(ctx)
	if l := recv(t, ch); len(l) != 1 || l[0].ID != "usb:1" || l[0].Driver != "usb" {
		t.Fatalf("after plug: %v", l)
	}
	m.Poll(ctx)
	noEvent(t, ch)

	usb.Plug(scanner.Info{ID: "usb:0", Model: "B"})
	usb.Unplug("usb:1")
	m.Poll(ctx)
	if l := recv(t, ch); len(l) != 1 || l[0].ID != "usb:0" {
		t.Fatalf("after swap: %v", l)
	}
	if d := m.Devices(); len(d) != 1 || d[0].ID != "usb:0" {
		t.Fatalf("Devices() = %v", d)
	}
}

func TestSlowSubscriberGetsTheNewestListWithoutBlockingDiscovery(t *testing.T) {
	usb := scannertest.NewDriver("usb")
	m := New([]scanner.Driver{usb}, Options{Logger: quiet})
	ch, unsub := m.Subscribe()
	defer unsub()
	for _, id := range []scanner.ID{"usb:1", "usb:2", "usb:3"} {
		usb.Plug(scanner.Info{ID: id})
		m.Poll(context.Background()) // would block if events queued up
	}
	if l := recv(t, ch); len(l) != 3 {
		t.Fatalf("slow subscriber got %d devices, want the newest list of 3", len(l))
	}
	noEvent(t, ch)
}

func TestFailingDriverDoesNotHideOthers(t *testing.T) {
	usb, net := scannertest.NewDriver("usb"), scannertest.NewDriver("escl")
	usb.Plug(scanner.Info{ID: "usb:1"})
	net.Plug(scanner.Info{ID: "escl:1"})
	net.FailDiscovery(errors.New("mdns timeout"))
	m := New([]scanner.Driver{usb, net}, Options{Logger: quiet})
	m.Poll(context.Background())
	if d := m.Devices(); len(d) != 1 || d[0].ID != "usb:1" {
		t.Fatalf("Devices() = %v, want usb:1 alone", d)
	}
}

func TestSecondJobOnADeviceIsBusyAtOnce(t *testing.T) {
	usb := scannertest.NewDriver("usb")
	usb.Plug(scanner.Info{ID: "usb:1"})
	usb.Plug(scanner.Info{ID: "usb:2"})
	release := make(chan struct{})
	usb.Script("usb:1", scannertest.Step{Data: []byte("p1"), Block: release})
	m := New([]scanner.Driver{usb}, Options{Logger: quiet})
	m.Poll(context.Background())

	ctx := context.Background()
	first, err := m.Scan(ctx, "usb:1", gray)
	if err != nil {
		t.Fatal(err)
	}
	// The second request must be refused, not queued behind the first
	// (queued, it would hang here until the test's timeout).
	_, err = m.Scan(ctx, "usb:1", gray)
	if !errors.Is(err, scanner.ErrBusy) {
		t.Fatalf("second Scan = %v, want ErrBusy", err)
	}
	var oe *scanner.OpError
	if !errors.As(err, &oe) || oe.Dev != "usb:1" {
		t.Fatalf("busy error %v does not name the device", err)
	}
	if _, err := m.Caps(ctx, "usb:1"); !errors.Is(err, scanner.ErrBusy) {
		t.Fatalf("Caps during a job = %v, want ErrBusy", err)
	}
	// Another device is not affected.
	other, err := m.Scan(ctx, "usb:2", gray)
	if err != nil {
		t.Fatalf("other device: %v", err)
	}
	other.Close()

	close(release)
	if _, err := first.NextPage(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := first.NextPage(ctx); err != io.EOF {
		t.Fatalf("after the last page: %v, want io.EOF", err)
	}
	first.Close()
	again, err := m.Scan(ctx, "usb:1", gray)
	if err != nil {
		t.Fatalf("after Close the device must be free: %v", err)
	}
	again.Close()
	if o, c := usb.OpenCount(), usb.CloseCount(); o != c {
		t.Errorf("opened %d times, closed %d", o, c)
	}
}

func TestGoneDevice(t *testing.T) {
	usb := scannertest.NewDriver("usb")
	usb.Plug(scanner.Info{ID: "usb:1"})
	usb.Script("usb:1", scannertest.Step{Data: []byte("p1")}, scannertest.Step{Err: scanner.ErrGone})
	m := New([]scanner.Driver{usb}, Options{Logger: quiet})
	ctx := context.Background()
	m.Poll(ctx)

	job, err := m.Scan(ctx, "usb:1", gray)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := job.NextPage(ctx); err != nil {
		t.Fatal(err)
	}
	usb.Unplug("usb:1")
	_, err = job.NextPage(ctx)
	if !errors.Is(err, scanner.ErrGone) {
		t.Fatalf("NextPage after unplug = %v, want ErrGone", err)
	}
	job.Close()
	m.Poll(ctx)
	if _, err := m.Scan(ctx, "usb:1", gray); !errors.Is(err, scanner.ErrNotFound) {
		t.Fatalf("Scan on a gone device = %v, want ErrNotFound", err)
	}
}

func TestUnsupportedRequestIsRefusedBeforeScanning(t *testing.T) {
	usb := scannertest.NewDriver("usb")
	usb.Plug(scanner.Info{ID: "usb:1"})
	m := New([]scanner.Driver{usb}, Options{Logger: quiet})
	m.Poll(context.Background())
	_, err := m.Scan(context.Background(), "usb:1", scanner.Request{Source: scanner.Feeder, DPI: 1200, Color: scanner.Gray})
	if !errors.Is(err, scanner.ErrUnsupported) {
		t.Fatalf("Scan at 1200 dpi = %v, want ErrUnsupported", err)
	}
	select {
	case <-usb.Started:
		t.Fatal("the device was asked to scan an unsupported request")
	default:
	}
	if _, err := m.Scan(context.Background(), "usb:1", gray); err != nil {
		t.Fatalf("the device must be free after a refused request: %v", err)
	}
}

func TestCloseCancelsAnUnfinishedJob(t *testing.T) {
	usb := scannertest.NewDriver("usb")
	usb.Plug(scanner.Info{ID: "usb:1"})
	usb.Script("usb:1", scannertest.Step{Data: []byte("p1")}, scannertest.Step{Data: []byte("p2")})
	m := New([]scanner.Driver{usb}, Options{Logger: quiet})
	m.Poll(context.Background())
	job, err := m.Scan(context.Background(), "usb:1", gray)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := job.NextPage(context.Background()); err != nil {
		t.Fatal(err)
	}
	job.Close()
	if !job.job.(interface{ Canceled() bool }).Canceled() {
		t.Error("Close did not cancel a job that had pages left")
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	usb := scannertest.NewDriver("usb")
	m := New([]scanner.Driver{usb}, Options{Logger: quiet, PollInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	<-m.Ready()
	ch, unsub := m.Subscribe()
	defer unsub()
	usb.Plug(scanner.Info{ID: "usb:1"})
	if l := recv(t, ch); len(l) != 1 {
		t.Fatalf("Run did not pick up the new device: %v", l)
	}
	cancel()
	if err := <-done; err != nil { // Run that does not return hangs here: the test's timeout reports it
		t.Fatal(err)
	}
}

// A device named before any discovery round (the scan command's --device)
// is asked of its driver directly; one no driver has is not found.
func TestScanANamedDeviceBeforeDiscovery(t *testing.T) {
	usb := scannertest.NewDriver("usb")
	usb.Plug(scanner.Info{ID: "usb:7"})
	usb.Script("usb:7", scannertest.Step{Data: []byte("p1")})
	m := New([]scanner.Driver{usb}, Options{Logger: quiet})
	job, err := m.Scan(context.Background(), "usb:7", gray)
	if err != nil {
		t.Fatalf("named device before discovery: %v", err)
	}
	if _, err := job.NextPage(context.Background()); err != nil {
		t.Fatal(err)
	}
	job.Close()
	for _, id := range []scanner.ID{"usb:8", "escl:http://x/eSCL"} {
		if _, err := m.Scan(context.Background(), id, gray); !errors.Is(err, scanner.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", id, err)
		}
	}
}
