package agent

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/autografo/autografo/agent/auth"
	"github.com/autografo/autografo/agent/protocol"
	"github.com/autografo/autografo/agent/seal"
	"github.com/autografo/autografo/agent/store"
	"github.com/autografo/autografo/scanner"
	"github.com/autografo/autografo/scanner/pipeline"
	"github.com/autografo/autografo/scanner/scannertest"
)

// Every request type the protocol decodes has a route with a permission,
// and every route is a request type: deny by default, nothing forgotten.
func TestRoutesCoverEveryRequest(t *testing.T) {
	types := protocol.RequestTypes()
	for _, typ := range types {
		if typ == protocol.TypeHello {
			continue
		}
		rt, ok := routes[typ]
		if !ok {
			t.Errorf("request %s has no route", typ)
			continue
		}
		if rt.perm == 0 || rt.handle == nil {
			t.Errorf("route %s has no permission or no handler", typ)
		}
	}
	for typ := range routes {
		if !slices.Contains(types, typ) || typ == protocol.TypeHello {
			t.Errorf("route %s is not a request type of the protocol", typ)
		}
	}
}

// matrixCase is one request as the permission matrix sends it: the body,
// and the permissions it needs beyond its route's (a sub-feature).
type matrixCase struct {
	name string
	body map[string]any
	also auth.Permission
}

func matrixCases() []matrixCase {
	var out []matrixCase
	for _, typ := range protocol.RequestTypes() {
		if typ == protocol.TypeHello {
			continue
		}
		out = append(out, matrixCase{name: typ, body: map[string]any{"type": typ, "act": "act-none", "capture": "cap-none"}})
	}
	return append(out,
		matrixCase{"document.build attest", map[string]any{"type": protocol.TypeDocumentMake, "act": "act-none", "attest": true}, auth.Attest},
		matrixCase{"act.open registerTime", map[string]any{"type": protocol.TypeActOpen, "kind": "matrimonio", "emergency": true,
			"register": "1/2026", "registerTime": "2026-11-30T10:00:00Z", "signers": []any{}}, auth.Admin},
	)
}

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/PERMISSIONS.md from the permission matrix")

