package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/autografo/autografo/agent/auth/attacklog"
	"github.com/autografo/autografo/scanner/scannertest"
)

// attackerPage is what a hostile site would run in the office's browser: it
// tries the agent's websocket, reads a page of it, and submits a form to it.
const attackerPage = `<!doctype html><title>gattini</title>
<iframe name="sink" style="display:none"></iframe>
<form id="f" method="POST" action="AGENT/v1/admin/pair" target="sink" enctype="text/plain">
<input name='{"kind":"token","x":"' value='"}'></form>
<pre id="out"></pre>
<script>
const out = {};
const done = () => { document.getElementById("out").textContent = JSON.stringify(out); };
const ws = new WebSocket("WSAGENT/v1/ws");
let opened = false;
ws.onopen = () => { opened = true; ws.send(JSON.stringify({type: "hello", id: "1", versions: [2]})); };
ws.onmessage = (e) => { out.wsMessage = String(e.data).slice(0, 200); };
ws.onclose = () => { out.ws = opened ? "opened" : "refused"; finish(); };
fetch("AGENT/").then(r => r.text()).then(t => { out.fetch = "read " + t.length + " bytes"; finish(); })
  .catch(e => { out.fetch = "blocked: " + e.name; finish(); });
document.getElementById("f").submit();
out.form = "submitted";
function finish() { if (out.ws && out.fetch) { out.done = true; done(); } }
</script>`

