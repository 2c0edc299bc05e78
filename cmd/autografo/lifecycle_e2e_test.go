package main

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/autografo/autografo/scanner/scannertest"
)

// simSigners are the simulated act's signers, named as it prints them.
var simSigners = []map[string]string{
	{"role": "sposo", "nome": "Marco", "cognome": "Bianchi"}, {"role": "sposa", "nome": "Giulia", "cognome": "Esposito"},
	{"role": "testimone1", "nome": "Luca", "cognome": "Romano"}, {"role": "testimone2", "nome": "Chiara", "cognome": "Colombo"},
	{"role": "ufficiale", "nome": "Anna", "cognome": "Ricci"},
}

// stored is what the store holds of an act, read from its database with
// the agent stopped: the ground truth a restart must keep.
type stored struct {
	state     string
	pages     []string          // the pages' SHA-256, in capture order
	positions map[int]int       // page -> place in the document
	analysed  map[int]bool      // page -> analysed
	verdicts  map[string]string // "page/role" -> verdict
	document  string            // the act's document's SHA-256, once ready
}

func readStored(t *testing.T, storeDir, act string) stored {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(storeDir, "autografo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := stored{positions: map[int]int{}, analysed: map[int]bool{}, verdicts: map[string]string{}}
	var doc string
	if err := db.QueryRow(`SELECT state, document FROM acts WHERE id = ?`, act).Scan(&s.state, &doc); err != nil {
		t.Fatalf("act %s: %v", act, err)
	}
	if doc != "" {
		if err := db.QueryRow(`SELECT sha256 FROM documents WHERE act = ? AND name = ?`, act, doc).Scan(&s.document); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := db.Query(`SELECT idx, sha256, position, analysed FROM pages WHERE act = ? ORDER BY idx`, act)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var idx, pos int
		var sum string
		var analysed bool
		rows.Scan(&idx, &sum, &pos, &analysed)
		s.pages = append(s.pages, sum)
		s.positions[idx], s.analysed[idx] = pos, analysed
	}
	rows.Close()
	rows, err = db.Query(`SELECT page, role, verdict FROM decisions WHERE act = ?`, act)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var page int
		var role, v string
		rows.Scan(&page, &role, &v)
		s.verdicts[fmt.Sprintf("%d/%s", page, role)] = v
	}
	rows.Close()
	return s
}

// kill ends the agent with SIGKILL and waits for it to be gone.
func kill(t *testing.T, ag *agentProc) {
	t.Helper()
	_ = ag.cmd.Process.Signal(syscall.SIGKILL)
	<-ag.done
	ag.done <- nil // for the cleanup
}

// documentImages are the SHA-256 of the images a PDF holds, in page order:
// the scanner's JPEGs, when they went in unchanged.
func documentImages(t *testing.T, pdf []byte) []string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "doc.pdf")
	os.WriteFile(path, pdf, 0o600)
	if out, err := exec.Command(scannertest.Need(t, "pdfimages"), "-j", path, filepath.Join(dir, "img")).CombinedOutput(); err != nil {
		t.Fatalf("pdfimages: %v\n%s", err, out)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "img-*.jpg"))
	sort.Strings(names)
	var out []string
	for _, n := range names {
		b, _ := os.ReadFile(n)
		sum := sha256.Sum256(b)
		out = append(out, hex.EncodeToString(sum[:]))
	}
	return out
}

