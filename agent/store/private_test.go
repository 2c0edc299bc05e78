//go:build !windows

package store

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/autografo/autografo/agent/auth/attacklog"
	"github.com/autografo/autografo/scanner/scannertest"
)

// The store's directory becomes 0700 and its database, WAL and shm 0600,
// for a new store and for one left readable by an older version; another
// user cannot read any of them.
func TestAttackOtherUserReadsTheStore(t *testing.T) {
	parent := t.TempDir()
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "store")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		s := openTest(t, dir)
		defer s.Close()
		if err := s.CreateAct(t.Context(), Act{ID: "a-" + when, Kind: "matrimonio", Ref: "Marco Bianchi e Giulia Esposito"}, nil, anna); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: directory mode %v %v", when, fi.Mode().Perm(), err)
		}
		for _, name := range []string{"autografo.db", "autografo.db-wal", "autografo.db-shm", "key"} {
			p := filepath.Join(dir, name)
			fi, err := os.Stat(p)
			if err != nil {
				t.Errorf("%s: %s: %v", when, name, err)
				continue
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %s has mode %v", when, name, fi.Mode().Perm())
			}
			if err := scannertest.AsOtherUser(t, "cat", p).Run(); err == nil {
				t.Errorf("%s: another user read %s", when, name)
			}
		}
	}
	check("new")
	defer func() {
		attacklog.Record(t, "another OS user reads the store's database, WAL, shm and key (a new store, and one an older version left 0755/0644)",
			"directory 0700, files 0600, each read refused", "modes fixed at open; every read refused="+strconv.FormatBool(!t.Failed()))
	}()
	// An older Autografo's store: readable by all.
	for _, p := range []string{dir, filepath.Join(dir, "autografo.db")} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	check("reopened")
}