// The permission matrix: every request type under every permission alone.
// A request is refused as forbidden exactly when the session lacks what
// its route (and sub-feature) needs. docs/PERMISSIONS.md is this table, as
// measured: go test ./agent -run TestPermissionMatrix -update-docs.
func TestPermissionMatrix(t *testing.T) {
	h := newHarness(t)
	perms := auth.AllPermissions()
	var table strings.Builder
	table.WriteString("| request |")
	for _, p := range perms {
		table.WriteString(" " + p.String() + " |")
	}
	table.WriteString("\n|---|" + strings.Repeat("---|", len(perms)) + "\n")
	for _, c := range matrixCases() {
		rt := routes[c.body["type"].(string)]
		table.WriteString("| `" + c.name + "` |")
		for _, p := range perms {
			// view comes with every session: without it nothing is
			// visible. The permission under test is added to it.
			granted := auth.View | p
			if c.also != 0 {
				// A feature of a request: the session holds the
				// request's own permission too.
				granted |= rt.perm
			}
			tb := h.connect(auth.Identity{Perms: granted, Comune: "F205"})
			body := map[string]any{}
			for k, v := range c.body {
				body[k] = v
			}
			f := tb.call(body)
			forbidden := f.Type == protocol.TypeError && f.Error.Code == protocol.CodeForbidden
			want := !granted.Has(rt.perm | c.also)
			if forbidden != want {
				t.Errorf("%s with %s: forbidden=%v, want %v (%s)", c.name, granted, forbidden, want, f.raw)
			}
			mark := "yes"
			if forbidden {
				mark = "no"
			}
			table.WriteString(" " + mark + " |")
		}
		table.WriteString("\n")
	}
	doc := `# Permissions

Measured by ` + "`TestPermissionMatrix`" + ` in agent/lifecycle_test.go, which sends every request type to a
session holding ` + "`view`" + ` and one more permission, and writes this table
(` + "`go test ./agent -run TestPermissionMatrix -update-docs`" + `). "yes": the request is served
(it may still fail for another reason, such as an act that is not there); "no": refused with
` + "`forbidden`" + `. Every session needs ` + "`view`" + `; a route's permission comes on top of it. The rows
that name a feature of a request (the attestation, an emergency act's register time) are measured
with the request's own permission held too. A paired
page (the workstation's own user) holds every permission; an act-drafting app's ticket holds what
its backend grants, and sees only the acts of its own comune.

` + table.String()
	path := filepath.Join("..", "docs", "PERMISSIONS.md")
	if *updateDocs {
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != doc {
		t.Errorf("%s differs from the measured matrix (%v): go test ./agent -run TestPermissionMatrix -update-docs", path, err)
	}
}

// rec builds a record as the store would hold it: one analysed page with
// the verdicts given (role -> signed, empty, doubtful).
func rec(state store.State, signers []store.Signer, verdicts map[string]string) record {
	analysis, _ := json.Marshal(pageAnalysis{})
	r := record{act: store.Act{ID: "act-1", State: state, Pages: 1}, signers: signers,
		pages: []store.Page{{Act: "act-1", Index: 1, Analysed: true, Analysis: analysis, Position: 1, Turn: -1}}}
	for role, v := range verdicts {
		r.decisions = append(r.decisions, store.Decision{Act: "act-1", Page: 1, Role: role, Verdict: v})
	}
	return r
}

func TestListaFirmatariFollowsTheRecord(t *testing.T) {
	sposo := store.Signer{Role: "sposo", Nome: "Marco", Cognome: "Bianchi"}
	sposa := store.Signer{Role: "sposa", Nome: "Maria Grazia", Cognome: "De Luca", CodiceFiscale: "DLCMGR90A41F205X"}
	teste := store.Signer{Role: "testimone1", Nome: "Chiara", Cognome: "Colombo"}
	single := store.Signer{Role: "testimone2", Nome: "Sukarno"}
	unable := teste
	unable.Unable, unable.UnableReason, unable.DecidedBy = true, "mano ingessata", "ufficiale"
	override := teste
	override.Override, override.OverrideReason, override.DecidedBy = true, "firma verificata a vista", "ufficiale"
	unnamed := store.Signer{Role: "testimone2"}
	for _, tc := range []struct {
		name       string
		signers    []store.Signer
		verdicts   map[string]string
		ready      bool
		lista      []string
		exceptions []string
		blockers   []string
	}{
		{"all signed", []store.Signer{sposo, sposa, teste}, map[string]string{"sposo": "signed", "sposa": "signed", "testimone1": "signed"},
			true, []string{"Marco|Bianchi", "Maria Grazia|De Luca", "Chiara|Colombo"}, nil, nil},
		{"one missing", []store.Signer{sposo, sposa, teste}, map[string]string{"sposo": "signed", "sposa": "signed", "testimone1": "empty"},
			false, []string{"Marco|Bianchi", "Maria Grazia|De Luca"}, nil, []string{"blocker_signature_missing:testimone1"}},
		{"one doubtful", []store.Signer{sposo, teste}, map[string]string{"sposo": "signed", "testimone1": "doubtful"},
			false, []string{"Marco|Bianchi"}, nil, []string{"blocker_signature_doubtful:testimone1"}},
		{"no box for a signer", []store.Signer{sposo, teste}, map[string]string{"sposo": "signed"},
			false, []string{"Marco|Bianchi"}, nil, []string{"blocker_signature_unchecked:testimone1"}},
		{"unable to sign", []store.Signer{sposo, unable}, map[string]string{"sposo": "signed", "testimone1": "empty"},
			true, []string{"Marco|Bianchi"}, []string{"testimone1:non_puo_firmare:mano ingessata"}, nil},
		{"officer's override", []store.Signer{sposo, override}, map[string]string{"sposo": "signed", "testimone1": "doubtful"},
			true, []string{"Marco|Bianchi", "Chiara|Colombo"}, []string{"testimone1:verificata:firma verificata a vista"}, nil},
		{"a single-word name", []store.Signer{sposo, single}, map[string]string{"sposo": "signed", "testimone2": "signed"},
			true, []string{"Marco|Bianchi", "Sukarno|"}, nil, nil},
		{"no name at all", []store.Signer{sposo, unnamed}, map[string]string{"sposo": "signed", "testimone2": "signed"},
			false, []string{"Marco|Bianchi", "|"}, nil, []string{"blocker_signer_unnamed:testimone2"}},
		{"a verdict this agent does not know", []store.Signer{sposo}, map[string]string{"sposo": "probably"},
			false, []string{}, nil, []string{"blocker_signature_doubtful:sposo"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rec(store.StateChecked, tc.signers, tc.verdicts)
			v := r.view()
			if got := blockerCodes(v.Blockers); !slices.Equal(got, tc.blockers) && !(len(got) == 0 && len(tc.blockers) == 0) {
				t.Errorf("blockers %v, want %v", got, tc.blockers)
			}
			if (len(v.Blockers) == 0) != tc.ready {
				t.Errorf("ready %v, want %v", len(v.Blockers) == 0, tc.ready)
			}
			lista, ecc := r.firmatari()
			var names, exc []string
			for _, f := range lista {
				names = append(names, f.Nome+"|"+f.Cognome)
			}
			for _, e := range ecc {
				exc = append(exc, e.Ruolo+":"+e.Tipo+":"+e.Motivo)
			}
			if !slices.Equal(names, tc.lista) && !(len(names) == 0 && len(tc.lista) == 0) {
				t.Errorf("listaFirmatari %v, want %v", names, tc.lista)
			}
			if !slices.Equal(exc, tc.exceptions) {
				t.Errorf("exceptions %v, want %v", exc, tc.exceptions)
			}
			for _, b := range v.Blockers {
				if strings.ContainsAny(b.Message, "{}") || !strings.HasSuffix(b.Message, ".") {
					t.Errorf("blocker message %q", b.Message)
				}
			}
		})
	}
}

func TestSignersAreNamedInTheirOwnWords(t *testing.T) {
	for _, tc := range []struct {
		s    store.Signer
		want string
	}{
		{store.Signer{Role: "testimone2", Nome: "Chiara", Cognome: "Colombo"}, "Manca la firma di Chiara Colombo (secondo testimone)."},
		{store.Signer{Role: "sposa"}, "Manca la firma della sposa."},
		{store.Signer{Role: "interprete", Cognome: "Kovačič"}, "Manca la firma di Kovačič (interprete)."},
		{store.Signer{Role: "madrina"}, "Manca la firma di madrina."},
	} {
		if got := protocol.Format(protocol.BlockerSignatureEmpty, whoOf(tc.s), 0); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.s, got, tc.want)
		}
	}
	// On the page, each witness is told apart from the other.
	for s, want := range map[store.Signer]string{
		{Role: "testimone1", Nome: "Luca", Cognome: "Romano"}: "Luca Romano (primo testimone)",
		{Role: "testimone2"}:                   "Secondo testimone",
		{Role: "titolare", Cognome: "Kovačič"}: "Kovačič (titolare)",
	} {
		if got := displayName(s); got != want {
			t.Errorf("%+v shown as %q, want %q", s, got, want)
		}
	}
}

