package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/autografo/autografo/scanner/scannertest"
)

// need returns the path of an external program: the one env names, or the
// first of names found.
func need(t testing.TB, env string, names ...string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	return scannertest.Need(t, names...)
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// agentBinary builds autografo once per test run: the browser tests run the
// real command, as a user would. AUTOGRAFO_AGENT_BINARY names another
// command to run instead: the Windows exe under Wine (-tags wine).
func agentBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("AUTOGRAFO_AGENT_BINARY"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "autografo-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "autografo")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type agentProc struct {
	cmd      *exec.Cmd
	URL      string // the page, with its one-time pairing token
	Base     string // the page without the token
	Token    string
	StateDir string
	logs     *syncBuffer
	done     chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var urlLine = regexp.MustCompile(`(http://127\.0\.0\.1:\d+/)#pair=([A-Za-z0-9_-]+)`)

// launchLine is serve's line naming its launch page.
var launchLine = regexp.MustCompile(`aprire: (file://\S+)`)

// pairLink is the page address with its token that a line of serve's
// output leads to, through the launch page it names (nil for other lines).
// It runs beside the test, so it reports nothing itself.
func pairLink(line string) []string {
	m := launchLine.FindStringSubmatch(line)
	if m == nil {
		return nil
	}
	target, err := readLaunch(m[1])
	if err != nil {
		return []string{"unreadable launch page " + m[1] + ": " + err.Error(), "", ""}
	}
	return urlLine.FindStringSubmatch(target)
}

// wait waits for the agent to exit and returns how it did; the cleanup,
// and any later wait, find it exited too.
func (p *agentProc) wait() error {
	err := <-p.done
	p.done <- err
	return err
}

// logged waits until the agent's log holds s. Its standard error is
// copied apart from its standard output, so a line it logs before printing
// its URL may arrive after the URL has: looking once would race. Once the
// agent has exited its log is whole (Wait waits for the copy), so a line
// still missing then is missing; a running agent that never logs it hangs
// the test until its timeout, which reports it.
func (p *agentProc) logged(s string) bool {
	for !strings.Contains(p.logs.String(), s) {
		select {
		case err := <-p.done:
			p.done <- err // for whoever waits on it next
			return strings.Contains(p.logs.String(), s)
		default:
			time.Sleep(10 * time.Millisecond)
		}
	}
	return true
}

// startAgent runs `autografo serve --sim --port 0 args...` and waits for the
// URL it prints.
func startAgent(t testing.TB, args ...string) *agentProc {
	t.Helper()
	return startAgentOf(t, false, args...)
}

// startAgentOf is startAgent, as another local user (uid 65534) when
// other is set: another user's agent on a shared machine.
func startAgentOf(t testing.TB, other bool, args ...string) *agentProc {
	t.Helper()
	bin := agentBinary(t)
	stateDir := t.TempDir()
	storeDir := t.TempDir()
	if other {
		bin, stateDir, storeDir = otherUsersCopy(t, bin), otherUsersDir(t), otherUsersDir(t)
	}
	for i, a := range args {
		if a == "--store" && i+1 < len(args) {
			storeDir = "" // the caller chose one
		}
	}
	base := []string{"serve", "--sim", "--port", "0", "--poll", "200ms", "--state-dir", stateDir}
	if storeDir != "" {
		base = append(base, "--store", storeDir)
	}
	cmd := exec.Command(bin, append(base, args...)...)
	if other {
		cmd = scannertest.AsOtherUser(t, bin, append(base, args...)...)
	}
	cmd.Env = agentEnv(stateDir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &agentProc{cmd: cmd, logs: &syncBuffer{}, done: make(chan error, 1), StateDir: stateDir}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urlc := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			m := pairLink(sc.Text())
			if strings.Contains(sc.Text(), "pair=") {
				m = []string{"serve printed a pairing token: " + sc.Text(), "", ""}
			}
			if m != nil {
				select { // the first answer counts; the reader goes on draining
				case urlc <- m:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-p.done // an agent that does not stop hangs here: the test's timeout reports it
		if t.Failed() {
			t.Logf("autografo logs:\n%s", p.logs)
		}
	})
	select {
	case m := <-urlc:
		if m[1] == "" {
			t.Fatal(m[0])
		}
		p.URL, p.Base, p.Token = m[0], m[1], m[2]
	case err := <-p.done:
		p.done <- err // for the cleanup, which waits for the exit
		t.Fatalf("autografo exited before serving: %v\n%s", err, p.logs)
	}
	return p
}

// agentEnv is the environment of an agent a test starts: no configuration
// file of the machine's or the user's, so the test's flags are the
// agent's settings.
func agentEnv(stateDir string) []string {
	return append(os.Environ(), "AUTOGRAFO_SYSTEM_CONFIG="+filepath.Join(stateDir, "no-system.toml"), "XDG_CONFIG_HOME="+filepath.Join(stateDir, "no-config"))
}

// otherUsersDir is a folder of uid 65534's, reachable by it.
func otherUsersDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "other")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Dir(filepath.Dir(dir)), filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	return dir
}

// otherUsersCopy is a copy of the binary that uid 65534 can run.
func otherUsersCopy(t testing.TB, bin string) string {
	t.Helper()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(otherUsersDir(t))
	out := filepath.Join(dir, "autografo")
	if err := os.WriteFile(out, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

// browser starts headless Chromium with a fresh profile.
func browser(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	exe := need(t, "AUTOGRAFO_CHROMIUM", "chromium", "chromium-browser", "google-chrome")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelCtx := chromedp.NewContext(actx)
	// The first call starts the browser, which lives as long as its
	// context: no timeout on that one, only on what runs after it.
	if err := chromedp.Do(bctx); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("starting chromium: %v", err)
	}
	// No deadline of its own: a page that never shows what a test waits
	// for hangs it, and the test's timeout reports it with every stack.
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	return bctx
}

// noPollLimit lets a poll in the page wait as long as the test runs:
// chromedp's own default gives up after 30 s, a wall-clock bound that a busy
// machine could meet. A wait for what never comes is the test's timeout.
var noPollLimit = chromedp.WithPollingTimeout(0)

// openPage loads the page and waits until it is connected and lists the
// simulated scanner.
func openPage(t testing.TB, ctx context.Context, url string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(`#connection[data-state="open"]`),
		chromedp.WaitReady(`#device option[value="sim:0"]`),
		chromedp.SetValue(`#dpi`, "150"),
		chromedp.SetValue(`#source`, "feeder"),
	)
	if err != nil {
		t.Fatalf("opening the page: %v", err)
	}
}

func count(t testing.TB, ctx context.Context, js string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](js))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