func TestAttackBrowserPageFromAnotherOrigin(t *testing.T) {
	ctx := browser(t)
	ag := startAgent(t)
	agentURL := strings.TrimSuffix(ag.Base, "/")
	page := strings.NewReplacer("WSAGENT", strings.Replace(agentURL, "http", "ws", 1), "AGENT", agentURL).Replace(attackerPage)
	// Another loopback port is another origin: the closest a test gets to a
	// foreign site without a network.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, page)
	}))
	defer evil.Close()

	if err := chromedp.Do(ctx, chromedp.Navigate(evil.URL)); err != nil {
		t.Fatal(err)
	}
	result, err := chromedp.Run(ctx, chromedp.Poll[string](`document.getElementById("out").textContent || false`,
		noPollLimit))
	if err != nil {
		t.Fatalf("the attacker page did not finish: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // the form POST is answered asynchronously
	logs := ag.logs.String()
	wsRefused := strings.Contains(result, `"ws":"refused"`) && !strings.Contains(result, "wsMessage")
	fetchBlocked := strings.Contains(result, `"fetch":"blocked`)
	formRefused := strings.Contains(logs, `msg="refused request: origin not allowed" origin=`+evil.URL)
	noActivity := !strings.Contains(logs, "browser connected") && !strings.Contains(logs, "capture started") &&
		!strings.Contains(logs, "pairing issued")
	attacklog.Record(t, "page on another origin opens the agent's websocket (real Chromium)",
		"upgrade refused (403, Origin not allowed), no session", "page saw: "+between(result, `"ws":"`, `"`)+"; logged refused websocket="+boolStr(strings.Contains(logs, "refused websocket")))
	attacklog.Record(t, "page on another origin fetches the agent's page (real Chromium)",
		"the browser blocks the read (no CORS), nothing to steal", "page saw: "+between(result, `"fetch":"`, `"`))
	attacklog.Record(t, "page on another origin submits a form POST to the pairing endpoint (real Chromium)",
		"403 on Origin, no pairing issued", "logged refused on origin="+boolStr(formRefused)+", pairing issued="+boolStr(strings.Contains(logs, "pairing issued")))
	attacklog.Record(t, "device activity during the three attacks", "none", "connections or captures logged="+boolStr(!noActivity))
	if !wsRefused || !fetchBlocked || !formRefused || !noActivity {
		t.Errorf("attacker page result %s; form refused %v; no activity %v\nlogs:\n%s", result, formRefused, noActivity, logs)
	}
}

func between(s, a, b string) string {
	_, after, ok := strings.Cut(s, a)
	if !ok {
		return "(nothing)"
	}
	v, _, _ := strings.Cut(after, b)
	return v
}

func boolStr(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func TestAttackBrowserDNSRebinding(t *testing.T) {
	ag := startAgent(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimSuffix(ag.Base, "/"), "http://"))
	// The rebinding is done: the attacker's name now resolves to 127.0.0.1,
	// so the page at http://rebind.attacker.test:PORT is same-origin with
	// whatever answers there, and talks to the agent under that name.
	ctx := browser(t, chromedp.Flag("host-resolver-rules", "MAP rebind.attacker.test 127.0.0.1"))
	rebound := "http://rebind.attacker.test:" + port
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(rebound+"/"))
	if err != nil {
		t.Fatal(err)
	}
	status := int(resp.Status)
	wsResult, err := chromedp.Run(ctx, chromedp.Evaluate[string](`new Promise(res => {
		const ws = new WebSocket("ws://rebind.attacker.test:`+port+`/v1/ws");
		ws.onopen = () => res("opened"); ws.onerror = () => res("refused"); })`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	logs := ag.logs.String()
	hostLogged := strings.Contains(logs, `msg="refused request: bad Host header" host=rebind.attacker.test:`+port)
	attacklog.Record(t, "DNS rebinding: page under a foreign name mapped to 127.0.0.1 (real Chromium, host-resolver rule)",
		"403 on Host before anything else; websocket refused", fmt.Sprintf("page load HTTP %d, websocket %s, Host refusal logged=%s", status, wsResult, boolStr(hostLogged)))
	if status != http.StatusForbidden || wsResult != "refused" || !hostLogged || strings.Contains(logs, "browser connected") {
		t.Errorf("rebinding: status %d, websocket %s, logged %v\n%s", status, wsResult, hostLogged, logs)
	}
}

// Another user of the workstation polls /proc while the owner runs
// autografo open: the browser's command line names only a launch file,
// which that user cannot read, and the token in it still pairs the owner's
// tab. (Before, the command line carried the token, and another user's
// program redeemed it 7 ms after the browser started.)
func TestAttackOtherUserReadsTheBrowsersCommandLine(t *testing.T) {
	ag := startAgent(t)
	// A browser that holds its command line open, as a real one does.
	dir := t.TempDir()
	fake := filepath.Join(dir, "browser")
	pidFile := filepath.Join(dir, "pid")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho $$ > "+pidFile+".tmp && mv "+pidFile+".tmp "+pidFile+"\nwhile :; do sleep 1; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(agentBinary(t), "open", "--state-dir", ag.StateDir)
	cmd.Env = append(os.Environ(), "BROWSER="+fake)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("autografo open: %v\n%s", err, out)
	}
	var pid string
	for pid == "" {
		b, err := os.ReadFile(pidFile)
		if err == nil {
			pid = strings.TrimSpace(string(b))
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Cleanup(func() { exec.Command("kill", pid).Run() })
	cmdline, err := scannertest.AsOtherUser(t, "cat", "/proc/"+pid+"/cmdline").CombinedOutput()
	if err != nil {
		t.Fatalf("another user reading the browser's command line: %v\n%s", err, cmdline)
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	launch := args[len(args)-1]
	leaked := strings.Contains(string(cmdline), "pair=")
	if leaked || !strings.HasPrefix(launch, "file://") {
		t.Fatalf("the browser's command line, as another user reads it: %q", args)
	}
	u, _ := url.Parse(launch)
	content, readErr := scannertest.AsOtherUser(t, "cat", u.Path).CombinedOutput()
	if readErr == nil {
		t.Fatalf("another user read the launch file: %s", content)
	}
	// The owner's browser, following the same file, pairs.
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(launch), chromedp.WaitVisible(`#connection[data-state="open"]`)); err != nil {
		t.Fatalf("the owner's browser following the launch file: %v", err)
	}
	attacklog.Record(t, "another OS user polls /proc/PID/cmdline of the browser autografo open starts, and reads what it names",
		"no token on the command line; the launch file it names is unreadable to that user; the owner's tab pairs",
		"command line token="+boolStr(leaked)+", launch file readable="+boolStr(readErr == nil)+", owner paired=yes")
}
