package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// The wire is a contract with every act-drafting app: these golden files pin
// the JSON of each message so that a change to it is a visible decision.
func TestWireGolden(t *testing.T) {
	signers := []Signer{
		{Role: "sposo", Nome: "Marco", Cognome: "Bianchi", Label: "Lo sposo", Display: "Marco Bianchi (sposo)", Status: SignerSigned, Pages: []int{3}},
		{Role: "sposa", Nome: "Maria Grazia", Cognome: "De Luca", CodiceFiscale: "DLCMGR90A41F205X", Label: "La sposa",
			Status: SignerConfirmed, Pages: []int{3}, Reasons: []string{"faint_ink"},
			Override: &Exception{Reason: "firma verificata a vista", By: "ufficiale"}},
		{Role: "testimone1", Nome: "Luca", Cognome: "Romano", Label: "Il testimone", Status: SignerUnable,
			Unable: &Exception{Reason: "mano ingessata", By: "ufficiale"}},
		{Role: "testimone2", Nome: "Chiara", Cognome: "Colombo", Label: "Il testimone", Status: SignerMissing, Pages: []int{3}},
	}
	doc := DocumentInfo{Name: "verbale_matrimonio_2026-11-23_1030.pdf", MediaType: "application/pdf", Bytes: 812345, Pages: 3,
		SHA256: strings.Repeat("cd", 32), SHA1: strings.Repeat("ef", 20), Sealed: true, PassThrough: true}
	msgs := map[string]any{
		"welcome": Welcome{Envelope: Envelope{Type: TypeWelcome, ID: "1"}, Version: Version, Agent: "autografo 1.0",
			Operator: "mario.rossi", Permissions: []string{"view", "capture"}, Session: "c2Vzc2lvbg",
			Devices: []Device{{ID: "sim:0", Driver: "sim", Name: "Autografo Scanner simulato"}},
			Kinds:   []ActKind{{Kind: "nascita", Name: "Nascita", Roles: []string{"dichiarante", "ufficiale"}, Extra: []string{"testimone1"}}},
			Roles:   []Role{{Role: "dichiarante", Name: "Dichiarante"}, {Role: "testimone1", Name: "Primo testimone"}, {Role: "ufficiale", Name: "Ufficiale dello stato civile"}}},
		"act.opened": ActOpened{Envelope: Envelope{Type: TypeActOpened, ID: "2"}, Act: Act{ID: "act-1", Kind: "matrimonio",
			Comune: "F205", Operator: "mario.rossi", Signers: []Signer{{Role: "sposo", Nome: "Marco", Cognome: "Bianchi", Label: "Lo sposo", Status: SignerPending}},
			State: "draft", Created: "2026-11-23T10:30:00Z",
			Blockers: []Blocker{{Code: BlockerNoPages, Message: Italian(BlockerNoPages)}}}},
		"act.changed": ActChanged{Envelope: Envelope{Type: TypeActChanged}, Act: Act{ID: "act-1", Kind: "matrimonio", Comune: "F205",
			Signers: signers, Pages: 4, Order: []int{1, 2, 4}, Removed: []int{3}, State: "checked", Created: "2026-11-23T10:30:00Z",
			Blockers: []Blocker{{Code: BlockerSignatureEmpty, Role: "testimone2",
				Message: Format(BlockerSignatureEmpty, "di Chiara Colombo (secondo testimone)", 0)}}}},
		"acts": Acts{Envelope: Envelope{Type: TypeActs, ID: "9"}, Acts: []Act{{ID: "act-2", Kind: "matrimonio", Pages: 3,
			State: "ready", Document: &doc, Emergency: true, Register: "7/2026", RegisterTime: "2026-11-21T16:30:00Z", Created: "2026-11-23T10:30:00Z", Signers: []Signer{}}}},
		"act.delivered": ActDelivered{Envelope: Envelope{Type: TypeActDelivered, ID: "10"}, Act: Act{ID: "act-2", Kind: "matrimonio",
			State: "delivered", Created: "2026-11-23T10:30:00Z", Signers: []Signer{}, Document: &doc}, Delivery: "dG9rZW4",
			Pages:    []PageInfo{{Index: 2, MediaType: "image/jpeg", Width: 2480, Height: 3508, DPI: 300, Bytes: 270000, SHA256: strings.Repeat("ab", 32), Replaces: 1}},
			Document: doc, R006: R006Fields{Nomefile: doc.Name, TipoFile: "1", TipoAllegato: "999",
				ListaFirmatari: []Firmatario{{Nome: "Marco", Cognome: "Bianchi"}, {Nome: "Maria Grazia", Cognome: "De Luca", CodiceFiscale: "DLCMGR90A41F205X"}}},
			Exceptions: []Eccezione{{Ruolo: "sposa", Nome: "Maria Grazia", Cognome: "De Luca", Tipo: "verificata", Motivo: "firma verificata a vista", Da: "ufficiale"},
				{Ruolo: "testimone1", Nome: "Luca", Cognome: "Romano", Tipo: "non_puo_firmare", Motivo: "mano ingessata", Da: "ufficiale"}},
			Blob: "blob-9"},
		"document.ready": DocumentReady{Envelope: Envelope{Type: TypeDocumentReady, ID: "11"}, Act: "act-2", Document: doc,
			R006:       R006Fields{Nomefile: doc.Name, TipoFile: "1", TipoAllegato: "999", ListaFirmatari: []Firmatario{{Nome: "Marco", Cognome: "Bianchi"}}},
			Exceptions: []Eccezione{{Ruolo: "testimone1", Nome: "Luca", Cognome: "Romano", Tipo: "non_puo_firmare", Motivo: "mano ingessata", Da: "ufficiale"}},
			Blob:       "blob-10"},
		"capture.progress": CaptureProgress{Envelope: Envelope{Type: TypeCaptureProgress}, Act: "act-1", Capture: "cap-1",
			Page: 2, Phase: PhaseReceiving, Bytes: 4096, Total: 81920},
		"page.ready": PageReady{Envelope: Envelope{Type: TypePageReady}, Act: "act-1", Capture: "cap-1",
			Page: PageInfo{Index: 2, MediaType: "image/jpeg", Width: 2574, Height: 3602, DPI: 300, Bytes: 81920,
				SHA256: strings.Repeat("ab", 32)}, Preview: "blob-1"},
		"page.analysis": PageAnalysis{Envelope: Envelope{Type: TypePageAnalysis}, Act: "act-1", Capture: "cap-1", Page: 3,
			SkewDeg: 1.25, Orientation: 0, Trusted: true, OrientationTrusted: true, Turn: -1, Position: 3,
			Blank: &Blankness{InkMM2: 5812.4, Marks: 2231, LargestMM2: 96.2}, Signatures: []Signature{
				{Role: "sposo", Label: "Lo sposo", Decision: "signed", Confidence: 0.97, Blob: "blob-2"},
				{Role: "testimone1", Label: "Il testimone", Decision: "empty", Confidence: 1, Reasons: []string{"stray_mark"}},
				{Role: "ufficiale", Label: "L'Ufficiale dello Stato Civile", Decision: "doubtful", Confidence: 0.5, Reasons: []string{"little_ink"}, Blob: "blob-3"}}},
		"capture.failed": CaptureFailed{Envelope: Envelope{Type: TypeCaptureFailed}, Act: "act-1", Capture: "cap-1", Pages: 2,
			Error: NewError(CodePaperJam)},
		"error": ErrorMessage{Envelope: Envelope{Type: TypeError, ID: "7"}, Error: NewError(CodeDeviceBusy)},
	}
	for name, m := range msgs {
		got, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, '\n')
		path := filepath.Join("testdata", name+".json")
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s changed on the wire:\n%s\nwant:\n%s", name, got, want)
		}
	}
}

