package store

import (
	"testing"
	"time"
)

func TestUsedTicketsOutliveAReopenUntilTheyExpire(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	now := time.Unix(1_800_000_000, 0)
	until := now.Add(10 * time.Minute)
	if first, err := s.FirstUse("side-1", until, now); err != nil || !first {
		t.Fatalf("first use: %v %v", first, err)
	}
	if first, err := s.FirstUse("side-1", until, now.Add(time.Second)); err != nil || first {
		t.Fatalf("second use: %v %v", first, err)
	}
	s.Close()
	s = openTest(t, dir)
	defer s.Close()
	if first, err := s.FirstUse("side-1", until, now.Add(time.Minute)); err != nil || first {
		t.Fatalf("use after a reopen: %v %v", first, err)
	}
	if first, err := s.FirstUse("side-2", until, now.Add(time.Minute)); err != nil || !first {
		t.Fatalf("another ticket: %v %v", first, err)
	}
	// Past its time the id is dropped: the ticket itself is refused as
	// expired before it gets here.
	if first, err := s.FirstUse("side-1", now.Add(time.Hour), now.Add(11*time.Minute)); err != nil || !first {
		t.Fatalf("after its time: %v %v", first, err)
	}
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM used_tickets WHERE digest = 'side-1' OR digest = 'side-2'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("ticket ids kept in clear: %d %v", n, err)
	}
}