func waitDone(t testing.TB, ctx context.Context) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(`#status[data-state="done"]`)); err != nil {
		t.Fatalf("waiting for the done state: %v (status %q, error %q)", err, text(t, ctx, `#status`), text(t, ctx, `#notice`))
	}
	return text(t, ctx, `#status`)
}

// loadedThumbnails counts thumbnails whose image really decoded.
const loadedThumbnails = `[...document.querySelectorAll("#pages li img")].filter(i => i.complete && i.naturalWidth > 100).length`

// fillSigners types the simulated act's signers into the page's five
// rows: an act is ready for ANSC only when every signer has a name.
func fillSigners(t testing.TB, ctx context.Context) {
	t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for i, n := range [][2]string{{"Marco", "Bianchi"}, {"Giulia", "Esposito"}, {"Luca", "Romano"}, {"Chiara", "Colombo"}, {"Anna", "Ricci"}} {
		row := fmt.Sprintf(`#signers .signer-row:nth-child(%d) `, i+1)
		steps = append(steps, chromedp.SetValue(row+`.nome`, n[0]), chromedp.SetValue(row+`.cognome`, n[1]))
	}
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("typing the signers: %v", err)
	}
}

func TestBrowserFeederCaptureShowsEveryPage(t *testing.T) {
	ctx := browser(t)
	ag := startAgent(t, "--sim-pages", "3", "--sim-page-time", "400ms")
	openPage(t, ctx, ag.URL)
	fillSigners(t, ctx)

	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`), chromedp.WaitVisible(`#pages li:nth-child(1) img`)); err != nil {
		t.Fatalf("first page: %v", err)
	}
	if shot := os.Getenv("AUTOGRAFO_SCREENSHOT"); shot != "" {
		if err := chromedp.Do(ctx, chromedp.WaitVisible(`#pages li:nth-child(2) img`)); err != nil {
			t.Fatal(err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(shot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	status := waitDone(t, ctx)
	if want := "Acquisizione completata: 3 pagine."; status != want {
		t.Errorf("status = %q, want %q", status, want)
	}
	// Previews are blob images that must have decoded, one per page, in order.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](loadedThumbnails+` === 3`, noPollLimit)); err != nil {
		t.Fatalf("3 decoded thumbnails: %v (have %d)", err, count(t, ctx, loadedThumbnails))
	}
	order, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#pages li")].map(li => li.dataset.page).join(",")`))
	if err != nil {
		t.Fatal(err)
	}
	if order != "1,2,3" {
		t.Errorf("page order %q, want 1,2,3", order)
	}
	// The act's document for ANSC arrives after the capture.
	if err := chromedp.Do(ctx, chromedp.WaitVisible(`#document-panel`)); err != nil {
		t.Fatalf("no document after the capture: %v\n%s", err, ag.logs)
	}
	if info, name := text(t, ctx, `#document-info`), text(t, ctx, `#document-link`); !strings.HasPrefix(info, "3 pagine, ") || !strings.HasSuffix(name, ".pdf") {
		t.Errorf("document shown as %q %q", name, info)
	}
}

func TestBrowserJamShowsItalianErrorAndRetryWorks(t *testing.T) {
	ctx := browser(t)
	ag := startAgent(t, "--sim-pages", "3", "--sim-page-time", "200ms", "--sim-faults", "jam@2")
	openPage(t, ctx, ag.URL)

	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`), chromedp.WaitVisible(`#notice`)); err != nil {
		t.Fatalf("waiting for the jam: %v", err)
	}
	errText := text(t, ctx, `#notice`)
	button := text(t, ctx, `#acquire`)
	if !strings.Contains(errText, "Carta inceppata") || !strings.Contains(errText, "conservate") {
		t.Errorf("error shown = %q, want the Italian jam message", errText)
	}
	if button != "Riprova" {
		t.Errorf("button = %q, want Riprova", button)
	}
	if n := count(t, ctx, `document.querySelectorAll("#pages li").length`); n != 2 {
		t.Errorf("%d thumbnails after a jam after page 2, want 2 kept", n)
	}
	if !logged(ag, "code=paper_jam") {
		t.Errorf("no English log line for the jam; logs:\n%s", ag.logs)
	}

	// The operator clears the jam and presses Riprova: the feeder goes on
	// with the third page and the act is complete.
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`)); err != nil {
		t.Fatalf("retry: %v", err)
	}
	status := waitDone(t, ctx)
	if want := "Acquisizione completata: 3 pagine."; status != want {
		t.Errorf("status after retry = %q, want %q", status, want)
	}
	hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#notice").hidden`))
	if err != nil {
		t.Fatal(err)
	}
	if !hidden {
		t.Error("the jam message is still shown after a successful retry")
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](loadedThumbnails+` === 3`, noPollLimit)); err != nil {
		t.Fatalf("3 decoded thumbnails after retry: %v", err)
	}
}