// The probes that found the act had no owner, now refused.
func TestRequestsOutOfTurnAreRefused(t *testing.T) {
	h := newHarness(t)
	capture := h.connect(auth.Identity{Perms: auth.View | auth.Capture, Comune: "F205"})
	exporter := h.connect(auth.Identity{Perms: auth.View | auth.Export, Comune: "F205"})
	other := h.connect(auth.Identity{Perms: auth.View | auth.Export, Comune: "F205", Operator: "luigi.verdi"})
	foreign := h.connect(auth.Identity{Perms: auth.View | auth.Capture | auth.Export | auth.Attest, Comune: "H501"})

	h.drv.Script("fake:1", scannertest.Step{Data: scannertest.JPEG(600, 800)})
	act := capture.open() // no signers: ready once captured
	capture.capture(act.ID)
	capture.untilState(act.ID, store.StateReady)

	expect := func(tb *tab, body map[string]any, code string) {
		t.Helper()
		if f := tb.call(body); f.Type != protocol.TypeError || f.Error.Code != code {
			t.Errorf("%v: %s, want %s", body, f.raw, code)
		}
	}
	// A capture-only session takes no document out, and signs nothing.
	expect(capture, map[string]any{"type": "document.build", "act": act.ID}, protocol.CodeForbidden)
	expect(capture, map[string]any{"type": "document.build", "act": act.ID, "attest": true}, protocol.CodeForbidden)
	expect(exporter, map[string]any{"type": "document.build", "act": act.ID, "attest": true}, protocol.CodeForbidden)
	expect(capture, map[string]any{"type": "act.confirm", "act": act.ID, "attachment": "43676"}, protocol.CodeForbidden)
	// Confirming an act nobody took for the upload.
	expect(exporter, map[string]any{"type": "act.confirm", "act": act.ID, "attachment": "43676"}, protocol.CodeIllegalState)
	// Another comune's session sees nothing of it.
	if f := foreign.call(map[string]any{"type": "acts.list"}); strings.Contains(string(f.raw), act.ID) {
		t.Errorf("another comune's session lists the act: %s", f.raw)
	}
	expect(foreign, map[string]any{"type": "act.resume", "act": act.ID}, protocol.CodeActNotFound)
	expect(foreign, map[string]any{"type": "page.get", "act": act.ID, "page": 1}, protocol.CodeActNotFound)
	expect(foreign, map[string]any{"type": "act.deliver", "act": act.ID}, protocol.CodeActNotFound)
	expect(foreign, map[string]any{"type": "capture.start", "act": act.ID, "device": "fake:1", "source": "feeder", "dpi": 300, "color": "gray"}, protocol.CodeActNotFound)

	// Delivered to one tab: the other can neither release nor confirm it.
	d := exporter.call(map[string]any{"type": "act.deliver", "act": act.ID})
	if d.Type != protocol.TypeActDelivered {
		t.Fatalf("deliver: %s", d.raw)
	}
	delivered := decode[protocol.ActDelivered](t, d)
	if b := exporter.read(); b.blob.Blob != delivered.Blob || int64(len(b.data)) != delivered.Document.Bytes || delivered.Delivery == "" {
		t.Fatalf("the document does not follow act.delivered: %+v", delivered.Document)
	}
	expect(other, map[string]any{"type": "act.deliver", "act": act.ID}, protocol.CodeDelivered)
	expect(other, map[string]any{"type": "act.release", "act": act.ID}, protocol.CodeNotHolder)
	expect(other, map[string]any{"type": "act.confirm", "act": act.ID, "attachment": "43676"}, protocol.CodeNotHolder)
	expect(other, map[string]any{"type": "act.release", "act": act.ID, "delivery": "guessed"}, protocol.CodeNotHolder)
	expect(exporter, map[string]any{"type": "act.confirm", "act": act.ID, "attachment": "../../etc"}, protocol.CodeBadMessage)
	// The holder's token works from another connection too (a reload).
	reloaded := h.connect(auth.Identity{Perms: auth.View | auth.Export, Comune: "F205"})
	if f := reloaded.call(map[string]any{"type": "act.confirm", "act": act.ID, "attachment": "43676", "delivery": delivered.Delivery}); f.Type != protocol.TypeActConfirmed {
		t.Fatalf("confirm by the holder after a reload: %s", f.raw)
	}
	expect(exporter, map[string]any{"type": "act.deliver", "act": act.ID}, protocol.CodeConfirmed)
}

