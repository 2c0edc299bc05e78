package agent

import (
	"encoding/json"
	"testing"

	"github.com/autografo/autografo/agent/auth"
	"github.com/autografo/autografo/agent/protocol"
)

// The page builds its act form from the welcome: every kind's roles are
// named, and an act of each kind opens with the roles it asks for.
func TestWelcomeNamesEveryKindAndItsRoles(t *testing.T) {
	h := newHarness(t)
	tb := h.connect(auth.Identity{Perms: auth.View | auth.Capture})
	var w protocol.Welcome
	tb.mu.Lock()
	frames := append([]frame(nil), tb.frames...)
	tb.mu.Unlock()
	for _, f := range frames {
		if f.Type == protocol.TypeWelcome {
			if err := json.Unmarshal(f.raw, &w); err != nil {
				t.Fatal(err)
			}
		}
	}
	names := map[string]string{}
	for _, r := range w.Roles {
		names[r.Role] = r.Name
	}
	if names["testimone2"] != "Secondo testimone" || names["ufficiale"] != "Ufficiale dello stato civile" || len(names) != len(roles) {
		t.Fatalf("role names %v", names)
	}
	kinds := map[string]protocol.ActKind{}
	for _, k := range w.Kinds {
		kinds[k.Kind] = k
		for _, r := range append(append([]string{}, k.Roles...), k.Extra...) {
			if names[r] == "" {
				t.Errorf("kind %s: role %s has no name", k.Kind, r)
			}
		}
		signers := make([][3]string, len(k.Roles))
		for i, r := range k.Roles {
			signers[i] = [3]string{r, "Nome", "Cognome"}
		}
		act := tb.openKind(k.Kind, signers...)
		if len(act.Signers) != len(k.Roles) {
			t.Errorf("kind %s: an act opened with %d of its %d roles", k.Kind, len(act.Signers), len(k.Roles))
		}
	}
	if got := kinds["matrimonio"].Roles; len(got) != 5 || got[0] != "sposo" || got[4] != "ufficiale" {
		t.Errorf("matrimonio asks for %v", got)
	}
	if len(w.Kinds) != 7 || kinds["carta_identita"].Name != "Carta d'identità a domicilio" {
		t.Errorf("kinds %+v", w.Kinds)
	}
}
