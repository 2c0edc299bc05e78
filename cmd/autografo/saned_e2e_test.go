package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/autografo/autografo/drivers/saned/sanedtest"
	"github.com/autografo/autografo/scanner/pnm"
)

func TestDevicesAndScanCommandsThroughSaned(t *testing.T) {
	s := sanedtest.Start(t, sanedtest.Options{})
	var out, errb bytes.Buffer
	if code := run([]string{"devices", "--saned", s.Addr}, &out, &errb); code != 0 {
		t.Fatalf("devices: exit %d\n%s", code, errb.String())
	}
	id := "saned:" + s.Addr + "/test:0"
	if !strings.Contains(out.String(), id+"\tNoname frontend-tester") {
		t.Fatalf("devices printed %q", out.String())
	}
	prefix := filepath.Join(t.TempDir(), "pagina")
	out.Reset()
	if code := run([]string{"scan", "--saned", s.Addr, "--device", id, "--dpi", "100", "--color", "gray",
		"--width", "210", "--height", "297", "--out", prefix}, &out, &errb); code != 0 {
		t.Fatalf("scan: exit %d\n%s", code, errb.String())
	}
	data, err := os.ReadFile(prefix + "-1.pnm")
	if err != nil {
		t.Fatal(err)
	}
	img, err := pnm.Decode(bytes.NewReader(data))
	ref := s.Scanimage(t, "--mode", "Gray", "--resolution", "100", "-l", "0", "-t", "0", "-x", "210", "-y", "297")
	if err != nil || img.Bounds() != ref.Bounds() {
		t.Fatalf("scanned page: %v %v; scanimage's is %v", img.Bounds(), err, ref.Bounds())
	}
	// No saned there: a clear failure, not a hang.
	if code := run([]string{"devices", "--saned", "127.0.0.1:1"}, &out, &errb); code == 0 {
		t.Error("devices succeeded with no saned")
	}
}

func TestBrowserCaptureThroughSaned(t *testing.T) {
	s := sanedtest.Start(t, sanedtest.Options{})
	ctx := browser(t)
	ag := startAgent(t, "--saned", s.Addr)
	dev := "saned:" + s.Addr + "/test:0"
	err := chromedp.Do(ctx,
		chromedp.Navigate(ag.URL),
		chromedp.WaitVisible(`#connection[data-state="open"]`),
		chromedp.WaitReady(`#device option[value="`+dev+`"]`),
		chromedp.SetValue(`#device`, dev),
		chromedp.SetValue(`#source`, "platen"),
		chromedp.SetValue(`#dpi`, "150"),
		chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`),
	)
	if err != nil {
		t.Fatalf("starting a capture through saned: %v\n%s", err, ag.logs)
	}
	if status := waitDone(t, ctx); status != "Acquisizione completata: 1 pagina." {
		t.Errorf("status %q", status)
	}
	if n := count(t, ctx, loadedThumbnails); n != 1 {
		t.Errorf("%d decoded thumbnails, want 1", n)
	}
	if !logged(ag, `msg="page captured"`) || !logged(ag, "device="+dev) {
		t.Errorf("logs:\n%s", ag.logs)
	}
}
