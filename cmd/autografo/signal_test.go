package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/autografo/autografo/drivers/escl/escltest"
)

// rawSession is a paired websocket to the agent, as a browser tab's:
// send writes a message, read waits for one of a type.
func rawSession(t *testing.T, ag *agentProc) (send func(string), read func(string) map[string]any) {
	t.Helper()
	origin := strings.TrimSuffix(ag.Base, "/")
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(origin, "http", "ws", 1)+"/v1/ws", http.Header{"Origin": {origin}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	send = func(v string) {
		if err := ws.WriteMessage(websocket.TextMessage, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	read = func(typ string) map[string]any {
		t.Helper()
		for {
			kind, data, err := ws.ReadMessage() // no deadline: the test's timeout ends a wait for nothing
			if err != nil {
				t.Fatalf("waiting for %s: %v", typ, err)
			}
			if kind != websocket.TextMessage {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			if m["type"] == typ {
				return m
			}
		}
	}
	send(`{"type":"hello","id":"1","versions":[2],"pair":"` + ag.Token + `"}`)
	read("welcome")
	return send, read
}

// Ctrl-C while the scanner is moving paper ends the job, tells the browser,
// and stops the process cleanly.
func TestInterruptDuringAScanEndsCleanly(t *testing.T) {
	ag := startAgent(t, "--sim-pages", "5", "--sim-page-time", "1s")
	send, read := rawSession(t, ag)
	send(`{"type":"act.open","id":"2","kind":"matrimonio","signers":[{"role":"sposo","name":"M"}]}`)
	act := read("act.opened")["act"].(map[string]any)["id"].(string)
	send(`{"type":"capture.start","id":"3","act":"` + act + `","device":"sim:0","source":"feeder","dpi":150,"color":"gray"}`)
	read("page.ready") // one page in, four to go

	if err := ag.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	failed := read("capture.failed")
	if code := failed["error"].(map[string]any)["code"]; code != "shutting_down" {
		t.Errorf("capture ended with %v, want shutting_down", code)
	}
	if n := failed["pages"]; n != 1.0 {
		t.Errorf("capture.failed reports %v pages kept, want 1", n)
	}
	// Still running after SIGINT hangs here: the test's timeout reports it.
	if err := <-ag.done; err != nil {
		t.Fatalf("exit: %v\n%s", err, ag.logs)
	}
	ag.done <- nil // for the cleanup
	logs := ag.logs.String()
	for _, want := range []string{"code=shutting_down", "msg=stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{nil, 2, "usage"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"version"}, 0, "autografo"},
		{[]string{"serve", "--sim", "--sim-faults", "explode"}, 2, "unknown fault"},
		{[]string{"serve", "--allow-origin", "*", "--port", "0"}, 2, "exact"},
		{[]string{"serve", "--log-level", "loud"}, 2, "log-level"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != tc.code {
			t.Errorf("%v: exit %d, want %d", tc.args, code, tc.code)
		}
		if out := stdout.String() + stderr.String(); !strings.Contains(out, tc.out) {
			t.Errorf("%v: output %q lacks %q", tc.args, out, tc.out)
		}
	}
}

// SIGTERM while a network scanner is sending a page: the capture ends as
// the agent stopping, the page received whole is kept, and the job is
// deleted on the device, which would otherwise keep it and answer the
// next job busy.
func TestTermDuringAnESCLPageDeletesTheJob(t *testing.T) {
	emu := escltest.New(3)
	emu.StallAfter = 1
	srv := httptest.NewServer(emu)
	defer srv.Close()
	url := srv.URL + "/eSCL"
	ag := startAgent(t, "--escl", url, "--saned", "")
	send, read := rawSession(t, ag)
	send(`{"type":"act.open","id":"2","kind":"matrimonio","signers":[{"role":"sposo","name":"M"}]}`)
	act := read("act.opened")["act"].(map[string]any)["id"].(string)
	send(`{"type":"capture.start","id":"3","act":"` + act + `","device":"escl:` + url + `","source":"feeder","dpi":150,"color":"gray"}`)
	read("page.ready")
	<-emu.Stalled // the second page half sent
	if err := ag.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	failed := read("capture.failed")
	if code := failed["error"].(map[string]any)["code"]; code != "shutting_down" || failed["pages"] != 1.0 {
		t.Errorf("capture ended with %v and %v pages, want shutting_down and 1", code, failed["pages"])
	}
	if err := <-ag.done; err != nil {
		t.Fatalf("exit: %v\n%s", err, ag.logs)
	}
	ag.done <- nil
	if got := emu.JobStates(); !slices.Equal(got, []string{"Canceled"}) {
		t.Errorf("the device's job after the stop: %v, want it cancelled", got)
	}
}