// runCLI runs an autografo subcommand against the agent's state directory.
func runCLI(t testing.TB, ag *agentProc, args ...string) string {
	t.Helper()
	out, err := exec.Command(agentBinary(t), append(args, "--state-dir", ag.StateDir)...).CombinedOutput()
	if err != nil {
		t.Fatalf("autografo %v: %v\n%s", args, err, out)
	}
	return string(out)
}

var codeLine = regexp.MustCompile(`Codice di abbinamento: (\d{3}-\d{3}-\d{3})`)

// dialWithCode connects to the agent as a page paired with a code from
// `autografo pair`: for a test whose browser has spent the launch token.
func dialWithCode(t *testing.T, ag *agentProc) *wsClient {
	t.Helper()
	m := codeLine.FindStringSubmatch(runCLI(t, ag, "pair"))
	if m == nil {
		t.Fatal("autografo pair printed no code")
	}
	cl, err := dialAgentWith(t, ag, map[string]any{"code": m[1]})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func TestBrowserPairsWithACodeAndKeepsTheSessionOnReload(t *testing.T) {
	ctx := browser(t)
	ag := startAgent(t)
	// Opened by hand, without the token: the page asks for a code.
	if err := chromedp.Do(ctx, chromedp.Navigate(ag.Base), chromedp.WaitVisible(`#pairing`)); err != nil {
		t.Fatalf("pairing panel: %v", err)
	}
	if n := count(t, ctx, `document.querySelector("#workspace").hidden ? 1 : 0`); n != 1 {
		t.Fatal("the workspace is shown to an unpaired page")
	}
	// A wrong code is refused with an Italian message...
	if err := chromedp.Do(ctx, chromedp.SetValue(`#pair-code`, "000-000-000"), chromedp.Click(`#pair-submit`),
		chromedp.WaitVisible(`#pair-error`)); err != nil {
		t.Fatal(err)
	}
	if msg := text(t, ctx, `#pair-error`); !strings.Contains(msg, "non autorizzato") {
		t.Errorf("wrong code message %q", msg)
	}
	// ...the code from `autografo pair` is accepted.
	m := codeLine.FindStringSubmatch(runCLI(t, ag, "pair"))
	if m == nil {
		t.Fatal("autografo pair printed no code")
	}
	if err := chromedp.Do(ctx, chromedp.SetValue(`#pair-code`, m[1]), chromedp.Click(`#pair-submit`),
		chromedp.WaitVisible(`#connection[data-state="open"]`), chromedp.WaitReady(`#device option[value="sim:0"]`)); err != nil {
		t.Fatalf("pairing with the code: %v", err)
	}
	// A reload resumes with the session token kept in the tab.
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(`#connection[data-state="open"]`)); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if !logged(ag, "via=session") {
		t.Error("the reload did not resume the session")
	}
}