// An empty box keeps the act from being ready, and its signer out of
// listaFirmatari; the officer's override, journaled, makes it ready with
// the exception named.
func TestAnEmptyBoxBlocksTheActUntilTheOfficerDecides(t *testing.T) {
	h := newHarness(t)
	h.boxes = boxesFor("sposo", "testimone1")
	tb := h.connect(auth.Identity{Perms: auth.View | auth.Capture | auth.Export, Comune: "F205", Operator: "anna.ufficiale"})
	h.drv.Script("fake:1", scannertest.Step{Data: signedPage(t)})
	act := tb.open([3]string{"testimone1", "Chiara", "Colombo"}, [3]string{"sposo", "Marco", "Bianchi"})
	if act.Signers[0].Role != "sposo" {
		t.Errorf("signers not in the act's order: %+v", act.Signers)
	}
	tb.capture(act.ID)
	checked := tb.untilState(act.ID, store.StateChecked)
	if got := blockerCodes(checked.Blockers); !slices.Equal(got, []string{"blocker_signature_missing:testimone1"}) {
		t.Fatalf("blockers %v (signers %+v)", got, checked.Signers)
	}
	if f := tb.call(map[string]any{"type": "document.build", "act": act.ID}); f.Error.Code != protocol.CodeNothingToSend {
		t.Fatalf("a document for an act with a missing signature: %s", f.raw)
	}
	if f := tb.call(map[string]any{"type": "act.deliver", "act": act.ID}); f.Error.Code != protocol.CodeNothingToSend {
		t.Fatalf("delivering an act with a missing signature: %s", f.raw)
	}
	if f := tb.call(map[string]any{"type": "signature.override", "act": act.ID, "role": "testimone1", "reason": ""}); f.Error.Code != protocol.CodeBadMessage {
		t.Fatalf("an override without a reason: %s", f.raw)
	}
	if f := tb.call(map[string]any{"type": "signature.override", "act": act.ID, "role": "testimone1",
		"reason": "firma presente, tratto molto leggero"}); f.Type != protocol.TypeActUpdated {
		t.Fatalf("override: %s", f.raw)
	}
	ready := tb.untilState(act.ID, store.StateReady)
	if ready.Document == nil || ready.Document.Pages != 1 {
		t.Fatalf("ready without its document: %+v", ready)
	}
	d := tb.call(map[string]any{"type": "document.build", "act": act.ID})
	dr := decode[protocol.DocumentReady](t, d)
	if len(dr.R006.ListaFirmatari) != 2 || len(dr.Exceptions) != 1 || dr.Exceptions[0].Tipo != "verificata" ||
		dr.Exceptions[0].Da != "anna.ufficiale" || dr.Document.SHA256 != ready.Document.SHA256 {
		t.Fatalf("document.ready %s", d.raw)
	}
	entries, _ := h.st.Journal(t.Context())
	var events []string
	for _, e := range entries {
		if e.Act == act.ID {
			events = append(events, e.Event)
		}
	}
	want := []string{"act.open", "capture.start", "capture", "capture.end", "analysis", "analysis.done", "signature.override", "document.ready"}
	if !slices.Equal(events, want) {
		t.Errorf("journal %v, want %v", events, want)
	}
}

// Every code the agent can answer with has its Italian message and action.
func TestErrorsMapToTheirCodes(t *testing.T) {
	for _, m := range errorCodes {
		e := errorFor(fmt.Errorf("wrapped: %w", m.err))
		if e.Code != m.code || e.Message != protocol.Italian(m.code) || e.Action == "" {
			t.Errorf("%v: %+v, want %s", m.err, e, m.code)
		}
	}
}

// An act is cancelled by its operator (never mid-capture) and deleted by
// an administrator, pages and all; both are journaled with their reason.
func TestCancelAndDelete(t *testing.T) {
	h := newHarness(t)
	op := h.connect(auth.Identity{Perms: auth.View | auth.Capture, Comune: "F205"})
	admin := h.connect(auth.Identity{Perms: auth.View | auth.Admin, Comune: "F205", Operator: "admin"})
	release := make(chan struct{})
	h.drv.Script("fake:1", scannertest.Step{Data: scannertest.JPEG(600, 800)}, scannertest.Step{Data: scannertest.JPEG(600, 800), Block: release})
	act := op.open()
	if f := op.call(map[string]any{"type": "capture.start", "act": act.ID, "device": "fake:1", "source": "feeder", "dpi": 300, "color": "gray"}); f.Type != protocol.TypeCaptureStarted {
		t.Fatalf("capture: %s", f.raw)
	}
	op.until(protocol.TypePageReady)
	if f := op.call(map[string]any{"type": "act.cancel", "act": act.ID, "reason": "errore di compilazione"}); f.Error.Code != protocol.CodeCaptureRunning {
		t.Fatalf("cancel during a capture: %s", f.raw)
	}
	close(release)
	op.until(protocol.TypeCaptureDone)
	if f := op.call(map[string]any{"type": "act.cancel", "act": act.ID, "reason": "no"}); f.Error.Code != protocol.CodeBadMessage {
		t.Fatalf("cancel without a real reason: %s", f.raw)
	}
	if f := op.call(map[string]any{"type": "act.cancel", "act": act.ID, "reason": "errore di compilazione"}); f.Type != protocol.TypeActCancelled {
		t.Fatalf("cancel: %s", f.raw)
	}
	if f := op.call(map[string]any{"type": "capture.start", "act": act.ID, "device": "fake:1", "source": "feeder", "dpi": 300, "color": "gray"}); f.Error.Code != protocol.CodeIllegalState {
		t.Fatalf("capturing into a cancelled act: %s", f.raw)
	}
	if f := admin.call(map[string]any{"type": "act.delete", "act": act.ID, "reason": "atto annullato, richiesta dell'ufficio"}); f.Type != protocol.TypeActDeleted {
		t.Fatalf("delete: %s", f.raw)
	}
	if _, _, err := h.st.Page(t.Context(), act.ID, 1); err == nil {
		t.Error("a deleted act's page is still there")
	}
	if f := op.call(map[string]any{"type": "act.resume", "act": act.ID}); f.Error.Code != protocol.CodeActNotFound {
		t.Fatalf("resuming a deleted act: %s", f.raw)
	}
	entries, _ := h.st.Journal(t.Context())
	var got []string
	for _, e := range entries {
		if e.Event == "act.cancel" || e.Event == "act.delete" {
			got = append(got, e.Event+" by "+e.Operator)
		}
	}
	if !slices.Equal(got, []string{"act.cancel by mario.rossi", "act.delete by admin"}) {
		t.Errorf("journal %v", got)
	}
}

