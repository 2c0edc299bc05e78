package main

// The officer's page in real headless Chromium, at a counter's 1366x768:
// each test here is one of the faults found by using the page as a new
// user would, and fails if it comes back. Every step is also checked with
// axe-core for critical and serious accessibility violations.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/autografo/autografo/agent/protocol"
	"github.com/autografo/autografo/scanner/scannertest"
	"github.com/autografo/autografo/scanner/sheet"
)

// counter is a browser the size of an office workstation's screen.
func counter(t testing.TB) context.Context {
	t.Helper()
	ctx := browser(t, chromedp.WindowSize(1366, 768))
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 768)); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// axePath is axe-core's script, fetched by make test (.ci/axe).
func axePath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("AUTOGRAFO_AXE")
	if p == "" {
		_, file, _, _ := runtime.Caller(0)
		p = filepath.Join(filepath.Dir(file), "..", "..", ".cache", "axe-core", "axe.min.js")
	}
	scannertest.NeedFiles(t, p)
	return p
}

// checkAccessible runs axe-core in the page as it stands and fails on
// every critical or serious violation, naming the step.
func checkAccessible(t *testing.T, ctx context.Context, step string) {
	t.Helper()
	src, err := os.ReadFile(axePath(t))
	if err != nil {
		t.Fatal(err)
	}
	// Evaluated through the DevTools protocol, which the page's CSP does
	// not govern: the page itself still runs only its own scripts.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe !== "undefined" || (function(){`+string(src)+`; return true})()`)); err != nil {
		t.Fatalf("loading axe-core: %v", err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, { resultTypes: ["violations"] }).then(r => JSON.stringify(
		r.violations.filter(v => v.impact === "critical" || v.impact === "serious").map(v => ({ id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(" ")) }))))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("running axe-core (%s): %v", step, err)
	}
	var violations []struct {
		ID, Impact string
		Nodes      []string
	}
	if err := json.Unmarshal([]byte(out), &violations); err != nil {
		t.Fatal(err)
	}
	for _, v := range violations {
		t.Errorf("%s: axe %s (%s) on %v", step, v.ID, v.Impact, v.Nodes)
	}
}

// aboveTheFold says whether the element is shown and wholly within the
// first screen, with nothing scrolled.
func aboveTheFold(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { window.scrollTo(0, 0); const e = document.querySelector(`+strconv.Quote(sel)+`);
		if (!e || e.closest("[hidden]")) return false; const r = e.getBoundingClientRect();
		return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; })()`))
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func waitFor(t testing.TB, ctx context.Context, what, js string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, noPollLimit)); err != nil {
		t.Fatalf("waiting for %s: %v (status %q)", what, err, text(t, ctx, `#status`))
	}
}

func eval[T any](t testing.TB, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// currentStep is the lifecycle step the page marks as current.
func currentStep(t *testing.T, ctx context.Context) string {
	t.Helper()
	return eval[string](t, ctx, `document.querySelector('#steps li[aria-current="step"]').textContent`)
}

// stepShot keeps what the officer sees now, the first screen at
// 1366x768, as docs/screens/NAME.png when make screenshot asks for it
// (AUTOGRAFO_SCREENS is the folder).
func stepShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("AUTOGRAFO_SCREENS")
	if dir == "" {
		return
	}
	// The thumbnails and crops in view are decoded, and the list of kept
	// acts has caught up with the act shown, before the picture.
	waitFor(t, ctx, "images decoded", `(window.scrollTo(0, 0), [...document.images].every(i => !i.src || i.complete)) &&
		[...document.querySelectorAll("#pending li")].every(li => li.dataset.act !== sessionStorage.getItem("autografo.act") ||
			li.dataset.state === document.querySelector("#act-state").dataset.state)`)
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// r006Fields decodes the R006 fields the page shows into v.
func r006Fields(t *testing.T, ctx context.Context, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(eval[string](t, ctx, `document.querySelector("#r006-fields").textContent`)), v); err != nil {
		t.Fatal(err)
	}
}

// A witness's box is left empty: the red banner at the top names her, the
// document is not offered, and «Acquisisci» is on the first screen. The
// officer confirms the signature by eye with a reason; the act becomes
// ready and its document, with the R006 fields, shows on the first screen.
func TestOfficerPageMissingSignatureIsARedBannerAboveTheFold(t *testing.T) {
	ctx := counter(t)
	ag := startAgent(t, "--sim-pages", "2", "--sim-page-time", "50ms", "--sim-unsigned", "testimone2")
	openPage(t, ctx, ag.URL)
	checkAccessible(t, ctx, "new act")
	if !aboveTheFold(t, ctx, "#acquire") {
		t.Error("«Acquisisci» is below the fold at 1366x768")
	}
	fillSigners(t, ctx)
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`)); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ctx)
	waitFor(t, ctx, "the banner", `!document.querySelector("#banner").hidden`)
	if got := text(t, ctx, `#banner`); !strings.Contains(got, "Manca la firma di Chiara Colombo (secondo testimone).") {
		t.Errorf("banner %q", got)
	}
	if !aboveTheFold(t, ctx, "#banner") {
		t.Error("the missing signature's banner is not on the first screen")
	}
	if eval[bool](t, ctx, `!document.querySelector("#document-panel").hidden`) {
		t.Error("the document is offered while a signature is missing")
	}
	// The two witnesses are told apart, by the names typed.
	cards := eval[string](t, ctx, `[...document.querySelectorAll("#signature-list li")].map(li => li.querySelector(".who").textContent + "=" + li.dataset.status).join("; ")`)
	if want := "Marco Bianchi (sposo)=signed; Giulia Esposito (sposa)=signed; Luca Romano (primo testimone)=signed; Chiara Colombo (secondo testimone)=missing; Anna Ricci (ufficiale dello stato civile)=signed"; cards != want {
		t.Errorf("verdict cards\n%s\nwant\n%s", cards, want)
	}
	checkAccessible(t, ctx, "missing signature")

	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`#reason-testimone2`, "firma presente, tratto molto leggero"),
		chromedp.Click(`#signature-list li[data-role="testimone2"] button.override`),
	); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the document", `!document.querySelector("#document-panel").hidden`)
	if got := text(t, ctx, `#document-badge`); got != "Pronto per ANSC" {
		t.Errorf("badge %q", got)
	}
	if !eval[bool](t, ctx, `document.querySelector("#banner").hidden`) {
		t.Errorf("banner still shown once ready: %q", text(t, ctx, `#banner`))
	}
	if top := eval[float64](t, ctx, `window.scrollTo(0,0), document.querySelector("#document-panel").getBoundingClientRect().top`); top > 768-60 {
		t.Errorf("the document starts %.0f px down: below the fold", top)
	}
	var r006 struct {
		TipoFile       string `json:"tipoFile"`
		ListaFirmatari []struct{ Nome, Cognome string }
		Eccezioni      []struct{ Ruolo, Tipo string }
	}
	r006Fields(t, ctx, &r006)
	if r006.TipoFile != "1" || len(r006.ListaFirmatari) != 5 || len(r006.Eccezioni) != 1 || r006.Eccezioni[0].Ruolo != "testimone2" {
		t.Errorf("R006 fields %+v", r006)
	}
	checkAccessible(t, ctx, "ready")
}

