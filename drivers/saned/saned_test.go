//go:build !windows

package saned

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/autografo/autografo/drivers/saned/sanedtest"
	"github.com/autografo/autografo/scanner"
	"github.com/autografo/autografo/scanner/pnm"
)

// peer is a real saned serving SANE's test backend.
type peer struct {
	*sanedtest.Saned
	addr string
}

type peerOpts = sanedtest.Options

func startSaned(t testing.TB, o peerOpts) *peer {
	t.Helper()
	s := sanedtest.Start(t, o)
	return &peer{Saned: s, addr: s.Addr}
}

func freePort(t testing.TB) int { return sanedtest.FreePort(t) }

func (p *peer) driver(creds Credentials) *Driver {
	return New(Options{Addr: p.addr, Credentials: creds, Logger: slog.New(slog.DiscardHandler)})
}

func (p *peer) open(t testing.TB, name string) *Device {
	t.Helper()
	d := p.driver(nil)
	dev, err := d.Open(t.Context(), d.id(name))
	if err != nil {
		t.Fatalf("open %s: %v\n%s", name, err, p.Log())
	}
	t.Cleanup(func() { dev.Close() })
	return dev.(*Device)
}

func (p *peer) scanimage(t testing.TB, args ...string) image.Image { return p.Scanimage(t, args...) }

func readPage(t testing.TB, pg scanner.Page) image.Image {
	t.Helper()
	data, err := io.ReadAll(pg.Body)
	pg.Body.Close()
	if err != nil {
		t.Fatalf("reading page: %v", err)
	}
	if pg.Size >= 0 && int64(len(data)) != pg.Size {
		t.Errorf("page of %d bytes, announced %d", len(data), pg.Size)
	}
	img, err := pnm.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("page is not PNM: %v", err)
	}
	return img
}

func samePixels(t testing.TB, got, want image.Image) {
	t.Helper()
	if got.Bounds() != want.Bounds() {
		t.Fatalf("image %v, reference %v", got.Bounds(), want.Bounds())
	}
	b := got.Bounds()
	diff := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r1, g1, b1, _ := got.At(x, y).RGBA()
			r2, g2, b2, _ := want.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				if diff == 0 {
					t.Errorf("first difference at (%d,%d): %v vs %v", x, y, got.At(x, y), want.At(x, y))
				}
				diff++
			}
		}
	}
	if diff > 0 {
		t.Errorf("%d pixels differ from scanimage's", diff)
	}
}

var a4 = scanner.Region{X: 0, Y: 0, Width: 210, Height: 297}

func TestDiscoverListsTheTestDevices(t *testing.T) {
	p := startSaned(t, peerOpts{})
	infos, err := p.driver(nil).Discover(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) < 2 || infos[0].ID != scanner.ID("saned:"+p.addr+"/test:0") || !strings.Contains(infos[0].Model, "frontend-tester") {
		t.Fatalf("devices %+v", infos)
	}
	// No saned: no devices, and no error to log every poll.
	off := New(Options{Addr: "127.0.0.1:" + strconv.Itoa(freePort(t))})
	if infos, err := off.Discover(t.Context()); err != nil || len(infos) != 0 {
		t.Fatalf("without saned: %v %v", infos, err)
	}
}

