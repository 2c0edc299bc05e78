//go:build !windows

package private

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

func restrict(path string, dir bool) error {
	mode := os.FileMode(0o600)
	if dir {
		mode = 0o700
	}
	return os.Chmod(path, mode)
}

func check(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	fix := "chmod 600 " + path
	if fi.IsDir() {
		fix = "chmod 700 " + path
	}
	return &ExposedError{Path: path, Who: fmt.Sprintf("mode %o", fi.Mode().Perm()), Fix: fix}
}

// lock takes an flock: per open file, so a second open in the same
// process is refused too.
func lock(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return ErrLocked
	}
	return err
}