// «Apri» on an older act shows that act and nothing of the one before: its
// document when it has one, no document when it has none.
func TestOfficerPageNeverShowsAnotherActsDocument(t *testing.T) {
	ctx := counter(t)
	ag := startAgent(t, "--sim-pages", "1", "--sim-page-time", "20ms")
	openPage(t, ctx, ag.URL)
	fillSigners(t, ctx)
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the first act's document", `!document.querySelector("#document-panel").hidden`)
	first := text(t, ctx, `#document-info`)
	// A second act, without names: captured, never ready.
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#new-act`), chromedp.Click(`#new-act`), chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`)); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ctx)
	waitFor(t, ctx, "the second act checked", `document.querySelector("#act-state").dataset.state === "checked"`)
	if eval[bool](t, ctx, `!document.querySelector("#document-panel").hidden`) {
		t.Fatalf("the second act shows a document: %q", text(t, ctx, `#document-info`))
	}
	openAct := func(who string) {
		t.Helper()
		sel := `#pending li button[aria-label="Apri l'atto di ` + who + `"]`
		if err := chromedp.Do(ctx, chromedp.WaitEnabled(sel), chromedp.Click(sel)); err != nil {
			t.Fatalf("opening %s: %v", who, err)
		}
	}
	openAct("Marco Bianchi e Giulia Esposito")
	waitFor(t, ctx, "the first act again", `document.querySelector("#act-name").textContent === "Matrimonio: Marco Bianchi e Giulia Esposito" && !document.querySelector("#document-panel").hidden`)
	if got := text(t, ctx, `#document-info`); got != first {
		t.Errorf("first act's document shown as %q, was %q", got, first)
	}
	openAct("firmatari senza nome")
	waitFor(t, ctx, "the second act again", `document.querySelector("#act-state").dataset.state === "checked"`)
	if eval[bool](t, ctx, `!document.querySelector("#document-panel").hidden`) {
		t.Errorf("after «Apri» on the act without a document, a document is offered: %q", text(t, ctx, `#document-info`))
	}
	waitFor(t, ctx, "the second act's page", loadedThumbnails+` >= 1`)
	if n := count(t, ctx, `document.querySelectorAll("#pages li").length`); n != 1 {
		t.Errorf("%d thumbnails: pages of two acts mixed?", n)
	}
}

