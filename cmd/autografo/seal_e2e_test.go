package main

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"maps"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/autografo/autografo/agent/document/doctest"
	"github.com/autografo/autografo/agent/seal/sealtest"
	"github.com/autografo/autografo/scanner/scannertest"
	"github.com/autografo/autografo/scanner/sheet"
)

// The agent configured with a workstation seal: a capture's document
// arrives sealed, and autografo verify finds it intact.
func TestCapturedDocumentIsSealedAndVerifies(t *testing.T) {
	dir := t.TempDir()
	sealFlags := workstationSeal(t, dir)

	ag := startAgent(t, append([]string{"--sim-pages", "2", "--sim-page-time", "1ms", "--saned", ""}, sealFlags...)...)
	cl, err := dialAgent(t, ag)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.c.Close()
	_, ready, data := captureDocument(t, ag, cl, map[string]any{"type": "act.open", "kind": "matrimonio",
		"signers": []map[string]string{{"role": "sposa", "nome": "Giulia", "cognome": "Esposito"}}})
	doc := ready.msg["document"].(map[string]any)
	r006 := ready.msg["r006"].(map[string]any)
	if doc["sealed"] != true || doc["pages"] != 2.0 || r006["listaFirmatari"].([]any)[0].(map[string]any)["cognome"] != "Esposito" {
		t.Fatalf("document.ready %s", ready.raw)
	}
	path := filepath.Join(dir, "verbale.pdf")
	os.WriteFile(path, data, 0o600)
	var out, errb bytes.Buffer
	if code := run([]string{"verify", "--trust", filepath.Join(dir, "seal.pem"), path}, &out, &errb); code != 0 || !strings.Contains(out.String(), "CN=Postazione demografici 2") {
		t.Fatalf("verify (%d):\n%s%s", code, out.String(), errb.String())
	}
}

// captureDocument opens an act, captures from the simulator's feeder,
// confirms by eye the signatures of the roles in confirm (signers the
// simulated act has no box for), waits for the act to be ready, and
// returns its document.ready with the document's bytes.
func captureDocument(t *testing.T, ag *agentProc, cl *wsClient, open map[string]any, confirm ...string) (actID string, ready frame, data []byte) {
	t.Helper()
	opened, err := cl.call(open, "act.opened")
	if err != nil {
		t.Fatal(err)
	}
	actID = opened.msg["act"].(map[string]any)["id"].(string)
	if _, err := cl.call(map[string]any{"type": "capture.start", "act": actID, "device": "sim:0", "source": "feeder",
		"dpi": 150, "color": "gray"}, "capture.started"); err != nil {
		t.Fatal(err)
	}
	waitState(t, ag, cl, actID, "checked", "ready")
	for _, role := range confirm {
		if _, err := cl.call(map[string]any{"type": "signature.override", "act": actID, "role": role,
			"reason": "firma verificata a vista dall'ufficiale"}, "act.updated"); err != nil {
			t.Fatalf("%v\n%s", err, ag.logs)
		}
	}
	waitState(t, ag, cl, actID, "ready")
	ready, data = documentOf(t, cl, actID, nil)
	return actID, ready, data
}

// waitState reads events until an act.changed says the act is in one of
// the states, and returns it; a document.failed ends the test.
func waitState(t *testing.T, ag *agentProc, cl *wsClient, actID string, states ...string) map[string]any {
	t.Helper()
	for {
		var f frame
		var err error
		if len(cl.stash) > 0 {
			f, cl.stash = cl.stash[0], cl.stash[1:]
		} else if f, err = cl.read(); err != nil {
			t.Fatalf("waiting for %v: %v\n%s", states, err, ag.logs)
		}
		if f.msg == nil {
			continue
		}
		if f.msg["type"] == "document.failed" && f.msg["act"] == actID {
			t.Fatalf("document.failed %s\n%s", f.raw, ag.logs)
		}
		if f.msg["type"] != "act.changed" {
			continue
		}
		act := f.msg["act"].(map[string]any)
		if act["id"] == actID && slices.Contains(states, act["state"].(string)) {
			return act
		}
	}
}

