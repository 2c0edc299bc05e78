//go:build !windows

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// processAlive tells whether a process with this id runs (and may be
// signalled by this user).
func processAlive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// fileIdentity is what tells a file written anew from the same file left
// alone, beside its size and time: its inode.
func fileIdentity(path string, fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

// defaultStoreDir is per user: where a desktop keeps its data.
func defaultStoreDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "autografo")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "autografo")
	}
	return "autografo-data"
}

// defaultStateDir is per user: the runtime directory when there is one (it
// vanishes at logout), else ~/.local/state.
func defaultStateDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "autografo")
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "autografo")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "autografo")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("autografo-%d", os.Getuid()))
}
