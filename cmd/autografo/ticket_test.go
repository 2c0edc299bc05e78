package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/autografo/autografo/agent/auth"
	"github.com/autografo/autografo/agent/auth/attacklog"
)

// An act-drafting app on its own origin: its backend signs a ticket for each
// connection, its page imports the client module from the agent and
// captures a page.
const appPage = `<!doctype html><title>SIDE</title><pre id="out"></pre>
<script type="module">
import { AutografoClient } from "AGENT/autografo.js";
import { AutografoClient as FirstName } from "AGENT/autografo-client.js";
const out = document.getElementById("out");
const ag = new AutografoClient("WSAGENT/v1/ws", {
  credentials: async () => ({ ticket: await (await fetch("/ticket")).text() }),
});
try {
  const welcome = await ag.connect();
  const { act } = await ag.request("act.open", { kind: "matrimonio", signers: [{ role: "sposo", nome: "Marco", cognome: "Bianchi" }] });
  const page = new Promise((res) => ag.addEventListener("page.ready", (e) => res(e.detail)));
  await ag.request("capture.start", { act: act.id, device: "sim:0", source: "platen", dpi: 150, color: "gray" });
  const p = await page;
  const b64 = await AutografoClient.toBase64(p.data);
  out.textContent = "ok operator=" + welcome.operator + " perms=" + welcome.permissions.join(",") +
    " page=" + p.page.index + " base64=" + b64.slice(0, 4) + " firstname=" + (FirstName === AutografoClient);
} catch (e) {
  out.textContent = "error " + e.code + " " + e.message;
}
</script>`

// backendKey is an act-drafting backend's signing key, and the file of its
// public half for --ticket-key.
func backendKey(t *testing.T) (ed25519.PrivateKey, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(pub)
	keyFile := filepath.Join(t.TempDir(), "side.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, keyFile
}

// issueTicket answers the app backend's /ticket: a ticket for mario.rossi
// that may view and capture, for the page's own origin.
func issueTicket(w http.ResponseWriter, r *http.Request, priv ed25519.PrivateKey) {
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, auth.TicketClaims{
		RegisteredClaims: jwt.RegisteredClaims{Audience: jwt.ClaimStrings{"autografo"},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)),
			ID: fmt.Sprintf("side-%d", now.UnixNano())},
		Comune: "F205", Operator: "mario.rossi", Origin: "http://" + r.Host, Perms: []string{"view", "capture"},
	})
	tok.Header["kid"] = "side"
	s, err := tok.SignedString(priv)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	fmt.Fprint(w, s)
}

func TestBrowserActDraftingAppUsesTickets(t *testing.T) {
	priv, keyFile := backendKey(t)
	var issued atomic.Int32
	var agentURL string
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ticket" {
			issued.Add(1)
			issueTicket(w, r, priv)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, strings.NewReplacer("WSAGENT", strings.Replace(agentURL, "http", "ws", 1), "AGENT", agentURL).Replace(appPage))
	}))
	defer app.Close()

	ag := startAgent(t, "--allow-origin", app.URL, "--ticket-key", "side="+keyFile)
	agentURL = strings.TrimSuffix(ag.Base, "/")
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL)); err != nil {
		t.Fatal(err)
	}
	result, err := chromedp.Run(ctx, chromedp.Poll[string](`document.getElementById("out").textContent || false`,
		noPollLimit))
	if err != nil {
		t.Fatalf("the app did not finish: %v\n%s", err, ag.logs)
	}
	if want := "ok operator=mario.rossi perms=view,capture page=1 base64=/9j/ firstname=true"; result != want {
		t.Fatalf("app result %q, want %q\n%s", result, want, ag.logs)
	}
	if issued.Load() != 1 || !logged(ag, "via=ticket") {
		t.Errorf("%d tickets issued; logs:\n%s", issued.Load(), ag.logs)
	}
}