// documentOf asks for the act's document (extra: format, attest) and
// returns the reply and its bytes.
func documentOf(t *testing.T, cl *wsClient, actID string, extra map[string]any) (frame, []byte) {
	t.Helper()
	req := map[string]any{"type": "document.build", "act": actID}
	maps.Copy(req, extra)
	ready, err := cl.call(req, "document.ready")
	if err != nil {
		t.Fatal(err)
	}
	for {
		f, err := cl.read()
		if err != nil {
			t.Fatal(err)
		}
		if f.blob != nil {
			return ready, f.blob
		}
	}
}

// An act of the emergency register, with the officer's key on a real
// PKCS#11 token: the document arrives sealed by the workstation and
// attested by the officer, poppler sees both signatures valid, the
// attestation names the officer, and autografo verify reports both.
func TestEmergencyActIsAttestedWithTokenKey(t *testing.T) {
	hsm := sealtest.NewSoftHSM(t, "Giuseppina Cortàzzo")
	dir := t.TempDir()
	sealFlags := workstationSeal(t, dir)
	os.WriteFile(filepath.Join(dir, "pin"), []byte(hsm.PIN+"\n"), 0o600)
	// The office's own name for a birth's paper document, and the officer
	// spoken of as a woman.
	docs := filepath.Join(dir, "documenti.json")
	os.WriteFile(docs, []byte(`{"nascita": "processo verbale di dichiarazione di nascita resa a domicilio"}`), 0o600)
	ag := startAgent(t, append(sealFlags, "--sim-pages", "2", "--sim-page-time", "1ms", "--saned", "",
		"--attest-pkcs11-module", hsm.Module, "--attest-token", hsm.Token, "--attest-key", hsm.KeyLabel,
		"--attest-pin-file", filepath.Join(dir, "pin"), "--office", "Comune di Borgo Sereno",
		"--attest-gender", "f", "--attest-documents", docs)...)
	cl, err := dialAgent(t, ag)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.c.Close()
	_, ready, data := captureDocument(t, ag, cl, map[string]any{"type": "act.open", "kind": "nascita", "ref": "7",
		"emergency": true, "register": "registro di emergenza 2026, n. 3",
		"signers": []map[string]string{{"role": "dichiarante", "nome": "Marco", "cognome": "Ferri"}}}, "dichiarante")
	doc := ready.msg["document"].(map[string]any)
	if doc["sealed"] != true || doc["attested"] != true || doc["officer"] != "Giuseppina Cortàzzo" {
		t.Fatalf("document.ready %s", ready.raw)
	}
	path := filepath.Join(dir, "verbale.pdf")
	os.WriteFile(path, data, 0o600)
	out, _ := exec.Command(scannertest.Need(t, "pdfsig"), path).CombinedOutput()
	if strings.Count(string(out), "Signature is Valid.") != 2 || !strings.Contains(string(out), "Common Name: Giuseppina Cortàzzo") {
		t.Fatalf("pdfsig:\n%s", out)
	}
	text, _ := exec.Command(scannertest.Need(t, "pdftotext"), "-f", "3", "-l", "3", path, "-").CombinedOutput()
	flat := strings.Join(strings.Fields(string(text)), " ")
	// A key on a token (softhsm2 here, a smart card at the counter): the
	// page may call it a firma digitale.
	for _, want := range []string{"La sottoscritta Giuseppina Cortàzzo, ufficiale dello stato civile del Comune di Borgo Sereno", "registro di emergenza 2026, n. 3", "Pagina 2",
		"originale: processo verbale di dichiarazione di nascita resa a domicilio n. 7.",
		"sottoscritto con firma digitale ai sensi dell'art. 24"} {
		if !strings.Contains(flat, want) {
			t.Errorf("attestation lacks %q:\n%s", want, text)
		}
	}
	if ok, out := doctest.Preflight(t, path); !ok {
		t.Errorf("Preflight:\n%s", out)
	}
	if c := doctest.Mutool(t, path); c != "" {
		t.Errorf("mutool: %s", c)
	}
	var vout, verr bytes.Buffer
	officer := writeCertPEM(t, dir, "officer.pem", hsm.Cert)
	if code := run([]string{"verify", "--trust", filepath.Join(dir, "seal.pem"), "--trust", officer, path}, &vout, &verr); code != 0 ||
		!strings.Contains(vout.String(), "seal 2: CN=Giuseppina Cortàzzo") || strings.Contains(vout.String(), "NOT TRUSTED") ||
		!strings.Contains(vout.String(), "Attestazione di conformità") {
		t.Fatalf("verify (%d):\n%s%s", code, vout.String(), verr.String())
	}

	// Asking to attest an act when no officer key is configured is refused
	// in Italian, and nothing is announced as ready.
	plain := startAgent(t, "--sim-pages", "1", "--sim-page-time", "1ms", "--saned", "")
	pc, err := dialAgent(t, plain)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.c.Close()
	actID, _, _ := captureDocument(t, plain, pc, map[string]any{"type": "act.open", "kind": "nascita",
		"signers": []map[string]string{{"role": "dichiarante", "nome": "Anna", "cognome": "Neri"}}}, "dichiarante")
	failed, err := pc.call(map[string]any{"type": "document.build", "act": actID, "attest": true}, "document.failed")
	if err != nil {
		t.Fatal(err)
	}
	e := failed.msg["error"].(map[string]any)
	if e["code"] != "attestation_unavailable" || !strings.Contains(e["message"].(string), "smart card") {
		t.Fatalf("attesting without a key: %s", failed.raw)
	}
}

