package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autografo/autografo/agent/private"
)

// `autografo stop` ends the running agent as a signal does, and waits for
// it: the way to stop the windowless agent Windows starts at logon, which
// logs to a file (--log-file) for want of a console. Only the runtime
// file's secret may ask; a page may not.
func TestStopCommandEndsTheAgent(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "logs", "autografo.log")
	ag := startAgent(t, "--log-file", logFile)
	// A page cannot ask (it carries an Origin), nor a program without the
	// secret.
	req, _ := http.NewRequest("POST", ag.Base+"v1/admin/stop", strings.NewReader("{}"))
	req.Header.Set("Origin", strings.TrimSuffix(ag.Base, "/"))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a stop asked by a page: %v %v", resp, err)
	}
	req, _ = http.NewRequest("POST", ag.Base+"v1/admin/stop", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer not-the-secret")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a stop with a wrong secret: %v %v", resp, err)
	}
	out := runCLI(t, ag, "stop")
	if !strings.Contains(out, "fermato") {
		t.Errorf("stop said %q", out)
	}
	// The agent ends by itself, cleanly (the wait has no bound: an agent
	// that does not stop hangs here and the test's timeout reports it).
	if err := ag.wait(); err != nil {
		t.Fatalf("the agent stopped with %v\n%s", err, ag.logs)
	}
	logged, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"autografo started", "refused admin request", "stop asked by the workstation's user"} {
		if !strings.Contains(string(logged), want) {
			t.Errorf("the log file does not say %q:\n%s", want, logged)
		}
	}
	if ag.logs.String() != "" {
		t.Errorf("with --log-file, standard error still had:\n%s", ag.logs)
	}
	if err := private.Check(logFile); err != nil {
		t.Errorf("the log file: %v", err)
	}
}
