package main

import (
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The launch file's URL leads the browser back to the very file, on this
// platform's paths: file:///C:/Users/... on Windows, not file://C:%5C...
func TestTheLaunchFilesURLNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "open-x y.html")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	u, err := fileURL(path)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := url.Parse(u)
	if err != nil || parsed.Scheme != "file" || parsed.Host != "" || !strings.HasPrefix(u, "file:///") {
		t.Fatalf("%s: not a local file URL (%v)", u, err)
	}
	back := parsed.Path
	if runtime.GOOS == "windows" {
		back = filepath.FromSlash(strings.TrimPrefix(back, "/"))
	}
	if b, err := os.ReadFile(back); err != nil || string(b) != "x" {
		t.Fatalf("%s leads to %s, which does not hold the file: %v", u, back, err)
	}
}

func TestTheOperatorIsNamedWithoutTheDomain(t *testing.T) {
	for in, want := range map[string]string{`COMUNE\mrossi`: "mrossi", "mrossi": "mrossi", `PC-01\Anagrafe 2`: "Anagrafe 2", `odd\`: `odd\`} {
		if got := accountName(in); got != want {
			t.Errorf("accountName(%q) = %q, want %q", in, got, want)
		}
	}
	if strings.Contains(currentUser(), `\`) {
		t.Errorf("the journal would name %q", currentUser())
	}
}

// The state and the store are the user's own: under %LOCALAPPDATA% on
// Windows, the XDG folders elsewhere; never the same folder.
func TestDefaultFoldersAreTheUsers(t *testing.T) {
	store, state := defaultStoreDir(), defaultStateDir()
	if store == state || !filepath.IsAbs(store) || !filepath.IsAbs(state) {
		t.Fatalf("store %q, state %q", store, state)
	}
	if runtime.GOOS == "windows" {
		base := os.Getenv("LOCALAPPDATA")
		if base == "" || !strings.HasPrefix(store, filepath.Join(base, "Autografo")) || !strings.HasPrefix(state, filepath.Join(base, "Autografo")) {
			t.Errorf("store %q, state %q: not under %%LOCALAPPDATA%%\\Autografo (%q)", store, state, base)
		}
	}
}

// A process is known alive by its id, and a finished one is not.
func TestProcessAlive(t *testing.T) {
	if !processAlive(os.Getpid()) {
		t.Error("this process is not seen alive")
	}
	if processAlive(1 << 30) {
		t.Error("a process id nobody has is seen alive")
	}
}
