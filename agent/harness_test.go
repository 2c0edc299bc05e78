package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/jpeg"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/autografo/autografo/agent/auth"
	"github.com/autografo/autografo/agent/protocol"
	"github.com/autografo/autografo/agent/store"
	"github.com/autografo/autografo/scanner"
	"github.com/autografo/autografo/scanner/manager"
	"github.com/autografo/autografo/scanner/pipeline"
	"github.com/autografo/autografo/scanner/scannertest"
)

// harness is an agent over a real store and a scripted scanner, with
// sessions whose identity the test chooses.
type harness struct {
	t     *testing.T
	a     *Agent
	st    *store.Store
	drv   *scannertest.Driver
	logs  *logBuffer
	ids   map[string]auth.Identity
	boxes []pipeline.Box
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// authByTicket authenticates a hello whose ticket is a name the test
// registered.
type authByTicket struct{ ids map[string]auth.Identity }

func (f authByTicket) Authenticate(c auth.Credentials, _ string) (auth.Identity, string, error) {
	id, ok := f.ids[c.Ticket]
	if !ok {
		return auth.Identity{}, "", auth.ErrForged
	}
	return id, "", nil
}

func newHarness(t *testing.T, configure ...func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, logs: &logBuffer{}, ids: map[string]auth.Identity{}}
	log := slog.New(slog.NewTextHandler(h.logs, nil))
	dir := t.TempDir()
	key, err := store.LoadOrCreateKey(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	h.st, err = store.Open(filepath.Join(dir, "autografo.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	h.drv = scannertest.NewDriver("fake")
	h.drv.Plug(scanner.Info{ID: "fake:1", Model: "Scanner di prova"})
	mgr := manager.New([]scanner.Driver{h.drv}, manager.Options{Logger: log})
	mgr.Poll(context.Background())
	opts := Options{Logger: log, Auth: authByTicket{h.ids}, Store: h.st, MaxPageBytes: 16 << 20,
		Layout: func(scanner.Page) []pipeline.Box { return h.boxes }}
	for _, c := range configure {
		c(&opts)
	}
	h.a = New(mgr, opts)
	t.Cleanup(func() {
		if err := h.a.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		h.st.Close()
		if t.Failed() {
			t.Logf("agent log:\n%s", h.logs)
		}
	})
	return h
}

// frame is one message or binary frame a tab received.
type frame struct {
	Type  string
	ID    string
	raw   []byte
	blob  protocol.BlobHeader
	data  []byte
	Error protocol.Error
}

// tab is a browser connection: a Sender that keeps what it is sent.
type tab struct {
	t      *testing.T
	s      *Session
	mu     sync.Mutex
	frames []frame
	next   int
	more   chan struct{}
	closed bool
	seq    int
	// analyses are page.analysis frames read past while waiting for a
	// capture's end: a page's analysis may finish before its capture
	// does, and until(page.analysis) still finds it.
	analyses []frame
	// changes are act.changed frames read past the same way: an act's
	// last page may be analysed, and the act checked and ready, before
	// its capture.done is sent, and untilState still finds them.
	changes []frame
}

func (tb *tab) push(f frame) {
	tb.mu.Lock()
	tb.frames = append(tb.frames, f)
	tb.mu.Unlock()
	select {
	case tb.more <- struct{}{}:
	default:
	}
}

func (tb *tab) Send(msg any) {
	raw, err := json.Marshal(msg)
	if err != nil {
		tb.t.Errorf("encoding %T: %v", msg, err)
		return
	}
	var f frame
	_ = json.Unmarshal(raw, &f)
	var e struct {
		Error protocol.Error `json:"error"`
	}
	_ = json.Unmarshal(raw, &e)
	f.raw, f.Error = raw, e.Error
	tb.push(f)
}

func (tb *tab) SendBlob(h protocol.BlobHeader, data []byte) {
	tb.push(frame{Type: "<blob>", blob: h, data: data})
}

func (tb *tab) Close(error) { tb.mu.Lock(); tb.closed = true; tb.mu.Unlock() }

// connect opens a tab whose session has the identity.
func (h *harness) connect(id auth.Identity) *tab {
	h.t.Helper()
	name := newID("ticket-")
	if id.Via == "" {
		id.Via = "ticket"
	}
	if id.Operator == "" {
		id.Operator = "mario.rossi"
	}
	h.ids[name] = id
	tb := &tab{t: h.t, more: make(chan struct{}, 1)}
	tb.s = h.a.NewSession(tb, nil, "https://side.comune.example")
	h.t.Cleanup(tb.s.Close)
	tb.request(map[string]any{"type": "hello", "versions": []int{protocol.Version}, "ticket": name})
	if f := tb.until(protocol.TypeWelcome); f.Type != protocol.TypeWelcome {
		h.t.Fatalf("hello refused: %s", f.raw)
	}
	return tb
}

// request sends a request and returns its id.
func (tb *tab) request(m map[string]any) string {
	tb.seq++
	id := strings.Repeat("r", 1) + itoa(tb.seq)
	m["id"] = id
	raw, _ := json.Marshal(m)
	tb.s.Handle(context.Background(), raw)
	return id
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// read waits for the next frame.
func (tb *tab) read() frame {
	tb.t.Helper()
	for { // no deadline: a frame that never comes is the test's timeout
		tb.mu.Lock()
		if tb.next < len(tb.frames) {
			f := tb.frames[tb.next]
			tb.next++
			tb.mu.Unlock()
			return f
		}
		tb.mu.Unlock()
		<-tb.more
	}
}

// until reads up to the first frame of the type (or the error reply).
func (tb *tab) until(typ string) frame {
	tb.t.Helper()
	if typ == protocol.TypePageAnalysis && len(tb.analyses) > 0 {
		f := tb.analyses[0]
		tb.analyses = tb.analyses[1:]
		return f
	}
	for {
		f := tb.read()
		if f.Type == typ || f.Type == protocol.TypeError && f.ID != "" {
			return f
		}
	}
}

// reply reads up to the answer to the request id.
func (tb *tab) reply(id string) frame {
	tb.t.Helper()
	for {
		if f := tb.read(); f.ID == id {
			return f
		}
	}
}

// call sends a request and returns its answer.
func (tb *tab) call(m map[string]any) frame {
	tb.t.Helper()
	return tb.reply(tb.request(m))
}

// untilState reads act.changed events until the act is in state.
func (tb *tab) untilState(act string, state store.State) protocol.Act {
	tb.t.Helper()
	for {
		var f frame
		if len(tb.changes) > 0 {
			f, tb.changes = tb.changes[0], tb.changes[1:]
		} else {
			f = tb.read()
		}
		if f.Type != protocol.TypeActChanged {
			continue
		}
		var m protocol.ActChanged
		if err := json.Unmarshal(f.raw, &m); err != nil {
			tb.t.Fatal(err)
		}
		if m.Act.ID == act && m.Act.State == string(state) {
			return m.Act
		}
	}
}

func decode[T any](t *testing.T, f frame) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(f.raw, &v); err != nil {
		t.Fatalf("%s: %v", f.raw, err)
	}
	return v
}

// signedPage is a 300 dpi gray page with lines of text and two signature
// boxes: the left one signed with a pen stroke, the right one empty.
// boxesFor gives the layout for the roles.
func signedPage(t *testing.T) []byte {
	t.Helper()
	return pageSigned(t, 1)
}

// pageSigned is signedPage with its first n boxes signed.
func pageSigned(t *testing.T, n int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 2480, 3508))
	for i := range img.Pix {
		img.Pix[i] = 238
	}
	set := func(x, y int, v uint8) {
		if image.Pt(x, y).In(img.Rect) {
			img.Pix[y*img.Stride+x] = v
		}
	}
	// Text lines: what tells the pipeline how the page lies.
	for y := 300; y < 2100; y += 66 {
		for x := 240; x < 2240; x += 130 {
			for yy := y; yy < y+30; yy++ {
				for xx := x; xx < x+100; xx++ {
					if (xx/3+yy/4)%5 != 0 {
						set(xx, yy, 40)
					}
				}
			}
		}
	}
	for _, b := range boxRects {
		for x := b.Min.X; x <= b.Max.X; x++ {
			for w := 0; w < 3; w++ {
				set(x, b.Min.Y+w, 30)
				set(x, b.Max.Y-w, 30)
			}
		}
		for y := b.Min.Y; y <= b.Max.Y; y++ {
			for w := 0; w < 3; w++ {
				set(b.Min.X+w, y, 30)
				set(b.Max.X-w, y, 30)
			}
		}
	}
	// A signature in each signed box: a looping stroke 4 px wide.
	for _, l := range boxRects[:n] {
		cy := float64(l.Min.Y+l.Max.Y) / 2
		for x := l.Min.X + 80; x < l.Max.X-80; x++ {
			y := cy + 60*math.Sin(float64(x)/35) + 20*math.Sin(float64(x)/9)
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					set(x+dx, int(y)+dy, 25)
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// boxRects are signedPage's boxes, in pixels: 68 x 25 mm at 300 dpi.
var boxRects = []image.Rectangle{image.Rect(240, 2500, 1040, 2800), image.Rect(1440, 2500, 2240, 2800)}

func boxesFor(left, right string) []pipeline.Box {
	var out []pipeline.Box
	for i, role := range []string{left, right} {
		r := boxRects[i]
		out = append(out, pipeline.Box{Role: role, Corners: [4]pipeline.Point{
			{X: float64(r.Min.X), Y: float64(r.Min.Y)}, {X: float64(r.Max.X), Y: float64(r.Min.Y)},
			{X: float64(r.Max.X), Y: float64(r.Max.Y)}, {X: float64(r.Min.X), Y: float64(r.Max.Y)}}})
	}
	return out
}

// open opens a marriage act with the signers (role, nome, cognome) and
// returns it.
func (tb *tab) open(signers ...[3]string) protocol.Act {
	tb.t.Helper()
	return tb.openKind("matrimonio", signers...)
}

// openKind opens an act of the kind with the signers.
func (tb *tab) openKind(kind string, signers ...[3]string) protocol.Act {
	tb.t.Helper()
	list := []map[string]string{}
	for _, s := range signers {
		list = append(list, map[string]string{"role": s[0], "nome": s[1], "cognome": s[2]})
	}
	f := tb.call(map[string]any{"type": "act.open", "kind": kind, "signers": list})
	if f.Type != protocol.TypeActOpened {
		tb.t.Fatalf("act.open: %s", f.raw)
	}
	return decode[protocol.ActOpened](tb.t, f).Act
}

// capture scans the scripted pages into the act and waits for its end.
func (tb *tab) capture(act string) {
	tb.t.Helper()
	tb.captureAt(act, 300)
}

// captureAt is capture at a resolution.
func (tb *tab) captureAt(act string, dpi int) {
	tb.t.Helper()
	f := tb.call(map[string]any{"type": "capture.start", "act": act, "device": "fake:1", "source": "feeder", "dpi": dpi, "color": "gray"})
	if f.Type != protocol.TypeCaptureStarted {
		tb.t.Fatalf("capture.start: %s", f.raw)
	}
	for {
		f := tb.read()
		if f.Type == protocol.TypePageAnalysis {
			tb.analyses = append(tb.analyses, f)
			continue
		}
		if f.Type == protocol.TypeActChanged {
			tb.changes = append(tb.changes, f)
			continue
		}
		if f.Type == protocol.TypeCaptureDone {
			return
		}
		if f.Type == protocol.TypeError && f.ID != "" || f.Type == protocol.TypeCaptureFailed {
			tb.t.Fatalf("capture: %s", f.raw)
		}
	}
}
