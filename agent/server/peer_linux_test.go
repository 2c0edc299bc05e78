package server

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"testing"
)

// The kernel's own table names our own connection's user.
func TestPeerUserOfALoopbackConnection(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			if host == "::1" {
				continue // no IPv6 loopback on this machine
			}
			t.Fatal(err)
		}
		defer ln.Close()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		remote := netip.MustParseAddrPort(s.RemoteAddr().String())
		local := netip.MustParseAddrPort(s.LocalAddr().String())
		if got, want := peerUser(remote, local), strconv.Itoa(os.Getuid()); got != want {
			t.Errorf("%s: peer user %q, want %q", host, got, want)
		}
		// Both ways of asking agree: the kernel's answer for that one
		// socket, and its whole table.
		if got, ok := diagUser(remote, local); !ok || got != strconv.Itoa(os.Getuid()) {
			t.Errorf("%s: sock_diag says %q %v", host, got, ok)
		}
		if got := procUser(remote, local); got != strconv.Itoa(os.Getuid()) {
			t.Errorf("%s: /proc/net says %q", host, got)
		}
		if got := peerUser(local, remote); got != strconv.Itoa(os.Getuid()) {
			t.Errorf("%s: the server's own end: %q", host, got)
		}
		if got := peerUser(netip.MustParseAddrPort(net.JoinHostPort(host, "1")), local); got != "" {
			t.Errorf("%s: a connection that does not exist: %q", host, got)
		}
	}
}

func FuzzProcAddr(f *testing.F) {
	for _, s := range []string{"0100007F:1F90", "00000000000000000000000001000000:0050", "zz:1", "0100007F", ":", "0100007F:FFFFF"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if a, ok := procAddr(s); ok && !a.IsValid() {
			t.Errorf("%q: invalid address reported as read", s)
		}
	})
}