// SIGKILL in each state of an act, and a restart: the act is where it
// was (an interrupted capture ends, keeping its pages; pages left are
// analysed), the verdicts already given are the same, and the document it
// reaches holds the captured pages, in their order, byte for byte.
func TestRestartInEveryStateKeepsTheAct(t *testing.T) {
	for _, tc := range []struct {
		state string
		args  []string
		// signers of the act; a dichiarante has no box on the simulated
		// act, which keeps it checked until the officer confirms.
		signers []map[string]string
		// killAt says, of each frame, whether to kill the agent now.
		killAt  func(f frame) bool
		print   bool // print the sheets first
		deliver bool
		// after: where the act is right after the restart, and at last.
		after, final string
	}{
		{state: "draft", signers: simSigners, after: "draft", final: "draft"},
		{state: "printed", signers: simSigners, print: true, after: "printed", final: "printed"},
		// Killed after the first of three pages: the signatures are on
		// the last, so after the restart the act waits for the officer
		// (checked), and a second capture completes it.
		{state: "capturing", signers: simSigners, args: []string{"--sim-pages", "3", "--sim-page-time", "300ms"},
			killAt: func(f frame) bool { return f.msg["type"] == "page.ready" }, after: "", final: "ready"},
		{state: "captured", signers: simSigners, args: []string{"--sim-pages", "2", "--sim-page-time", "1ms", "--sim-dpi-note"},
			killAt: func(f frame) bool { return f.msg["type"] == "act.changed" && actState(f) == "captured" }, final: "ready"},
		{state: "checked", signers: append(slices.Clone(simSigners), map[string]string{"role": "dichiarante", "nome": "Marco", "cognome": "Ferri"}),
			killAt: func(f frame) bool { return f.msg["type"] == "act.changed" && actState(f) == "checked" }, after: "checked", final: "ready"},
		{state: "ready", signers: simSigners,
			killAt: func(f frame) bool { return f.msg["type"] == "act.changed" && actState(f) == "ready" }, after: "ready", final: "ready"},
		{state: "delivered", signers: simSigners, deliver: true,
			killAt: func(f frame) bool { return f.msg["type"] == "act.changed" && actState(f) == "ready" }, after: "delivered", final: "confirmed"},
	} {
		t.Run(tc.state, func(t *testing.T) {
			storeDir := t.TempDir()
			dpi := 150
			args := []string{"--store", storeDir, "--saned", "", "--sim-pages", "2", "--sim-page-time", "1ms"}
			for i := 0; i < len(tc.args); i++ {
				if tc.args[i] == "--sim-dpi-note" {
					// Pages at 600 dpi take the pipeline long enough
					// that the capture ends before the last is analysed.
					dpi = 600
					continue
				}
				args = append(args, tc.args[i])
			}
			var before stored
			var actID, delivery string
			// A kill lands in the state it aims at nearly always; when
			// the machine raced past it, try again with a new act.
			for attempt := 1; ; attempt++ {
				ag := startAgent(t, args...)
				cl, err := dialAgent(t, ag)
				if err != nil {
					t.Fatal(err)
				}
				actID = openAct(t, cl, "matrimonio", tc.signers)
				if tc.print {
					printSheets(t, ag, cl, actID, nil)
				}
				if tc.killAt != nil {
					if _, err := cl.call(map[string]any{"type": "capture.start", "act": actID, "device": "sim:0", "source": "feeder",
						"dpi": dpi, "color": "gray"}, "capture.started"); err != nil {
						t.Fatal(err)
					}
					for {
						f, err := cl.read()
						if err != nil {
							t.Fatalf("%v\n%s", err, ag.logs)
						}
						if f.msg != nil && (f.msg["act"] == actID || f.msg["type"] == "act.changed") && tc.killAt(f) {
							break
						}
					}
				}
				if tc.deliver {
					d, err := cl.call(map[string]any{"type": "act.deliver", "act": actID}, "act.delivered")
					if err != nil {
						t.Fatal(err)
					}
					delivery = d.msg["delivery"].(string)
				}
				kill(t, ag)
				before = readStored(t, storeDir, actID)
				if before.state == tc.state || attempt == 5 {
					break
				}
				t.Logf("attempt %d: killed in %s, not %s; again", attempt, before.state, tc.state)
			}
			if before.state != tc.state {
				t.Fatalf("killed in state %s, want %s", before.state, tc.state)
			}

			ag := startAgent(t, args...)
			cl, err := dialAgent(t, ag)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.c.Close()
			if tc.after != "" {
				resumed, err := cl.call(map[string]any{"type": "act.resume", "act": actID}, "act.resumed")
				if err != nil {
					t.Fatal(err)
				}
				if got := actState(resumed); got != tc.after {
					t.Fatalf("after the restart the act is %s, want %s\n%s", got, tc.after, ag.logs)
				}
			}
			switch tc.final {
			case "ready":
				if tc.state == "checked" {
					if _, err := cl.call(map[string]any{"type": "signature.override", "act": actID, "role": "dichiarante",
						"reason": "firma verificata a vista"}, "act.updated"); err != nil {
						t.Fatal(err)
					}
				}
				if tc.state == "capturing" {
					reachState(t, ag, cl, actID, "checked")
					if _, err := cl.call(map[string]any{"type": "capture.start", "act": actID, "device": "sim:0", "source": "feeder",
						"dpi": dpi, "color": "gray"}, "capture.started"); err != nil {
						t.Fatal(err)
					}
				}
				reachState(t, ag, cl, actID, "ready")
			case "confirmed":
				if _, err := cl.call(map[string]any{"type": "act.confirm", "act": actID, "attachment": "43676", "delivery": delivery}, "act.confirmed"); err != nil {
					t.Fatalf("confirming with the token from before the restart: %v", err)
				}
			}
			cl.c.Close()
			kill(t, ag)
			after := readStored(t, storeDir, actID)
			if after.state != tc.final {
				t.Fatalf("the act ended %s, want %s", after.state, tc.final)
			}
			// The pages announced before are all there; the verdicts
			// given before are unchanged.
			if len(after.pages) < len(before.pages) || !slices.Equal(after.pages[:len(before.pages)], before.pages) {
				t.Errorf("pages before %v, after %v", before.pages, after.pages)
			}
			for k, v := range before.verdicts {
				if after.verdicts[k] != v {
					t.Errorf("verdict %s was %s, is %s", k, v, after.verdicts[k])
				}
			}
			if before.document != "" && after.document != before.document {
				t.Errorf("the document changed across the restart: %s -> %s", before.document, after.document)
			}
			if tc.final != "ready" && tc.final != "confirmed" {
				return
			}
			for i := range after.pages {
				if after.positions[i+1] != i+1 || !after.analysed[i+1] {
					t.Errorf("page %d: position %d, analysed %v", i+1, after.positions[i+1], after.analysed[i+1])
				}
			}
			// The document from a fresh start holds the pages in their
			// order, unchanged.
			ag = startAgent(t, args...)
			cl, err = dialAgent(t, ag)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.c.Close()
			ready, pdf := documentOf(t, cl, actID, nil)
			if ready.msg["document"].(map[string]any)["passThrough"] != true {
				t.Fatalf("the pages were re-encoded: %s", ready.raw)
			}
			if imgs := documentImages(t, pdf); !slices.Equal(imgs, after.pages) {
				t.Errorf("document images %v, want the pages %v", imgs, after.pages)
			}
			sum := sha256.Sum256(pdf)
			if hex.EncodeToString(sum[:]) != after.document {
				t.Errorf("document.build gave another document than the one kept")
			}
			t.Logf("%s: killed with %d pages (%d analysed), %d verdicts; restarted to %s, ended %s with %d pages",
				tc.state, len(before.pages), countTrue(before.analysed), len(before.verdicts), tc.after, after.state, len(after.pages))
		})
	}
}

