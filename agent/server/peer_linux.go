package server

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// peerUser names the local user whose process holds the other end of a
// loopback TCP connection: the kernel lists every socket with its owner's
// uid in /proc/net/tcp (and tcp6), where the peer's socket is the one whose
// local end is our remote end. "" when it cannot tell.
func peerUser(remote, local netip.AddrPort) string {
	table := "/proc/net/tcp"
	if remote.Addr().Is6() && !remote.Addr().Is4In6() {
		table = "/proc/net/tcp6"
	}
	f, err := os.Open(table)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 {
			continue
		}
		l, ok1 := procAddr(fields[1])
		r, ok2 := procAddr(fields[2])
		if ok1 && ok2 && l == remote && r == local {
			return fields[7]
		}
	}
	return ""
}

// procAddr reads an address as /proc/net/tcp prints it: the address in
// 32-bit words, each in the machine's byte order, then the port, all hex.
func procAddr(s string) (netip.AddrPort, bool) {
	a, p, ok := strings.Cut(s, ":")
	if !ok || (len(a) != 8 && len(a) != 32) {
		return netip.AddrPort{}, false
	}
	raw, err := hex.DecodeString(a)
	if err != nil {
		return netip.AddrPort{}, false
	}
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(raw[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	addr, ok := netip.AddrFromSlice(raw)
	if !ok {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), true
}