func TestBrowserOpenCommandPairsThePage(t *testing.T) {
	ctx := browser(t)
	ag := startAgent(t)
	launch := strings.TrimSpace(runCLI(t, ag, "open", "--print"))
	if !strings.HasPrefix(launch, "file://") || strings.Contains(launch, "pair=") {
		t.Fatalf("autografo open --print = %q, want a launch file with no token in its address", launch)
	}
	if !strings.HasPrefix(launchTarget(t, launch), ag.Base+"#pair=") {
		t.Fatalf("the launch file sends the browser to %q", launchTarget(t, launch))
	}
	// The browser follows the launch file to the page, which pairs.
	if err := chromedp.Do(ctx, chromedp.Navigate(launch), chromedp.WaitVisible(`#connection[data-state="open"]`)); err != nil {
		t.Fatalf("page opened by autografo open: %v", err)
	}
	// The one-time token left the address bar, and does not work twice.
	loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
	if err != nil || strings.Contains(loc, "pair=") || !strings.HasPrefix(loc, ag.Base) {
		t.Errorf("address after pairing: %q %v", loc, err)
	}
	ctx2 := browser(t)
	if err := chromedp.Do(ctx2, chromedp.Navigate(launch), chromedp.WaitVisible(`#pairing`)); err != nil {
		t.Fatalf("a used token must lead to the pairing panel: %v", err)
	}
}

// launchTarget is where a launch file of autografo open sends the browser.
func launchTarget(t testing.TB, launch string) string {
	t.Helper()
	target, err := readLaunch(launch)
	if err != nil {
		t.Fatal(err)
	}
	return target
}

func readLaunch(launch string) (string, error) {
	u, err := url.Parse(launch)
	if err != nil {
		return "", err
	}
	path := u.Path
	if len(path) > 3 && path[2] == ':' && (path[1] == 'Z' || path[1] == 'z') {
		path = path[3:] // file:///Z:/tmp/...: an agent under Wine, whose Z: is the Unix root
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`content="0;url=([^"]+)"`).FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("launch file without a target:\n%s", b)
	}
	return html.UnescapeString(string(m[1])), nil
}

// openLink is the page address with a new one-time token, as autografo
// open would send the browser there.
func openLink(t testing.TB, ag *agentProc) string {
	t.Helper()
	return launchTarget(t, strings.TrimSpace(runCLI(t, ag, "open", "--print")))
}

