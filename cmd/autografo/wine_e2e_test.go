//go:build wine

package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/autografo/autografo/scanner/sheet"
)

// The Windows exe, run under Wine (make test-windows points
// AUTOGRAFO_AGENT_BINARY at it), serves the page to Chromium on Linux as
// the Linux agent does: paired by its launch page, a 3-page capture from
// the simulated feeder, the document; stopped with `autografo stop`, and
// started again on the same store, the act is there with its pages; and a
// preview printed without a layout gets one from its labels.
func TestWindowsAgentUnderWine(t *testing.T) {
	store := t.TempDir()
	ag := startAgent(t, "--store", store, "--sim-pages", "3", "--sim-page-time", "100ms")
	// The agent is the Windows one: its folders are Windows paths (as TOML
	// writes them, each backslash doubled).
	if out := runCLI(t, ag, "config", "show"); !strings.Contains(out, `AppData\\Local\\Autografo`) {
		t.Fatalf("the agent does not run as Windows (AUTOGRAFO_AGENT_BINARY=%q):\n%s", os.Getenv("AUTOGRAFO_AGENT_BINARY"), out)
	}
	ctx := browser(t)
	openPage(t, ctx, ag.URL)
	fillSigners(t, ctx)
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`)); err != nil {
		t.Fatal(err)
	}
	if status := waitDone(t, ctx); status != "Acquisizione completata: 3 pagine." {
		t.Errorf("status %q", status)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](loadedThumbnails+` === 3`, noPollLimit)); err != nil {
		t.Fatalf("3 decoded thumbnails: %v (have %d)", err, count(t, ctx, loadedThumbnails))
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(`#document-panel`)); err != nil {
		t.Fatalf("no document after the capture: %v\n%s", err, ag.logs)
	}
	if info, name := text(t, ctx, `#document-info`), text(t, ctx, `#document-link`); !strings.HasPrefix(info, "3 pagine, ") || !strings.HasSuffix(name, ".pdf") {
		t.Errorf("document shown as %q %q", name, info)
	}
	if out := runCLI(t, ag, "stop"); !strings.Contains(out, "fermato") {
		t.Fatalf("stop said %q", out)
	}
	if err := ag.wait(); err != nil {
		t.Fatalf("the agent under Wine stopped with %v\n%s", err, ag.logs)
	}

	// Again on the same store: the key file's access list and the
	// database are accepted, and the act is listed with its pages.
	again := startAgent(t, "--store", store)
	ctx2 := browser(t)
	openPage(t, ctx2, again.URL)
	if _, err := chromedp.Run(ctx2, chromedp.Poll[bool](`document.querySelector("#pending li")?.textContent.includes("3 pagine")`, noPollLimit)); err != nil {
		t.Fatalf("the act after a restart: %v (%q)", err, text(t, ctx2, `#pending`))
	}
	if got := text(t, ctx2, `#pending li`); !strings.Contains(got, "Marco Bianchi e Giulia Esposito") {
		t.Errorf("pending entry after a restart %q", got)
	}

	// A preview printed without a layout: Windows has no pdftotext, and
	// the labels are read by the agent's own reader.
	cl := dialWithCode(t, again)
	defer cl.c.Close()
	preview, want := previewPDF()
	act := openAct(t, cl, "nascita", []map[string]string{{"role": "sposo", "nome": "Marco", "cognome": "Bianchi"}})
	ready, _ := printSheets(t, again, cl, act, map[string]any{"preview": base64.StdEncoding.EncodeToString(preview)})
	var got sheet.Layout
	json.Unmarshal(mustJSON(ready.msg["layout"]), &got)
	if len(got.Pages) != 3 || len(got.Pages[2].Boxes) != len(want.Pages[2].Boxes) || got.Pages[2].Boxes[1].Role != "sposa" {
		t.Fatalf("the layout from the preview's labels, under Wine: %s\n%s", ready.raw, again.logs)
	}
}