// workstationSeal writes a workstation seal and its password into dir and
// returns the flags that give them to serve.
func workstationSeal(t *testing.T, dir string) []string {
	t.Helper()
	key, cert := workstationCert(t, "Postazione demografici 2")
	p12, err := pkcs12.Modern.Encode(key, cert, nil, "sigillo")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "seal.p12"), p12, 0o600)
	os.WriteFile(filepath.Join(dir, "seal.pass"), []byte("sigillo\n"), 0o600)
	writeCertPEM(t, dir, "seal.pem", cert) // what a verifier at the office is given to trust
	return []string{"--seal-p12", filepath.Join(dir, "seal.p12"), "--seal-password-file", filepath.Join(dir, "seal.pass")}
}

// Pages the feeder took sideways come out upright in the document: the
// pipeline's quarter turn becomes each page's /Rotate, and the scanner's
// JPEG stays as it was.
func TestDocumentPagesComeOutUpright(t *testing.T) {
	ag := startAgent(t, "--sim-pages", "2", "--sim-page-time", "1ms", "--saned", "", "--sim-rotation", "90")
	cl, err := dialAgent(t, ag)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.c.Close()
	_, ready, data := captureDocument(t, ag, cl, map[string]any{"type": "act.open", "kind": "nascita",
		"signers": []map[string]string{{"role": "dichiarante", "nome": "Marco", "cognome": "Ferri"}}}, "dichiarante")
	if ready.msg["document"].(map[string]any)["passThrough"] != true {
		t.Errorf("turning pages re-encoded them: %s", ready.raw)
	}
	path := filepath.Join(t.TempDir(), "verbale.pdf")
	os.WriteFile(path, data, 0o600)
	out, err := exec.Command(scannertest.Need(t, "pdfinfo"), "-f", "1", "-l", "2", path).CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`Page\s+1 rot:\s+270`, `Page\s+2 rot:\s+270`} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("pdfinfo lacks %q:\n%s", want, out)
		}
	}
}

