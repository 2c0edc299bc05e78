package store

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/ACT-LIFECYCLE.md from the lifecycle table")

func TestLifecycleTableHoldsTogether(t *testing.T) {
	seen := map[[2]State]bool{}
	for _, tr := range Lifecycle {
		if !slices.Contains(States, tr.From) || !slices.Contains(States, tr.To) {
			t.Errorf("%+v names a state not in States", tr)
		}
		if seen[[2]State{tr.From, tr.To}] {
			t.Errorf("%s -> %s is in the table twice", tr.From, tr.To)
		}
		seen[[2]State{tr.From, tr.To}] = true
		if tr.From.Terminal() {
			t.Errorf("%s is terminal but has a way out to %s", tr.From, tr.To)
		}
		if tr.Event == "" || tr.Why == "" {
			t.Errorf("%s -> %s has no event or no reason", tr.From, tr.To)
		}
	}
	// Every state is reached from draft, and every state but the terminal
	// ones can move on.
	reached := map[State]bool{StateDraft: true}
	for changed := true; changed; {
		changed = false
		for _, tr := range Lifecycle {
			if reached[tr.From] && !reached[tr.To] {
				reached[tr.To], changed = true, true
			}
		}
	}
	for _, st := range States {
		if !reached[st] {
			t.Errorf("%s cannot be reached from draft", st)
		}
		out := slices.ContainsFunc(Lifecycle, func(tr Transition) bool { return tr.From == st })
		if !st.Terminal() && !out {
			t.Errorf("%s is a dead end but not terminal", st)
		}
	}
}

