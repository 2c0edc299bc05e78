//go:build !linux && !windows

package server

import "net/netip"

// peerUser cannot tell a connection's local user on this system: all
// connections share the same caps, and any local user's program may
// reach the agent (the pairing or a ticket still stands in its way).
func peerUser(remote, local netip.AddrPort) string { return "" }

func ownUser() string { return "" }
