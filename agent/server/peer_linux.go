package server

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ownUser is the uid this agent runs as, as peerUser names users.
func ownUser() string { return strconv.Itoa(os.Getuid()) }

// peerUser names the local user whose process holds the other end of a
// loopback TCP connection: the peer's socket is the one whose local end is
// our remote end, and the kernel knows its owner. It asks the kernel for
// that one socket (sock_diag); a flood of connections leaves thousands of
// sockets in /proc/net/tcp, too many to read for every dial, which is
// only the fallback. "" when it cannot tell.
func peerUser(remote, local netip.AddrPort) string {
	if uid, ok := diagUser(remote, local); ok {
		return uid
	}
	return procUser(remote, local)
}

// diagUser asks NETLINK_INET_DIAG for the TCP socket from remote to local.
func diagUser(remote, local netip.AddrPort) (string, bool) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_INET_DIAG)
	if err != nil {
		return "", false
	}
	defer unix.Close(fd)
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 1})
	family := byte(unix.AF_INET)
	if !remote.Addr().Is4() {
		family = unix.AF_INET6
	}
	// struct nlmsghdr, then struct inet_diag_req_v2 with its
	// inet_diag_sockid: ports and addresses in network order.
	req := make([]byte, 16+56)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST)
	r := req[16:]
	r[0], r[1] = family, unix.IPPROTO_TCP
	binary.NativeEndian.PutUint32(r[4:], 0xffffffff) // every state
	id := r[8:]
	binary.BigEndian.PutUint16(id[0:], remote.Port())
	binary.BigEndian.PutUint16(id[2:], local.Port())
	src, dst := remote.Addr().AsSlice(), local.Addr().AsSlice()
	copy(id[4:20], src)
	copy(id[20:36], dst)
	binary.NativeEndian.PutUint32(id[40:], 0xffffffff) // no cookie: look up by address
	binary.NativeEndian.PutUint32(id[44:], 0xffffffff)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return "", false
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil || n < 16 {
		return "", false
	}
	// An NLMSG_ERROR: no such socket (or no diag module).
	if binary.NativeEndian.Uint16(buf[4:]) != unix.SOCK_DIAG_BY_FAMILY || n < 16+72 {
		return "", false
	}
	// struct inet_diag_msg: 4 bytes, the sockid, expires, rqueue, wqueue,
	// then the uid.
	return strconv.FormatUint(uint64(binary.NativeEndian.Uint32(buf[16+4+48+12:])), 10), true
}

// procUser finds the socket from remote to local in /proc/net/tcp or tcp6.
func procUser(remote, local netip.AddrPort) string {
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
