package store

import (
	"errors"
	"fmt"
	"strings"
)

// State is where an act is in its lifecycle. The store is the only place
// that changes it, and only along Lifecycle.
type State string

const (
	StateDraft     State = "draft"     // opened, nothing printed or captured
	StatePrinted   State = "printed"   // its sheets were printed with page codes
	StateCapturing State = "capturing" // a capture is running
	StateCaptured  State = "captured"  // it has pages; some are not analysed yet
	StateChecked   State = "checked"   // every page analysed, the document's pages fixed
	StateReady     State = "ready"     // every signer accounted for; the document is built
	StateDelivered State = "delivered" // one browser tab holds it for the upload
	StateConfirmed State = "confirmed" // ANSC accepted it (stato allegato 3)
	StatePurged    State = "purged"    // images removed after the retention period
	StateCancelled State = "cancelled" // abandoned by the operator; pages kept
	StateDeleted   State = "deleted"   // images removed at an administrator's request
)

// States lists every state, in the order of a normal life.
var States = []State{StateDraft, StatePrinted, StateCapturing, StateCaptured, StateChecked, StateReady,
	StateDelivered, StateConfirmed, StatePurged, StateCancelled, StateDeleted}

// Transition is one legal move of an act, the event that makes it, and
// why it exists.
type Transition struct {
	From, To State
	Event    string
	Why      string
}

// Lifecycle is every legal transition; anything else is refused with a
// TransitionError. docs/ACT-LIFECYCLE.md is drawn from it by a test.
var Lifecycle = []Transition{
	{StateDraft, StatePrinted, "sheet.print", "the sheets to sign were printed with page codes"},
	{StatePrinted, StatePrinted, "sheet.print", "printed again: sheets of the earlier printing no longer count"},

	{StateDraft, StateCapturing, "capture.start", "the first capture"},
	{StatePrinted, StateCapturing, "capture.start", "the printed sheets, signed, are scanned"},
	{StateCaptured, StateCapturing, "capture.start", "more pages, or a page again"},
	{StateChecked, StateCapturing, "capture.start", "more pages, or a page again"},
	{StateReady, StateCapturing, "capture.start", "a page again, after all"},

	{StateCapturing, StateCaptured, "capture.end", "the capture ended (done, failed, cancelled, or the agent restarted) and the act has pages"},
	{StateCapturing, StateDraft, "capture.end", "the capture ended and the act still has no page"},
	{StateCapturing, StatePrinted, "capture.end", "the capture ended and the printed act still has no page"},

	{StateCaptured, StateChecked, "analysis.done", "every page analysed; the document's pages and their order are fixed"},
	{StateChecked, StateReady, "document.ready", "every signer signed, cannot sign, or was confirmed by the officer; no printed page is missing; the document is built"},
	{StateReady, StateChecked, "record.change", "a signer marked, a verdict overridden, a page turned, removed or moved: the document is built again"},

	{StateReady, StateDelivered, "act.deliver", "one tab takes the document to upload it"},
	{StateDelivered, StateReady, "act.release", "the upload did not complete; the holder (or an administrator) gives it back"},
	{StateDelivered, StateConfirmed, "act.confirm", "the holder reports ANSC's attachment id"},
	{StateConfirmed, StatePurged, "retention", "the retention period after the confirmation ended"},

	{StateDraft, StateCancelled, "act.cancel", "abandoned before any page"},
	{StatePrinted, StateCancelled, "act.cancel", "abandoned after printing"},
	{StateCaptured, StateCancelled, "act.cancel", "abandoned; its pages stay until deleted"},
	{StateChecked, StateCancelled, "act.cancel", "abandoned; its pages stay until deleted"},
	{StateReady, StateCancelled, "act.cancel", "abandoned; its pages stay until deleted"},

	{StateDraft, StateDeleted, "act.delete", "removed by an administrator"},
	{StatePrinted, StateDeleted, "act.delete", "removed by an administrator"},
	{StateCaptured, StateDeleted, "act.delete", "removed by an administrator, pages included"},
	{StateChecked, StateDeleted, "act.delete", "removed by an administrator, pages included"},
	{StateReady, StateDeleted, "act.delete", "removed by an administrator, pages included"},
	{StateCancelled, StateDeleted, "act.delete", "a cancelled act removed by an administrator"},
	{StateConfirmed, StateDeleted, "act.delete", "removed by an administrator before its retention period ended"},
}

// transitionOf finds the legal move from one state to another.
func transitionOf(from, to State) (Transition, bool) {
	for _, t := range Lifecycle {
		if t.From == from && t.To == to {
			return t, true
		}
	}
	return Transition{}, false
}

// Allowed reports whether an act may move from one state to another.
func Allowed(from, to State) bool {
	_, ok := transitionOf(from, to)
	return ok
}

// Terminal reports whether an act in st is finished: nothing moves it on
// but, for a confirmed act, the retention period.
func (st State) Terminal() bool {
	return st == StatePurged || st == StateDeleted
}

// ErrIllegalTransition is wrapped by every TransitionError.
var ErrIllegalTransition = errors.New("store: illegal act transition")

// TransitionError is a move the lifecycle does not allow.
type TransitionError struct {
	Act      string
	From, To State
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("store: act %s cannot go from %s to %s", e.Act, e.From, e.To)
}

func (e *TransitionError) Unwrap() error { return ErrIllegalTransition }

// LifecycleDiagram draws Lifecycle as a Mermaid state diagram.
func LifecycleDiagram() string {
	var b strings.Builder
	b.WriteString("stateDiagram-v2\n")
	fmt.Fprintf(&b, "    [*] --> %s: act.open\n", StateDraft)
	for _, t := range Lifecycle {
		fmt.Fprintf(&b, "    %s --> %s: %s\n", t.From, t.To, t.Event)
	}
	fmt.Fprintf(&b, "    %s --> [*]\n    %s --> [*]\n", StatePurged, StateDeleted)
	return b.String()
}
