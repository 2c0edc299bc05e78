//go:build !windows

package private_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/autografo/autografo/agent/private"
)

// expose lets every user read the file, as a copy made by hand may.
func expose(t *testing.T, path string) {
	t.Helper()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAnExposedFileIsNamedAndRestricted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	expose(t, path)
	err := private.Check(path)
	var exposed *private.ExposedError
	if !errors.As(err, &exposed) || !errors.Is(err, private.ErrExposed) || exposed.Path != path || exposed.Fix == "" {
		t.Fatalf("a file others can read: %v", err)
	}
	t.Logf("%v", err)
	if err := private.Restrict(path); err != nil {
		t.Fatal(err)
	}
	if err := private.Check(path); err != nil {
		t.Fatalf("after Restrict: %v", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "k" {
		t.Fatalf("its owner can no longer read it: %q %v", b, err)
	}
}
