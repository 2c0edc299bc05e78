package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/autografo/autografo/drivers/escl/escltest"
)

func TestBrowserCaptureFromANetworkESCLScanner(t *testing.T) {
	emu := escltest.New(2)
	srv := httptest.NewServer(emu)
	defer srv.Close()
	url := srv.URL + "/eSCL"

	var out, errb bytes.Buffer
	if code := run([]string{"devices", "--saned", "", "--escl", url}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "escl:"+url+"\tAutografo eSCL Emulator\n\tplaten: 25.4-215.9 x 25.4-297.0 mm\n\t\tcolor: 150 300 600 dpi\n\t\tgray: 150 300 600 dpi\n\tfeeder: 25.4-215.9 x 25.4-355.6 mm\n\t\tcolor: 150 300 600 dpi\n\t\tgray: 150 300 600 dpi\n\tformats: image/jpeg application/pdf\n") {
		t.Fatalf("devices (%d): %q %s", code, out.String(), errb.String())
	}

	ctx := browser(t)
	ag := startAgent(t, "--escl", url, "--saned", "")
	dev := "escl:" + url
	captureTwoFromFeeder(t, ctx, ag.URL, dev)
	if captions := pageCaptions(t, ctx); len(captions) != 2 || strings.Contains(strings.Join(captions, "\n"), "misura") {
		t.Errorf("captions %q: the device's pages are the area asked", captions)
	}
}

// A device that cuts its pages to a size of its own: each thumbnail says
// the page is not the size asked, and to check that it is whole.
func TestOfficerPageSaysAPageIsNotTheSizeAsked(t *testing.T) {
	emu := escltest.New(2)
	emu.CropTo = [2]int{700, 1754} // 150 dpi asked: 1275 wide
	srv := httptest.NewServer(emu)
	defer srv.Close()
	url := srv.URL + "/eSCL"
	ctx := browser(t)
	ag := startAgent(t, "--escl", url, "--saned", "")
	captureTwoFromFeeder(t, ctx, ag.URL, "escl:"+url)
	want := []string{"Pagina 1: misura inattesa, controllare che sia intera", "Pagina 2: misura inattesa, controllare che sia intera"}
	if captions := pageCaptions(t, ctx); !slices.Equal(captions, want) {
		t.Errorf("captions %q, want %q", captions, want)
	}
	if !strings.Contains(ag.logs.String(), `msg="page's pixels are not what was asked of the device"`) {
		t.Error("the log does not say the pages are not what was asked")
	}
}

// pageCaptions are the thumbnails' captions, in order.
func pageCaptions(t *testing.T, ctx context.Context) []string {
	t.Helper()
	captions, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#pages li .caption")].map(c => c.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	return captions
}

// captureTwoFromFeeder opens the page, captures from dev's feeder at 150
// dpi and expects two pages, with their thumbnails.
func captureTwoFromFeeder(t *testing.T, ctx context.Context, url, dev string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(`#connection[data-state="open"]`),
		chromedp.WaitReady(`#device option[value="`+dev+`"]`),
		chromedp.SetValue(`#device`, dev),
		chromedp.SetValue(`#source`, "feeder"),
		chromedp.SetValue(`#dpi`, "150"),
		chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`),
	); err != nil {
		t.Fatal(err)
	}
	if status := waitDone(t, ctx); status != "Acquisizione completata: 2 pagine." {
		t.Errorf("status %q", status)
	}
	if n := count(t, ctx, loadedThumbnails); n != 2 {
		t.Errorf("%d thumbnails, want 2", n)
	}
}

// `autografo scan` stopped by SIGTERM in the middle of a page: the job is
// deleted on the device (which would otherwise keep it and answer the next
// job busy), no partial page is left on disk, and it says why it stopped.
// A platen scan that runs to its end leaves the job completed, not
// cancelled.
func TestScanStoppedMidPageCancelsTheJob(t *testing.T) {
	emu := escltest.New(3)
	emu.StallAfter = 1
	srv := httptest.NewServer(emu)
	defer srv.Close()
	dir := t.TempDir()
	prefix := filepath.Join(dir, "pagina")
	cmd := exec.Command(agentBinary(t), "scan", "--saned", "", "--escl", srv.URL+"/eSCL", "--device", "escl:"+srv.URL+"/eSCL",
		"--source", "feeder", "--dpi", "150", "--out", prefix)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	<-emu.Stalled // page 2 is half sent
	// ... and half written: its file exists.
	for {
		if fi, err := os.Stat(prefix + "-2.jpg"); err == nil && fi.Size() > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if err == nil {
		t.Error("scan stopped mid-page exited 0")
	}
	if !strings.Contains(stderr.String(), "stopped: the job is cancelled on the scanner") {
		t.Errorf("stderr %q", stderr.String())
	}
	if got := emu.JobStates(); !slices.Equal(got, []string{"Canceled"}) {
		t.Errorf("the device's job after the stop: %v, want it cancelled", got)
	}
	files, _ := filepath.Glob(prefix + "*")
	if len(files) != 1 || filepath.Base(files[0]) != "pagina-1.jpg" {
		t.Errorf("files left: %v, want only the whole first page", files)
	}

	// A platen page, run to its end: completed on the device.
	var out, errb bytes.Buffer
	if code := run([]string{"scan", "--saned", "", "--escl", srv.URL + "/eSCL", "--device", "escl:" + srv.URL + "/eSCL",
		"--source", "platen", "--dpi", "150", "--out", filepath.Join(dir, "vetro")}, &out, &errb); code != 0 {
		t.Fatalf("platen scan (%d): %s", code, errb.String())
	}
	if got := emu.JobStates(); !slices.Equal(got, []string{"Canceled", "Completed"}) {
		t.Errorf("the device's jobs: %v, want the platen job completed", got)
	}
}