// During a capture nothing that would change another act can be clicked;
// «Interrompi» stops it, and a stop asked for is not an error.
func TestOfficerPageLocksOtherActsDuringACapture(t *testing.T) {
	ctx := counter(t)
	ag := startAgent(t, "--sim-pages", "4", "--sim-page-time", "2s", "--sim-faults", "jam@1")
	openPage(t, ctx, ag.URL)
	// A pending act: one page captured, then the paper jammed.
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the jam", `document.querySelector("#status").dataset.state === "failed"`)
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#new-act`), chromedp.Click(`#new-act`)); err != nil {
		t.Fatal(err)
	}
	fillSigners(t, ctx)
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`), chromedp.WaitVisible(`#cancel`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the first page", `document.querySelectorAll("#pages li").length === 1`)
	locked := eval[string](t, ctx, `["#new-act", "#acquire", "#print-sheet", "#kind", "#signers .nome", "#pending li button.resume", "#device"].filter(s =>
		[...document.querySelectorAll(s)].some(e => !e.disabled)).join(",")`)
	if locked != "" {
		t.Errorf("during a capture these can still be used: %s", locked)
	}
	if !aboveTheFold(t, ctx, "#cancel") {
		t.Error("«Interrompi» is not on the first screen")
	}
	checkAccessible(t, ctx, "capturing")
	stepShot(t, ctx, "3-acquisizione")
	if err := chromedp.Do(ctx, chromedp.Click(`#cancel`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the stop", `document.querySelector("#status").dataset.state === "stopped"`)
	if got := text(t, ctx, `#status`); !strings.HasPrefix(got, "Acquisizione interrotta: ") || !strings.Contains(got, "conservat") {
		t.Errorf("status after a stop %q", got)
	}
	if eval[bool](t, ctx, `!document.querySelector("#notice").hidden && document.querySelector("#notice").dataset.kind === "error"`) {
		t.Errorf("a stop asked for is shown as an error: %q", text(t, ctx, `#notice`))
	}
	waitFor(t, ctx, "the pending list", `document.querySelectorAll("#pending li").length === 2`)
	if eval[bool](t, ctx, `document.querySelector('#pending li button[aria-label="Apri l\'atto di firmatari senza nome"]').disabled`) {
		t.Error("«Apri» stays disabled after the capture")
	}
}

// A reload in the middle of a capture comes back to the capture: its pages
// so far, its progress, «Interrompi»; and then its end.
func TestOfficerPageReloadMidCaptureFollowsTheCapture(t *testing.T) {
	ctx := counter(t)
	ag := startAgent(t, "--sim-pages", "4", "--sim-page-time", "3s")
	openPage(t, ctx, ag.URL)
	fillSigners(t, ctx)
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the first page", `document.querySelectorAll("#pages li").length === 1`)
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(`#connection[data-state="open"]`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the capture after the reload", `!document.querySelector("#cancel").hidden && document.querySelectorAll("#pages li").length >= 1 &&
		document.querySelector("#act-state").dataset.state === "capturing"`)
	if got := text(t, ctx, `#status`); !strings.HasPrefix(got, "Pagina ") && got != "Acquisizione in corso…" {
		t.Errorf("status after a reload mid-capture %q", got)
	}
	waitDone(t, ctx)
	if n := count(t, ctx, `document.querySelectorAll("#pages li").length`); n != 4 {
		t.Errorf("%d pages after the capture, want 4", n)
	}
}

// pairByCode types a code from `autografo pair` into the page's pairing
// panel, as the officer would.
func pairByCode(t *testing.T, ctx context.Context, ag *agentProc) {
	t.Helper()
	m := codeLine.FindStringSubmatch(runCLI(t, ag, "pair"))
	if m == nil {
		t.Fatal("autografo pair printed no code")
	}
	if err := chromedp.Do(ctx, chromedp.SetValue(`#pair-code`, m[1]), chromedp.Click(`#pair-submit`)); err != nil {
		t.Fatal(err)
	}
}

// freePort is a loopback port free now: the agent restarted on it keeps
// the tab's origin.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// stop ends the agent with SIGTERM and waits for it; the test's cleanup
// then finds it stopped.
func (p *agentProc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait()
}

// The agent stops while the page is idle, and starts again: the page says
// it is unreachable, reconnects by itself, asks for a new pairing in the
// page (the code from `autografo pair`, or a new link from `autografo
// open` in the same tab), and then shows the same act again.
func TestOfficerPageSurvivesAnAgentRestart(t *testing.T) {
	ctx := counter(t)
	store, state, port := t.TempDir(), t.TempDir(), freePort(t)
	args := []string{"--store", store, "--state-dir", state, "--port", port, "--sim-pages", "1", "--sim-page-time", "20ms"}
	start := func() *agentProc {
		ag := startAgent(t, args...)
		ag.StateDir = state
		return ag
	}
	ag := start()
	openPage(t, ctx, ag.URL)
	fillSigners(t, ctx)
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`)); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ctx)

	ag.stop(t)
	waitFor(t, ctx, "the page to see the agent gone", `document.querySelector("#connection").dataset.state === "closed" &&
		document.querySelector("#status").dataset.state === "offline"`)
	if got := text(t, ctx, `#status`); !strings.Contains(got, "non raggiungibile") {
		t.Errorf("status with the agent stopped %q", got)
	}

	// Restarted: the page reconnects by itself and asks for a code.
	ag = start()
	waitFor(t, ctx, "the pairing panel", `!document.querySelector("#pairing").hidden`)
	if got := text(t, ctx, `#pair-error`); !strings.Contains(got, "riavviato") {
		t.Errorf("pairing message after a restart %q", got)
	}
	checkAccessible(t, ctx, "pairing")
	stepShot(t, ctx, "abbinamento-dopo-un-riavvio")
	pairByCode(t, ctx, ag)
	waitFor(t, ctx, "the act after pairing", `document.querySelector("#connection").dataset.state === "open" &&
		document.querySelector("#act-name").textContent === "Matrimonio: Marco Bianchi e Giulia Esposito" && document.querySelectorAll("#pages li img").length === 1`)

	// Once more, now with a link from `autografo open` pasted in the tab.
	ag.stop(t)
	ag = start()
	waitFor(t, ctx, "the pairing panel again", `!document.querySelector("#pairing").hidden`)
	link := openLink(t, ag)
	frag := link[strings.Index(link, "#"):]
	eval[bool](t, ctx, `location.hash = `+strconv.Quote(frag)+`, true`)
	waitFor(t, ctx, "the act after the link", `document.querySelector("#connection").dataset.state === "open" &&
		document.querySelectorAll("#pages li img").length === 1 && !location.hash.includes("pair=")`)
}