// The act's signature sheet, printed with its page code, signed (one
// signer missing) and scanned upside down and skewed: the page is
// identified as page 1 of 1 of this act, every box is found from the code
// and the marks, and each verdict is right.
func TestPrintedSheetIsIdentifiedAndItsBoxesFound(t *testing.T) {
	storeDir := t.TempDir()
	ag := startAgent(t, "--store", storeDir, "--saned", "")
	cl, err := dialAgent(t, ag)
	if err != nil {
		t.Fatal(err)
	}
	actID := openAct(t, cl, "matrimonio", []map[string]string{
		{"role": "sposo", "nome": "Marco", "cognome": "Bianchi"}, {"role": "sposa", "nome": "Giulia", "cognome": "Esposito"}, {"role": "ufficiale", "nome": "Anna", "cognome": "Ricci"}})
	ready, pdf := printSheets(t, ag, cl, actID, nil)
	cl.c.Close()
	dir := t.TempDir()
	layout, _ := json.Marshal(ready.msg["layout"])
	os.WriteFile(filepath.Join(dir, "layout.json"), layout, 0o600)
	rasterize(t, pdf, dir, "page", 200, true)

	// The same store, the printed sheet in the feeder.
	ag.stop(t) // one agent a store: the next starts on it
	ag2 := startAgent(t, "--store", storeDir, "--saned", "", "--sim-page-time", "1ms", "--sim-paper", filepath.Join(dir, "page.png"),
		"--sim-paper-layout", filepath.Join(dir, "layout.json"), "--sim-unsigned", "sposa", "--sim-skew", "-3", "--sim-rotation", "180")
	cl, err = dialAgent(t, ag2)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.c.Close()
	analysis := captureFirst(t, ag2, cl, actID, 200, "page.analysis")
	printed, _ := analysis.msg["printed"].(map[string]any)
	if printed == nil || printed["page"] != 1.0 || printed["pages"] != 1.0 {
		t.Fatalf("page not identified: %s\n%s", analysis.raw, ag2.logs)
	}
	got := map[string]string{}
	for _, s := range analysis.msg["signatures"].([]any) {
		m := s.(map[string]any)
		got[m["role"].(string)] = m["decision"].(string)
	}
	if want := map[string]string{"sposo": "signed", "sposa": "empty", "ufficiale": "signed"}; !maps.Equal(got, want) {
		t.Fatalf("verdicts %v, want %v\n%s", got, want, analysis.raw)
	}

	// The same sheet scanned into another act that was printed too: the
	// page is refused as another act's, in Italian.
	otherID := openAct(t, cl, "nascita", []map[string]string{{"role": "dichiarante", "nome": "Anna", "cognome": "Neri"}})
	printSheets(t, ag2, cl, otherID, nil)
	f := captureFirst(t, ag2, cl, otherID, 200, "page.analysis")
	p, _ := f.msg["printed"].(map[string]any)
	e, _ := p["error"].(map[string]any)
	if e == nil || e["code"] != "page_of_other_act" || !strings.Contains(e["message"].(string), "un altro atto") ||
		!strings.Contains(e["message"].(string), "È dell'atto di matrimonio del ") || p["otherAct"] != actID {
		t.Fatalf("another act's page: %s", f.raw)
	}
}

// previewPDF is a three-page A4 PDF like an act's preview: text on every
// page, two signature boxes on the last; and its layout.
func previewPDF() ([]byte, sheet.Layout) {
	const w, h = 595.28, 841.89
	boxes := []sheet.SignerBox{{Role: "sposo", Label: "Lo sposo", Rect: sheet.Rect{X: 60, Y: 200, W: 220, H: 70}},
		{Role: "sposa", Label: "La sposa", Rect: sheet.Rect{X: 315, Y: 200, W: 220, H: 70}}}
	var layout sheet.Layout
	var contents []string
	for p := 1; p <= 3; p++ {
		content := fmt.Sprintf("BT /F1 14 Tf 60 780 Td (Atto di matrimonio - pagina %d di 3) Tj ET\n", p)
		for y := 740; y > 320; y -= 18 {
			content += fmt.Sprintf("BT /F1 10 Tf 60 %d Td (Il giorno ventitre novembre duemilaventisei, nella casa comunale, avanti a me,) Tj ET\n", y)
		}
		pl := sheet.PageLayout{Width: w, Height: h}
		if p == 3 {
			for _, bx := range boxes {
				r := bx.Rect
				content += fmt.Sprintf("BT /F1 9 Tf %.0f %.0f Td (%s) Tj ET\n%.0f %.0f %.0f %.0f re S\n", r.X, r.Y+r.H+4, bx.Label, r.X, r.Y, r.W, r.H)
			}
			pl.Boxes = boxes
		}
		layout.Pages = append(layout.Pages, pl)
		contents = append(contents, content)
	}
	return sheet.PlainPDF(w, h, contents), layout
}

