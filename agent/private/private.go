// Package private keeps files and folders to their owner: the store's key
// and database, the runtime file with the admin secret. On Unix that is
// the mode (0700 folders, 0600 files); on Windows, where the mode says
// nothing (every file reports 0666), a protected access list that grants
// the owner alone, checked the same way at start.
package private

import (
	"errors"
	"fmt"
	"os"
)

// ErrExposed is returned, wrapped in an *ExposedError, when a file can be
// read by someone other than its owner.
var ErrExposed = errors.New("readable by others")

// ExposedError says who else can read a file, in the platform's terms.
type ExposedError struct {
	Path string
	Who  string // "mode 0644", or the accounts an access list admits
	Fix  string // the command that makes it private again
}

func (e *ExposedError) Error() string {
	return fmt.Sprintf("%s is readable by others (%s): %s", e.Path, e.Who, e.Fix)
}

func (e *ExposedError) Unwrap() error { return ErrExposed }

// MkdirAll makes dir and its parents, and makes dir private to its owner.
func MkdirAll(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return restrict(dir, true)
}

// Restrict makes an existing file private to its owner.
func Restrict(path string) error { return restrict(path, false) }

// Check returns an *ExposedError when path can be read by another user,
// nil when only its owner can, and the error of reading its permissions
// otherwise.
func Check(path string) error { return check(path) }

// ErrLocked is returned by Lock when another process holds the lock.
var ErrLocked = errors.New("held by another process")

// Lock takes the exclusive lock of the file at path, made private to its
// owner if new, and holds it until the returned file is closed or the
// process ends (a crash leaves no stale lock). An agent holds its store's,
// so that a second agent of the same user, which would start on the next
// port, cannot open the same store beside it.
func Lock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := restrict(path, false); err != nil {
		f.Close()
		return nil, err
	}
	if err := lock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}