func TestBrowserPendingActsSurviveAReloadAndResume(t *testing.T) {
	ctx := browser(t)
	ag := startAgent(t, "--sim-pages", "2", "--sim-page-time", "50ms")
	openPage(t, ctx, ag.URL)
	fillSigners(t, ctx)
	if err := chromedp.Do(ctx,
		chromedp.Click(`#emergency`),
		chromedp.WaitVisible(`#register`),
		chromedp.SetValue(`#register`, "12/2026"),
		chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`),
	); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ctx)
	// The act is listed as pending, by its signers, with its
	// emergency-register number; it is the one open here.
	// The list is fetched again after the capture's end: wait for the
	// fetch that saw the act captured.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("#pending li")?.dataset.state !== "capturing"`,
		noPollLimit)); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `#pending li`); !strings.Contains(got, "Matrimonio: Marco Bianchi e Giulia Esposito") ||
		!strings.Contains(got, "2 pagine") || !strings.Contains(got, "Registro di emergenza n. 12/2026") || !strings.Contains(got, "Aperto") {
		t.Errorf("pending entry %q", got)
	}
	// A reload shows the same act again by itself: its pages, its
	// verdicts and its names (the session and the act survive in the tab).
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(`#connection[data-state="open"]`)); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](loadedThumbnails+` === 2 && document.querySelectorAll("#signature-list li").length === 5`,
		noPollLimit)); err != nil {
		t.Fatalf("the act after a reload: %v (%d thumbnails)", err, count(t, ctx, loadedThumbnails))
	}
	if got := text(t, ctx, `#act-name`); got != "Matrimonio: Marco Bianchi e Giulia Esposito" {
		t.Errorf("header after reload %q", got)
	}
	// «Nuovo atto» starts from an empty form: no names of the couple before.
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#new-act`), chromedp.Click(`#new-act`)); err != nil {
		t.Fatal(err)
	}
	if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#signers input")].map(i => i.value).join("")
		+ document.querySelectorAll("#pages li, #signature-list li").length`)); err != nil || got != "0" {
		t.Errorf("after «Nuovo atto» the form and the act still show %q (%v)", got, err)
	}
	// «Apri» takes the pending act up again, pages and all.
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#pending li button.resume`), chromedp.Click(`#pending li button.resume`)); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](loadedThumbnails+` === 2`, noPollLimit)); err != nil {
		t.Fatalf("2 thumbnails after resuming: %v (have %d)", err, count(t, ctx, loadedThumbnails))
	}
	if got := text(t, ctx, `#status`); got != "Atto ripreso: 2 pagine già acquisite." {
		t.Errorf("status %q", got)
	}
	// Capturing again continues the same act, and says the pages were
	// added, not that they replaced anything.
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("#status").textContent.startsWith("Aggiunte 2 pagine: l'atto ne ha ora 4.")`,
		noPollLimit)); err != nil {
		t.Errorf("after continuing the act: %q (%v)", text(t, ctx, `#status`), err)
	}
	if got := text(t, ctx, `#status`); !strings.Contains(got, "le pagine sono doppie") {
		t.Errorf("no word about duplicates: %q", got)
	}
}