// Every pair of states, tried on a stored act: the table's moves are made,
// every other is refused with a TransitionError that changes nothing.
func TestEveryTransitionAndOnlyThose(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	if err := s.CreateAct(ctx, Act{ID: "act", Kind: "matrimonio"}, nil, anna); err != nil {
		t.Fatal(err)
	}
	for _, from := range States {
		for _, to := range States {
			if _, err := s.db.Exec(`UPDATE acts SET state = ? WHERE id = 'act'`, from); err != nil {
				t.Fatal(err)
			}
			before, _ := s.Journal(ctx)
			a, err := s.Transition(ctx, "act", to, anna, "table test", nil, nil)
			after, _ := s.Journal(ctx)
			now, _ := s.Act(ctx, "act")
			if Allowed(from, to) {
				if err != nil || a.State != to || now.State != to || len(after) != len(before)+1 {
					t.Errorf("%s -> %s is in the table but: %v (state %s, %d journal lines added)", from, to, err, now.State, len(after)-len(before))
					continue
				}
				last := after[len(after)-1]
				tr, _ := transitionOf(from, to)
				want := fmt.Sprintf(`"from":"%s"`, from)
				if last.Event != tr.Event || last.Operator != "anna" || !strings.Contains(string(last.Detail), want) ||
					!strings.Contains(string(last.Detail), `"why":"table test"`) {
					t.Errorf("%s -> %s journaled as %s %s", from, to, last.Event, last.Detail)
				}
				continue
			}
			var te *TransitionError
			if !errors.As(err, &te) || !errors.Is(err, ErrIllegalTransition) || te.From != from || te.To != to {
				t.Errorf("%s -> %s is not in the table but: %v", from, to, err)
			}
			if now.State != from || len(after) != len(before) {
				t.Errorf("%s -> %s was refused but changed the act (%s) or the journal", from, to, now.State)
			}
		}
	}
	if _, err := s.VerifyJournal(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestDeliveryBelongsToItsHolder(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	s.CreateAct(ctx, Act{ID: "act", Kind: "nascita"}, []Signer{{Role: "dichiarante", Nome: "Anna", Cognome: "Neri"}}, anna)
	if _, err := s.Deliver(ctx, "act", "t1", anna); !errors.Is(err, ErrNothingToDeliver) {
		t.Fatalf("delivering a draft: %v", err)
	}
	capture(t, s, "act", "pagina")
	if _, err := s.Deliver(ctx, "act", "t1", anna); !errors.Is(err, ErrNothingToDeliver) {
		t.Fatalf("delivering an act not checked: %v", err)
	}
	ready(t, s, "act")
	tab1, tab2 := Actor{Operator: "anna", Tab: "tab-1"}, Actor{Operator: "marco", Tab: "tab-2"}
	if a, err := s.Deliver(ctx, "act", "t1", tab1); err != nil || a.Holder != "tab-1" || a.State != StateDelivered {
		t.Fatalf("deliver: %+v %v", a, err)
	}
	if _, err := s.Deliver(ctx, "act", "t2", tab2); !errors.Is(err, ErrAlreadyDelivered) {
		t.Fatalf("second delivery: %v", err)
	}
	if _, err := s.Release(ctx, "act", "t2", "mine now", false, tab2); !errors.Is(err, ErrNotHolder) {
		t.Fatalf("release by another tab: %v", err)
	}
	if _, err := s.Confirm(ctx, "act", "t2", "A-1", tab2); !errors.Is(err, ErrNotHolder) {
		t.Fatalf("confirm by another tab: %v", err)
	}
	if a, _ := s.Act(ctx, "act"); a.State != StateDelivered || a.Holder != "tab-1" {
		t.Fatalf("after the refusals: %+v", a)
	}
	// The holder releases; an administrator can too, without the token.
	if _, err := s.Release(ctx, "act", "t1", "upload failed", false, tab1); err != nil {
		t.Fatal(err)
	}
	s.Deliver(ctx, "act", "t2", tab2)
	if _, err := s.Release(ctx, "act", "", "tab closed", true, Actor{Operator: "admin"}); err != nil {
		t.Fatalf("forced release: %v", err)
	}
	s.Deliver(ctx, "act", "t3", tab1)
	a, err := s.Confirm(ctx, "act", "t3", "A-7", tab1)
	if err != nil || a.State != StateConfirmed || a.Attachment != "A-7" || a.Holder != "" || a.Confirmed.IsZero() {
		t.Fatalf("confirm: %+v %v", a, err)
	}
	if _, err := s.Deliver(ctx, "act", "t4", tab2); !errors.Is(err, ErrAlreadyConfirmed) {
		t.Fatalf("delivering a confirmed act: %v", err)
	}
}

func TestRecordChangesCheckAReadyActAgain(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	s.CreateAct(ctx, Act{ID: "act", Kind: "matrimonio"}, []Signer{{Role: "sposo", Nome: "Marco", Cognome: "Bianchi"},
		{Role: "testimone1", Nome: "Luca", Cognome: "Romano"}}, anna)
	capture(t, s, "act", "pagina")
	ready(t, s, "act")
	a, err := s.MarkUnable(ctx, "act", "testimone1", "mano ingessata", Actor{Operator: "ufficiale"})
	if err != nil || a.State != StateChecked {
		t.Fatalf("mark unable on a ready act: %+v %v", a, err)
	}
	sg, _ := s.Signers(ctx, "act")
	if !sg[1].Unable || sg[1].UnableReason != "mano ingessata" || sg[1].DecidedBy != "ufficiale" || sg[0].Unable {
		t.Fatalf("signers %+v", sg)
	}
	if _, err := s.Override(ctx, "act", "sposo", "firma verificata a vista", Actor{Operator: "ufficiale"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Override(ctx, "act", "nessuno", "x", anna); !errors.Is(err, ErrNoSigner) {
		t.Fatalf("override of a signer the act does not have: %v", err)
	}
	if _, err := s.TurnPage(ctx, "act", 1, 180, anna); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TurnPage(ctx, "act", 1, 45, anna); err == nil {
		t.Fatal("a 45 degree turn was accepted")
	}
	pages, _ := s.Pages(ctx, "act")
	if pages[0].Turn != 180 {
		t.Fatalf("page turn %d", pages[0].Turn)
	}
	// Once delivered, the record is closed.
	ready(t, s, "act")
	s.Deliver(ctx, "act", "t", anna)
	if _, err := s.MarkUnable(ctx, "act", "sposo", "x", anna); !errors.Is(err, ErrIllegalTransition) {
		t.Fatalf("marking a signer of a delivered act: %v", err)
	}
	var events []string
	entries, _ := s.Journal(ctx)
	for _, e := range entries {
		events = append(events, e.Event)
	}
	for _, want := range []string{"record.change", "signer.unable", "signature.override", "page.turn"} {
		if !slices.Contains(events, want) {
			t.Errorf("no %s line in the journal %v", want, events)
		}
	}
}

// lifecycleDoc is docs/ACT-LIFECYCLE.md, drawn from the table.
func lifecycleDoc() string {
	var b strings.Builder
	b.WriteString(`# The act's lifecycle

Generated from ` + "`Lifecycle`" + ` in agent/store/lifecycle.go by its test
(` + "`go test ./agent/store -run TestLifecycleDocIsCurrent -update-docs`" + `): edit the table, not this
file. The store refuses every move not listed here with a typed error (` + "`illegal_transition`" + ` on the
wire); every move is one transaction and one journal line saying who, when, from, to and why.

` + "```mermaid\n")
	b.WriteString(LifecycleDiagram())
	b.WriteString("```\n\n| from | to | event | why |\n|---|---|---|---|\n")
	for _, tr := range Lifecycle {
		fmt.Fprintf(&b, "| %s | %s | `%s` | %s |\n", tr.From, tr.To, tr.Event, tr.Why)
	}
	b.WriteString(`
Notes:

- An act is opened in ` + "`draft`" + `. Pages are added only while it is ` + "`capturing`" + `.
- ` + "`captured`" + ` becomes ` + "`checked`" + ` once every page has been analysed (after a restart, the analysis of
  the pages left runs again at start). ` + "`checked`" + ` becomes ` + "`ready`" + ` only when every signer has signed,
  is marked unable to sign, or has the officer's confirmation, and no printed page is missing.
- A change of the record of a ready act (a signer marked, a verdict confirmed, a page turned, removed
  or moved) takes it back to ` + "`checked`" + `, and its document is built again. A page retaken
  (` + "`capture.start`" + ` with ` + "`replace`" + `) or removed is kept, never in the document.
- ` + "`delivered`" + ` is held by one tab; only that tab (with its delivery token, also after a reload) or an
  administrator releases it, and only that tab confirms it.
- A restart finds an act that was ` + "`capturing`" + ` with no capture running: it becomes ` + "`captured`" + ` (or
  ` + "`draft`" + `/` + "`printed`" + ` when it has no page) and carries on from there.
- A capture that ends early (a jam, the device unplugged, a cancel, Autografo stopped or restarted)
  leaves its code on the act, as ` + "`interrupted`" + ` in the act's view (` + "`capture_interrupted`" + ` for a stop or
  a restart), until the next capture starts: a tab opened later still tells the officer the capture
  did not finish and which sheets to put back.
`)
	return b.String()
}

func TestLifecycleDocIsCurrent(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "ACT-LIFECYCLE.md")
	want := lifecycleDoc()
	if *updateDocs {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update-docs)", err)
	}
	if string(got) != want {
		t.Fatalf("%s differs from the lifecycle table: run go test ./agent/store -run TestLifecycleDocIsCurrent -update-docs", path)
	}
}
