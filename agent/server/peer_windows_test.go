//go:build windows

package server

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// The TCP table as GetExtendedTcpTable lays it out: the peer's row is
// found by its ends, ports in network order, and no other row matches.
func TestFindOwnerInTheTCPTable(t *testing.T) {
	agent := netip.MustParseAddrPort("127.0.0.1:8734")
	browser := netip.MustParseAddrPort("127.0.0.1:50123")
	row4 := func(local, remote netip.AddrPort, pid uint32) []byte {
		r := make([]byte, 24)
		binary.LittleEndian.PutUint32(r[0:], 5) // ESTABLISHED
		copy(r[4:8], local.Addr().AsSlice())
		binary.BigEndian.PutUint16(r[8:], local.Port())
		copy(r[12:16], remote.Addr().AsSlice())
		binary.BigEndian.PutUint16(r[16:], remote.Port())
		binary.LittleEndian.PutUint32(r[20:], pid)
		return r
	}
	table := binary.LittleEndian.AppendUint32(nil, 3)
	table = append(table, row4(agent, browser, 100)...)  // the agent's own end
	table = append(table, row4(browser, agent, 4242)...) // the browser's
	table = append(table, row4(browser, netip.MustParseAddrPort("127.0.0.1:8733"), 7)...)
	if pid := findOwner(table, false, browser, agent); pid != 4242 {
		t.Errorf("the browser's end: pid %d, want 4242", pid)
	}
	if pid := findOwner(table, false, netip.MustParseAddrPort("127.0.0.1:1"), agent); pid != 0 {
		t.Errorf("no such socket: pid %d", pid)
	}
	if pid := findOwner(table[:30], false, browser, agent); pid != 0 {
		t.Errorf("a table cut short: pid %d", pid)
	}

	a6, b6 := netip.MustParseAddrPort("[::1]:8734"), netip.MustParseAddrPort("[::1]:50124")
	r := make([]byte, 56)
	copy(r[0:16], b6.Addr().AsSlice())
	binary.BigEndian.PutUint16(r[20:], b6.Port())
	copy(r[24:40], a6.Addr().AsSlice())
	binary.BigEndian.PutUint16(r[44:], a6.Port())
	binary.LittleEndian.PutUint32(r[52:], 99)
	table6 := append(binary.LittleEndian.AppendUint32(nil, 1), r...)
	if pid := findOwner(table6, true, b6, a6); pid != 99 {
		t.Errorf("IPv6: pid %d, want 99", pid)
	}
}