// An act's three-page preview, stamped by the agent, comes back from the
// feeder as page 3 then page 1, page 2 lost: the act is not ready, and
// says sheet 2 is missing. Page 2, scanned after, completes it: the
// document has the three pages in printed order.
func TestPrintedPagesGoInOrderAndMissingOnesAreNamed(t *testing.T) {
	storeDir := t.TempDir()
	ag := startAgent(t, "--store", storeDir, "--saned", "")
	cl, err := dialAgent(t, ag)
	if err != nil {
		t.Fatal(err)
	}
	actID := openAct(t, cl, "matrimonio", []map[string]string{
		{"role": "sposo", "nome": "Marco", "cognome": "Bianchi"}, {"role": "sposa", "nome": "Giulia", "cognome": "Esposito"}})
	preview, layout := previewPDF()
	lj, _ := json.Marshal(layout)
	_, pdf := printSheets(t, ag, cl, actID, map[string]any{"preview": base64.StdEncoding.EncodeToString(preview), "layout": json.RawMessage(lj)})
	cl.c.Close()
	dir := t.TempDir()
	rasterize(t, pdf, dir, "p", 150, false)
	// The feeder gets page 3 (signed) and page 1; the simulated signers'
	// layout follows the same order.
	simLayout, _ := json.Marshal(sheet.Layout{Pages: []sheet.PageLayout{layout.Pages[2], layout.Pages[0]}})
	os.WriteFile(filepath.Join(dir, "sim-layout.json"), simLayout, 0o600)
	ag.stop(t) // one agent a store: the next starts on it
	ag2 := startAgent(t, "--store", storeDir, "--saned", "", "--sim-page-time", "1ms",
		"--sim-paper", filepath.Join(dir, "p-3.png")+","+filepath.Join(dir, "p-1.png"), "--sim-paper-layout", filepath.Join(dir, "sim-layout.json"))
	cl, err = dialAgent(t, ag2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.call(map[string]any{"type": "capture.start", "act": actID, "device": "sim:0", "source": "feeder",
		"dpi": 150, "color": "gray"}, "capture.started"); err != nil {
		t.Fatal(err)
	}
	checked := waitState(t, ag2, cl, actID, "checked")
	if b := mustJSON(checked["blockers"]); !strings.Contains(string(b), `"code":"blocker_sheet_missing"`) ||
		!strings.Contains(string(b), `"page":2`) || fmt.Sprint(checked["missingSheets"]) != "[2]" {
		t.Fatalf("the act with sheet 2 missing: %s", mustJSON(checked))
	}
	if _, err := cl.call(map[string]any{"type": "document.build", "act": actID}, "document.ready"); err == nil ||
		!strings.Contains(err.Error(), "not_ready") {
		t.Fatalf("a document of an act with a sheet missing: %v", err)
	}
	cl.c.Close()
	simLayout, _ = json.Marshal(sheet.Layout{Pages: []sheet.PageLayout{layout.Pages[1]}})
	os.WriteFile(filepath.Join(dir, "sim-layout-2.json"), simLayout, 0o600)
	ag2.stop(t) // one agent a store: the next starts on it
	ag3 := startAgent(t, "--store", storeDir, "--saned", "", "--sim-page-time", "1ms",
		"--sim-paper", filepath.Join(dir, "p-2.png"), "--sim-paper-layout", filepath.Join(dir, "sim-layout-2.json"))
	cl, err = dialAgent(t, ag3)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.c.Close()
	if _, err := cl.call(map[string]any{"type": "capture.start", "act": actID, "device": "sim:0", "source": "feeder",
		"dpi": 150, "color": "gray"}, "capture.started"); err != nil {
		t.Fatal(err)
	}
	waitState(t, ag3, cl, actID, "ready")
	ready, data := documentOf(t, cl, actID, nil)
	if doc := ready.msg["document"].(map[string]any); doc["pages"] != 3.0 || doc["missingSheets"] != nil {
		t.Fatalf("document.ready %s", ready.raw)
	}
	path := filepath.Join(dir, "verbale.pdf")
	os.WriteFile(path, data, 0o600)
	// The document holds the scans (images): tell the pages apart by the
	// code each carries, read back with the same reader.
	for i, want := range []int{1, 2, 3} {
		out, err := exec.Command(scannertest.Need(t, "pdftoppm"), "-gray", "-png", "-r", "150", "-f", fmt.Sprint(i+1), "-l", fmt.Sprint(i+1),
			"-singlefile", path, filepath.Join(dir, fmt.Sprintf("doc%d", i+1))).CombinedOutput()
		if err != nil {
			t.Fatalf("pdftoppm: %v\n%s", err, out)
		}
		f, _ := os.Open(filepath.Join(dir, fmt.Sprintf("doc%d.png", i+1)))
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		g := image.NewGray(img.Bounds())
		draw.Draw(g, g.Rect, img, img.Bounds().Min, draw.Src)
		found, err := sheet.Find(g, 150)
		if err != nil || found.Code.Page != want {
			t.Errorf("document page %d: printed page %d (%v), want %d", i+1, found.Code.Page, err, want)
		}
	}
}

// A layout saved as the template of an act kind serves the next preview
// of that kind, given without one; a kind with no template is refused.
func TestLayoutTemplatePerActKind(t *testing.T) {
	ag := startAgent(t, "--saned", "")
	cl, err := dialAgent(t, ag)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.c.Close()
	preview, layout := previewPDF()
	lj, _ := json.Marshal(layout)
	open := func(kind string) string {
		return openAct(t, cl, kind, []map[string]string{{"role": "sposo", "nome": "Marco", "cognome": "Bianchi"}})
	}
	print := func(act string, extra map[string]any) frame {
		req := map[string]any{"type": "sheet.print", "act": act, "preview": base64.StdEncoding.EncodeToString(preview)}
		maps.Copy(req, extra)
		id, err := cl.send(req)
		if err != nil {
			t.Fatal(err)
		}
		for {
			f, err := cl.read()
			if err != nil {
				t.Fatal(err)
			}
			if f.msg != nil && f.msg["id"] == id {
				return f
			}
		}
	}
	if _, err := cl.call(map[string]any{"type": "template.save", "kind": "matrimonio", "layout": json.RawMessage(lj)}, "template.saved"); err != nil {
		t.Fatalf("saving the template: %v", err)
	}
	r := print(open("matrimonio"), nil)
	got, _ := json.Marshal(r.msg["layout"])
	var back sheet.Layout
	json.Unmarshal(got, &back)
	if r.msg["type"] != "sheet.ready" || !reflect.DeepEqual(back, layout) {
		t.Fatalf("the template was not used: %s", r.raw)
	}
	// A kind without a template: the layout comes from the labels printed
	// in the preview's text...
	r = print(open("nascita"), nil)
	json.Unmarshal(mustJSON(r.msg["layout"]), &back)
	if r.msg["type"] != "sheet.ready" || len(back.Pages) != 3 || len(back.Pages[2].Boxes) != 2 || back.Pages[2].Boxes[1].Role != "sposa" {
		t.Fatalf("layout from the preview's text: %s", r.raw)
	}
	// ...and a preview without labels is refused in Italian.
	req := map[string]any{"type": "sheet.print", "act": open("morte"),
		"preview": base64.StdEncoding.EncodeToString(sheet.PlainPDF(595.28, 841.89, []string{"BT /F1 12 Tf 60 780 Td (Nessuna firma) Tj ET\n"}))}
	if _, err := cl.call(req, "sheet.ready"); err == nil || !strings.Contains(err.Error(), "sheet_failed") {
		t.Fatalf("a preview without labels or template: %v", err)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// printSheets asks for an act's pages to print (extra: preview, layout...)
// and returns the sheet.ready and the PDF that follows it.
func printSheets(t *testing.T, ag *agentProc, cl *wsClient, act string, extra map[string]any) (frame, []byte) {
	t.Helper()
	req := map[string]any{"type": "sheet.print", "act": act}
	maps.Copy(req, extra)
	ready, err := cl.call(req, "sheet.ready")
	if err != nil {
		t.Fatalf("%v\n%s", err, ag.logs)
	}
	for {
		f, err := cl.read()
		if err != nil {
			t.Fatal(err)
		}
		if f.blob != nil {
			return ready, f.blob
		}
	}
}

// rasterize renders a PDF's pages in gray with poppler into dir/prefix-N.png
// (or dir/prefix.png for one page).
func rasterize(t *testing.T, pdf []byte, dir, prefix string, dpi int, single bool) {
	t.Helper()
	in := filepath.Join(dir, prefix+".pdf")
	os.WriteFile(in, pdf, 0o600)
	args := []string{"-gray", "-png", "-r", strconv.Itoa(dpi)}
	if single {
		args = append(args, "-singlefile")
	}
	if out, err := exec.Command(scannertest.Need(t, "pdftoppm"), append(args, in, filepath.Join(dir, prefix))...).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
}

// captureFirst starts a feeder capture for act and returns the first
// message of type typ that follows.
func captureFirst(t *testing.T, ag *agentProc, cl *wsClient, act string, dpi int, typ string) frame {
	t.Helper()
	if _, err := cl.call(map[string]any{"type": "capture.start", "act": act, "device": "sim:0", "source": "feeder",
		"dpi": dpi, "color": "gray"}, "capture.started"); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := cl.read()
		if err != nil {
			t.Fatalf("%v\n%s", err, ag.logs)
		}
		if f.msg != nil && f.msg["type"] == typ && f.msg["act"] == act {
			return f
		}
	}
}

// The labels that introduce signers' boxes are configuration: an office
// whose previews print "Firma del dichiarante" says so once.
func TestSignatureLabelsFromConfiguration(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "labels.json"), []byte(`[{"label": "Firma del dichiarante", "role": "dichiarante", "widthMM": 90}]`), 0o600)
	ag := startAgent(t, "--saned", "", "--signature-labels", filepath.Join(dir, "labels.json"))
	cl, err := dialAgent(t, ag)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.c.Close()
	opened, err := cl.call(map[string]any{"type": "act.open", "kind": "nascita", "signers": []map[string]string{{"role": "dichiarante", "nome": "Anna", "cognome": "Neri"}}}, "act.opened")
	if err != nil {
		t.Fatal(err)
	}
	preview := sheet.PlainPDF(595.28, 841.89, []string{"BT /F1 10 Tf 60 400 Td (Firma del dichiarante) Tj ET\n"})
	ready, _ := printSheets(t, ag, cl, opened.msg["act"].(map[string]any)["id"].(string),
		map[string]any{"preview": base64.StdEncoding.EncodeToString(preview)})
	var layout sheet.Layout
	json.Unmarshal(mustJSON(ready.msg["layout"]), &layout)
	if len(layout.Pages) != 1 || len(layout.Pages[0].Boxes) != 1 || layout.Pages[0].Boxes[0].Role != "dichiarante" ||
		math.Abs(layout.Pages[0].Boxes[0].Rect.W-90*72/25.4) > 0.5 {
		t.Fatalf("layout %s", mustJSON(ready.msg["layout"]))
	}
}