// Every reason the analysis can give is worded in Italian for the
// officer, and nothing worded is a reason the analysis no longer gives.
func TestEveryAnalysisReasonHasItsItalian(t *testing.T) {
	given, worded := pipeline.Reasons(), protocol.ReasonKeys()
	slices.Sort(given)
	slices.Sort(worded)
	if !slices.Equal(given, worded) {
		t.Fatalf("analysis reasons %v, worded %v", given, worded)
	}
}

// A layout the page cannot hold (a box far off the sheet, sent by a
// browser) reads nothing: the box is the officer's to check, worded, and
// the act waits for the officer's decision.
func TestAnUnusableLayoutLeavesTheBoxToTheOfficer(t *testing.T) {
	h := newHarness(t)
	h.boxes = boxesFor("sposo", "testimone1")
	h.boxes[1].Corners[2].X = 1e308
	tb := h.connect(auth.Identity{Perms: auth.View | auth.Capture | auth.Export, Comune: "F205", Operator: "anna.ufficiale"})
	h.drv.Script("fake:1", scannertest.Step{Data: signedPage(t)})
	act := tb.open([3]string{"sposo", "Marco", "Bianchi"}, [3]string{"testimone1", "Chiara", "Colombo"})
	tb.capture(act.ID)
	pa := decode[protocol.PageAnalysis](t, tb.until(protocol.TypePageAnalysis))
	if len(pa.Signatures) != 2 {
		t.Fatalf("page.analysis %+v", pa)
	}
	for _, s := range pa.Signatures {
		if s.Decision != "doubtful" || !slices.Equal(s.Reasons, []string{pipeline.ReasonLayout}) ||
			len(s.Explanation) != 1 || !strings.Contains(s.Explanation[0], "controllare a vista") {
			t.Errorf("box %s: %+v", s.Role, s)
		}
	}
	checked := tb.untilState(act.ID, store.StateChecked)
	if got := blockerCodes(checked.Blockers); len(got) != 2 {
		t.Fatalf("blockers %v", got)
	}
}

// A tab that takes up an act while its capture runs learns the capture's
// id from the act itself, and can follow and cancel it.
func TestAResumedActNamesItsRunningCapture(t *testing.T) {
	h := newHarness(t)
	id := auth.Identity{Perms: auth.View | auth.Capture, Comune: "F205", Operator: "anna.ufficiale"}
	first := h.connect(id)
	hold := make(chan struct{})
	h.drv.Script("fake:1", scannertest.Step{Data: signedPage(t)}, scannertest.Step{Block: hold})
	act := first.open([3]string{"sposo", "Marco", "Bianchi"})
	started := first.call(map[string]any{"type": "capture.start", "act": act.ID, "device": "fake:1", "source": "feeder", "dpi": 300, "color": "gray"})
	if started.Type != protocol.TypeCaptureStarted {
		t.Fatalf("capture.start: %s", started.raw)
	}
	capID := decode[protocol.CaptureRef](t, started).Capture
	if f := first.until(protocol.TypePageReady); f.Type != protocol.TypePageReady {
		t.Fatalf("first page: %s", f.raw)
	}
	second := h.connect(id)
	resumed := decode[protocol.ActInfo](t, second.call(map[string]any{"type": "act.resume", "act": act.ID}))
	if resumed.Act.State != "capturing" || resumed.Act.Capture != capID {
		t.Fatalf("resumed mid-capture: state %q capture %q, want capturing %q", resumed.Act.State, resumed.Act.Capture, capID)
	}
	if f := second.call(map[string]any{"type": "capture.cancel", "capture": resumed.Act.Capture}); f.Type != protocol.TypeCaptureCanceled {
		t.Fatalf("cancel from the second tab: %s", f.raw)
	}
	close(hold)
	ended := second.untilState(act.ID, store.StateCaptured)
	if ended.Capture != "" || ended.Pages != 1 {
		t.Errorf("after the capture: capture %q, %d pages", ended.Capture, ended.Pages)
	}
}

