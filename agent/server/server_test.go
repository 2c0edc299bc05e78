package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image/jpeg"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gorilla/websocket"

	"github.com/autografo/autografo/agent"
	"github.com/autografo/autografo/agent/auth"
	"github.com/autografo/autografo/agent/auth/attacklog"
	"github.com/autografo/autografo/agent/protocol"
	"github.com/autografo/autografo/agent/server"
	"github.com/autografo/autografo/agent/store"
	"github.com/autografo/autografo/scanner"
	"github.com/autografo/autografo/scanner/manager"
	"github.com/autografo/autografo/scanner/scannertest"
)

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

type fixture struct {
	srv     *server.Server
	drv     *scannertest.Driver
	mgr     *manager.Manager
	logs    *logBuf
	base    string
	pairing *auth.Pairing
	key     ed25519.PrivateKey
}

const appOrigin = "https://side.comune.example"
const adminSecret = "test-admin-secret"

func start(t testing.TB, opts server.Options) *fixture {
	t.Helper()
	logs := &logBuf{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	drv := scannertest.NewDriver("fake")
	drv.Plug(scanner.Info{ID: "fake:1", Model: "Scanner di prova"})
	mgr := manager.New([]scanner.Driver{drv}, manager.Options{Logger: log})
	mgr.Poll(context.Background())
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	tickets, err := auth.NewVerifier(auth.TicketConfig{Keys: []auth.TicketKey{{ID: "side", Key: pub}}})
	if err != nil {
		t.Fatal(err)
	}
	svc := &auth.Service{Tickets: tickets}
	key, err := store.LoadOrCreateKey(filepath.Join(t.TempDir(), "key"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "autografo.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ag := agent.New(mgr, agent.Options{Logger: log, Version: "test", Auth: svc, Store: st})
	ui := fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>Autografo</title>")}}
	opts.Logger = log
	opts.AdminSecret = adminSecret
	opts.AllowedOrigins = append(opts.AllowedOrigins, appOrigin)
	srv, err := server.New(ag, ui, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	svc.Pairing = auth.NewPairing(auth.PairingConfig{Origins: srv.PageOrigins()})
	srv.SetPairing(svc.Pairing)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if err := ag.Shutdown(context.Background()); err != nil {
			t.Errorf("agent shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("logs:\n%s", logs)
		}
	})
	return &fixture{srv: srv, drv: drv, mgr: mgr, logs: logs, base: "127.0.0.1:" + strconv.Itoa(srv.Port()),
		pairing: svc.Pairing, key: priv}
}

func (f *fixture) origin() string { return "http://" + f.base }

func TestNewRefusesUnsafeConfiguration(t *testing.T) {
	for _, o := range []server.Options{
		{Hosts: []string{"0.0.0.0"}},
		{Hosts: []string{"192.168.1.5"}},
		{Hosts: []string{"::"}},
		{Hosts: []string{"example.org"}},
		{AllowedOrigins: []string{"*"}},
		{AllowedOrigins: []string{"null"}},
		{AllowedOrigins: []string{"https://app.example/"}},
	} {
		if _, err := server.New(nil, nil, o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

func TestHostHeaderIsCheckedFirst(t *testing.T) {
	f := start(t, server.Options{})
	port := strconv.Itoa(f.srv.Port())
	for _, tc := range []struct {
		host string
		want int
	}{
		{"127.0.0.1:" + port, 200},
		{"localhost:" + port, 200},
		{"[::1]:" + port, 200},
		{"rebind.attacker.example:" + port, 403},
		{"127.0.0.1", 403},
		{"127.0.0.1:1", 403},
		{"127.0.0.1.nip.io:" + port, 403},
	} {
		req, _ := http.NewRequest("GET", "http://"+f.base+"/", nil)
		req.Host = tc.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("Host %q: status %d, want %d", tc.host, resp.StatusCode, tc.want)
		}
		for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"} {
			if tc.want == 200 && resp.Header.Get(h) == "" {
				t.Errorf("Host %q: no %s header", tc.host, h)
			}
		}
	}
	if !strings.Contains(f.logs.String(), "bad Host header") {
		t.Error("refusals are not logged")
	}
}

func dial(t testing.TB, f *fixture, origin string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	return websocket.DefaultDialer.Dial("ws://"+f.base+"/v1/ws", h)
}

func TestWebsocketOriginAllowlist(t *testing.T) {
	f := start(t, server.Options{AllowedOrigins: []string{"https://side.comune.example"}})
	port := strconv.Itoa(f.srv.Port())
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{f.origin(), true},
		{"http://localhost:" + port, true},
		{"https://side.comune.example", true},
		{"", false},
		{"null", false},
		{"https://evil.example", false},
		{"https://side.comune.example.evil.example", false},
		{"http://127.0.0.1:1", false},
		{"http://rebind.attacker.example:" + port, false},
	} {
		c, resp, err := dial(t, f, tc.origin)
		if tc.ok {
			if err != nil {
				t.Errorf("origin %q refused: %v", tc.origin, err)
				continue
			}
			c.Close()
			continue
		}
		if err == nil {
			c.Close()
			t.Errorf("origin %q accepted", tc.origin)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: %v, want 403", tc.origin, err)
		}
	}
}

// client is a test browser speaking protocol v1.
type client struct {
	t    testing.TB
	f    *fixture
	c    *websocket.Conn
	next int
}

type msg struct {
	Type  string          `json:"type"`
	ID    string          `json:"id"`
	Error protocol.Error  `json:"error"`
	raw   json.RawMessage `json:"-"`
	blob  []byte
	bhead protocol.BlobHeader
}

func connect(t testing.TB, f *fixture) *client {
	t.Helper()
	c, _, err := dial(t, f, f.origin())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, f: f, c: c}
}

func (cl *client) send(v map[string]any) string {
	cl.t.Helper()
	cl.next++
	id := strconv.Itoa(cl.next)
	if _, ok := v["id"]; !ok {
		v["id"] = id
	}
	if err := cl.c.WriteJSON(v); err != nil {
		cl.t.Fatal(err)
	}
	return id
}

func (cl *client) read() msg {
	cl.t.Helper()
	kind, data, err := cl.c.ReadMessage() // no deadline: a reply that never comes is the test's timeout
	if err != nil {
		cl.t.Fatalf("read: %v", err)
	}
	if kind == websocket.BinaryMessage {
		h, b, err := protocol.DecodeBlob(data)
		if err != nil {
			cl.t.Fatal(err)
		}
		return msg{Type: "<blob>", blob: b, bhead: h}
	}
	var m msg
	if err := json.Unmarshal(data, &m); err != nil {
		cl.t.Fatal(err)
	}
	m.raw = data
	return m
}

// until reads messages until one of type typ, skipping progress and device
// events, and fails on anything else.
func (cl *client) until(typ string) msg {
	cl.t.Helper()
	for {
		m := cl.read()
		if m.Type == typ {
			return m
		}
		switch m.Type {
		case protocol.TypeCaptureProgress, protocol.TypeDevicesChanged, protocol.TypeCaptureStarted,
			protocol.TypeDocumentReady, protocol.TypeDocumentFailed, protocol.TypePageReady, protocol.TypePageAnalysis, protocol.TypeActChanged, protocol.TypeCaptureDone, "<blob>":
			continue
		}
		cl.t.Fatalf("got %s (%s) while waiting for %s", m.Type, m.raw, typ)
	}
}

func (cl *client) hello() {
	cl.t.Helper()
	tok, _ := cl.f.pairing.NewToken()
	cl.send(map[string]any{"type": "hello", "versions": []int{protocol.Version}, "pair": tok})
	if m := cl.until(protocol.TypeWelcome); !strings.Contains(string(m.raw), `"fake:1"`) {
		cl.t.Fatalf("welcome without the device: %s", m.raw)
	}
}

func (cl *client) openAct() string {
	cl.t.Helper()
	// No signers: an act of fake pages (no boxes) is then ready once its
	// pages are analysed.
	cl.send(map[string]any{"type": "act.open", "kind": "matrimonio", "signers": []map[string]string{}})
	var r protocol.ActOpened
	m := cl.until(protocol.TypeActOpened)
	if err := json.Unmarshal(m.raw, &r); err != nil {
		cl.t.Fatal(err)
	}
	return r.Act.ID
}

func (cl *client) capture(act string) string {
	return cl.send(map[string]any{"type": "capture.start", "act": act, "device": "fake:1", "source": "feeder", "dpi": 300, "color": "gray"})
}

func TestBadMessagesGetErrorRepliesAndTheConnectionLives(t *testing.T) {
	f := start(t, server.Options{MessagesPerSecond: 1000})
	cl := connect(t, f)
	expect := func(code, id string) {
		t.Helper()
		m := cl.read()
		if m.Type != protocol.TypeError || m.Error.Code != code || m.ID != id {
			t.Fatalf("got %s, want error %s for id %q", m.raw, code, id)
		}
		if m.Error.Message != protocol.Italian(code) {
			t.Errorf("error %s: message %q, want the Italian one", code, m.Error.Message)
		}
	}
	cl.send(map[string]any{"type": "devices.list", "id": "a"})
	expect(protocol.CodeNoHello, "a")
	cl.hello()
	for _, tc := range []struct {
		frame, code, id string
	}{
		{`{"type":"hello",`, protocol.CodeBadMessage, ""},
		{`{"type":"rm -rf","id":"z"}`, protocol.CodeUnknownType, "z"},
		{`{"type":"capture.start","id":"d","dpi":"lots"}`, protocol.CodeBadMessage, "d"},
		{`{"type":"hello","id":"v","versions":[2]}`, protocol.CodeBadMessage, "v"}, // one hello per connection
		{`{"type":"act.open","id":"k","kind":""}`, protocol.CodeBadMessage, "k"},
		{`{"type":"capture.start","id":"n","act":"act-none","device":"fake:1","source":"feeder","dpi":300,"color":"gray"}`, protocol.CodeActNotFound, "n"},
		{`{"type":"page.get","id":"p","act":"act-none","page":1}`, protocol.CodeActNotFound, "p"},
		{`{"type":"hello","id":"big","pad":"` + strings.Repeat("x", 100<<10) + `"}`, protocol.CodeTooLarge, ""},
	} {
		if err := f.writeText(cl, tc.frame); err != nil {
			t.Fatal(err)
		}
		expect(tc.code, tc.id)
	}
	if err := cl.c.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	expect(protocol.CodeBadMessage, "")
	cl.send(map[string]any{"type": "devices.list"})
	if m := cl.until(protocol.TypeDevices); !strings.Contains(string(m.raw), "fake:1") {
		t.Fatalf("devices after bad input: %s", m.raw)
	}
	// Past the hard limit the connection is closed (our write may already
	// fail part-way), and the server goes on.
	if err := f.writeText(cl, strings.Repeat("x", 2<<20)); err == nil {
		_ = cl.c.SetReadDeadline(time.Time{}) // kept open, it hangs here: the test's timeout reports it
		if _, _, err := cl.c.ReadMessage(); err == nil {
			t.Fatal("a 2 MiB message did not close the connection")
		}
	}
	connect(t, f).hello()
}

func (f *fixture) writeText(cl *client, s string) error {
	return cl.c.WriteMessage(websocket.TextMessage, []byte(s))
}

func TestRateLimit(t *testing.T) {
	f := start(t, server.Options{MessagesPerSecond: 5})
	cl := connect(t, f)
	cl.hello()
	for range 40 {
		cl.send(map[string]any{"type": "devices.list"})
	}
	limited := 0
	for range 40 {
		if m := cl.read(); m.Error.Code == protocol.CodeRateLimited {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("40 messages at once from a connection allowed 5/s were all served")
	}
}

func TestCaptureOverWebsocket(t *testing.T) {
	f := start(t, server.Options{})
	pages := [][]byte{scannertest.JPEG(640, 900), scannertest.JPEG(640, 900)}
	f.drv.Script("fake:1", scannertest.Step{Data: pages[0]}, scannertest.Step{Data: pages[1]})
	cl := connect(t, f)
	cl.hello()
	act := cl.openAct()
	id := cl.capture(act)
	if m := cl.until(protocol.TypeCaptureStarted); m.ID != id {
		t.Fatalf("capture.started has id %q, want %q", m.ID, id)
	}
	var announced []protocol.PageReady
	for i := range 2 {
		var pr protocol.PageReady
		m := cl.until(protocol.TypePageReady)
		if err := json.Unmarshal(m.raw, &pr); err != nil {
			t.Fatal(err)
		}
		b := cl.read()
		if b.Type != "<blob>" || b.bhead.Blob != pr.Preview {
			t.Fatalf("page %d: the preview blob does not follow its announcement", i+1)
		}
		img, err := jpeg.Decode(bytes.NewReader(b.blob))
		if err != nil {
			t.Fatalf("preview is not a JPEG: %v", err)
		}
		if w := img.Bounds().Dx(); w != 320 {
			t.Errorf("preview width %d, want 320", w)
		}
		if pr.Page.Index != i+1 || pr.Page.Width != 640 || pr.Page.Height != 900 || pr.Page.Bytes != int64(len(pages[i])) {
			t.Errorf("page %d info %+v", i+1, pr.Page)
		}
		announced = append(announced, pr)
	}
	var done protocol.CaptureDone
	if err := json.Unmarshal(cl.until(protocol.TypeCaptureDone).raw, &done); err != nil {
		t.Fatal(err)
	}
	if done.Pages != 2 || done.Total != 2 {
		t.Fatalf("done: %+v", done)
	}
	// Once its pages are analysed the act is ready: every session is
	// told, and its document comes with its bytes and the R006 fields.
	var event protocol.DocumentReady
	if err := json.Unmarshal(cl.until(protocol.TypeDocumentReady).raw, &event); err != nil || event.Blob != "" {
		t.Fatalf("document.ready event %+v %v: the bytes go only to whoever asks", event, err)
	}
	var dr protocol.DocumentReady
	if err := json.Unmarshal(cl.untilID(cl.send(map[string]any{"type": "document.build", "act": act})).raw, &dr); err != nil {
		t.Fatal(err)
	}
	db := cl.read()
	sum := sha256.Sum256(db.blob)
	if db.bhead.Blob != dr.Blob || !bytes.HasPrefix(db.blob, []byte("%PDF-1.5")) || hex.EncodeToString(sum[:]) != dr.Document.SHA256 ||
		dr.Document.Pages != 2 || !dr.Document.PassThrough || dr.R006.TipoFile != "1" || dr.R006.TipoAllegato != "999" ||
		!strings.HasSuffix(dr.R006.Nomefile, ".pdf") || int64(len(db.blob)) != dr.Document.Bytes {
		t.Fatalf("document.ready %+v (%d bytes)", dr, len(db.blob))
	}
	for _, p := range pages {
		if !bytes.Contains(db.blob, p) {
			t.Error("a scanned page is not in the document unchanged")
		}
	}
	// The full page comes back byte for byte, with the announced hash.
	cl.send(map[string]any{"type": "page.get", "act": act, "page": 2})
	var pb protocol.PageBlob
	if err := json.Unmarshal(cl.until(protocol.TypePage).raw, &pb); err != nil {
		t.Fatal(err)
	}
	b := cl.read()
	if !bytes.Equal(b.blob, pages[1]) || pb.Page.SHA256 != announced[1].Page.SHA256 {
		t.Fatal("page.get did not return the page as scanned")
	}
}

func TestSecondCaptureOnABusyDeviceIsRefusedAtOnce(t *testing.T) {
	f := start(t, server.Options{})
	release := make(chan struct{})
	f.drv.Script("fake:1", scannertest.Step{Data: scannertest.JPEG(64, 64), Block: release})
	cl := connect(t, f)
	cl.hello()
	a1, a2 := cl.openAct(), cl.openAct()
	cl.capture(a1)
	cl.until(protocol.TypeCaptureStarted)
	id := cl.capture(a2)
	m := cl.until(protocol.TypeError)
	if m.ID != id || m.Error.Code != protocol.CodeDeviceBusy || !strings.Contains(m.Error.Message, "occupato") {
		t.Fatalf("second capture: %s", m.raw)
	}
	// The same act cannot run two captures either.
	cl.capture(a1)
	if m := cl.until(protocol.TypeError); m.Error.Code != protocol.CodeCaptureRunning {
		t.Fatalf("second capture on one act: %s", m.raw)
	}
	close(release)
	cl.until(protocol.TypePageReady)
	cl.read() // preview
	cl.until(protocol.TypeCaptureDone)
}

func TestDeviceGoneMidCaptureKeepsPagesAndRecovers(t *testing.T) {
	f := start(t, server.Options{})
	f.drv.Script("fake:1", scannertest.Step{Data: scannertest.JPEG(64, 64)}, scannertest.Step{Err: scanner.ErrGone})
	cl := connect(t, f)
	cl.hello()
	act := cl.openAct()
	cl.capture(act)
	cl.until(protocol.TypePageReady)
	cl.read()
	var failed protocol.CaptureFailed
	if err := json.Unmarshal(cl.until(protocol.TypeCaptureFailed).raw, &failed); err != nil {
		t.Fatal(err)
	}
	if failed.Error.Code != protocol.CodeDeviceGone || failed.Pages != 1 || !strings.Contains(failed.Error.Message, "scollegato") {
		t.Fatalf("capture.failed: %+v", failed)
	}
	if !strings.Contains(f.logs.String(), "code=device_gone") {
		t.Error("no English log line for the lost device")
	}

	f.drv.Unplug("fake:1")
	f.mgr.Poll(context.Background())
	if m := cl.until(protocol.TypeDevicesChanged); strings.Contains(string(m.raw), "fake:1") {
		t.Fatalf("unplugged device still listed: %s", m.raw)
	}
	f.drv.Plug(scanner.Info{ID: "fake:1", Model: "Scanner di prova"})
	f.mgr.Poll(context.Background())
	if m := cl.until(protocol.TypeDevicesChanged); !strings.Contains(string(m.raw), "fake:1") {
		t.Fatalf("replugged device not listed: %s", m.raw)
	}
	f.drv.Script("fake:1", scannertest.Step{Data: scannertest.JPEG(64, 64)})
	cl.capture(act)
	cl.until(protocol.TypePageReady)
	cl.read()
	var done protocol.CaptureDone
	if err := json.Unmarshal(cl.until(protocol.TypeCaptureDone).raw, &done); err != nil {
		t.Fatal(err)
	}
	if done.Total != 2 {
		t.Fatalf("after recovery the act has %d pages, want the kept one plus the new one", done.Total)
	}
}

func TestBrokenPagesFailTheCaptureNotTheAgent(t *testing.T) {
	good := scannertest.JPEG(64, 64)
	huge := scannertest.JPEG(64, 64)
	// Rewrite the frame header to claim 60000x60000 pixels.
	if i := bytes.Index(huge, []byte{0xff, 0xc0}); i > 0 {
		copy(huge[i+5:], []byte{0xea, 0x60, 0xea, 0x60})
	} else {
		t.Fatal("no SOF0 marker in the test JPEG")
	}
	for name, bad := range map[string][]byte{
		"truncated": good[:len(good)/2],
		"not image": []byte("%PDF-1.7 this is not a picture"),
		"empty":     {},
		"bomb":      huge,
	} {
		t.Run(name, func(t *testing.T) {
			f := start(t, server.Options{})
			f.drv.Script("fake:1", scannertest.Step{Data: good}, scannertest.Step{Data: bad})
			cl := connect(t, f)
			cl.hello()
			cl.capture(cl.openAct())
			cl.until(protocol.TypePageReady)
			cl.read()
			var failed protocol.CaptureFailed
			if err := json.Unmarshal(cl.until(protocol.TypeCaptureFailed).raw, &failed); err != nil {
				t.Fatal(err)
			}
			if failed.Error.Code != protocol.CodeBadPage || failed.Pages != 1 {
				t.Fatalf("%s page: %+v", name, failed)
			}
		})
	}
}

func TestDeliveryIsExactlyOnceAcrossTabs(t *testing.T) {
	f := start(t, server.Options{MessagesPerSecond: 1000})
	tabs := make([]*client, 2)
	for i := range tabs {
		c, _, err := dial(t, f, appOrigin)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		tabs[i] = &client{t: t, f: f, c: c}
		tabs[i].send(map[string]any{"type": "hello", "versions": []int{protocol.Version},
			"ticket": f.ticket(t, func(c *auth.TicketClaims) { c.Perms = []string{"view", "capture", "export"}; c.ID += strconv.Itoa(i) })})
		tabs[i].until(protocol.TypeWelcome)
	}
	a, b := tabs[0], tabs[1]
	for round := range 5 {
		f.drv.Script("fake:1", scannertest.Step{Data: scannertest.JPEG(64, 64)})
		act := a.openAct()
		a.capture(act)
		a.until(protocol.TypePageReady)
		a.read()
		a.until(protocol.TypeDocumentReady) // ready for ANSC

		// Both tabs ask at the same moment.
		ida := a.send(map[string]any{"type": "act.deliver", "act": act})
		idb := b.send(map[string]any{"type": "act.deliver", "act": act})
		ra, rb := a.untilID(ida), b.untilID(idb)
		got := 0
		for _, r := range []msg{ra, rb} {
			switch {
			case r.Type == protocol.TypeActDelivered:
				got++
			case r.Error.Code != protocol.CodeDelivered:
				t.Fatalf("round %d: %s", round, r.raw)
			}
		}
		if got != 1 {
			t.Fatalf("round %d: %d tabs got the act, want exactly 1", round, got)
		}
		winner := a
		if rb.Type == protocol.TypeActDelivered {
			winner = b
		}
		if round == 0 {
			// An upload that failed: released, then delivered again.
			winner.send(map[string]any{"type": "act.release", "act": act})
			winner.until(protocol.TypeActReleased)
			b.send(map[string]any{"type": "act.deliver", "act": act})
			b.until(protocol.TypeActDelivered)
			winner = b
		}
		winner.send(map[string]any{"type": "act.confirm", "act": act, "attachment": "ANSC-" + strconv.Itoa(round)})
		winner.until(protocol.TypeActConfirmed)
		a.send(map[string]any{"type": "act.deliver", "act": act})
		if m := a.until(protocol.TypeError); m.Error.Code != protocol.CodeConfirmed {
			t.Fatalf("delivering a confirmed act: %s", m.raw)
		}
	}
	if n := strings.Count(f.logs.String(), `msg="act delivered"`); n != 6 {
		t.Errorf("%d deliveries logged, want 6 (5 rounds and one redelivery)", n)
	}
}

// untilID reads until the reply to request id.
func (cl *client) untilID(id string) msg {
	cl.t.Helper()
	for {
		m := cl.read()
		if m.ID == id {
			return m
		}
	}
}

func TestDocumentFormatsOnRequest(t *testing.T) {
	f := start(t, server.Options{MessagesPerSecond: 1000})
	f.drv.Script("fake:1", scannertest.Step{Data: scannertest.JPEG(300, 400)}, scannertest.Step{Data: scannertest.JPEG(300, 400)})
	cl := connect(t, f)
	cl.hello()
	act := cl.openAct()
	cl.capture(act)
	cl.until(protocol.TypeCaptureDone)
	cl.until(protocol.TypeDocumentReady) // ready for ANSC

	for _, tc := range []struct {
		format, mediaType, tipo, code string
	}{
		{"tif", "image/tiff", "3", ""},
		{"pdf", "application/pdf", "1", ""},
		{"jpg", "", "", protocol.CodeBadFormat}, // two pages cannot be one JPG
		{"png", "", "", protocol.CodeBadFormat}, // ANSC does not take PNG
	} {
		id := cl.send(map[string]any{"type": "document.build", "act": act, "format": tc.format})
		m := cl.untilID(id)
		if tc.code != "" {
			if m.Error.Code != tc.code {
				t.Errorf("%s: %s, want %s", tc.format, m.raw, tc.code)
			}
			continue
		}
		var dr protocol.DocumentReady
		json.Unmarshal(m.raw, &dr)
		blob := cl.read()
		if dr.Type != protocol.TypeDocumentReady || dr.Document.MediaType != tc.mediaType || dr.R006.TipoFile != tc.tipo ||
			!strings.HasSuffix(dr.Document.Name, "."+tc.format) || blob.bhead.MediaType != tc.mediaType || int64(len(blob.blob)) != dr.Document.Bytes {
			t.Errorf("%s: %s (%d bytes)", tc.format, m.raw, len(blob.blob))
		}
	}
}

// Another program on either loopback address of our port: the server
// refuses to start and says which address is taken. A squatter on [::1]
// would otherwise serve its own page to a browser that sends localhost
// there, with the origin the agent trusts.
func TestAttackSquatterOnEitherLoopbackStopsTheStart(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		t.Run(host, func(t *testing.T) {
			// A port free on both addresses, then taken on one.
			var squat net.Listener
			var port int
			for squat == nil {
				probe, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				port = probe.Addr().(*net.TCPAddr).Port
				probe.Close()
				if l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port))); err == nil {
					squat = l
				} else if host == "::1" && !server.AddrInUse(err) {
					// No IPv6 loopback here: nobody can squat it, and the
					// server must start on 127.0.0.1 alone.
					srv, err := server.New(nil, nil, server.Options{Port: port})
					if err == nil {
						err = srv.Listen()
						srv.Close()
					}
					if err != nil {
						t.Fatalf("Listen without an IPv6 loopback: %v", err)
					}
					return
				}
			}
			defer squat.Close()
			srv, err := server.New(nil, nil, server.Options{Port: port})
			if err != nil {
				t.Fatal(err)
			}
			err = srv.Listen()
			var le *server.ListenError
			if !errors.As(err, &le) || le.Host != host || !server.AddrInUse(err) || !strings.Contains(err.Error(), "another --port") {
				srv.Close()
				t.Fatalf("Listen with %s:%d taken: %v", host, port, err)
			}
			// Nothing is left bound: the other address is free again.
			other := "::1"
			if host == "::1" {
				other = "127.0.0.1"
			}
			l, err := net.Listen("tcp", net.JoinHostPort(other, strconv.Itoa(port)))
			if err != nil {
				t.Fatalf("the failed Listen kept %s:%d: %v", other, port, err)
			}
			l.Close()
			attacklog.Record(t, "another program binds "+host+" on the agent's port first (it could serve its own page on localhost)",
				"the agent refuses to start, naming the address; nothing left bound", "refused: "+le.Error())
		})
	}
}

