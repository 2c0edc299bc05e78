package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

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
		!strings.Contains(out.String(), "escl:"+url+"\tAutografo eSCL Emulator\n\tsources: platen feeder\n\tresolutions: 150 300 600 dpi\n\tcolour: color gray\n\tformats: image/jpeg application/pdf\n\tlargest area: 216 x 356 mm\n") {
		t.Fatalf("devices (%d): %q %s", code, out.String(), errb.String())
	}

	ctx := browser(t)
	ag := startAgent(t, "--escl", url, "--saned", "")
	dev := "escl:" + url
	captureTwoFromFeeder(t, ctx, ag.URL, dev)
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
		chromedp.Click(`#acquire`),
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
