package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/autografo/autografo/agent/protocol"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// wsClient speaks the protocol to a running agent.
type wsClient struct {
	t    *testing.T
	c    *websocket.Conn
	next int
	// stash keeps the act.changed events that arrived while call waited
	// for its reply: an act can move on before the reply that describes
	// it is sent, and waitState must not miss it.
	stash []frame
}

func dialAgent(t *testing.T, ag *agentProc) (*wsClient, error) {
	return dialAgentWith(t, ag, map[string]any{"pair": ag.Token})
}

// dialAgentWith says hello with the given credentials (pair, code, ...).
func dialAgentWith(t *testing.T, ag *agentProc, creds map[string]any) (*wsClient, error) {
	origin := strings.TrimSuffix(ag.Base, "/")
	c, _, err := websocket.DefaultDialer.Dial(strings.Replace(origin, "http", "ws", 1)+"/v1/ws", http.Header{"Origin": {origin}})
	if err != nil {
		return nil, err
	}
	cl := &wsClient{t: t, c: c}
	hello := map[string]any{"type": "hello", "versions": []int{protocol.Version}}
	maps.Copy(hello, creds)
	if _, err := cl.call(hello, "welcome"); err != nil {
		c.Close()
		return nil, err
	}
	return cl, nil
}

type frame struct {
	msg  map[string]any
	raw  []byte
	blob []byte
}

func (cl *wsClient) read() (frame, error) {
	kind, data, err := cl.c.ReadMessage() // no deadline: a frame that never comes is the test's timeout
	if err != nil {
		return frame{}, err
	}
	if kind == websocket.BinaryMessage {
		_, b, err := protocol.DecodeBlob(data)
		return frame{blob: b}, err
	}
	var m map[string]any
	err = json.Unmarshal(data, &m)
	return frame{msg: m, raw: data}, err
}

func (cl *wsClient) send(m map[string]any) (string, error) {
	cl.next++
	id := strconv.Itoa(cl.next)
	m["id"] = id
	return id, cl.c.WriteJSON(m)
}

// call sends a request and waits for the reply of type want (or an error).
func (cl *wsClient) call(m map[string]any, want string) (frame, error) {
	id, err := cl.send(m)
	if err != nil {
		return frame{}, err
	}
	for {
		f, err := cl.read()
		if err != nil {
			return f, err
		}
		if f.msg != nil && f.msg["type"] == "act.changed" {
			cl.stash = append(cl.stash, f)
		}
		if f.msg == nil || f.msg["id"] != id {
			continue
		}
		if f.msg["type"] == "error" {
			return f, fmt.Errorf("agent error: %s", f.raw)
		}
		if f.msg["type"] == want {
			return f, nil
		}
	}
}

// verify fetches each page and compares it with what was announced, paced
// under the agent's per-connection rate limit (20 messages a second).
func verify(t *testing.T, cl *wsClient, pages []announced) {
	t.Helper()
	tick := time.NewTicker(60 * time.Millisecond)
	defer tick.Stop()
	for _, p := range pages {
		<-tick.C
		f, err := cl.call(map[string]any{"type": "page.get", "act": p.act, "page": p.page}, "page")
		if err != nil {
			t.Fatalf("announced page %d of %s lost: %v", p.page, p.act, err)
		}
		b, err := cl.read()
		if err != nil || b.blob == nil {
			t.Fatalf("page %d of %s: no bytes: %v", p.page, p.act, err)
		}
		sum := sha256.Sum256(b.blob)
		if hex.EncodeToString(sum[:]) != p.sha256 || f.msg["page"].(map[string]any)["sha256"] != p.sha256 {
			t.Fatalf("page %d of %s differs from what was announced", p.page, p.act)
		}
	}
}

type announced struct {
	act    string
	page   int
	sha256 string
}