// With port 0 both addresses get the same port.
func TestListenOnAPickedPortTakesItOnBoth(t *testing.T) {
	srv, err := server.New(nil, nil, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hosts := []string{"127.0.0.1"}
	if l, err := net.Listen("tcp", "[::1]:0"); err == nil {
		l.Close()
		hosts = append(hosts, "::1")
	}
	for _, host := range hosts {
		c, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(srv.Port())))
		if err != nil {
			t.Errorf("nothing listens on %s:%d: %v", host, srv.Port(), err)
			continue
		}
		c.Close()
	}
}

// An idle keep-alive connection is closed by the agent: enough of them
// would otherwise exhaust its file descriptors. Waits for the close, with
// no clock of its own.
func TestIdleConnectionsAreClosed(t *testing.T) {
	f := start(t, server.Options{IdleTimeout: 100 * time.Millisecond})
	c, err := net.Dial("tcp", f.base)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: " + f.base + "\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("first request: %d, close %v", resp.StatusCode, resp.Close)
	}
	// Kept alive, then idle: the next read ends with the agent's close.
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("read %d bytes from an idle connection instead of its close", n)
	}
}

// Headers beyond 32 KiB are refused before they cost anything.
func TestHugeHeadersAreRefused(t *testing.T) {
	f := start(t, server.Options{})
	req, _ := http.NewRequest("GET", "http://"+f.base+"/", nil)
	req.Header.Set("X-Filler", strings.Repeat("a", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB of headers: %d", resp.StatusCode)
	}
}

// A flood of refused requests writes a line, not a line each.
func TestRefusalFloodIsSummedUp(t *testing.T) {
	f := start(t, server.Options{RefusalLogWindow: time.Hour})
	for range 50 {
		req, _ := http.NewRequest("GET", "http://"+f.base+"/", nil)
		req.Host = "evil.example"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("bad Host answered %d", resp.StatusCode)
		}
	}
	if n := strings.Count(f.logs.String(), "refused request: bad Host header"); n != 1 {
		t.Errorf("%d log lines for 50 refusals in one window", n)
	}
}

