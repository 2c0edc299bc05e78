package store

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// keptOrder is the act's pages not removed, by their place.
func keptOrder(t *testing.T, s *Store, act string) string {
	t.Helper()
	pages, err := s.Pages(t.Context(), act)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(pages, func(x, y Page) int { return cmp.Compare(x.Ord, y.Ord) })
	var out []string
	for _, p := range pages {
		if !p.Removed {
			out = append(out, fmt.Sprint(p.Index))
		}
	}
	return strings.Join(out, ",")
}

// byOrd numbers the pages not removed by their place: the order a test
// gives ArrangePage in place of the agent's.
func byOrd(pages []Page) PageOrder {
	slices.SortStableFunc(pages, func(x, y Page) int { return cmp.Compare(x.Ord, y.Ord) })
	o := PageOrder{}
	for _, p := range pages {
		if !p.Removed {
			o[p.Index] = len(o) + 1
		}
	}
	return o
}

func TestPagesRetakenRemovedAndMoved(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	if err := s.CreateAct(ctx, Act{ID: "a", Kind: "matrimonio"}, nil, anna); err != nil {
		t.Fatal(err)
	}
	capture(t, s, "a", "uno", "due", "tre")
	// Page 2 retaken: page 4 takes its place, page 2 is kept, removed.
	move(t, s, "a", StateCapturing)
	p4, err := s.AddPage(ctx, Page{Act: "a", MediaType: "image/jpeg", DPI: 300, Replaces: 2}, []byte("due, firmata"), anna)
	if err != nil || p4.Index != 4 {
		t.Fatalf("retake: %+v %v", p4, err)
	}
	if _, err := s.AddPage(ctx, Page{Act: "a", MediaType: "image/jpeg", Replaces: 2}, []byte("di nuovo"), anna); !errors.Is(err, ErrNotFound) {
		t.Errorf("a removed page replaced again: %v", err)
	}
	move(t, s, "a", StateCaptured)
	if got := keptOrder(t, s, "a"); got != "1,4,3" {
		t.Errorf("after the retake %s, want 1,4,3", got)
	}
	// Checked, page 1 moved to the end, then page 3 removed: the document's
	// positions follow each time.
	ready(t, s, "a")
	if _, err := s.ArrangePage(ctx, "a", PageChange{Page: 1}, byOrd, anna); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.Act(ctx, "a"); a.State != StateChecked {
		t.Errorf("a ready act whose pages moved is %s, want checked", a.State)
	}
	if _, err := s.ArrangePage(ctx, "a", PageChange{Page: 3, Remove: true, Reason: "doppione"}, byOrd, anna); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ArrangePage(ctx, "a", PageChange{Page: 1, Before: 4}, byOrd, anna); err != nil {
		t.Fatal(err)
	}
	if got := keptOrder(t, s, "a"); got != "1,4" {
		t.Errorf("after the moves %s, want 1,4", got)
	}
	pages, _ := s.Pages(ctx, "a")
	pos := map[int]int{}
	for _, p := range pages {
		pos[p.Index] = p.Position
	}
	if pos[1] != 1 || pos[4] != 2 || pos[2] != 0 || pos[3] != 0 {
		t.Errorf("positions %v", pos)
	}
	for _, c := range []PageChange{{Page: 3, Remove: true}, {Page: 9}, {Page: 1, Before: 3}} {
		if _, err := s.ArrangePage(ctx, "a", c, byOrd, anna); !errors.Is(err, ErrNotFound) {
			t.Errorf("%+v: %v, want not found", c, err)
		}
	}
	entries, _ := s.Journal(ctx)
	var events []string
	for _, e := range entries {
		if strings.HasPrefix(e.Event, "page.") || strings.Contains(string(e.Detail), "replaces") {
			events = append(events, e.Event)
		}
	}
	if want := []string{"capture", "page.move", "page.remove", "page.move"}; !slices.Equal(events, want) {
		t.Errorf("journal %v, want %v", events, want)
	}
}

// How a capture ended early is kept with the act, read back after a
// reopen, and cleared when the next capture starts.
func TestEndCaptureKeepsWhatInterruptedIt(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	ctx := t.Context()
	if err := s.CreateAct(ctx, Act{ID: "a", Kind: "matrimonio"}, nil, anna); err != nil {
		t.Fatal(err)
	}
	move(t, s, "a", StateCapturing)
	if _, err := s.AddPage(ctx, Page{Act: "a", MediaType: "image/jpeg", DPI: 300}, []byte("p1"), anna); err != nil {
		t.Fatal(err)
	}
	a, err := s.EndCapture(ctx, "a", StateCaptured, anna, "capture ended early: paper_jam", "paper_jam", nil)
	if err != nil || a.Interrupted != "paper_jam" || a.State != StateCaptured {
		t.Fatalf("after a jam: %+v %v", a, err)
	}
	if _, err := s.EndCapture(ctx, "a", StateCaptured, anna, "again", "", nil); !errors.Is(err, ErrIllegalTransition) {
		t.Errorf("ending a capture that is not running: %v", err)
	}
	s.Close()
	s = openTest(t, dir)
	defer s.Close()
	if a, err := s.Act(ctx, "a"); err != nil || a.Interrupted != "paper_jam" {
		t.Fatalf("after a reopen: %q %v", a.Interrupted, err)
	}
	move(t, s, "a", StateCapturing)
	if a, err := s.Act(ctx, "a"); err != nil || a.Interrupted != "" {
		t.Fatalf("after the next capture started: %q %v", a.Interrupted, err)
	}
	if a, err := s.EndCapture(ctx, "a", StateCaptured, anna, "capture done", "", nil); err != nil || a.Interrupted != "" {
		t.Fatalf("after a capture that ended well: %q %v", a.Interrupted, err)
	}
}