// The page whose box was left empty is retaken once signed: the new scan
// takes its place, the old one stays kept but out of the document, and
// the act becomes ready. A duplicate page is taken out, pages move, and a
// ready act whose pages change is checked again.
func TestRetakeRemoveAndMovePages(t *testing.T) {
	h := newHarness(t)
	h.boxes = boxesFor("sposo", "testimone1")
	tb := h.connect(auth.Identity{Perms: auth.View | auth.Capture | auth.Export, Comune: "F205", Operator: "anna.ufficiale"})
	h.drv.Script("fake:1", scannertest.Step{Data: signedPage(t)})
	act := tb.open([3]string{"sposo", "Marco", "Bianchi"}, [3]string{"testimone1", "Chiara", "Colombo"})
	tb.capture(act.ID)
	checked := tb.untilState(act.ID, store.StateChecked)
	if got := blockerCodes(checked.Blockers); !slices.Equal(got, []string{"blocker_signature_missing:testimone1"}) {
		t.Fatalf("blockers %v", got)
	}
	if f := tb.call(map[string]any{"type": "capture.start", "act": act.ID, "device": "fake:1", "source": "platen", "dpi": 300, "color": "gray", "replace": 7}); f.Error.Code != protocol.CodePageNotFound {
		t.Fatalf("retake of a page the act does not have: %s", f.raw)
	}
	h.drv.Script("fake:1", scannertest.Step{Data: pageSigned(t, 2)})
	if f := tb.call(map[string]any{"type": "capture.start", "act": act.ID, "device": "fake:1", "source": "platen", "dpi": 300, "color": "gray", "replace": 1}); f.Type != protocol.TypeCaptureStarted {
		t.Fatalf("retake: %s", f.raw)
	}
	ready := tb.untilState(act.ID, store.StateReady)
	if !slices.Equal(ready.Order, []int{2}) || !slices.Equal(ready.Removed, []int{1}) || ready.Document == nil || ready.Document.Pages != 1 {
		t.Fatalf("after the retake: order %v removed %v document %+v", ready.Order, ready.Removed, ready.Document)
	}
	// A second scan of the same sheet, by mistake: two pages, both signed.
	h.drv.Script("fake:1", scannertest.Step{Data: pageSigned(t, 2)})
	tb.capture(act.ID)
	twice := tb.untilState(act.ID, store.StateReady)
	if !slices.Equal(twice.Order, []int{2, 3}) || twice.Document.Pages != 2 {
		t.Fatalf("after a second scan: order %v, document of %d pages", twice.Order, twice.Document.Pages)
	}
	if f := tb.call(map[string]any{"type": "page.remove", "act": act.ID, "page": 3, "reason": ""}); f.Error.Code != protocol.CodeBadMessage {
		t.Fatalf("a removal without a reason: %s", f.raw)
	}
	if f := tb.call(map[string]any{"type": "page.move", "act": act.ID, "page": 3, "before": 2}); f.Type != protocol.TypeActUpdated {
		t.Fatalf("move: %s", f.raw)
	}
	moved := tb.untilState(act.ID, store.StateReady)
	if !slices.Equal(moved.Order, []int{3, 2}) {
		t.Fatalf("after the move: order %v", moved.Order)
	}
	if f := tb.call(map[string]any{"type": "page.remove", "act": act.ID, "page": 3, "reason": "doppione della pagina 2"}); f.Type != protocol.TypeActUpdated {
		t.Fatalf("remove: %s", f.raw)
	}
	final := tb.untilState(act.ID, store.StateReady)
	if !slices.Equal(final.Order, []int{2}) || !slices.Equal(final.Removed, []int{1, 3}) || final.Document.Pages != 1 {
		t.Fatalf("after the removal: order %v removed %v, document of %d pages", final.Order, final.Removed, final.Document.Pages)
	}
	if f := tb.call(map[string]any{"type": "page.remove", "act": act.ID, "page": 3, "reason": "di nuovo"}); f.Error.Code != protocol.CodePageNotFound {
		t.Fatalf("a removed page removed again: %s", f.raw)
	}
}