// GET /v1/health answers a monitoring probe without pairing: the devices
// by driver and model, the store, how many acts wait for ANSC, the
// sessions; never an act's id or a signer's name. A foreign Host is
// refused as for every request.
func TestHealthForMonitoring(t *testing.T) {
	f := start(t, server.Options{})
	cl := connect(t, f)
	cl.hello()
	cl.send(map[string]any{"type": "act.open", "kind": "matrimonio",
		"signers": []map[string]string{{"role": "sposo", "nome": "Marco", "cognome": "Bianchi"}}})
	m := cl.until(protocol.TypeActOpened)
	var opened protocol.ActOpened
	if err := json.Unmarshal(m.raw, &opened); err != nil {
		t.Fatal(err)
	}
	get := func(host string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", "http://"+f.base+"/v1/health", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	resp, body := get(f.base)
	var h agent.Health
	if err := json.Unmarshal(body, &h); err != nil || resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("health: %d %v %s", resp.StatusCode, err, body)
	}
	if h.Status != "ok" || h.Version != "test" || len(h.Devices) != 1 || h.Devices[0] != (agent.HealthDevice{Driver: "fake", Model: "Scanner di prova"}) ||
		!h.Store.OK || h.Store.Unconfirmed != 1 || h.Sessions != 1 || len(h.Certificates) != 0 {
		t.Errorf("health %s", body)
	}
	for _, secret := range []string{opened.Act.ID, "Bianchi", "fake:1"} {
		if strings.Contains(string(body), secret) {
			t.Errorf("health tells %q: %s", secret, body)
		}
	}
	if resp, _ := get("rebind.attacker.example:" + strconv.Itoa(f.srv.Port())); resp.StatusCode != http.StatusForbidden {
		t.Errorf("health for a foreign Host: %d", resp.StatusCode)
	}
}