// The agent is killed with SIGKILL at random moments while it captures; after
// each restart every page it had announced must be there, byte for byte,
// and at the end the store must pass its full check.
func TestCrashKeepsEveryAnnouncedPage(t *testing.T) {
	captures := envInt("AUTOGRAFO_CRASH_CAPTURES", 24)
	kills := envInt("AUTOGRAFO_CRASH_KILLS", 8)
	seed := uint64(time.Now().UnixNano())
	t.Logf("crash test: %d captures, %d kills, seed %d", captures, kills, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	storeDir := t.TempDir()
	args := []string{"--store", storeDir, "--sim-pages", "2", "--sim-page-time", "1ms", "--saned", ""}

	var pages []announced
	done, killed, lastLife := 0, 0, 0
	for done < captures {
		ag := startAgent(t, args...)
		cl, err := dialAgent(t, ag)
		if err != nil {
			t.Fatalf("connecting after restart: %v\n%s", err, ag.logs)
		}
		// What the previous life announced before it was killed is intact
		// (earlier lives' pages are checked again at the end).
		verify(t, cl, pages[lastLife:])
		lastLife = len(pages)
		// Capture until this life is cut short.
		var killAt <-chan time.Time
		if killed < kills {
			killAt = time.After(time.Duration(50+rng.IntN(900)) * time.Millisecond)
		}
		alive := true
		for alive && done < captures {
			act, err := cl.call(map[string]any{"type": "act.open", "kind": "matrimonio",
				"signers": []map[string]string{{"role": "sposo", "nome": "M", "cognome": ""}}}, "act.opened")
			if err != nil {
				if strings.HasPrefix(err.Error(), "agent error") {
					t.Fatalf("act.open refused: %v", err)
				}
				alive = false
				break
			}
			actID := act.msg["act"].(map[string]any)["id"].(string)
			if _, err := cl.send(map[string]any{"type": "capture.start", "act": actID, "device": "sim:0",
				"source": "feeder", "dpi": 150, "color": "gray"}); err != nil {
				alive = false
				break
			}
			reads := make(chan frame)
			errs := make(chan error, 1)
			go func() {
				for {
					f, err := cl.read()
					if err != nil {
						errs <- err
						return
					}
					reads <- f
					if f.msg != nil && (f.msg["type"] == "capture.done" || f.msg["type"] == "capture.failed") {
						return
					}
				}
			}()
		capture:
			for {
				select {
				case <-killAt:
					_ = ag.cmd.Process.Signal(syscall.SIGKILL)
					killed++
					killAt = nil
				case <-errs:
					alive = false
					break capture
				case f := <-reads:
					switch {
					case f.msg == nil:
					case f.msg["type"] == "page.ready":
						pg := f.msg["page"].(map[string]any)
						pages = append(pages, announced{actID, int(pg["index"].(float64)), pg["sha256"].(string)})
					case f.msg["type"] == "capture.done":
						done++
						break capture
					case f.msg["type"] == "capture.failed" || f.msg["type"] == "error":
						t.Fatalf("capture failed without a crash: %s", f.raw)
					}
				}
			}
		}
		cl.c.Close()
		if alive {
			// All captures done in this life: it ends before the last one
			// starts on its store (one agent a store).
			_ = ag.cmd.Process.Signal(syscall.SIGTERM)
		}
		<-ag.done
		ag.done <- nil // for the cleanup
		if alive {
			break
		}
	}
	t.Logf("%d captures, %d pages announced, %d kills", done, len(pages), killed)
	if killed < kills {
		t.Fatalf("only %d kills happened, want %d", killed, kills)
	}
	// Every page announced in any life, from one last life of the agent.
	ag := startAgent(t, args...)
	cl, err := dialAgent(t, ag)
	if err != nil {
		t.Fatal(err)
	}
	verify(t, cl, pages)
	cl.c.Close()
	_ = ag.cmd.Process.Signal(syscall.SIGTERM)
	<-ag.done
	ag.done <- nil
	// The store as a whole: SQLite's integrity check, every page against its
	// hash (nothing half-written is visible), the journal chain.
	var out, errb bytes.Buffer
	if code := run([]string{"check", "--store", storeDir}, &out, &errb); code != 0 {
		t.Fatalf("store check: %s", errb.String())
	}
	t.Log(strings.TrimSpace(out.String()))
}