// Autografo stopped in the middle of a page: however the device takes the
// abandoned job (here its connection breaks, which reads as unplugged), the
// browser is told the agent is stopping, not that the scanner went away,
// and the act keeps that its capture was interrupted.
func TestAStopMidPageIsTheAgentStoppingNotTheDeviceGone(t *testing.T) {
	h := newHarness(t)
	tb := h.connect(auth.Identity{Perms: auth.View | auth.Capture, Comune: "F205", Operator: "anna.ufficiale"})
	never := make(chan struct{})
	h.drv.Script("fake:1", scannertest.Step{Data: scannertest.JPEG(600, 800)}, scannertest.Step{Block: never, CancelErr: scanner.ErrGone})
	act := tb.open([3]string{"sposo", "Marco", "Bianchi"})
	f := tb.call(map[string]any{"type": "capture.start", "act": act.ID, "device": "fake:1", "source": "feeder", "dpi": 300, "color": "gray"})
	if f.Type != protocol.TypeCaptureStarted {
		t.Fatalf("capture.start: %s", f.raw)
	}
	tb.until(protocol.TypePageReady)
	done := make(chan error, 1)
	go func() { done <- h.a.Shutdown(context.Background()) }()
	failed := decode[protocol.CaptureFailed](t, tb.until(protocol.TypeCaptureFailed))
	if failed.Error.Code != protocol.CodeShuttingDown || failed.Pages != 1 {
		t.Errorf("capture ended with %s after %d pages, want shutting_down after 1", failed.Error.Code, failed.Pages)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	kept, err := h.st.Act(context.Background(), act.ID)
	if err != nil || kept.Interrupted != protocol.CodeInterrupted {
		t.Errorf("the act keeps %q about its capture (%v), want %s", kept.Interrupted, err, protocol.CodeInterrupted)
	}
}

// The workstation seal's certificate expired while the agent ran (it was
// valid at start): no document is signed with it, the officer is told in
// Italian what to do, and the act stays checked with its pages, to be
// made ready once the certificate is renewed.
func TestAnExpiredSealSignsNothing(t *testing.T) {
	sealer, cert := workstationSealer(t, time.Hour)
	sealer.SetClock(func() time.Time { return cert.NotAfter.Add(time.Minute) }) // a minute after it expired
	h := newHarness(t, func(o *Options) { o.Sealer = sealer })
	h.boxes = boxesFor("sposo", "sposa")
	tb := h.connect(auth.Identity{Perms: auth.View | auth.Capture | auth.Export, Comune: "F205", Operator: "anna.ufficiale"})
	h.drv.Script("fake:1", scannertest.Step{Data: pageSigned(t, 2)})
	act := tb.open([3]string{"sposo", "Marco", "Bianchi"}, [3]string{"sposa", "Giulia", "Rossi"})
	tb.capture(act.ID)
	failed := decode[protocol.DocumentFailed](t, tb.until(protocol.TypeDocumentFailed))
	if failed.Act != act.ID || failed.Error.Code != protocol.CodeCertExpired || !strings.Contains(failed.Error.Message, "non è valido oggi") {
		t.Fatalf("document.failed %+v, want %s", failed, protocol.CodeCertExpired)
	}
	a, err := h.st.Act(t.Context(), act.ID)
	if err != nil || a.State != store.StateChecked || a.Pages != 1 || a.Document != "" {
		t.Fatalf("the act after the refused seal: %+v %v", a, err)
	}
	if f := tb.call(map[string]any{"type": "document.build", "act": act.ID}); f.Error.Code == "" {
		t.Errorf("a document was handed over with an expired seal: %s", f.raw)
	}
}

// Every analysed page says whether its sheet holds ink, with the figures:
// a page with a signature does, a sheet of white paper does not.
func TestPageAnalysisSaysWhetherTheSheetIsBlank(t *testing.T) {
	h := newHarness(t)
	h.boxes = boxesFor("sposo", "sposa")
	tb := h.connect(auth.Identity{Perms: auth.View | auth.Capture, Comune: "F205", Operator: "anna.ufficiale"})
	white := image.NewGray(image.Rect(0, 0, 2480, 3508))
	for i := range white.Pix {
		white.Pix[i] = 240
	}
	var blank bytes.Buffer
	if err := jpeg.Encode(&blank, white, nil); err != nil {
		t.Fatal(err)
	}
	h.drv.Script("fake:1", scannertest.Step{Data: signedPage(t)}, scannertest.Step{Data: blank.Bytes()})
	act := tb.open([3]string{"sposo", "Marco", "Bianchi"}, [3]string{"sposa", "Giulia", "Esposito"})
	tb.capture(act.ID)
	got := map[int]*protocol.Blankness{}
	for len(got) < 2 {
		pa := decode[protocol.PageAnalysis](t, tb.until(protocol.TypePageAnalysis))
		got[pa.Page] = pa.Blank
	}
	if b := got[1]; b == nil || b.Blank || b.InkMM2 < 10 || b.Marks == 0 {
		t.Errorf("the signed page: %+v", b)
	}
	if b := got[2]; b == nil || !b.Blank || b.InkMM2 != 0 {
		t.Errorf("the white sheet: %+v", b)
	}
}

// A duplex scan's blank backs are kept but left out of the document; a
// back with writing, a back with a code or a box, and a blank front all
// stay in it.
func TestBlankBacksAreLeftOutOfTheDocument(t *testing.T) {
	analysed := func(blank bool, printed *protocol.PrintedPage) json.RawMessage {
		raw, _ := json.Marshal(pageAnalysis{Blank: &pipeline.Blankness{Blank: blank}, Printed: printed})
		return raw
	}
	boxes, _ := json.Marshal(boxesFor("sposo", "sposa"))
	pages := []store.Page{
		{Index: 1, Analysis: analysed(false, nil)},
		{Index: 2, Back: true, Analysis: analysed(true, nil)},                                      // a blank back: out
		{Index: 3, Analysis: analysed(false, nil)},                                                 //
		{Index: 4, Back: true, Analysis: analysed(false, nil)},                                     // a back with writing
		{Index: 5, Analysis: analysed(true, nil)},                                                  // a blank front: reported, kept
		{Index: 6, Back: true, Analysis: analysed(true, nil), Boxes: boxes},                        // a box on it
		{Index: 7, Back: true, Analysis: analysed(true, &protocol.PrintedPage{Page: 1, Pages: 1})}, // a code read on it
		{Index: 8, Back: true},                                                                     // not analysed yet: not known blank
	}
	for i := range pages {
		pages[i].Act, pages[i].Ord, pages[i].Analysed = "act-1", float64(pages[i].Index), pages[i].Analysis != nil
	}
	order, _ := documentOrder(pages)
	var in []int
	for _, p := range pages {
		if _, ok := order[p.Index]; ok {
			in = append(in, p.Index)
		}
	}
	if !slices.Equal(in, []int{1, 3, 4, 5, 6, 7, 8}) {
		t.Errorf("pages in the document %v, want every page but the blank back 2", in)
	}
}

// A device that lists 600 dpi but makes the page at 300 (as some do in
// one colour mode): the page's pixels say so, its real resolution is what
// it is analysed at, and both signatures are found. A page of another area
// keeps the resolution asked and says it differs.
func TestAPageIsAnalysedAtTheResolutionItWasMadeAt(t *testing.T) {
	h := newHarness(t)
	gray := map[scanner.ColorMode][]int{scanner.Gray: {150, 300, 600}}
	h.drv.SetCaps(scanner.Caps{Sources: []scanner.Source{scanner.Feeder}, ColorModes: []scanner.ColorMode{scanner.Gray},
		Resolutions: []int{150, 300, 600}, MediaTypes: []string{"image/jpeg"}, MaxWidthMM: 210, MaxHeightMM: 356,
		Inputs: []scanner.Input{{Source: scanner.Feeder, MaxWidthMM: 210, MaxHeightMM: 356, Modes: gray}}})
	h.boxes = boxesFor("sposo", "sposa")
	tb := h.connect(auth.Identity{Perms: auth.View | auth.Capture, Comune: "F205", Operator: "anna.ufficiale"})
	h.drv.Script("fake:1", scannertest.Step{Data: pageSigned(t, 2)}) // 2480 x 3508: A4 at 300 dpi
	act := tb.open([3]string{"sposo", "Marco", "Bianchi"}, [3]string{"sposa", "Giulia", "Esposito"})
	tb.captureAt(act.ID, 600)
	ready := tb.untilState(act.ID, store.StateReady)
	for _, s := range ready.Signers {
		if s.Status != protocol.SignerSigned {
			t.Errorf("%s: %s %v, want signed", s.Role, s.Status, s.Reasons)
		}
	}
	pages, err := h.st.Pages(t.Context(), act.ID)
	if err != nil || len(pages) != 1 || pages[0].DPI != 300 || pages[0].AskedDPI != 600 || pages[0].Fit != string(scanner.FitResolution) {
		t.Fatalf("stored pages %+v (%v), want one made at 300 dpi of 600 asked", pages, err)
	}
	if !strings.Contains(h.logs.String(), `msg="page's pixels are not what was asked of the device"`) {
		t.Error("the log does not say the page is not what was asked")
	}
	// The same pixels asked at 300 dpi: analysed the same, ink for ink.
	h.drv.Script("fake:1", scannertest.Step{Data: pageSigned(t, 2)})
	same := tb.open([3]string{"sposo", "Marco", "Bianchi"}, [3]string{"sposa", "Giulia", "Esposito"})
	tb.captureAt(same.ID, 300)
	tb.untilState(same.ID, store.StateReady)
	asked, _ := h.st.Pages(t.Context(), same.ID)
	ink := func(p store.Page) float64 {
		var pa pageAnalysis
		if err := json.Unmarshal(p.Analysis, &pa); err != nil || pa.Blank == nil {
			t.Fatalf("page analysis %s: %v", p.Analysis, err)
		}
		return pa.Blank.InkMM2
	}
	if a, b := ink(pages[0]), ink(asked[0]); a != b || a == 0 {
		t.Errorf("ink on the page made at 300: %.2f mm², on the same page asked at 300: %.2f mm²", a, b)
	}

	// A page cut to a third of the width asked.
	cut := image.NewGray(image.Rect(0, 0, 800, 3508))
	for i := range cut.Pix {
		cut.Pix[i] = 240
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, cut, nil); err != nil {
		t.Fatal(err)
	}
	h.drv.Script("fake:1", scannertest.Step{Data: buf.Bytes()})
	other := tb.open([3]string{"sposo", "Luca", "Ferri"}, [3]string{"sposa", "Anna", "Galli"})
	tb.captureAt(other.ID, 300)
	// What the tab was told of each page.
	told := map[string]protocol.PageInfo{}
	tb.mu.Lock()
	for _, f := range tb.frames {
		if f.Type == protocol.TypePageReady {
			var pr protocol.PageReady
			json.Unmarshal(f.raw, &pr)
			told[pr.Act] = pr.Page
		}
	}
	tb.mu.Unlock()
	if p := told[act.ID]; p.Fit != string(scanner.FitResolution) || p.DPI != 300 || p.AskedDPI != 600 {
		t.Errorf("page.ready of the page made at 300: %+v", p)
	}
	if p := told[other.ID]; p.Fit != string(scanner.FitArea) || p.DPI != 300 || p.AskedDPI != 300 {
		t.Errorf("page.ready of the cut page: %+v, want fit area at the 300 dpi asked", p)
	}
}

// Health says what would fail before an officer meets it: a seal whose
// certificate is no longer valid by the clock it signs with, a store that
// does not answer.
func TestHealthSaysWhatWouldFail(t *testing.T) {
	sealer, cert := workstationSealer(t, 45*24*time.Hour)
	h := newHarness(t, func(o *Options) { o.Sealer = sealer; o.Version = "1.2.3" })
	got := h.a.Health(t.Context())
	if got.Status != "ok" || got.Version != "1.2.3" || !got.Store.OK || len(got.Certificates) != 1 {
		t.Fatalf("health %+v", got)
	}
	if c := got.Certificates[0]; c.Use != "seal" || !c.Valid || c.DaysLeft != 44 || !c.NotAfter.Equal(cert.NotAfter) {
		t.Errorf("the seal's certificate %+v, want valid with 44 days left", c)
	}
	sealer.SetClock(func() time.Time { return cert.NotAfter.Add(24*time.Hour + time.Minute) }) // a day after it expired
	got = h.a.Health(t.Context())
	if c := got.Certificates[0]; got.Status != "degraded" || c.Valid || c.DaysLeft != -1 {
		t.Errorf("with the seal expired: %+v", got)
	}
	sealer.SetClock(time.Now)
	h.st.Close()
	got = h.a.Health(t.Context())
	if got.Status != "degraded" || got.Store.OK || got.Store.Error == "" {
		t.Errorf("with the store closed: %+v", got)
	}
}

// workstationSealer is a workstation seal whose certificate became valid
// an hour ago and stays valid for the duration given.
func workstationSealer(t *testing.T, valid time.Duration) (*seal.Sealer, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Postazione demografici 3"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(valid), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	sealer, err := seal.New(key, cert, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sealer, cert
}
