package saned

import (
	"errors"
	"runtime"
	"syscall"
)

// wsaeConnRefused is Windows' own number for a refused connection, which
// is what its network calls report; syscall.ECONNREFUSED there is a value
// Go invented and no call returns.
const wsaeConnRefused = syscall.Errno(10061)

// refused tells whether nothing listens at the address: on this machine,
// no saned.
func refused(err error) bool {
	if runtime.GOOS == "windows" {
		return errors.Is(err, wsaeConnRefused)
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}