// A ticket copied in transit and presented again after the agent restarted,
// within its life, is refused: the used tickets are kept in the store.
func TestAttackTicketReplayAcrossARestart(t *testing.T) {
	priv, keyFile := backendKey(t)
	const origin = "https://side.comune.example"
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, auth.TicketClaims{
		RegisteredClaims: jwt.RegisteredClaims{Audience: jwt.ClaimStrings{"autografo"},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute)), ID: "side-replay-1"},
		Comune: "F205", Operator: "mario.rossi", Origin: origin, Perms: []string{"view"},
	})
	tok.Header["kid"] = "side"
	ticket, err := tok.SignedString(priv)
	if err != nil {
		t.Fatal(err)
	}
	hello := func(ag *agentProc) map[string]any {
		t.Helper()
		c, _, err := websocket.DefaultDialer.Dial(strings.Replace(ag.Base, "http", "ws", 1)+"v1/ws", http.Header{"Origin": {origin}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.WriteJSON(map[string]any{"type": "hello", "id": "1", "versions": []int{2}, "ticket": ticket}); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := c.ReadJSON(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	store, state := t.TempDir(), t.TempDir()
	args := []string{"--store", store, "--state-dir", state, "--allow-origin", origin, "--ticket-key", "side=" + keyFile}
	ag := startAgent(t, args...)
	if m := hello(ag); m["type"] != "welcome" {
		t.Fatalf("the ticket's first use: %v", m)
	}
	if m := hello(ag); m["type"] != "error" {
		t.Fatalf("the ticket again, same run: %v", m)
	}
	ag.stop(t)
	ag = startAgent(t, args...)
	if m := hello(ag); m["type"] != "error" {
		t.Fatalf("the ticket again after a restart, within its life: %v", m)
	}
	if !logged(ag, "ticket already used") {
		t.Errorf("the refusal after the restart is not logged as a replay:\n%s", ag.logs)
	}
	attacklog.Record(t, "a ticket copied in transit, presented again after the agent restarted, within its life",
		"refused as a replay", "refused; logged as already used")
}

// An app's page on a machine shared by two users: the other user's agent
// holds the first port, so this user's takes the next; the page finds its
// own with AutografoClient.find, and the other's refuses its socket.
const findPage = `<!doctype html><title>SIDE</title><pre id="out"></pre>
<script type="module">
import { AutografoClient } from "AGENT/autografo.js";
const out = document.getElementById("out");
try {
  const url = await AutografoClient.find({ port: FIRST, ports: 4 });
  const other = await (await fetch("http://127.0.0.1:FIRST/v1/agent")).json();
  const alone = await AutografoClient.find({ port: FIRST, ports: 1 }).catch((e) => e.code);
  const refused = await new Promise((res) => {
    const ws = new WebSocket("ws://127.0.0.1:FIRST/v1/ws");
    ws.onopen = () => res("opened");
    ws.onerror = () => res("refused");
  });
  const ag = new AutografoClient(url, { credentials: async () => ({ ticket: await (await fetch("/ticket")).text() }) });
  const welcome = await ag.connect();
  out.textContent = "found " + url + " first=" + other.user + " alone " + alone + " its socket " + refused + " operator=" + welcome.operator;
} catch (e) {
  out.textContent = "error " + e.code + " " + e.message;
}
</script>`

func TestBrowserAppFindsItsUsersAgentOnASharedMachine(t *testing.T) {
	priv, keyFile := backendKey(t)
	var agentURL string
	first := freePorts(t, 4)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ticket" {
			issueTicket(w, r, priv)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, strings.NewReplacer("AGENT", agentURL, "FIRST", strconv.Itoa(first)).Replace(findPage))
	}))
	defer app.Close()
	ports := []string{"--port", strconv.Itoa(first), "--ports", "4", "--allow-origin", app.URL, "--ticket-key", "side=" + keyFile}
	other := startAgentOf(t, true, ports...)
	if portOf(t, other.Base) != first {
		t.Fatalf("the other user's agent, first to start: %s, want port %d", other.Base, first)
	}
	ours := startAgent(t, ports...)
	mine := portOf(t, ours.Base)
	if mine <= first || mine >= first+4 || !logged(ours, "port held by another program") {
		t.Fatalf("this user's agent, second: %s, want a port after %d\n%s", ours.Base, first, ours.logs)
	}
	agentURL = strings.TrimSuffix(ours.Base, "/")
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL)); err != nil {
		t.Fatal(err)
	}
	result, err := chromedp.Run(ctx, chromedp.Poll[string](`document.getElementById("out").textContent || false`, noPollLimit))
	if err != nil {
		t.Fatalf("the app did not finish: %v\n%s", err, ours.logs)
	}
	want := fmt.Sprintf("found ws://127.0.0.1:%d/v1/ws first=other alone agent_not_found its socket refused operator=mario.rossi", mine)
	if result != want {
		t.Fatalf("app result %q, want %q\nours:\n%s\nthe other user's:\n%s", result, want, ours.logs, other.logs)
	}
	if !logged(other, "refused websocket: a program of another local user") {
		t.Errorf("the other user's agent did not log the refusal:\n%s", other.logs)
	}
}

// freePorts finds n consecutive ports free on both loopback addresses.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for {
		p := freeLoopbackPort(t)
		if p+n > 65536 {
			continue
		}
		ok := true
		for q := p + 1; q < p+n && ok; q++ {
			ok = portFree(q) == nil
		}
		if ok {
			return p
		}
	}
}

// Where no agent can tell whose it is (a system that does not name a
// connection's user), find takes a lone one and will not guess between
// two. The agents here answer GET /v1/agent as one would there: the
// branch the real agents above never reach, since Linux names users.
func TestBrowserFindDoesNotGuessBetweenAgentsThatCannotTell(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<!doctype html><title>SIDE</title>")
	}))
	defer app.Close()
	ag := startAgent(t, "--allow-origin", app.URL)
	first := freePorts(t, 2)
	for p := first; p < first+2; p++ {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
			fmt.Fprintf(w, `{"autografo":true,"port":%d,"user":"unknown"}`, p)
		})}
		go srv.Serve(ln)
		defer srv.Close()
	}
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL)); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`(async () => {
  const { AutografoClient } = await import("%sautografo.js");
  const one = await AutografoClient.find({ port: %d, ports: 1 }).catch((e) => e.code);
  const two = await AutografoClient.find({ port: %d, ports: 2 }).catch((e) => e.code);
  return one + " " + two;
})()`, ag.Base, first, first)
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("ws://127.0.0.1:%d/v1/ws agent_ambiguous", first); got != want {
		t.Errorf("find: %q, want %q", got, want)
	}
}