// reachState returns once the act is in state: at once if it already is,
// else when an act.changed says so.
func reachState(t *testing.T, ag *agentProc, cl *wsClient, actID, state string) {
	t.Helper()
	cl.stash = nil // what came before this call is the past
	resumed, err := cl.call(map[string]any{"type": "act.resume", "act": actID}, "act.resumed")
	if err != nil {
		t.Fatal(err)
	}
	if actState(resumed) != state {
		waitState(t, ag, cl, actID, state)
	}
}

func actState(f frame) string {
	act, _ := f.msg["act"].(map[string]any)
	s, _ := act["state"].(string)
	return s
}

func countTrue(m map[int]bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}

// SIGTERM right after a capture ends, again and again: the log never shows
// a failed transaction or an error, and the act is complete, or completed
// at the next start.
func TestSigtermAfterACaptureNeverLeavesAFailedTransaction(t *testing.T) {
	rounds := envInt("AUTOGRAFO_SIGTERM_ROUNDS", 50)
	storeDir := t.TempDir()
	args := []string{"--store", storeDir, "--saned", "", "--sim-pages", "1", "--sim-page-time", "1ms"}
	prev := ""
	completedAtStart := 0
	for round := 0; round <= rounds; round++ {
		ag := startAgent(t, args...)
		cl, err := dialAgent(t, ag)
		if err != nil {
			t.Fatal(err)
		}
		if prev != "" {
			// The previous round's act: ready now, or soon, by this life.
			resumed, err := cl.call(map[string]any{"type": "act.resume", "act": prev}, "act.resumed")
			if err != nil {
				t.Fatal(err)
			}
			if actState(resumed) != "ready" {
				completedAtStart++
				reachState(t, ag, cl, prev, "ready")
			}
		}
		if round == rounds {
			cl.c.Close()
			break
		}
		prev = openAct(t, cl, "matrimonio", simSigners)
		if _, err := cl.call(map[string]any{"type": "capture.start", "act": prev, "device": "sim:0", "source": "feeder",
			"dpi": 150, "color": "gray"}, "capture.started"); err != nil {
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
		}
		_ = ag.cmd.Process.Signal(syscall.SIGTERM)
		if err := <-ag.done; err != nil {
			t.Fatalf("round %d: autografo exited with %v\n%s", round, err, ag.logs)
		}
		ag.done <- nil
		cl.c.Close()
		for _, line := range strings.Split(ag.logs.String(), "\n") {
			if strings.Contains(line, "level=ERROR") || strings.Contains(line, "rolled back") {
				t.Fatalf("round %d: %s\n%s", round, line, ag.logs)
			}
		}
	}
	t.Logf("%d rounds: %d acts were completed at the next start, %d were ready before the stop", rounds, completedAtStart, rounds-completedAtStart)
}