func TestOptionsMapToCaps(t *testing.T) {
	p := startSaned(t, peerOpts{})
	dev := p.open(t, "test:0")
	opts, err := dev.Options(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	res, ok := find(opts, "resolution")
	if !ok || res.Range == nil || toFloat(res, res.Range.Min) != 1 || toFloat(res, res.Range.Max) != 1200 {
		t.Errorf("resolution option %+v", res)
	}
	mode, _ := find(opts, "mode")
	if strings.Join(mode.Strings, ",") != "Gray,Color" {
		t.Errorf("mode constraint %v", mode.Strings)
	}
	depth, _ := find(opts, "depth")
	if fmt.Sprint(depth.Words) != "[1 8 16]" {
		t.Errorf("depth word list %v", depth.Words)
	}
	caps, err := dev.Caps(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := scanner.Caps{
		Sources:     []scanner.Source{scanner.Platen, scanner.Feeder},
		ColorModes:  []scanner.ColorMode{scanner.Gray, scanner.Color, scanner.BlackWhite},
		Resolutions: []int{75, 100, 150, 200, 240, 300, 400, 600, 1200},
		MediaTypes:  []string{MediaType}, MaxWidthMM: 300, MaxHeightMM: 300,
	}
	all := []int{75, 100, 150, 200, 240, 300, 400, 600, 1200}
	modes := map[scanner.ColorMode][]int{scanner.Gray: all, scanner.Color: all, scanner.BlackWhite: all}
	for _, source := range []scanner.Source{scanner.Platen, scanner.Feeder} {
		want.Inputs = append(want.Inputs, scanner.Input{Source: source, MaxWidthMM: 300, MaxHeightMM: 300, Modes: modes, MediaTypes: want.MediaTypes})
	}
	if fmt.Sprint(caps) != fmt.Sprint(want) {
		t.Errorf("caps\n%+v\nwant\n%+v", caps, want)
	}
	// The test backend has no duplex source: a duplex request is refused
	// before the device is touched.
	if err := caps.Supports(scanner.Request{Source: scanner.Feeder, DPI: 300, Color: scanner.Gray, Duplex: true}); !errors.Is(err, scanner.ErrUnsupported) {
		t.Errorf("duplex on the test backend: %v", err)
	}
}

// A document scanner's sources as SANE backends name them (fujitsu,
// canon_dr): the front of the feeder, its back only, both sides. The back
// alone is not an input; a duplex request picks «ADF Duplex».
func TestFeederSidesFromSourceNames(t *testing.T) {
	opts := []Option{
		{Name: "source", Strings: []string{"Flatbed", "ADF Front", "ADF Back", "ADF Duplex"}},
		{Name: "mode", Strings: []string{"Lineart", "Gray", "Color"}},
	}
	caps := capsOf(opts)
	var got []string
	for _, in := range caps.Inputs {
		got = append(got, fmt.Sprintf("%s/%v", in.Source, in.Duplex))
	}
	if strings.Join(got, " ") != "platen/false feeder/false feeder/true" {
		t.Errorf("inputs %v", got)
	}
	for _, tc := range []struct {
		req  scanner.Request
		want string
	}{
		{scanner.Request{Source: scanner.Feeder}, "ADF Front"},
		{scanner.Request{Source: scanner.Feeder, Duplex: true}, "ADF Duplex"},
		{scanner.Request{Source: scanner.Platen}, "Flatbed"},
	} {
		var chosen []string
		for _, s := range opts[0].Strings {
			if sourceMatches(tc.req)(s) {
				chosen = append(chosen, s)
			}
		}
		if len(chosen) != 1 || chosen[0] != tc.want {
			t.Errorf("%+v chooses %v, want %s", tc.req, chosen, tc.want)
		}
	}
}

func scanOne(t testing.TB, dev *Device, req scanner.Request) (scanner.Page, image.Image) {
	t.Helper()
	job, err := dev.Scan(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := job.NextPage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	img := readPage(t, pg)
	if _, err := job.NextPage(t.Context()); err != io.EOF {
		t.Fatalf("platen after one page: %v, want io.EOF", err)
	}
	return pg, img
}

func TestPagesMatchScanimage(t *testing.T) {
	p := startSaned(t, peerOpts{})
	for _, tc := range []struct {
		name    string
		req     scanner.Request
		picture string
		extra   map[string]bool
		ref     []string
	}{
		{"gray A4 300 dpi grid", scanner.Request{Source: scanner.Platen, DPI: 300, Color: scanner.Gray, Region: a4}, "Grid", nil,
			[]string{"--mode", "Gray", "--depth", "8", "--resolution", "300", "-l", "0", "-t", "0", "-x", "210", "-y", "297", "--test-picture", "Grid"}},
		{"colour 150 dpi pattern", scanner.Request{Source: scanner.Platen, DPI: 150, Color: scanner.Color, Region: a4}, "Color pattern", nil,
			[]string{"--mode", "Color", "--depth", "8", "--resolution", "150", "-l", "0", "-t", "0", "-x", "210", "-y", "297", "--test-picture", "Color pattern"}},
		{"lineart 200 dpi grid", scanner.Request{Source: scanner.Platen, DPI: 200, Color: scanner.BlackWhite, Region: a4}, "Grid", nil,
			[]string{"--mode", "Gray", "--depth", "1", "--resolution", "200", "-l", "0", "-t", "0", "-x", "210", "-y", "297", "--test-picture", "Grid"}},
		{"three-pass colour", scanner.Request{Source: scanner.Platen, DPI: 75, Color: scanner.Color, Region: a4}, "Color pattern", map[string]bool{"three-pass": true},
			[]string{"--mode", "Color", "--depth", "8", "--three-pass=yes", "--resolution", "75", "-l", "0", "-t", "0", "-x", "210", "-y", "297", "--test-picture", "Color pattern"}},
		{"hand scanner, unknown height", scanner.Request{Source: scanner.Platen, DPI: 100, Color: scanner.Gray, Region: a4}, "Grid", map[string]bool{"hand-scanner": true},
			[]string{"--mode", "Gray", "--depth", "8", "--hand-scanner=yes", "--resolution", "100", "--test-picture", "Grid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev := p.open(t, "test:0")
			if err := dev.SetString(t.Context(), "test-picture", tc.picture); err != nil {
				t.Fatal(err)
			}
			// Mode first: three-pass is only active in colour mode.
			if tc.req.Color == scanner.Color {
				if err := dev.SetString(t.Context(), "mode", "Color"); err != nil {
					t.Fatal(err)
				}
			}
			for name, v := range tc.extra {
				if err := dev.SetBool(t.Context(), name, v); err != nil {
					t.Fatal(err)
				}
			}
			pg, img := scanOne(t, dev, tc.req)
			if pg.DPI != tc.req.DPI {
				t.Errorf("page says %d dpi", pg.DPI)
			}
			// The pixels are what the request asks, as the agent checks
			// them; a hand scanner's length is the backend's to say.
			caps, err := dev.Caps(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); !tc.extra["hand-scanner"] {
				if c := caps.CheckPage(tc.req, b.Dx(), b.Dy()); c.Fit != scanner.FitAsked || c.DPI != tc.req.DPI {
					t.Errorf("a %dx%d page checked as %+v", b.Dx(), b.Dy(), c)
				}
			}
			samePixels(t, img, p.scanimage(t, tc.ref...))
		})
	}
}

func Test16BitGray(t *testing.T) {
	p := startSaned(t, peerOpts{})
	dev := p.open(t, "test:0")
	if err := dev.SetString(t.Context(), "test-picture", "Color pattern"); err != nil {
		t.Fatal(err)
	}
	job, err := dev.Scan(t.Context(), scanner.Request{Source: scanner.Platen, DPI: 50, Color: scanner.Gray, Region: a4})
	if err != nil {
		t.Fatal(err)
	}
	// After Scan's settings, ask for 16 bits.
	if _, err := dev.setNumber(t.Context(), "depth", 16); err != nil {
		t.Fatal(err)
	}
	pg, err := job.NextPage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	img := readPage(t, pg)
	if _, ok := img.(*image.Gray16); !ok {
		t.Fatalf("16-bit page decoded as %T", img)
	}
	samePixels(t, img, p.scanimage(t, "--mode", "Gray", "--depth", "16", "--resolution", "50", "-l", "0", "-t", "0", "-x", "210", "-y", "297", "--test-picture", "Color pattern"))
}

func TestFeederRunsUntilNoDocuments(t *testing.T) {
	p := startSaned(t, peerOpts{})
	dev := p.open(t, "test:0")
	job, err := dev.Scan(t.Context(), scanner.Request{Source: scanner.Feeder, DPI: 75, Color: scanner.Gray, Region: a4})
	if err != nil {
		t.Fatal(err)
	}
	pages := 0
	for {
		pg, err := job.NextPage(t.Context())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		readPage(t, pg)
		pages++
		if pages > 20 {
			t.Fatal("the feeder never ran out")
		}
	}
	// The eleventh start got "no documents", which ends the job.
	if pages != 10 {
		t.Fatalf("%d pages from the test backend's feeder, want 10", pages)
	}
}

func TestInjectedStatuses(t *testing.T) {
	p := startSaned(t, peerOpts{})
	for status, want := range map[string]error{
		"SANE_STATUS_JAMMED":      scanner.ErrJammed,
		"SANE_STATUS_DEVICE_BUSY": scanner.ErrBusy,
		"SANE_STATUS_IO_ERROR":    scanner.ErrGone,
		"SANE_STATUS_NO_DOCS":     scanner.ErrNoDocs,
	} {
		dev := p.open(t, "test:0")
		if err := dev.SetString(t.Context(), "read-return-value", status); err != nil {
			t.Fatal(err)
		}
		job, err := dev.Scan(t.Context(), scanner.Request{Source: scanner.Platen, DPI: 75, Color: scanner.Gray, Region: a4})
		if err != nil {
			t.Fatal(err)
		}
		_, err = job.NextPage(t.Context())
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", status, err, want)
		}
		var oe *scanner.OpError
		if !errors.As(err, &oe) || oe.Dev == "" {
			t.Errorf("%s: %v is not an OpError naming the device", status, err)
		}
	}
}

// slowDevice makes the test backend send slowly, so that a test can act in
// the middle of a page.
func slowDevice(t *testing.T, p *peer) *Device {
	dev := p.open(t, "test:0")
	if err := dev.SetBool(t.Context(), "read-limit", true); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.setNumber(t.Context(), "read-limit-size", 4096); err != nil {
		t.Fatal(err)
	}
	if err := dev.SetBool(t.Context(), "read-delay", true); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.setNumber(t.Context(), "read-delay-duration", 20000); err != nil {
		t.Fatal(err)
	}
	return dev
}

// midPage starts a platen job on a slow device and reads the first 32 KB
// of its page, leaving the rest in flight.
func midPage(t *testing.T, dev *Device) (scanner.Job, scanner.Page) {
	t.Helper()
	job, err := dev.Scan(t.Context(), scanner.Request{Source: scanner.Platen, DPI: 150, Color: scanner.Gray, Region: a4})
	if err != nil {
		t.Fatal(err)
	}
	pg, err := job.NextPage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(pg.Body, make([]byte, 32<<10)); err != nil {
		t.Fatal(err)
	}
	return job, pg
}

func TestCancelMidPage(t *testing.T) {
	p := startSaned(t, peerOpts{})
	dev := slowDevice(t, p)
	job, pg := midPage(t, dev)
	done := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, pg.Body); done <- err }()
	if err := job.Cancel(t.Context()); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	// A read that does not stop after cancel hangs here, and the test's
	// timeout reports it.
	if err := <-done; err == nil {
		t.Fatal("the page completed after cancel")
	}
	// The device works again.
	if err := dev.SetBool(t.Context(), "read-delay", false); err != nil {
		t.Fatal(err)
	}
	scanOne(t, dev, scanner.Request{Source: scanner.Platen, DPI: 75, Color: scanner.Gray, Region: a4})
}

