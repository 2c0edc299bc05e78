package escl

import (
	"errors"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/autografo/autografo/drivers/escl/escltest"
	"github.com/autografo/autografo/scanner"
)

func device(t *testing.T, emu *escltest.Emulator, o ClientOptions) (*Driver, scanner.Device, scanner.ID) {
	t.Helper()
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	if o.RetryDelay == 0 {
		o.RetryDelay = 5 * time.Millisecond
	}
	d, err := New(Options{URLs: []string{srv.URL + "/eSCL"}, Client: o, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	infos, err := d.Discover(t.Context())
	if err != nil || len(infos) != 1 || infos[0].Model != "Autografo eSCL Emulator" {
		t.Fatalf("discover: %+v %v", infos, err)
	}
	dev, err := d.Open(t.Context(), infos[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return d, dev, infos[0].ID
}

func scanAll(t *testing.T, dev scanner.Device, req scanner.Request) (int, error) {
	t.Helper()
	job, err := dev.Scan(t.Context(), req)
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		pg, err := job.NextPage(t.Context())
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		data, err := io.ReadAll(pg.Body)
		pg.Body.Close()
		if err != nil {
			return n, err
		}
		if _, err := jpeg.Decode(strings.NewReader(string(data))); err != nil {
			t.Fatalf("page %d is not a JPEG: %v", n+1, err)
		}
		n++
	}
}

var (
	feeder = scanner.Request{Source: scanner.Feeder, DPI: 150, Color: scanner.Gray}
	platen = scanner.Request{Source: scanner.Platen, DPI: 300, Color: scanner.Color}
)

func TestCapsFromTheDevice(t *testing.T) {
	_, dev, _ := device(t, escltest.New(3), ClientOptions{})
	caps, err := dev.Caps(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// The largest area is the platen's: the feeder's longer sheets are its own.
	if caps.Sources[0] != scanner.Platen || caps.Sources[1] != scanner.Feeder || len(caps.ColorModes) != 2 ||
		len(caps.Resolutions) != 3 || caps.MaxWidthMM != 215.9 || caps.MaxHeightMM != 297 {
		t.Fatalf("caps %+v", caps)
	}
	if in, ok := caps.Input(scanner.Feeder, false); !ok || in.MaxHeightMM != 355.6 || in.MinWidthMM != 25.4 {
		t.Fatalf("the feeder %+v", in)
	}
}

func TestPlatenAndFeederJobs(t *testing.T) {
	for _, style := range []string{"", "slash", "urn", "wronghost"} {
		emu := escltest.New(3)
		emu.LocationStyle = style
		_, dev, _ := device(t, emu, ClientOptions{})
		if n, err := scanAll(t, dev, platen); err != nil || n != 1 {
			t.Fatalf("%s: platen: %d pages, %v", style, n, err)
		}
		if n, err := scanAll(t, dev, feeder); err != nil || n != 3 {
			t.Fatalf("%s: feeder: %d pages, %v", style, n, err)
		}
		// Each job read until the device said it had no more: both end
		// completed on the device, neither deleted (which would log a
		// finished scan as cancelled by the user).
		if got := emu.JobStates(); !slices.Equal(got, []string{"Completed", "Completed"}) || emu.Deleted() != 0 {
			t.Errorf("%s: jobs %v, %d deleted; want both completed, none deleted", style, got, emu.Deleted())
		}
		for _, r := range emu.Requests {
			if strings.Contains(r, "192.0.2.99") {
				t.Errorf("%s: followed the Location's host: %s", style, r)
			}
		}
	}
}

func TestDeviceFaults(t *testing.T) {
	t.Run("busy for a while, then works", func(t *testing.T) {
		emu := escltest.New(1)
		emu.BusyFor = 3
		_, dev, _ := device(t, emu, ClientOptions{})
		if n, err := scanAll(t, dev, platen); err != nil || n != 1 {
			t.Fatalf("%d pages, %v", n, err)
		}
	})
	t.Run("busy for good", func(t *testing.T) {
		emu := escltest.New(1)
		emu.BusyFor = 100
		_, dev, _ := device(t, emu, ClientOptions{Retries: 3})
		if _, err := scanAll(t, dev, platen); !errors.Is(err, scanner.ErrBusy) {
			t.Fatalf("%v, want ErrBusy", err)
		}
	})
	t.Run("empty feeder", func(t *testing.T) {
		_, dev, _ := device(t, escltest.New(0), ClientOptions{})
		if n, err := scanAll(t, dev, feeder); !errors.Is(err, scanner.ErrNoDocs) || n != 0 {
			t.Fatalf("%d pages, %v; want ErrNoDocs", n, err)
		}
	})
	t.Run("jam after a page", func(t *testing.T) {
		emu := escltest.New(3)
		emu.JamAfter = 1
		_, dev, _ := device(t, emu, ClientOptions{})
		n, err := scanAll(t, dev, feeder)
		if !errors.Is(err, scanner.ErrJammed) || n != 1 {
			t.Fatalf("%d pages, %v; want 1 then ErrJammed", n, err)
		}
	})
	t.Run("cable pulled mid-page", func(t *testing.T) {
		emu := escltest.New(3)
		emu.PullAfter = 1
		_, dev, _ := device(t, emu, ClientOptions{})
		n, err := scanAll(t, dev, feeder)
		if !errors.Is(err, scanner.ErrGone) || n != 1 {
			t.Fatalf("%d pages, %v; want 1 then ErrGone", n, err)
		}
	})
}

func TestHostHeaderAndCancel(t *testing.T) {
	emu := escltest.New(3)
	_, dev, _ := device(t, emu, ClientOptions{Host: "localhost"})
	job, err := dev.Scan(t.Context(), feeder)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := job.NextPage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	pg.Body.Close()
	if err := job.Cancel(t.Context()); err != nil {
		t.Fatal(err)
	}
	if emu.Deleted() != 1 || !slices.Equal(emu.JobStates(), []string{"Canceled"}) {
		t.Errorf("cancel: %d deleted, jobs %v; want the job deleted and cancelled", emu.Deleted(), emu.JobStates())
	}
	for _, h := range emu.Hosts[1:] { // the first is discovery's default
		if h != "localhost" {
			t.Fatalf("Host header %q, want localhost", h)
		}
	}
}

func TestUnreachableScannerIsNotListed(t *testing.T) {
	d, err := New(Options{URLs: []string{"http://127.0.0.1:1/eSCL"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if infos, err := d.Discover(t.Context()); err != nil || len(infos) != 0 {
		t.Fatalf("%+v %v", infos, err)
	}
	if _, err := New(Options{URLs: []string{"ftp://x"}}); err == nil {
		t.Fatal("accepted an ftp URL")
	}
}

// A region in millimetres becomes the nearest whole three-hundredths of an
// inch: an A4 page is 2480x3508 of them, not the 3507 that truncation gave.
func TestRegionIsRoundedToTheDevicesUnits(t *testing.T) {
	emu := escltest.New(1)
	_, dev, _ := device(t, emu, ClientOptions{})
	a4 := platen
	a4.Region = scanner.Region{Width: 210, Height: 297}
	if n, err := scanAll(t, dev, a4); err != nil || n != 1 {
		t.Fatalf("A4 platen scan: %d pages, %v", n, err)
	}
	last := emu.Settings[len(emu.Settings)-1]
	if !strings.Contains(last, "<pwg:Width>2480</pwg:Width><pwg:Height>3508</pwg:Height>") {
		t.Errorf("the job's region for 210x297 mm:\n%s", last)
	}
}

// A device that lists resolutions per colour mode (a ColorMode inside each
// SupportedResolutions): each mode gets its own, gray 600 is asked and
// scanned, and gray 75, which the device does not offer, is refused before
// anything is sent, naming what it offers.
func TestResolutionsPerColourMode(t *testing.T) {
	emu := escltest.New(2)
	emu.ColorResolutions = []int{75, 150, 300}
	emu.GrayResolutions = []int{150, 300, 600}
	_, dev, _ := device(t, emu, ClientOptions{})
	caps, err := dev.Caps(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, source := range []scanner.Source{scanner.Platen, scanner.Feeder} {
		in, ok := caps.Input(source, false)
		if !ok || !slices.Equal(in.Modes[scanner.Color], emu.ColorResolutions) || !slices.Equal(in.Modes[scanner.Gray], emu.GrayResolutions) {
			t.Fatalf("%s: %+v", source, in)
		}
	}
	if n, err := scanAll(t, dev, scanner.Request{Source: scanner.Platen, DPI: 600, Color: scanner.Gray}); err != nil || n != 1 {
		t.Fatalf("gray 600 from the glass: %d pages, %v", n, err)
	}
	for _, req := range []scanner.Request{
		{Source: scanner.Platen, DPI: 75, Color: scanner.Gray},
		{Source: scanner.Feeder, DPI: 600, Color: scanner.Color},
	} {
		_, err := scanAll(t, dev, req)
		var ue *scanner.UnsupportedError
		if !errors.As(err, &ue) || ue.Part != scanner.UnsupportedResolution || !slices.Equal(ue.Resolutions, emu.ResolutionsFor(req.Color)) {
			t.Errorf("%+v: %v, want refused naming the mode's resolutions", req, err)
		}
	}
	if len(emu.Settings) != 1 || emu.Refused != 0 {
		t.Errorf("%d jobs sent, %d refused by the device: the refusals were not caught before sending", len(emu.Settings), emu.Refused)
	}
}

// The scan area is checked against the source's bounds before sending, and
// millimetres are rounded to the device's 1/300 inch.
func TestScanAreaWithinTheSource(t *testing.T) {
	emu := escltest.New(1)
	_, dev, _ := device(t, emu, ClientOptions{})
	a4 := scanner.Request{Source: scanner.Platen, DPI: 300, Color: scanner.Gray, Region: scanner.Region{Width: 210, Height: 297}}
	if n, err := scanAll(t, dev, a4); err != nil || n != 1 {
		t.Fatalf("an A4 page: %d pages, %v", n, err)
	}
	if s := emu.Settings[0]; !strings.Contains(s, "<pwg:Width>2480</pwg:Width><pwg:Height>3508</pwg:Height>") {
		t.Errorf("A4 sent as %s", s)
	}
	for _, tc := range []struct {
		req  scanner.Request
		part scanner.Unsupported
	}{
		{scanner.Request{Source: scanner.Platen, DPI: 300, Color: scanner.Gray, Region: scanner.Region{Width: 250, Height: 297}}, scanner.UnsupportedWidth},
		{scanner.Request{Source: scanner.Platen, DPI: 300, Color: scanner.Gray, Region: scanner.Region{Width: 215.9, Height: 355.6}}, scanner.UnsupportedHeight},
		{scanner.Request{Source: scanner.Feeder, DPI: 300, Color: scanner.Gray, Region: scanner.Region{Width: 20, Height: 100}}, scanner.UnsupportedWidth},
	} {
		_, err := scanAll(t, dev, tc.req)
		var ue *scanner.UnsupportedError
		if !errors.As(err, &ue) || ue.Part != tc.part {
			t.Errorf("%+v: %v, want its %s refused", tc.req.Region, err, tc.part)
		}
	}
	// A legal sheet fits the feeder, not the glass.
	legal := scanner.Request{Source: scanner.Feeder, DPI: 150, Color: scanner.Gray, Region: scanner.Region{Width: 215.9, Height: 355.6}}
	if n, err := scanAll(t, dev, legal); err != nil || n != 1 {
		t.Fatalf("a legal sheet from the feeder: %d pages, %v", n, err)
	}
	if len(emu.Settings) != 2 || emu.Refused != 0 {
		t.Errorf("%d jobs sent, %d refused by the device", len(emu.Settings), emu.Refused)
	}
}

// Duplex: a feeder that offers both sides gives each sheet's front and
// back; one that does not is refused before sending.
func TestDuplexFromTheFeeder(t *testing.T) {
	emu := escltest.New(3)
	emu.Duplex = true
	_, dev, _ := device(t, emu, ClientOptions{})
	caps, err := dev.Caps(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if in, ok := caps.Input(scanner.Feeder, true); !ok || len(in.Modes[scanner.Gray]) != 3 {
		t.Fatalf("no duplex feeder in %+v", caps.Inputs)
	}
	duplex := scanner.Request{Source: scanner.Feeder, DPI: 150, Color: scanner.Gray, Duplex: true}
	job, err := dev.Scan(t.Context(), duplex)
	if err != nil {
		t.Fatal(err)
	}
	var sides []bool
	for {
		pg, err := job.NextPage(t.Context())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, pg.Body)
		pg.Body.Close()
		sides = append(sides, pg.Back)
	}
	if !slices.Equal(sides, []bool{false, true, false, true, false, true}) {
		t.Fatalf("3 sheets duplex: pages are backs %v, want front and back of each", sides)
	}
	if !strings.Contains(emu.Settings[0], "<scan:Duplex>true</scan:Duplex>") {
		t.Errorf("the job did not ask for duplex: %s", emu.Settings[0])
	}
	if got := emu.JobStates(); !slices.Equal(got, []string{"Completed"}) {
		t.Errorf("job states %v", got)
	}

	simplexOnly := escltest.New(3)
	_, dev, _ = device(t, simplexOnly, ClientOptions{})
	_, err = scanAll(t, dev, duplex)
	var ue *scanner.UnsupportedError
	if !errors.As(err, &ue) || ue.Part != scanner.UnsupportedDuplex || len(simplexOnly.Settings) != 0 {
		t.Errorf("duplex on a simplex feeder: %v (%d jobs sent)", err, len(simplexOnly.Settings))
	}
}