// After a capture, the page shows each signer's box as the pipeline
// decided it: the signatures cut out and marked signed, the empty box
// marked missing, and a summary naming who has not signed.
func TestBrowserShowsEachSignersVerdict(t *testing.T) {
	ctx := browser(t)
	ag := startAgent(t, "--sim-pages", "2", "--sim-page-time", "100ms", "--sim-unsigned", "testimone2", "--sim-skew", "2.5")
	openPage(t, ctx, ag.URL)
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`)); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ctx)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll("#signature-list li figure").length === 5 &&
		![...document.querySelectorAll("#signature-list li")].some(li => li.dataset.status === "pending") &&
		[...document.querySelectorAll("#signature-list img")].every(i => i.complete && i.naturalWidth > 0)`,
		noPollLimit)); err != nil {
		t.Fatalf("five verdicts with their signatures: %v\n%s", err, ag.logs)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#signature-list li")].map(li =>
		li.dataset.role + "=" + li.dataset.status + ":" + li.querySelector(".mark").textContent + ":" + (li.querySelector("img") ? "img" : li.querySelector(".blank").textContent)).join(" | ")`))
	if err != nil {
		t.Fatal(err)
	}
	want := "sposo=signed:Firmato:img | sposa=signed:Firmato:img | testimone1=signed:Firmato:img | testimone2=missing:Firma mancante:Riquadro vuoto | ufficiale=signed:Firmato:img"
	if got != want {
		t.Errorf("verdicts:\n%s\nwant\n%s", got, want)
	}
	// The names are the act's (none typed here), not what the paper says.
	if s := text(t, ctx, `#signature-summary`); s != "Firme a posto: 4 di 5. Firma mancante: Secondo testimone." {
		t.Errorf("summary %q", s)
	}
	if shot := os.Getenv("AUTOGRAFO_SCREENSHOT_SIGNATURES"); shot != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(shot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The officer prints the act's signature sheet from the page; signed and
// scanned, the sheet comes back recognised: its thumbnail says which
// sheet it is, the summary that none is missing, and the verdicts are
// there.
func TestBrowserPrintedSheetIsRecognised(t *testing.T) {
	ctx := browser(t)
	storeDir := t.TempDir()
	ag := startAgent(t, "--store", storeDir, "--saned", "")
	openPage(t, ctx, ag.URL)
	if err := chromedp.Do(ctx, chromedp.Click(`#print-sheet`), chromedp.WaitVisible(`#sheet-link`)); err != nil {
		t.Fatalf("printing the sheet: %v\n%s", err, ag.logs)
	}
	// The same printing, fetched over the websocket (paired with a code
	// from autografo pair): the page's policy keeps its blob out of reach
	// of a test's fetch.
	cl := dialWithCode(t, ag)
	acts, err := cl.call(map[string]any{"type": "acts.list"}, "acts")
	if err != nil {
		t.Fatal(err)
	}
	actID := acts.msg["acts"].([]any)[0].(map[string]any)["id"].(string)
	_, pdf := printSheets(t, ag, cl, actID, nil)
	cl.c.Close()
	dir := t.TempDir()
	rasterize(t, pdf, dir, "page", 200, true)
	// Unsigned paper: every box must come back empty, which it only does
	// if the boxes were found where they are printed.
	ag.stop(t) // one agent a store: the next starts on it
	ag2 := startAgent(t, "--store", storeDir, "--saned", "", "--sim-page-time", "1ms", "--sim-paper", filepath.Join(dir, "page.png"),
		"--sim-skew", "2")
	openPage(t, ctx, ag2.URL)
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(`#pending li button.resume`),
		chromedp.Click(`#pending li button.resume`),
		chromedp.WaitVisible(`#status[data-state="done"]`),
		chromedp.SetValue(`#dpi`, "200"),
		chromedp.WaitEnabled(`#acquire`), chromedp.Click(`#acquire`),
	); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("#printed-summary").textContent === "Fogli riconosciuti: 1 di 1."`,
		noPollLimit)); err != nil {
		t.Fatalf("printed summary %q: %v\n%s", text(t, ctx, `#printed-summary`), err, ag2.logs)
	}
	if c := text(t, ctx, `#pages li[data-page="1"] .caption`); c != "Foglio 1 di 1" {
		t.Errorf("thumbnail caption %q", c)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#signature-list li")].map(li => li.dataset.role + "=" + li.dataset.status).join(" ")`))
	if err != nil || got != "sposo=missing sposa=missing testimone1=missing testimone2=missing ufficiale=missing" {
		t.Errorf("verdicts on the unsigned sheet: %q %v", got, err)
	}
}

// logged waits for the agent's log to contain s: the log reaches the test
// through a pipe, possibly after the websocket frame that reported the same
// event. No deadline: a line that never comes is the test's timeout.
func logged(ag *agentProc, s string) bool {
	for !strings.Contains(ag.logs.String(), s) {
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// serveOnce runs a serve command until it prints a line starting with
// ready, calls while (if any) meanwhile, then stops it with SIGTERM. It
// returns the command's log, and an error when it was never ready or did
// not exit with status 0.
func serveOnce(t *testing.T, cmd *exec.Cmd, ready string, while func()) (string, error) {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	up := false
	for !up && sc.Scan() {
		up = strings.HasPrefix(sc.Text(), ready)
	}
	if up && while != nil {
		while()
	}
	go func() {
		for sc.Scan() {
		}
	}()
	cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	if !up {
		return logs.String(), fmt.Errorf("never printed %q (%v)", ready, err)
	}
	return logs.String(), err
}

// A second agent of the same user on the same store would take the next
// port and work on the same acts beside the first: it is refused, named
// where the first one runs, and the first goes on serving.
func TestASecondAgentOnTheSameStoreIsRefused(t *testing.T) {
	store := t.TempDir()
	first := startAgent(t, "--store", store)
	second := exec.Command(agentBinary(t), "serve", "--sim", "--port", "0", "--store", store, "--state-dir", first.StateDir)
	second.Env = agentEnv(first.StateDir)
	out, err := second.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "this store is already in use") ||
		!strings.Contains(string(out), strings.TrimSuffix(first.Base, "/")) {
		t.Fatalf("a second agent on the store: %v\n%s", err, out)
	}
	resp, err := http.Get(first.Base + "v1/health")
	if err != nil {
		t.Fatalf("the first agent after the second was refused: %v", err)
	}
	resp.Body.Close()
	// Once the first has stopped, the lock is free again.
	first.stop(t)
	again := startAgent(t, "--store", store)
	if again.Base == "" {
		t.Fatal("no agent on the store after the first stopped")
	}
}