func TestDecodeRequest(t *testing.T) {
	for _, tc := range []struct {
		in      string
		typ     any
		wantErr error
	}{
		{`{"type":"hello","id":"1","versions":[2]}`, &Hello{}, nil},
		{`{"type":"devices.list","id":"2"}`, &Envelope{}, nil},
		{`{"type":"act.open","id":"3","kind":"matrimonio","signers":[{"role":"sposo","nome":"Marco","cognome":"Bianchi"}]}`, &ActOpen{}, nil},
		{`{"type":"act.confirm","id":"3","act":"a","delivery":"t","attachment":"43676"}`, &ActConfirm{}, nil},
		{`{"type":"signer.unable","id":"3","act":"a","role":"testimone1","reason":"non vedente"}`, &SignerMark{}, nil},
		{`{"type":"capture.start","id":"4","act":"a","device":"sim:0","source":"feeder","dpi":300,"color":"gray"}`, &CaptureStart{}, nil},
		{`{"type":"capture.cancel","id":"5","capture":"c"}`, &CaptureRef{}, nil},
		{`{"type":"page.get","id":"6","act":"a","page":1}`, &PageGet{}, nil},
		{`{"type":"format.disk","id":"7"}`, nil, ErrUnknownType},
		{`{"id":"8"}`, nil, ErrBadMessage},
		{`{"type":"hello",`, nil, ErrBadMessage},
		{`[1,2,3]`, nil, ErrBadMessage},
		{`{"type":"capture.start","dpi":"many"}`, nil, ErrBadMessage},
		{`{"type":"hello","id":"` + strings.Repeat("x", 200) + `"}`, nil, ErrBadMessage},
		{`{"type":"hello","pad":"` + strings.Repeat("x", MaxMessageBytes) + `"}`, nil, ErrTooLarge},
	} {
		_, v, err := DecodeRequest([]byte(tc.in))
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("%.60s: err %v, want %v", tc.in, err, tc.wantErr)
			continue
		}
		if tc.typ != nil {
			if got, want := typeName(v), typeName(tc.typ); got != want {
				t.Errorf("%.60s: decoded as %s, want %s", tc.in, got, want)
			}
		}
	}
	env, _, err := DecodeRequest([]byte(`{"type":"nope","id":"42"}`))
	if !errors.Is(err, ErrUnknownType) || env.ID != "42" {
		t.Errorf("unknown type must keep the id for the reply: %+v %v", env, err)
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *Hello:
		return "Hello"
	case *Envelope:
		return "Envelope"
	case *ActOpen:
		return "ActOpen"
	case *CaptureStart:
		return "CaptureStart"
	case *CaptureRef:
		return "CaptureRef"
	case *PageGet:
		return "PageGet"
	case *ActConfirm:
		return "ActConfirm"
	case *SignerMark:
		return "SignerMark"
	}
	return "?"
}

