//go:build !linux

package server

import "net/netip"

// peerUser cannot tell a connection's local user on this system: all
// connections share the same caps.
func peerUser(remote, local netip.AddrPort) string { return "" }
