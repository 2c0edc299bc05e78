package seal

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/autografo/autografo/agent/document"
	"github.com/autografo/autografo/agent/seal/sealtest"
)

// The seal then the officer's attestation: the revision after the seal
// only signs, so the seal reports no later change and the whole is intact.
func TestSigningRevisionsAreNotChanges(t *testing.T) {
	_, sealed := sealedVerbale(t)
	officer, err := FromPKCS12(workstationP12(t, "o", time.Now().Add(time.Hour)), "o")
	if err != nil {
		t.Fatal(err)
	}
	signed, err := officer.Seal(sealed, Info{Reason: "Attestazione", LastPage: true, Rect: document.SignatureRect})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Verify(signed)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Seals) != 2 || !r.Intact {
		t.Fatalf("report %+v", r)
	}
	for i, s := range r.Seals {
		if len(s.LaterChanges) != 0 || !s.Valid || !s.ValidAtSigning {
			t.Errorf("seal %d: valid %v, valid at signing %v, later changes %q", i+1, s.Valid, s.ValidAtSigning, s.LaterChanges)
		}
	}
	if r.Seals[0].Covers != len(sealed) || r.Seals[1].Covers != len(signed) {
		t.Errorf("covers %d and %d, want %d and %d", r.Seals[0].Covers, r.Seals[1].Covers, len(sealed), len(signed))
	}
}

// What a forger does: change the document in a new revision, then sign
// again with any certificate. Every signature is valid over its own bytes,
// but the first reports what changed after it, and the whole is not
// intact.
func TestChangesAfterASealAreNamed(t *testing.T) {
	_, sealed := sealedVerbale(t)
	page, contents := sealtest.FirstPage(t, sealed)
	forger, err := FromPKCS12(workstationP12(t, "f", time.Now().Add(time.Hour)), "f")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		objs map[uint32]string
		want string
	}{
		{"a page painted over", map[uint32]string{contents: sealtest.PaintOver},
			fmt.Sprintf("object %d (untyped) changed", contents)},
		{"a page's box changed", map[uint32]string{page: "<< /Type /Page /MediaBox [0 0 100 100] >>"},
			fmt.Sprintf("object %d (Page) changed its", page)},
	} {
		t.Run(c.name, func(t *testing.T) {
			tampered := sealtest.AppendRevision(t, sealed, c.objs)
			resealed, err := forger.Seal(tampered, Info{Reason: "Sigillo"})
			if err != nil {
				t.Fatal(err)
			}
			r, err := Verify(resealed)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Seals) != 2 || r.Intact {
				t.Fatalf("report says intact: %+v", r)
			}
			if !r.Seals[0].Valid || !r.Seals[1].Valid {
				t.Errorf("each signature is valid over its own bytes: %v %v", r.Seals[0].Valid, r.Seals[1].Valid)
			}
			if got := strings.Join(r.Seals[0].LaterChanges, "; "); !strings.Contains(got, c.want) {
				t.Errorf("changes after the first seal: %q, want %q", got, c.want)
			}
			if len(r.Seals[1].LaterChanges) != 0 {
				t.Errorf("changes after the last seal: %q", r.Seals[1].LaterChanges)
			}
		})
	}
}