func TestBlobRoundTrip(t *testing.T) {
	data := []byte("\xff\xd8\xff\xe0 jpeg bytes")
	f, err := EncodeBlob(BlobHeader{Blob: "blob-1", MediaType: "image/jpeg"}, data)
	if err != nil {
		t.Fatal(err)
	}
	h, got, err := DecodeBlob(f)
	if err != nil || h.Blob != "blob-1" || h.MediaType != "image/jpeg" || !bytes.Equal(got, data) {
		t.Fatalf("round trip: %+v %q %v", h, got, err)
	}
	for _, bad := range [][]byte{nil, {0, 0}, {0, 0, 0, 9, '{'}, {0xff, 0xff, 0xff, 0xff}, append([]byte{0, 0, 0, 3}, "abc"...)} {
		if _, _, err := DecodeBlob(bad); !errors.Is(err, ErrBadFrame) {
			t.Errorf("DecodeBlob(%q) = %v, want ErrBadFrame", bad, err)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"type":"hello","id":"1","versions":[2]}`,
		`{"type":"act.release","act":"a","delivery":"x"}`,
		`{"type":"page.turn","act":"a","page":1,"turn":90}`,
		`{"type":"capture.start","id":"4","act":"a","device":"sim:0","source":"feeder","dpi":300,"color":"gray"}`,
		`{"type":"act.open","signers":[{"role":"sposo"}]}`,
		`{"type":"page.get","page":-1}`,
		`{}`, `null`, `"x"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		env, v, err := DecodeRequest(data)
		if err == nil {
			if v == nil || env.Type == "" {
				t.Fatalf("accepted %q without a typed value", data)
			}
			return
		}
		if !errors.Is(err, ErrBadMessage) && !errors.Is(err, ErrUnknownType) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("untyped error %v for %q", err, data)
		}
	})
}

func FuzzDecodeBlob(f *testing.F) {
	good, _ := EncodeBlob(BlobHeader{Blob: "b", MediaType: "image/jpeg"}, []byte{1, 2, 3})
	f.Add(good)
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, frame []byte) {
		h, data, err := DecodeBlob(frame)
		if err != nil {
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		again, err := EncodeBlob(h, data)
		if err != nil {
			t.Fatalf("re-encoding a decoded frame: %v", err)
		}
		if _, d2, err := DecodeBlob(again); err != nil || !bytes.Equal(d2, data) {
			t.Fatalf("round trip lost the bytes: %v", err)
		}
	})
}