func TestSanedKilledMidPage(t *testing.T) {
	p := startSaned(t, peerOpts{})
	dev := slowDevice(t, p)
	job, pg := midPage(t, dev)
	p.Kill()
	_, err := io.Copy(io.Discard, pg.Body)
	if !errors.Is(err, scanner.ErrGone) {
		t.Fatalf("reading after saned died: %v, want ErrGone", err)
	}
	if _, err := job.NextPage(t.Context()); err == nil {
		t.Fatal("a job whose saned died gave another page")
	}
}

func TestAuthorization(t *testing.T) {
	p := startSaned(t, peerOpts{Users: "autografo:s3greto:test\n"})
	d := p.driver(nil)
	if _, err := d.Open(t.Context(), d.id("test:0")); !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("open without credentials: %v, want ErrAccessDenied", err)
	}
	wrong := p.driver(func(string) (string, string, bool) { return "autografo", "sbagliato", true })
	if _, err := wrong.Open(t.Context(), wrong.id("test:0")); !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("open with a wrong password: %v, want ErrAccessDenied", err)
	}
	var asked string
	right := p.driver(func(resource string) (string, string, bool) { asked = resource; return "autografo", "s3greto", true })
	dev, err := right.Open(t.Context(), right.id("test:0"))
	if err != nil {
		t.Fatalf("open with the right password: %v\n%s", err, p.Log())
	}
	defer dev.Close()
	if !strings.Contains(asked, "$MD5$") {
		t.Errorf("saned asked for %q: expected an MD5 challenge", asked)
	}
	scanOne(t, dev.(*Device), scanner.Request{Source: scanner.Platen, DPI: 75, Color: scanner.Gray, Region: a4})
}
