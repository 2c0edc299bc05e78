package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autografo/autografo/scanner/scannertest"
)

// The systemd units in docs/systemd, as an office installs them: systemd
// itself reads them without a complaint, the kiosk's confinement scores as
// systemd's own review measures it, and each unit's command line, run as
// the unit runs it, serves and stops cleanly on SIGTERM; a configuration
// it refuses exits with the status the units do not restart on.
func TestServiceUnits(t *testing.T) {
	analyze := scannertest.Need(t, "systemd-analyze")
	bin := agentBinary(t)
	dir := t.TempDir()
	units := map[string]string{}
	for _, name := range []string{"autografo.service", "autografo-kiosk.service"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "docs", "systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte("ExecStart=/usr/bin/autografo serve")) || !bytes.Contains(data, []byte("RestartPreventExitStatus=2\n")) {
			t.Fatalf("%s: no ExecStart of /usr/bin/autografo serve, or it restarts on a refused configuration", name)
		}
		// The binary under test in place of the installed one: verify
		// checks that the command exists.
		unit := strings.ReplaceAll(string(data), "/usr/bin/autografo", bin)
		units[name] = unit
		if err := os.WriteFile(filepath.Join(dir, name), []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	verify := exec.Command(analyze, "verify", "--man=no", "autografo.service", "autografo-kiosk.service")
	verify.Dir = dir
	if out, err := verify.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// systemd's exposure score, 0 (confined) to 10 (exposed): the kiosk's
	// unit measured 1.5 when written. The score moves little for one
	// protection dropped, so the ones a kiosk needs are named too.
	for _, line := range []string{"User=autografo", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
		"DevicePolicy=closed", "DeviceAllow=char-usb_device rw", "CapabilityBoundingSet=", "StateDirectoryMode=0700", "UMask=0077"} {
		if !strings.Contains(units["autografo-kiosk.service"], "\n"+line+"\n") {
			t.Errorf("the kiosk unit has no %s", line)
		}
	}
	security := exec.Command(analyze, "security", "--offline=true", "--threshold=15", "autografo-kiosk.service")
	security.Dir = dir
	if out, err := security.CombinedOutput(); err != nil {
		t.Errorf("the kiosk unit is less confined than it was: %v\n%s", err, out)
	}

	// Each unit's command line, as systemd runs it: the kiosk's with the
	// state and runtime directories systemd makes for it.
	for name, unit := range units {
		t.Run(name, func(t *testing.T) {
			args := execStart(t, unit)
			home, state := t.TempDir(), t.TempDir()
			env := append(os.Environ(), "HOME="+home, "STATE_DIRECTORY="+state, "RUNTIME_DIRECTORY="+t.TempDir())
			for i, a := range args {
				args[i] = os.Expand(a, func(k string) string {
					for _, kv := range env {
						if v, ok := strings.CutPrefix(kv, k+"="); ok {
							return v
						}
					}
					return ""
				})
			}
			extra := []string{"--sim", "--port", "0", "--saned", "", "--usb=false", "--mdns=false"}
			cmd := exec.Command(args[0], append(args[1:], extra...)...)
			cmd.Env = env
			logs, err := serveOnce(t, cmd, "Autografo è pronto su http://127.0.0.1:", nil)
			if err != nil {
				t.Fatalf("%s, stopped by SIGTERM: %v\n%s", args, err, logs)
			}
			// The store where the unit puts it: the user's data folder, or
			// the kiosk's state directory.
			db := filepath.Join(home, ".local", "share", "autografo", "autografo.db")
			if strings.Contains(unit, "StateDirectory=") {
				db = filepath.Join(state, "autografo.db")
			}
			if _, err := os.Stat(db); err != nil {
				t.Errorf("the store is not where the unit puts it: %v", err)
			}
			// The logs are JSON lines, for the journal.
			for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
				if !strings.HasPrefix(line, "{") {
					t.Errorf("a log line that is not JSON: %q", line)
				}
			}
			// A smart card's configuration refused: status 2, which the
			// units do not restart on.
			refused := exec.Command(args[0], append(args[1:], append(extra, "--attest-p12", filepath.Join(t.TempDir(), "missing.p12"))...)...)
			refused.Env = env
			out, err := refused.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Errorf("a refused configuration: %v, want exit status 2\n%s", err, out)
			}
		})
	}
}

// execStart is a unit's ExecStart command line, split on spaces (the units
// quote nothing).
func execStart(t *testing.T, unit string) []string {
	t.Helper()
	for _, line := range strings.Split(unit, "\n") {
		if cmd, ok := strings.CutPrefix(line, "ExecStart="); ok {
			return strings.Fields(cmd)
		}
	}
	t.Fatal("no ExecStart")
	return nil
}