// An empty feeder is news, not success: no green, no pending act left
// behind with nothing in it.
func TestOfficerPageEmptyFeeder(t *testing.T) {
	ctx := counter(t)
	ag := startAgent(t, "--sim-faults", "nodocs")
	openPage(t, ctx, ag.URL)
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the capture's end", `document.querySelector("#status").dataset.state === "warning"`)
	if got := text(t, ctx, `#status`); !strings.Contains(got, "Nessun foglio") {
		t.Errorf("status %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#new-act`), chromedp.Click(`#new-act`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the pending list", `!document.querySelector("#pending-empty").hidden`)
	_ = ag
}

// Enter in a name field never starts a scan; the act's kind gives its
// roles; once opened, the act's names cannot drift from the form.
func TestOfficerPageFormKeysAndRoles(t *testing.T) {
	ctx := counter(t)
	ag := startAgent(t, "--saned", "")
	openPage(t, ctx, ag.URL)
	if err := chromedp.Do(ctx, chromedp.SetValue(`#kind`, "nascita")); err != nil {
		t.Fatal(err)
	}
	eval[bool](t, ctx, `document.querySelector("#kind").dispatchEvent(new Event("change")), true`)
	if got := eval[string](t, ctx, `[...document.querySelectorAll("#signers .role")].map(s => s.value).join(",")`); got != "dichiarante,ufficiale" {
		t.Errorf("roles of a birth act %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(`#signers .signer-row:nth-child(1) .nome`, "Paolo\r")); err != nil {
		t.Fatal(err)
	}
	// Printing goes through the agent after the Enter: had the Enter
	// started a scan, the agent would have logged it first.
	if err := chromedp.Do(ctx, chromedp.Click(`#print-sheet`), chromedp.WaitVisible(`#sheet-link`)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ag.logs.String(), "capture started") {
		t.Error("Enter in a name field started a scan")
	}
	if got := strings.Count(ag.logs.String(), `msg="act opened"`); got != 1 {
		t.Errorf("%d acts opened, want 1", got)
	}
	if !eval[bool](t, ctx, `[...document.querySelectorAll("#signers input, #signers select, #kind")].every(e => e.disabled)`) {
		t.Error("the form of an opened act can still be edited")
	}
	if got := text(t, ctx, `#act-name`); got != "Nascita: Paolo" {
		t.Errorf("header %q", got)
	}
	checkAccessible(t, ctx, "printed")
}

// The loop `make run` demonstrates: the signature sheet printed from the
// page, signed (a witness leaves her box empty), scanned by the simulator
// as printed, recognised by its code and checked box by box.
func TestOfficerPagePrintSignScan(t *testing.T) {
	ctx := counter(t)
	ag := startAgent(t, "--sim-page-time", "20ms", "--sim-unsigned", "testimone2")
	openPage(t, ctx, ag.URL)
	fillSigners(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Click(`#print-sheet`), chromedp.WaitVisible(`#sheet-link`)); err != nil {
		t.Fatal(err)
	}
	if got := currentStep(t, ctx); got != "Firme" {
		t.Errorf("step after printing %q, want Firme", got)
	}
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`)); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ctx)
	waitFor(t, ctx, "the verdicts", `document.querySelector("#printed-summary").textContent === "Fogli riconosciuti: 1 di 1." &&
		![...document.querySelectorAll("#signature-list li")].some(li => li.dataset.status === "pending")`)
	if c := text(t, ctx, `#pages li[data-page="1"] .caption`); c != "Foglio 1 di 1" {
		t.Errorf("caption %q", c)
	}
	got := eval[string](t, ctx, `[...document.querySelectorAll("#signature-list li")].map(li => li.dataset.role + "=" + li.dataset.status).join(" ")`)
	if want := "sposo=signed sposa=signed testimone1=signed testimone2=missing ufficiale=signed"; got != want {
		t.Errorf("verdicts %q, want %q", got, want)
	}
	if b := text(t, ctx, `#banner`); !strings.Contains(b, "Chiara Colombo (secondo testimone)") {
		t.Errorf("banner %q", b)
	}
	if got := currentStep(t, ctx); got != "Verifica" {
		t.Errorf("step after the capture %q, want Verifica", got)
	}
}

// A capture of printed sheets shows how far the act is, beside how far
// its page is: «Pagina 2 di 3» and a bar for the act that fills sheet by
// sheet. What the page showed is recorded as it changes, so that a fast
// capture is seen whole.
func TestOfficerPageShowsTheActsProgress(t *testing.T) {
	ctx := counter(t)
	ag := startAgent(t, "--sim-page-time", "300ms")
	openPage(t, ctx, ag.URL)
	fillSigners(t, ctx)
	printWeddingPreview(t, ctx, ag)
	eval[bool](t, ctx, `(() => {
		const seen = window.actProgress = { shown: 0, max: 0, values: [], statuses: new Set() };
		const bar = document.querySelector("#act-progress"), status = document.querySelector("#status");
		const look = () => {
			if (!bar.hidden) { seen.shown++; seen.max = bar.max; seen.values.push(bar.value); }
			seen.statuses.add(status.textContent);
		};
		new MutationObserver(look).observe(bar, { attributes: true });
		new MutationObserver(look).observe(status, { childList: true, characterData: true, subtree: true });
		return true;
	})()`)
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`)); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ctx)
	type seen struct {
		Shown    int
		Max      float64
		Values   []float64
		Statuses []string
	}
	got := eval[seen](t, ctx, `({ shown: actProgress.shown, max: actProgress.max, values: actProgress.values, statuses: [...actProgress.statuses] })`)
	if got.Shown == 0 || got.Max != 3 {
		t.Fatalf("the act's bar was shown %d times, out of %v: want it out of the 3 printed sheets", got.Shown, got.Max)
	}
	if last := got.Values[len(got.Values)-1]; last < 2 {
		t.Errorf("the act's bar reached %v of 3 during the capture", last)
	}
	for i := 1; i < len(got.Values); i++ {
		if got.Values[i] < got.Values[i-1] {
			t.Errorf("the act's bar went back: %v", got.Values)
			break
		}
	}
	var of3 []string
	for _, s := range got.Statuses {
		if strings.HasPrefix(s, "Pagina ") && strings.Contains(s, " di 3") {
			of3 = append(of3, s)
		}
	}
	if !slices.ContainsFunc(of3, func(s string) bool { return strings.HasPrefix(s, "Pagina 3 di 3") }) {
		t.Errorf("statuses during the capture %q: none says «Pagina 3 di 3»", got.Statuses)
	}
	if !eval[bool](t, ctx, `document.querySelector("#act-progress").hidden`) {
		t.Error("the act's bar stays after the capture")
	}
	checkAccessible(t, ctx, "after the act's progress")
}

// printWeddingPreview prints the three-page preview from the page, with
// its page codes stamped: the simulator's feeder then holds those sheets.
func printWeddingPreview(t *testing.T, ctx context.Context, ag *agentProc) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.SetUploadFiles(`#preview`, []string{weddingPreview(t)}),
		chromedp.Click(`#print-sheet`), chromedp.WaitVisible(`#sheet-link`)); err != nil {
		t.Fatalf("printing the preview: %v\n%s", err, ag.logs)
	}
}

