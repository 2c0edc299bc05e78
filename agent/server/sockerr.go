package server

import (
	"errors"
	"runtime"
	"syscall"
)

// Windows' network calls report its own numbers (WSAEADDRINUSE and the
// like); syscall's E... constants there are values Go invented that no
// call returns, so each is asked for by its Windows number too.
const (
	wsaeAFNoSupport  = syscall.Errno(10047)
	wsaeAddrInUse    = syscall.Errno(10048)
	wsaeAddrNotAvail = syscall.Errno(10049)
)

// AddrInUse tells whether a bind failed because another socket holds the
// address.
func AddrInUse(err error) bool {
	if runtime.GOOS == "windows" {
		return errors.Is(err, wsaeAddrInUse)
	}
	return errors.Is(err, syscall.EADDRINUSE)
}

// addrUnavailable tells whether the machine has no such address (no IPv6
// loopback).
func addrUnavailable(err error) bool {
	if runtime.GOOS == "windows" {
		return errors.Is(err, wsaeAddrNotAvail) || errors.Is(err, wsaeAFNoSupport)
	}
	return errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT)
}