// openAct opens an act and returns its id.
func openAct(t *testing.T, cl *wsClient, kind string, signers []map[string]string) string {
	t.Helper()
	opened, err := cl.call(map[string]any{"type": "act.open", "kind": kind, "signers": signers}, "act.opened")
	if err != nil {
		t.Fatal(err)
	}
	return opened.msg["act"].(map[string]any)["id"].(string)
}

// A preview whose bride's box carries a printed flourish (a pattern to
// sign over, as some forms print), stamped by the agent, comes back with
// the groom's signature and nothing of the bride's: the agent renders the
// printed page again, takes its print away, and finds her box empty.
func TestPrintedFlourishIsNotASignature(t *testing.T) {
	storeDir := t.TempDir()
	ag := startAgent(t, "--store", storeDir, "--saned", "")
	cl, err := dialAgent(t, ag)
	if err != nil {
		t.Fatal(err)
	}
	actID := openAct(t, cl, "matrimonio", []map[string]string{
		{"role": "sposo", "nome": "Marco", "cognome": "Bianchi"}, {"role": "sposa", "nome": "Giulia", "cognome": "Esposito"}})
	const w, h = 595.28, 841.89
	boxes := []sheet.SignerBox{{Role: "sposo", Label: "Lo sposo", Rect: sheet.Rect{X: 60, Y: 420, W: 230, H: 80}},
		{Role: "sposa", Label: "La sposa", Rect: sheet.Rect{X: 310, Y: 420, W: 230, H: 80}}}
	content := "BT /F1 14 Tf 60 780 Td (Atto di matrimonio) Tj ET\n"
	for _, bx := range boxes {
		r := bx.Rect
		content += fmt.Sprintf("0.8 w %.1f %.1f %.1f %.1f re S\nBT /F1 8 Tf %.1f %.1f Td (%s) Tj ET\n", r.X, r.Y, r.W, r.H, r.X+4, r.Y+r.H-10, bx.Label)
		// The flourish: loops across the box, as a pen would draw them.
		x, y := r.X+20, r.Y+30
		content += fmt.Sprintf("1.1 w 1 J 1 j %.1f %.1f m\n", x, y)
		for i := range 5 {
			x0 := x + float64(i)*36
			content += fmt.Sprintf("%.1f %.1f %.1f %.1f %.1f %.1f c\n", x0+9, y+30, x0+22, y-10, x0+36, y+float64(i%2)*9)
		}
		content += "S\n"
	}
	layout := sheet.Layout{Pages: []sheet.PageLayout{{Width: w, Height: h, Boxes: boxes}}}
	lj, _ := json.Marshal(layout)
	_, pdf := printSheets(t, ag, cl, actID, map[string]any{"preview": base64.StdEncoding.EncodeToString(sheet.PlainPDF(w, h, []string{content})), "layout": json.RawMessage(lj)})
	cl.c.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "layout.json"), lj, 0o600)
	rasterize(t, pdf, dir, "page", 200, true)
	ag.stop(t) // one agent a store: the next starts on it
	ag2 := startAgent(t, "--store", storeDir, "--saned", "", "--sim-page-time", "1ms", "--sim-paper", filepath.Join(dir, "page.png"),
		"--sim-paper-layout", filepath.Join(dir, "layout.json"), "--sim-unsigned", "sposa", "--sim-skew", "1.5")
	cl, err = dialAgent(t, ag2)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.c.Close()
	analysis := captureFirst(t, ag2, cl, actID, 200, "page.analysis")
	got := map[string]string{}
	for _, s := range analysis.msg["signatures"].([]any) {
		m := s.(map[string]any)
		got[m["role"].(string)] = m["decision"].(string)
	}
	if want := map[string]string{"sposo": "signed", "sposa": "empty"}; !maps.Equal(got, want) {
		t.Fatalf("verdicts %v, want %v\n%s\n%s", got, want, analysis.raw, ag2.logs)
	}
}