// weddingPreview is a three-page act as ANSC's preview would print it:
// text on every page, the five signers' labels on the last.
func weddingPreview(t *testing.T) string {
	t.Helper()
	const w, h = 595.28, 841.89
	var contents []string
	for p := 1; p <= 3; p++ {
		c := fmt.Sprintf("BT /F1 14 Tf 60 780 Td (Atto di matrimonio - pagina %d di 3) Tj ET\n", p)
		for y := 740; y > 600; y -= 18 {
			c += fmt.Sprintf("BT /F1 10 Tf 60 %d Td (Il giorno ventitre novembre duemilaventisei, nella casa comunale, avanti a me,) Tj ET\n", y)
		}
		if p == 3 {
			for _, l := range []struct {
				x, y  int
				label string
			}{{60, 540, "Lo sposo"}, {320, 540, "La sposa"}, {60, 420, "Il testimone"}, {320, 420, "Il testimone"}, {60, 300, "L'Ufficiale dello Stato Civile"}} {
				c += fmt.Sprintf("BT /F1 10 Tf %d %d Td (%s) Tj ET\n", l.x, l.y, strings.ReplaceAll(l.label, "'", "\\'"))
			}
		} else {
			for y := 580; y > 120; y -= 18 {
				c += fmt.Sprintf("BT /F1 10 Tf 60 %d Td (sono comparsi i signori qui sotto indicati, i quali mi hanno richiesto di unirli in matrimonio) Tj ET\n", y)
			}
		}
		contents = append(contents, c)
	}
	path := filepath.Join(t.TempDir(), "anteprima.pdf")
	if err := os.WriteFile(path, sheet.PlainPDF(w, h, contents), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A whole wedding with the simulator: two spouses, two witnesses and the
// officer; the act's three-page preview printed from the page with its
// page codes; the three pages through the feeder, the second upside down,
// the second witness's box left empty. The banner names her; she signs;
// her page is retaken from the glass; the act becomes ready, its pages
// upright and in order, and the R006 fields name all five.
func TestOfficerPageWholeWedding(t *testing.T) {
	ctx := counter(t)
	ag := startAgent(t, "--sim-page-time", "20ms", "--sim-unsigned", "testimone2", "--sim-turn", "2:180")
	openPage(t, ctx, ag.URL)
	fillSigners(t, ctx)
	stepShot(t, ctx, "1-atto")
	printWeddingPreview(t, ctx, ag)
	checkAccessible(t, ctx, "printed")
	stepShot(t, ctx, "2-stampa-e-firme")
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`)); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ctx)
	waitFor(t, ctx, "the verdicts", `document.querySelector("#printed-summary").textContent === "Fogli riconosciuti: 3 di 3." &&
		![...document.querySelectorAll("#signature-list li")].some(li => li.dataset.status === "pending") && !document.querySelector("#banner").hidden`)
	if b := text(t, ctx, `#banner`); !strings.Contains(b, "Manca la firma di Chiara Colombo (secondo testimone).") {
		t.Errorf("banner %q", b)
	}
	if eval[bool](t, ctx, `!document.querySelector("#document-panel").hidden`) {
		t.Error("the document is offered with a signature missing")
	}
	checkAccessible(t, ctx, "a signature missing")
	stepShot(t, ctx, "4-verifica-firma-mancante")
	// The second page came upside down: it is shown (and will go) upright.
	if turn := eval[string](t, ctx, `document.querySelector('#pages li[data-page="2"] img').style.transform`); turn != "rotate(180deg)" {
		t.Errorf("the upside-down page is shown with %q", turn)
	}
	retake := `#signature-list li[data-role="testimone2"] button.retake`
	if err := chromedp.Do(ctx, chromedp.WaitVisible(retake)); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, retake); got != "Riacquisisci la pagina 3 dal vetro" {
		t.Errorf("retake button %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.Click(retake)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the act ready", `!document.querySelector("#document-panel").hidden && document.querySelector("#document-badge").textContent === "Pronto per ANSC"`)
	if !eval[bool](t, ctx, `document.querySelector("#banner").hidden`) {
		t.Errorf("banner after the retake: %q", text(t, ctx, `#banner`))
	}
	if got := text(t, ctx, `#pages li[data-page="3"] .caption`); got != "Pagina 3: riacquisita, sostituita dalla pagina 4" {
		t.Errorf("the retaken page's caption %q", got)
	}
	if got := eval[string](t, ctx, `[...document.querySelectorAll("#pages li")].map(li => li.dataset.page).join(",")`); got != "1,2,4,3" {
		t.Errorf("pages shown in the order %s, want the document's 1,2,4 then the retaken 3", got)
	}
	if info := text(t, ctx, `#document-info`); !strings.HasPrefix(info, "3 pagine, ") {
		t.Errorf("document %q", info)
	}
	var r006 struct {
		Nomefile, TipoFile, TipoAllegato string
		ListaFirmatari                   []struct{ Nome, Cognome string }
	}
	r006Fields(t, ctx, &r006)
	var names []string
	for _, f := range r006.ListaFirmatari {
		names = append(names, f.Nome+" "+f.Cognome)
	}
	if r006.TipoFile != "1" || r006.TipoAllegato != "999" || !strings.HasSuffix(r006.Nomefile, ".pdf") ||
		strings.Join(names, ", ") != "Marco Bianchi, Giulia Esposito, Luca Romano, Chiara Colombo, Anna Ricci" {
		t.Errorf("R006 fields %+v", r006)
	}
	checkAccessible(t, ctx, "ready")
	stepShot(t, ctx, "5-documento-pronto")

	// Consegna: the document taken for the upload, then ANSC's id for it.
	if err := chromedp.Do(ctx, chromedp.Click(`#deliver`), chromedp.WaitVisible(`#attachment`),
		chromedp.SendKeys(`#attachment`, "ALL-2026-000042")); err != nil {
		t.Fatal(err)
	}
	stepShot(t, ctx, "6-consegna")
	if err := chromedp.Do(ctx, chromedp.Click(`#confirm`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "ANSC's acceptance", `document.querySelector("#document-badge").textContent === "Accettato da ANSC"`)
	if got := currentStep(t, ctx); got != "Consegna" {
		t.Errorf("step once accepted %q", got)
	}
	checkAccessible(t, ctx, "accepted")
	stepShot(t, ctx, "7-accettato-da-ansc")
}

// The scanner is pulled out in the middle of the second page: the page
// says so in Italian with what to do, keeps the first page, shows the
// device as unplugged; plugged back, the same act carries on with «Riprova»
// and ends with every page.
func TestOfficerPageScannerUnpluggedMidScan(t *testing.T) {
	ctx := counter(t)
	ag := startAgent(t, "--sim-pages", "3", "--sim-page-time", "300ms", "--sim-faults", "gone@1")
	openPage(t, ctx, ag.URL)
	fillSigners(t, ctx)
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the capture to fail", `document.querySelector("#status").dataset.state === "failed"`)
	if got := text(t, ctx, `#notice`); !strings.Contains(got, "scollegato") {
		t.Errorf("notice after the cable was pulled %q", got)
	}
	if got := text(t, ctx, `#status`); !strings.Contains(got, "1 pagina conservata") || !strings.Contains(got, "Riprova") {
		t.Errorf("status after the cable was pulled %q", got)
	}
	if n := count(t, ctx, `document.querySelectorAll("#pages li").length`); n != 1 {
		t.Errorf("%d pages kept, want 1", n)
	}
	if !aboveTheFold(t, ctx, "#notice") || !aboveTheFold(t, ctx, "#acquire") {
		t.Error("the message or «Riprova» is not on the first screen")
	}
	checkAccessible(t, ctx, "device unplugged")
	stepShot(t, ctx, "scanner-scollegato")
	// The simulator's cable is back after a few seconds: the device's status
	// says so, and the same act takes the rest of the feeder.
	waitFor(t, ctx, "the device back", `document.querySelector("#device-state").dataset.state === "ready" && !document.querySelector("#acquire").disabled`)
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`)); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ctx)
	if n := count(t, ctx, `document.querySelectorAll("#pages li").length`); n != 3 {
		t.Errorf("%d pages after the retry, want 3", n)
	}
	if !eval[bool](t, ctx, `document.querySelector("#notice").hidden`) {
		t.Errorf("the unplugged message stays after the retry: %q", text(t, ctx, `#notice`))
	}
	if !logged(ag, "code=device_gone") {
		t.Errorf("no English log line for the unplugged device; logs:\n%s", ag.logs)
	}
}

// The agent is stopped in the middle of a capture and started again: the
// page, reloaded or not, shows the same act with the pages captured before
// the stop, says the capture was interrupted, and lets the officer go on.
func TestOfficerPageAgentRestartMidCapture(t *testing.T) {
	ctx := counter(t)
	store, state, port := t.TempDir(), t.TempDir(), freePort(t)
	args := []string{"--store", store, "--state-dir", state, "--port", port, "--sim-pages", "4", "--sim-page-time", "1s"}
	ag := startAgent(t, args...)
	openPage(t, ctx, ag.URL)
	fillSigners(t, ctx)
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the first page", `document.querySelectorAll("#pages li img").length >= 1`)
	ag.stop(t)
	// The pages the agent kept before it stopped: the page must show all of
	// them again, however many had reached it.
	kept := strings.Count(ag.logs.String(), `msg="page captured"`)
	waitFor(t, ctx, "the page to see the agent gone", `document.querySelector("#connection").dataset.state === "closed"`)
	if !eval[bool](t, ctx, `document.querySelector("#cancel").hidden`) {
		t.Error("«Interrompi» is still offered with the agent stopped")
	}

	ag = startAgent(t, args...)
	ag.StateDir = state
	waitFor(t, ctx, "the pairing panel", `!document.querySelector("#pairing").hidden`)
	pairByCode(t, ctx, ag)
	waitFor(t, ctx, "the act after pairing", `document.querySelector("#connection").dataset.state === "open" &&
		document.querySelector("#act-name").textContent === "Matrimonio: Marco Bianchi e Giulia Esposito" && document.querySelectorAll("#pages li img").length === `+strconv.Itoa(kept))
	if state := eval[string](t, ctx, `document.querySelector("#act-state").dataset.state`); state == "capturing" {
		t.Errorf("the act is still shown as capturing after the restart")
	}
	if got := text(t, ctx, `#status`); !strings.Contains(got, "interrott") {
		t.Errorf("status of the act after a restart mid-capture %q", got)
	}
	if !eval[bool](t, ctx, `document.querySelector("#cancel").hidden && !document.querySelector("#acquire").disabled`) {
		t.Error("after the restart «Acquisisci» is not offered, or «Interrompi» still is")
	}
	// A reload now shows the same.
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(`#connection[data-state="open"]`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the act after the reload", `document.querySelectorAll("#pages li img").length === `+strconv.Itoa(kept))
	if got := text(t, ctx, `#status`); !strings.Contains(got, "interrott") {
		t.Errorf("status after a reload %q", got)
	}
}

// italianLeft lists the page's visible text and labels that still read as
// Italian: its function words and the words of the trade. Elements marked
// translate="no" (names, files, codes) are the act's data, not the page's.
const italianWords = `di|del|della|dello|dell|dei|delle|il|lo|la|le|gli|un|una|per|che|non|è|e|da|dal|dalla|ad|al|nel|nella|sono|pagin[ae]|firm[ae]|atto|atti|fogli|foglio|riquadro|acquisi\pL*|nessun\pL*|premere|inserire|riprovare|scollegato`

var italianText = regexp.MustCompile(`(?i)(?:^|[^\pL])(` + italianWords + `)(?:$|[^\pL])`)

var italianLeft = `(() => {
  const IT = /(?:^|[^\p{L}])(` + strings.ReplaceAll(italianWords, `\pL`, `\p{L}`) + `)(?=$|[^\p{L}])/iu;
  const shown = (e) => e && !e.closest("[hidden], [translate=no], script, style, template") && (e.tagName === "OPTION" || e.getClientRects().length > 0);
  const left = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) if (shown(n.parentElement) && IT.test(n.data)) left.push(n.data.trim());
  for (const e of document.body.querySelectorAll("[aria-label], [title], [placeholder], [alt]")) {
    if (!shown(e)) continue;
    for (const a of ["aria-label", "title", "placeholder", "alt"]) if (IT.test(e.getAttribute(a) || "")) left.push(a + ": " + e.getAttribute(a));
  }
  if (IT.test(document.title)) left.push("title: " + document.title);
  return JSON.stringify(left);
})()`

func checkEnglish(t *testing.T, ctx context.Context, step string) {
	t.Helper()
	var left []string
	if err := json.Unmarshal([]byte(eval[string](t, ctx, italianLeft)), &left); err != nil {
		t.Fatal(err)
	}
	for _, s := range left {
		t.Errorf("%s: still Italian: %q", step, s)
	}
}

// The page in English: the link in its header, kept for the browser; the
// wedding's steps with no Italian left on screen, the agent's messages
// (every code, every reason) included; and back to Italian.
func TestOfficerPageInEnglish(t *testing.T) {
	ctx := counter(t)
	ag := startAgent(t, "--sim-pages", "2", "--sim-page-time", "50ms", "--sim-unsigned", "testimone2")
	hash := strings.Index(ag.URL, "#")
	openPage(t, ctx, ag.URL[:hash]+"?lang=en"+ag.URL[hash:])
	waitFor(t, ctx, "the page in English", `document.documentElement.lang === "en" && document.querySelector("#acquire").textContent === "Capture"`)
	checkEnglish(t, ctx, "a new act")
	checkAccessible(t, ctx, "English")
	fillSigners(t, ctx)
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`), chromedp.WaitVisible(`#cancel`)); err != nil {
		t.Fatal(err)
	}
	checkEnglish(t, ctx, "capturing")
	waitFor(t, ctx, "the verdicts", `!document.querySelector("#banner").hidden && document.querySelector("#status").dataset.state === "done"`)
	if got := text(t, ctx, `#banner`); !strings.Contains(got, "Missing signature of Chiara Colombo (second witness).") {
		t.Errorf("banner in English %q", got)
	}
	checkEnglish(t, ctx, "a signature missing")
	stepShot(t, ctx, "english-verification")

	// Every message the agent can send, worded for a signer and a page.
	var messages []string
	for _, c := range protocol.Codes {
		messages = append(messages, protocol.Format(c.Code, "di Chiara Colombo (secondo testimone)", 2), protocol.Format(c.Code, "della sposa", 2))
	}
	for _, k := range protocol.ReasonKeys() {
		messages = append(messages, protocol.ReasonText(k))
	}
	list, _ := json.Marshal(messages)
	var out []string
	js, err := chromedp.Run(ctx, chromedp.Evaluate[string](`import("/english.js").then((m) => JSON.stringify(`+string(list)+`.map(m.translate)))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(js), &out); err != nil {
		t.Fatal(err)
	}
	for i, m := range out {
		if italianText.MatchString(m) {
			t.Errorf("the agent's message %q reads %q in English", messages[i], m)
		}
	}

	// And back: the link says Italiano, the choice is kept.
	if err := chromedp.Do(ctx, chromedp.Click(`#lang`), chromedp.WaitVisible(`#connection[data-state="open"]`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the page in Italian", `document.documentElement.lang === "it" && document.querySelector("#connection").dataset.state === "open" && localStorage.getItem("autografo.lang") === "it"`)
	if got := text(t, ctx, `#lang`); got != "English" {
		t.Errorf("language link in Italian %q", got)
	}
}

// A web page that sends the browser to the agent's page with bad pairing
// links, again and again, locks nobody out: the owner's next link pairs.
// Wrong codes typed do lock codes for a while, and the page says what to
// do then.
func TestOfficerPagePairingLockouts(t *testing.T) {
	ctx := counter(t)
	ag := startAgent(t, "--sim-pages", "1")
	base := ag.URL[:strings.Index(ag.URL, "#")]
	if err := chromedp.Do(ctx, chromedp.Navigate(base), chromedp.WaitVisible(`#pairing`)); err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		eval[bool](t, ctx, `location.hash = "#pair=forged`+strconv.Itoa(i)+`", true`)
		waitFor(t, ctx, "the forged link refused", `!location.hash.includes("pair=") && !document.querySelector("#pairing").hidden`)
	}
	link := openLink(t, ag)
	eval[bool](t, ctx, `location.hash = `+strconv.Quote(link[strings.Index(link, "#"):])+`, true`)
	waitFor(t, ctx, "the owner's link after 8 forged ones", `document.querySelector("#connection").dataset.state === "open"`)

	// Another tab types wrong codes until codes are locked.
	ctx2 := counter(t)
	if err := chromedp.Do(ctx2, chromedp.Navigate(base), chromedp.WaitVisible(`#pairing`)); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		eval[bool](t, ctx2, `document.querySelector("#pair-error").textContent = "", true`)
		if err := chromedp.Do(ctx2, chromedp.SetValue(`#pair-code`, fmt.Sprintf("000-000-00%d", i)), chromedp.Click(`#pair-submit`)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx2, "the code refused", `!document.querySelector("#pair-error").hidden && document.querySelector("#pair-error").textContent !== ""`)
	}
	if got := text(t, ctx2, `#pair-error`); !strings.Contains(got, "Troppi codici") || !strings.Contains(got, "autografo open") {
		t.Errorf("pairing message once codes are locked %q", got)
	}
	checkAccessible(t, ctx2, "codes locked")
	// The owner's own link still pairs that tab.
	link = openLink(t, ag)
	eval[bool](t, ctx2, `location.hash = `+strconv.Quote(link[strings.Index(link, "#"):])+`, true`)
	waitFor(t, ctx2, "a link while codes are locked", `document.querySelector("#connection").dataset.state === "open"`)
}

// The workstation's user lists the sessions and ends one: the tab is cut
// off, cannot resume, and asks to be paired again.
func TestOfficerPageSessionEndedFromTheCommandLine(t *testing.T) {
	ctx := counter(t)
	ag := startAgent(t, "--sim-pages", "1", "--session-max", "3h")
	openPage(t, ctx, ag.URL)
	list := runCLI(t, ag, "sessions")
	var id string
	for _, line := range strings.Split(list, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.Contains(line, "pairing") && strings.HasSuffix(line, " 1") {
			id = f[0]
		}
	}
	if id == "" || !strings.Contains(list, ag.Base[:len(ag.Base)-1]) {
		t.Fatalf("autografo sessions with one paired tab:\n%s", list)
	}
	// The session lasts what --session-max says, not the default 12 h.
	if !strings.Contains(list, time.Now().Add(3*time.Hour).Format("15:")) && !strings.Contains(list, time.Now().Add(3*time.Hour+time.Minute).Format("15:")) {
		t.Errorf("the session does not end in 3 hours:\n%s", list)
	}
	if out := runCLI(t, ag, "sessions", "end", id); !strings.Contains(out, "chiusa") {
		t.Fatalf("sessions end: %s", out)
	}
	waitFor(t, ctx, "the pairing panel", `!document.querySelector("#pairing").hidden`)
	if got := text(t, ctx, `#pair-error`); !strings.Contains(got, "codice") {
		t.Errorf("pairing message after the session was ended %q", got)
	}
	if list := runCLI(t, ag, "sessions"); strings.Contains(list, id) {
		t.Errorf("the ended session is still listed:\n%s", list)
	}
	if !logged(ag, "session ended by the workstation's user") {
		t.Error("ending a session is not logged")
	}
}

// A whole act scanned duplex: the act's three sheets printed on one side,
// put through the feeder with «Fronte e retro». Six pages come in; the
// three blank backs are kept but named and left out, and the document
// has the three fronts.
func TestOfficerPageDuplexLeavesOutTheBlankBacks(t *testing.T) {
	ctx := counter(t)
	ag := startAgent(t, "--sim-page-time", "20ms")
	openPage(t, ctx, ag.URL)
	fillSigners(t, ctx)
	printWeddingPreview(t, ctx, ag)
	if err := chromedp.Do(ctx, chromedp.Click(`#duplex`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the act ready", `!document.querySelector("#document-panel").hidden && document.querySelector("#document-badge").textContent === "Pronto per ANSC"`)
	if got := count(t, ctx, `document.querySelectorAll("#pages li").length`); got != 6 {
		t.Fatalf("%d pages shown, want 6 (three sheets, both sides)", got)
	}
	for _, back := range []string{"2", "4", "6"} {
		if c := text(t, ctx, `#pages li[data-page="`+back+`"] .caption`); c != "Pagina "+back+": retro vuoto, non incluso" {
			t.Errorf("page %s: caption %q", back, c)
		}
	}
	if got := eval[string](t, ctx, `[...document.querySelectorAll("#pages li")].slice(0, 3).map(li => li.querySelector(".caption").textContent).join(" | ")`); got != "Foglio 1 di 3 | Foglio 2 di 3 | Foglio 3 di 3" {
		t.Errorf("the document's pages: %s", got)
	}
	if info := text(t, ctx, `#document-info`); !strings.HasPrefix(info, "3 pagine, ") {
		t.Errorf("document %q", info)
	}
	if s := text(t, ctx, `#printed-summary`); s != "Fogli riconosciuti: 3 di 3." {
		t.Errorf("printed summary %q", s)
	}
	checkAccessible(t, ctx, "duplex ready")
	stepShot(t, ctx, "fronte-e-retro")
}
