package private_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/autografo/autografo/agent/private"
)

func TestAFolderMadePrivateKeepsWhatIsWrittenInItPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "store")
	if err := private.MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := private.Check(dir); err != nil {
		t.Fatalf("a folder just made private: %v", err)
	}
	key := filepath.Join(dir, "key")
	if err := os.WriteFile(key, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := private.Check(key); err != nil {
		t.Fatalf("a file made 0600 in it: %v", err)
	}
}

func TestAMissingFileIsNotExposure(t *testing.T) {
	err := private.Check(filepath.Join(t.TempDir(), "none"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing file: %v", err)
	}
}

func TestALockIsHeldUntilClosed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.lock")
	first, err := private.Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := private.Check(path); err != nil {
		t.Errorf("the lock file: %v", err)
	}
	second, err := private.Lock(path)
	if !errors.Is(err, private.ErrLocked) {
		if second != nil {
			second.Close()
		}
		t.Fatalf("a second lock while the first is held: %v, want ErrLocked", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := private.Lock(path)
	if err != nil {
		t.Fatalf("the lock once released: %v", err)
	}
	again.Close()
}
