package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/autografo/autografo/scanner/scannertest"
)

// A store on a small file system that fills up: the capture that does not
// fit fails with a clear Italian error, the agent keeps serving, every page
// stored before is intact, and once there is room again captures work.
func TestDiskFullFailsCleanly(t *testing.T) {
	if os.Geteuid() != 0 {
		scannertest.Unavailable(t, "the disk-full test mounts a small tmpfs and needs root (CI runs as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1536k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mounting a 1.5 MB tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })

	ag := startAgent(t, "--store", dir, "--sim-pages", "3", "--sim-page-time", "1ms", "--saned", "")
	cl, err := dialAgent(t, ag)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.c.Close()

	var kept []announced
	var failure frame
	for attempt := 0; attempt < 40 && failure.msg == nil; attempt++ {
		act, err := cl.call(map[string]any{"type": "act.open", "kind": "matrimonio",
			"signers": []map[string]string{{"role": "sposo", "nome": "M", "cognome": ""}}}, "act.opened")
		if err != nil {
			// Even creating an act may not fit: that is the disk being full.
			if !strings.Contains(err.Error(), "store_failed") {
				t.Fatalf("act.open: %v", err)
			}
			failure = frame{msg: map[string]any{"type": "error"}, raw: []byte(err.Error())}
			break
		}
		actID := act.msg["act"].(map[string]any)["id"].(string)
		// Pages of about a quarter of the room each: some fit before it is
		// full, whatever the store's own tables take.
		if _, err := cl.send(map[string]any{"type": "capture.start", "act": actID, "device": "sim:0",
			"source": "feeder", "dpi": 150, "color": "color"}); err != nil {
			t.Fatal(err)
		}
		for {
			f, err := cl.read()
			if err != nil {
				t.Fatalf("the agent went away when the disk filled: %v\n%s", err, ag.logs)
			}
			if f.msg == nil {
				continue
			}
			if f.msg["type"] == "page.ready" {
				pg := f.msg["page"].(map[string]any)
				kept = append(kept, announced{actID, int(pg["index"].(float64)), pg["sha256"].(string)})
			}
			if f.msg["type"] == "capture.failed" || f.msg["type"] == "error" {
				failure = f
				break
			}
			if f.msg["type"] == "capture.done" {
				break
			}
		}
	}
	if failure.msg == nil {
		t.Fatal("40 captures fitted in 1.5 MB: the file system did not fill")
	}
	if !bytes.Contains(failure.raw, []byte("store_failed")) || !bytes.Contains(failure.raw, []byte("disco pieno")) {
		t.Fatalf("the failure is not the Italian disk-full error: %s", failure.raw)
	}
	if !logged(ag, "code=store_failed") {
		t.Error("no English log line for the full disk")
	}
	if len(kept) == 0 {
		t.Fatal("nothing was stored before the disk filled")
	}
	// The agent still answers, and every page stored before is intact.
	if _, err := cl.call(map[string]any{"type": "devices.list"}, "devices"); err != nil {
		t.Fatalf("agent unresponsive after the full disk: %v", err)
	}
	verify(t, cl, kept)

	// Room again: a capture works.
	if out, err := exec.Command("mount", "-o", "remount,size=64m", dir).CombinedOutput(); err != nil {
		t.Fatalf("growing the tmpfs: %v %s", err, out)
	}
	act, err := cl.call(map[string]any{"type": "act.open", "kind": "nascita", "signers": []map[string]string{}}, "act.opened")
	if err != nil {
		t.Fatalf("act.open with room again: %v", err)
	}
	actID := act.msg["act"].(map[string]any)["id"].(string)
	if _, err := cl.call(map[string]any{"type": "capture.start", "act": actID, "device": "sim:0",
		"source": "platen", "dpi": 150, "color": "gray"}, "capture.started"); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := cl.read()
		if err != nil {
			t.Fatal(err)
		}
		if f.msg != nil && f.msg["type"] == "capture.done" {
			break
		}
		if f.msg != nil && f.msg["type"] == "capture.failed" {
			t.Fatalf("capture with room again: %s", f.raw)
		}
	}
	cl.c.Close()
	var out, errb bytes.Buffer
	if code := run([]string{"check", "--store", dir}, &out, &errb); code != 0 {
		t.Fatalf("store check after the full disk: %s", errb.String())
	}
}
