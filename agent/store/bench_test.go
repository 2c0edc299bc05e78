package store

import (
	"crypto/rand"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkCommitPage commits a 1 MB page (a 300 dpi scan as JPEG), sealed
// and fsynced, and reports the latency distribution.
func BenchmarkCommitPage(b *testing.B) {
	s := openTest(&testing.T{}, b.TempDir())
	defer s.Close()
	ctx := b.Context()
	page := make([]byte, 1<<20)
	rand.Read(page)
	if err := s.CreateAct(ctx, Act{ID: "act", Kind: "matrimonio"}, nil, anna); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Transition(ctx, "act", StateCapturing, anna, "bench", nil, nil); err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	b.SetBytes(int64(len(page)))
	for b.Loop() {
		t0 := time.Now()
		if _, err := s.AddPage(ctx, Page{Act: "act", MediaType: "image/jpeg"}, page, anna); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

func fill(b *testing.B, dir string, acts int, confirm bool) {
	s := openTest(&testing.T{}, dir)
	defer s.Close()
	ctx := b.Context()
	page := make([]byte, 4096)
	for i := range acts {
		id := fmt.Sprintf("act-%04d", i)
		if err := s.CreateAct(ctx, Act{ID: id, Kind: "matrimonio"}, []Signer{{Role: "sposo", Nome: "Marco", Cognome: "Bianchi"}}, anna); err != nil {
			b.Fatal(err)
		}
		capture(b, s, id, string(page))
		if confirm {
			confirmAct(b, s, id, "A-"+id)
		}
	}
}

// BenchmarkOpen1000Acts is the start-up: open a store holding 1,000 acts
// and list the pending ones.
func BenchmarkOpen1000Acts(b *testing.B) {
	dir := b.TempDir()
	fill(b, dir, 1000, false)
	key, _ := LoadOrCreateKey(filepath.Join(dir, "key"))
	for b.Loop() {
		s, err := Open(filepath.Join(dir, "autografo.db"), key)
		if err != nil {
			b.Fatal(err)
		}
		acts, err := s.Pending(b.Context())
		if err != nil || len(acts) != 1000 {
			b.Fatalf("%d acts, %v", len(acts), err)
		}
		s.Close()
	}
}

// BenchmarkPurge1000Acts purges 1,000 confirmed acts in one pass.
func BenchmarkPurge1000Acts(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		fill(b, dir, 1000, true)
		s := openTest(&testing.T{}, dir)
		b.StartTimer()
		n, err := s.Purge(b.Context(), time.Now().Add(time.Hour), anna)
		b.StopTimer()
		if err != nil || n != 1000 {
			b.Fatalf("purged %d: %v", n, err)
		}
		s.Close()
		b.StartTimer()
	}
}
