package main

// The officer's page measured in real headless Chromium against the real
// agent and its simulated scanner (make bench). Times are taken in the
// browser with performance marks, by a script the benchmark adds to the
// page through the DevTools protocol, so that the page's own code carries
// no measuring code: it wraps the page's WebSocket to mark each frame as it
// arrives, and watches the document panel for «Pronto per ANSC».

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// benchProbe runs in the page before its own scripts.
const benchProbe = `(() => {
  const marks = { progress: {}, ready: [], longtasks: [] };
  window.__autografoBench = marks;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (ev) => {
        if (typeof ev.data !== "string") return;
        const now = performance.now();
        let m;
        try { m = JSON.parse(ev.data); } catch { return; }
        // The last "receiving" frame of a page is sent as its last bytes
        // reach the agent: the start of what the officer waits for.
        if (m.type === "capture.progress" && m.phase === "receiving") {
          performance.mark("autografo:receiving", { detail: m.page });
          marks.progress[m.act + "/" + m.page] = now;
        }
      });
    }
  };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) marks.longtasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: "longtask", buffered: true });
  const watch = () => {
    const panel = document.querySelector("#document-panel");
    const badge = document.querySelector("#document-badge");
    if (!panel || !badge) return;
    let shown = false;
    new MutationObserver(() => {
      const now = !panel.hidden && badge.textContent === "Pronto per ANSC";
      if (now && !shown) {
        // Marked at the next frame, when the change reaches the screen.
        requestAnimationFrame(() => marks.ready.push(performance.mark("autografo:ready").startTime));
      }
      shown = now;
    }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watch);
  else watch();
})()`

// benchPage opens the page at 300 dpi from the feeder, with the probe.
func benchPage(b *testing.B, pages int) (context.Context, *agentProc) {
	b.Helper()
	ag := startAgent(b, "--sim-pages", strconv.Itoa(pages), "--sim-page-time", "50ms")
	ctx := counter(b)
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: benchProbe})
		return err
	})); err != nil {
		b.Fatal(err)
	}
	openPage(b, ctx, ag.URL)
	if err := chromedp.Do(ctx, chromedp.SetValue(`#dpi`, "300")); err != nil {
		b.Fatal(err)
	}
	return ctx, ag
}

// captureUntilReady captures one new act and waits for «Pronto per ANSC»;
// it returns the act's id.
func captureUntilReady(b *testing.B, ctx context.Context) string {
	b.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#new-act`), chromedp.Click(`#new-act`)); err != nil {
		b.Fatal(err)
	}
	fillSigners(b, ctx)
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`)); err != nil {
		b.Fatal(err)
	}
	waitFor(b, ctx, "the act ready", `window.__autografoBench.ready.length > 0 && document.querySelector("#act-state").dataset.state === "ready"`)
	return eval[string](b, ctx, `sessionStorage.getItem("autografo.act")`)
}

type benchMarks struct {
	Progress  map[string]float64
	Ready     []float64
	Longtasks []struct{ Start, Duration float64 }
}

func readMarks(b *testing.B, ctx context.Context, reset bool) benchMarks {
	b.Helper()
	js := `JSON.stringify(window.__autografoBench)`
	if reset {
		js = `(() => { const m = JSON.stringify(window.__autografoBench); const w = window.__autografoBench;
			w.progress = {}; w.ready = []; w.longtasks = []; return m; })()`
	}
	var m benchMarks
	if err := json.Unmarshal([]byte(eval[string](b, ctx, js)), &m); err != nil {
		b.Fatal(err)
	}
	return m
}

// From the last page's bytes at the agent to «Pronto per ANSC» on the
// screen, for a 3-page act at 300 dpi: every page analysed, the act
// checked, the document built and fetched, the panel shown.
func BenchmarkOfficerPageLastPageToReady(b *testing.B) {
	ctx, _ := benchPage(b, 3)
	var waits []time.Duration
	for range b.N {
		act := captureUntilReady(b, ctx)
		m := readMarks(b, ctx, true)
		start, ok := m.Progress[act+"/3"]
		if !ok || len(m.Ready) == 0 {
			b.Fatalf("marks missing for %s: %+v", act, m)
		}
		waits = append(waits, time.Duration((m.Ready[0]-start)*float64(time.Millisecond)))
	}
	slices.Sort(waits)
	b.ReportMetric(float64(waits[len(waits)/2])/float64(time.Millisecond), "ms-median")
	b.ReportMetric(float64(waits[len(waits)-1])/float64(time.Millisecond), "ms-max")
	b.Logf("last page's bytes to «Pronto per ANSC», %d acts: %v", len(waits), waits)
}

// The main thread during a 10-page capture at 300 dpi, from «Acquisisci»
// to «Pronto per ANSC»: the longest task and how many passed 50 ms.
func BenchmarkOfficerPageMainThreadDuringCapture(b *testing.B) {
	ctx, _ := benchPage(b, 10)
	// The probe must see a long task when there is one: an 80 ms loop in a
	// timer of the page's own.
	eval[bool](b, ctx, `setTimeout(() => { const t0 = performance.now(); while (performance.now() - t0 < 80); }, 0), true`)
	waitFor(b, ctx, "the probe's own long task", `window.__autografoBench.longtasks.some((t) => t.duration >= 80)`)
	longest, over := 0.0, 0
	for range b.N {
		readMarks(b, ctx, true) // the page's load and earlier acts do not count
		captureUntilReady(b, ctx)
		m := readMarks(b, ctx, false)
		for _, t := range m.Longtasks {
			longest = max(longest, t.Duration)
			if t.Duration > 50 {
				over++
			}
		}
	}
	b.ReportMetric(longest, "ms-longest-task")
	b.ReportMetric(float64(over)/float64(b.N), "tasks-over-50ms/capture")
}
