package store

import (
	"testing"
)

// move takes an act along one transition, failing the test if it is refused.
func move(t testing.TB, s *Store, act string, to State) Act {
	t.Helper()
	a, err := s.Transition(t.Context(), act, to, anna, "test", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// capture runs a capture of pages into an act.
func capture(t testing.TB, s *Store, act string, pages ...string) {
	t.Helper()
	move(t, s, act, StateCapturing)
	for _, p := range pages {
		if _, err := s.AddPage(t.Context(), Page{Act: act, MediaType: "image/jpeg", DPI: 300}, []byte(p), anna); err != nil {
			t.Fatal(err)
		}
	}
	move(t, s, act, StateCaptured)
}

// ready analyses every page of a captured act, checks it and keeps a
// document for it; an act already checked only gets its document.
func ready(t testing.TB, s *Store, act string) {
	t.Helper()
	pages, err := s.Pages(t.Context(), act)
	if err != nil {
		t.Fatal(err)
	}
	order := PageOrder{}
	for i, p := range pages {
		if err := s.PutAnalysis(t.Context(), act, p.Index, nil, nil, anna); err != nil {
			t.Fatal(err)
		}
		order[p.Index] = i + 1
	}
	if a, _ := s.Act(t.Context(), act); a.State == StateCaptured {
		if _, err := s.MarkChecked(t.Context(), act, order, anna); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.MakeReady(t.Context(), Document{Act: act, Name: act + ".pdf", MediaType: "application/pdf"}, []byte("%PDF "+act), "test", anna); err != nil {
		t.Fatal(err)
	}
}

// confirmAct takes a captured act through checking, delivery and ANSC's
// confirmation.
func confirmAct(t testing.TB, s *Store, act, attachment string) {
	t.Helper()
	ready(t, s, act)
	if _, err := s.Deliver(t.Context(), act, "token-"+act, Actor{Operator: "anna", Tab: "tab-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Confirm(t.Context(), act, "token-"+act, attachment, anna); err != nil {
		t.Fatal(err)
	}
}
