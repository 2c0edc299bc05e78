//go:build windows

package server

import (
	"encoding/binary"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	iphlpapi            = windows.NewLazySystemDLL("iphlpapi.dll")
	getExtendedTcpTable = iphlpapi.NewProc("GetExtendedTcpTable")
)

// tcpTableOwnerPIDConnections is TCP_TABLE_OWNER_PID_CONNECTIONS: the
// connected sockets, each with the process that holds it.
const tcpTableOwnerPIDConnections = 4

// peerUser names the local user whose process holds the other end of a
// loopback TCP connection, by its SID: the peer's socket is the one whose
// local end is our remote end, and Windows keeps the process that owns
// it. "" when it cannot tell (no such row, or no process id: a program
// Windows did not start, as under Wine). A process whose owner cannot be
// read, as another user's cannot by an unprivileged agent, is named
// "unreadable": not this user, whatever it is.
func peerUser(remote, local netip.AddrPort) string {
	pid := owningPID(remote, local)
	if pid == 0 {
		return ""
	}
	return processUser(pid)
}

func owningPID(remote, local netip.AddrPort) uint32 {
	remote, local = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port()), netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	family := uint32(windows.AF_INET)
	if remote.Addr().Is6() {
		family = windows.AF_INET6
	}
	var table []byte
	size := uint32(16 << 10)
	for range 4 { // the table may grow between the two calls
		table = make([]byte, size)
		r, _, _ := getExtendedTcpTable.Call(uintptr(unsafe.Pointer(&table[0])), uintptr(unsafe.Pointer(&size)), 0,
			uintptr(family), tcpTableOwnerPIDConnections, 0)
		if r == 0 {
			break
		}
		if r != uintptr(windows.ERROR_INSUFFICIENT_BUFFER) {
			return 0
		}
		table = nil
	}
	if table == nil {
		return 0
	}
	return findOwner(table, family == windows.AF_INET6, remote, local)
}

// findOwner reads a MIB_TCPTABLE_OWNER_PID (or its IPv6 form) for the
// socket from remote to local: ports are in network order in the low
// half of their DWORD, IPv4 addresses in network order.
func findOwner(table []byte, v6 bool, remote, local netip.AddrPort) uint32 {
	if len(table) < 4 {
		return 0
	}
	n := int(binary.LittleEndian.Uint32(table))
	rowSize := 24 // state, local addr, local port, remote addr, remote port, pid
	if v6 {
		rowSize = 56 // local addr[16], scope, port, remote addr[16], scope, port, state, pid
	}
	port := func(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
	for i := range n {
		off := 4 + i*rowSize
		if off+rowSize > len(table) {
			return 0
		}
		row := table[off : off+rowSize]
		var la, ra netip.Addr
		var lp, rp uint16
		var pid uint32
		if v6 {
			la, ra = netip.AddrFrom16([16]byte(row[0:16])), netip.AddrFrom16([16]byte(row[24:40]))
			lp, rp, pid = port(row[20:]), port(row[44:]), binary.LittleEndian.Uint32(row[52:])
		} else {
			la, ra = netip.AddrFrom4([4]byte(row[4:8])), netip.AddrFrom4([4]byte(row[12:16]))
			lp, rp, pid = port(row[8:]), port(row[16:]), binary.LittleEndian.Uint32(row[20:])
		}
		// The peer's socket: its local end is our remote end.
		if netip.AddrPortFrom(la, lp) == remote && netip.AddrPortFrom(ra, rp) == local {
			return pid
		}
	}
	return 0
}

// processUser is the SID of the user a process runs as.
func processUser(pid uint32) string {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return unreadableUser
	}
	defer windows.CloseHandle(h)
	var tok windows.Token
	if err := windows.OpenProcessToken(h, windows.TOKEN_QUERY, &tok); err != nil {
		return unreadableUser
	}
	defer tok.Close()
	if sid := tokenUser(tok); sid != "" {
		return sid
	}
	return unreadableUser
}

// unreadableUser is a process whose owner this agent may not read.
const unreadableUser = "unreadable"

// ownUser is the SID this agent runs as.
func ownUser() string { return tokenUser(windows.GetCurrentProcessToken()) }

// tokenUser is the SID of a token's user ("" when it cannot be read).
func tokenUser(tok windows.Token) string {
	u, err := tok.GetTokenUser()
	if err != nil {
		return ""
	}
	return u.User.Sid.String()
}
