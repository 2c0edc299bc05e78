package scannertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Unavailable reports that a test's tool or peer is missing. In CI
// (CI=true) that is a failure: CI installs everything the tests need, and a
// skip there would hide a broken setup. Elsewhere the test is skipped with
// the reason, since `make test` would install it.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("unavailable in CI: "+format, args...)
	}
	t.Skipf(format, args...)
}

// Need returns the path of the first of the programs found on PATH or in
// /usr/sbin, or reports the first name as unavailable.
func Need(t testing.TB, names ...string) string {
	t.Helper()
	for _, n := range names {
		for _, p := range []string{n, "/usr/sbin/" + n} {
			if path, err := exec.LookPath(p); err == nil {
				return path
			}
		}
	}
	Unavailable(t, "%s not found (make test installs it)", names[0])
	return ""
}

// NeedFiles reports as unavailable the first of the files that is missing.
func NeedFiles(t testing.TB, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			Unavailable(t, "%s missing (make test installs or CI provides it)", p)
		}
	}
}

// Shared returns a path inside the shared folder that sits beside the
// project (test corpora, ANSC's files), or reports it unavailable.
func Shared(t testing.TB, rel ...string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
	p := filepath.Join(append([]string{dir, "..", "shared"}, rel...)...)
	NeedFiles(t, p)
	return p
}

// AsOtherUser returns a command that runs name with args as another user of
// the machine (nobody, through setpriv), for tests of what a second user of
// the workstation can reach. Playing another user needs root, which CI has:
// without it the test is reported unavailable, a failure in CI.
func AsOtherUser(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	setpriv := Need(t, "setpriv")
	if os.Geteuid() != 0 {
		Unavailable(t, "playing another user through setpriv needs root")
	}
	return exec.Command(setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", name}, args...)...)
}