// A seal configured with a certificate not issued for signing documents
// (a smart card's authentication certificate, client authentication only):
// serve starts and says so, captures go on, and the document is refused in
// Italian with its own code, the pages kept; doctor fails on it.
func TestSealWithAnAuthenticationCertificateIsRefusedAtSigning(t *testing.T) {
	dir := t.TempDir()
	key, cert := sealtest.SelfSigned(t, &x509.Certificate{SerialNumber: big.NewInt(5), Subject: pkix.Name{CommonName: "Mario Rossi (autenticazione)"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	p12, err := pkcs12.Modern.Encode(key, cert, nil, "x")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "auth.p12"), p12, 0o600)
	os.WriteFile(filepath.Join(dir, "auth.pass"), []byte("x\n"), 0o600)
	flags := []string{"--seal-p12", filepath.Join(dir, "auth.p12"), "--seal-password-file", filepath.Join(dir, "auth.pass")}

	if code, r, _ := doctor(t, flags...); code != exitCertificate || !hasFinding(r, "certificates", "fail", "cannot sign documents") {
		t.Errorf("doctor: %d %+v", code, r.Findings)
	}
	ag := startAgent(t, append([]string{"--sim-pages", "1", "--sim-page-time", "1ms", "--saned", ""}, flags...)...)
	if !ag.logged("this certificate cannot sign documents") {
		t.Fatalf("serve did not warn:\n%s", ag.logs)
	}
	cl, err := dialAgent(t, ag)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.c.Close()
	opened, err := cl.call(map[string]any{"type": "act.open", "kind": "nascita",
		"signers": []map[string]string{{"role": "dichiarante", "nome": "Anna", "cognome": "Neri"}}}, "act.opened")
	if err != nil {
		t.Fatal(err)
	}
	actID := opened.msg["act"].(map[string]any)["id"].(string)
	if _, err := cl.call(map[string]any{"type": "capture.start", "act": actID, "device": "sim:0", "source": "feeder",
		"dpi": 150, "color": "gray"}, "capture.started"); err != nil {
		t.Fatal(err)
	}
	waitState(t, ag, cl, actID, "checked")
	if _, err := cl.call(map[string]any{"type": "signature.override", "act": actID, "role": "dichiarante",
		"reason": "firma verificata a vista dall'ufficiale"}, "act.updated"); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := cl.read()
		if err != nil {
			t.Fatalf("waiting for document.failed: %v\n%s", err, ag.logs)
		}
		if f.msg == nil || f.msg["type"] != "document.failed" || f.msg["act"] != actID {
			continue
		}
		e := f.msg["error"].(map[string]any)
		if e["code"] != "certificate_not_for_signing" || !strings.Contains(e["message"].(string), "non è abilitato alla firma di documenti") {
			t.Fatalf("document.failed %s", f.raw)
		}
		break
	}
	// The page captured is still there.
	acts, err := cl.call(map[string]any{"type": "acts.list"}, "acts")
	if err != nil || !strings.Contains(string(acts.raw), actID) {
		t.Fatalf("the act after the refusal: %v %s", err, acts.raw)
	}
}
