package store

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/autografo/autografo/agent/private"
)

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	key, err := LoadOrCreateKey(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(filepath.Join(dir, "autografo.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var anna = Actor{Operator: "anna"}

func TestPagesSurviveReopenEncrypted(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	ctx := t.Context()
	if err := s.CreateAct(ctx, Act{ID: "act-1", Kind: "matrimonio", Operator: "anna", Emergency: true, Register: "7/2026"}, nil, Actor{Operator: "anna"}); err != nil {
		t.Fatal(err)
	}
	page := bytes.Repeat([]byte("FIRMA-DI-GIULIA "), 4096)
	if _, err := s.AddPage(ctx, Page{Act: "act-1", MediaType: "image/jpeg"}, page, anna); !errors.Is(err, ErrIllegalTransition) {
		t.Fatalf("a page with no capture running: %v", err)
	}
	move(t, s, "act-1", StateCapturing)
	p, err := s.AddPage(ctx, Page{Act: "act-1", MediaType: "image/jpeg", Width: 10, Height: 20, DPI: 300}, page, anna)
	if err != nil || p.Index != 1 {
		t.Fatalf("add page: %+v %v", p, err)
	}
	move(t, s, "act-1", StateCaptured)
	if _, err := s.AddPage(ctx, Page{Act: "act-none"}, page, anna); !errors.Is(err, ErrNotFound) {
		t.Fatalf("page for a missing act: %v", err)
	}
	s.Close()

	// On disk, nowhere in the database files is the page in clear.
	for _, name := range []string{"autografo.db", "autografo.db-wal"} {
		raw, _ := os.ReadFile(filepath.Join(dir, name))
		if bytes.Contains(raw, []byte("FIRMA-DI-GIULIA")) {
			t.Fatalf("%s holds the page in clear", name)
		}
	}
	s = openTest(t, dir)
	defer s.Close()
	got, data, err := s.Page(ctx, "act-1", 1)
	if err != nil || !bytes.Equal(data, page) || got.SHA256 != p.SHA256 {
		t.Fatalf("page after reopen: %v", err)
	}
	acts, err := s.Pending(ctx)
	if err != nil || len(acts) != 1 || acts[0].State != StateCaptured || acts[0].Pages != 1 || !acts[0].Emergency {
		t.Fatalf("pending %+v %v", acts, err)
	}
	if n, err := s.Check(ctx); err != nil || n != 1 {
		t.Fatalf("check: %d %v", n, err)
	}
}

func TestWrongKeyIsRefusedAndWritesNothing(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	s.CreateAct(t.Context(), Act{ID: "act-1", Kind: "nascita"}, nil, Actor{Operator: "anna"})
	s.Close()
	before, _ := os.ReadFile(filepath.Join(dir, "autografo.db"))
	wrong := bytes.Repeat([]byte{7}, KeySize)
	if _, err := Open(filepath.Join(dir, "autografo.db"), wrong); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("wrong key: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "autografo.db"))
	if !bytes.Equal(before, after) {
		t.Fatal("opening with a wrong key changed the database")
	}
}

func TestTamperingIsDetected(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	defer s.Close()
	ctx := t.Context()
	s.CreateAct(ctx, Act{ID: "act-1", Kind: "matrimonio", Operator: "anna"}, nil, Actor{Operator: "anna"})
	capture(t, s, "act-1", "page one", "page two")
	if n, err := s.VerifyJournal(ctx); err != nil || n != 5 {
		t.Fatalf("journal: %d %v", n, err)
	}
	// A flipped byte of an image. Flipped, not set: the ciphertext is
	// random, and one byte in 256 already holds any given value.
	var data []byte
	if err := s.db.QueryRow(`SELECT data FROM pages WHERE idx = 2`).Scan(&data); err != nil {
		t.Fatal(err)
	}
	data[3] ^= 0x01
	if _, err := s.db.Exec(`UPDATE pages SET data = ? WHERE idx = 2`, data); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Page(ctx, "act-1", 2); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("tampered image: %v", err)
	}
	// Two pages swapped between places: the ciphertext is bound to its place.
	if _, err := s.db.Exec(`UPDATE pages SET idx = 9 WHERE idx = 1`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Page(ctx, "act-1", 9); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("moved page: %v", err)
	}
	// An edited journal line.
	if _, err := s.db.Exec(`UPDATE journal SET operator = 'mallory' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifyJournal(ctx); !errors.Is(err, ErrJournalBroken) {
		t.Fatalf("edited journal: %v", err)
	}
	if _, err := s.Check(ctx); err == nil {
		t.Fatal("Check passed a tampered store")
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	// 0600 on Unix, the owner's access list on Windows.
	if err := private.Check(path); err != nil {
		t.Fatalf("a new key file: %v", err)
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatal("the key changed on reload")
	}
	// Exposed: on Windows, agent/private's tests read the access lists
	// that expose a file (Wine keeps none to set here).
	if runtime.GOOS != "windows" {
		os.Chmod(path, 0o644)
		if _, err := LoadOrCreateKey(path); !errors.Is(err, private.ErrExposed) {
			t.Fatalf("a world-readable key file: %v", err)
		}
	}
}

func TestRetentionPurgesOnlyConfirmedActsAfterTheGracePeriod(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	clock := time.Unix(1_800_000_000, 0)
	s.now = func() time.Time { return clock }
	for _, a := range []Act{
		{ID: "confirmed-old", Kind: "matrimonio"},
		{ID: "confirmed-new", Kind: "matrimonio"},
		{ID: "never-confirmed", Kind: "nascita"},
		{ID: "emergency", Kind: "matrimonio", Emergency: true, Register: "3/2026"},
	} {
		s.CreateAct(ctx, a, nil, anna)
		capture(t, s, a.ID, "page of "+a.ID)
	}
	confirmAct(t, s, "confirmed-old", "A1")
	clock = clock.Add(6 * 24 * time.Hour)
	confirmAct(t, s, "confirmed-new", "A2")
	clock = clock.Add(2 * 24 * time.Hour)

	n, err := s.Purge(ctx, clock.Add(-7*24*time.Hour), Actor{Operator: "retention"})
	if err != nil || n != 1 {
		t.Fatalf("purge: %d %v", n, err)
	}
	for id, want := range map[string]State{"confirmed-old": StatePurged, "confirmed-new": StateConfirmed,
		"never-confirmed": StateCaptured, "emergency": StateCaptured} {
		a, _ := s.Act(ctx, id)
		if a.State != want {
			t.Errorf("%s: state %s, want %s", id, a.State, want)
		}
	}
	if _, _, err := s.Page(ctx, "confirmed-old", 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("purged page still readable: %v", err)
	}
	if _, _, err := s.Page(ctx, "emergency", 1); err != nil {
		t.Errorf("emergency-register page gone: %v", err)
	}
	// An explicit deletion works on an act not confirmed, and is
	// journaled with its reason (the lifecycle test covers which states
	// allow it).
	if _, err := s.Delete(ctx, "never-confirmed", "atto annullato", anna); err != nil {
		t.Fatal(err)
	}
	entries, _ := s.Journal(ctx)
	last := entries[len(entries)-1]
	if last.Event != "act.delete" || last.Operator != "anna" || !bytes.Contains(last.Detail, []byte("atto annullato")) ||
		!bytes.Contains(last.Detail, []byte(`"pages":1`)) {
		t.Errorf("last journal entry %+v", last)
	}
	if _, err := s.VerifyJournal(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestEmergencyRegisterInRegisterOrder(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	for _, reg := range []string{"12/2026", "7/2026", "3/2025", "8/2026"} {
		s.CreateAct(ctx, Act{ID: "act-" + strings.ReplaceAll(reg, "/", "-"), Kind: "matrimonio", Emergency: true, Register: reg, Operator: "anna"}, nil, Actor{Operator: "anna"})
	}
	s.CreateAct(ctx, Act{ID: "ordinary", Kind: "nascita"}, nil, Actor{Operator: "anna"})
	capture(t, s, "act-7-2026", "pagina")
	confirmAct(t, s, "act-7-2026", "ANSC-991")
	recs, err := s.EmergencyRegister(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range recs {
		order = append(order, r.Register)
	}
	if strings.Join(order, " ") != "3/2025 7/2026 8/2026 12/2026" {
		t.Fatalf("register order %v", order)
	}
	if recs[1].Confirmed != "ANSC-991" || recs[1].State != StateConfirmed {
		t.Errorf("confirmed act %+v", recs[1])
	}
}

func TestKeyRotation(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	ctx := t.Context()
	s.CreateAct(ctx, Act{ID: "act-1", Kind: "matrimonio"}, nil, Actor{Operator: "anna"})
	capture(t, s, "act-1", "first page", "second page")
	oldKey, _ := LoadOrCreateKey(filepath.Join(dir, "key"))
	newKey := bytes.Repeat([]byte{42}, KeySize)
	n, err := s.RotateKey(ctx, newKey, "admin")
	if err != nil || n != 2 {
		t.Fatalf("rotate: %d %v", n, err)
	}
	// The open store keeps working with the new key.
	if _, data, err := s.Page(ctx, "act-1", 2); err != nil || string(data) != "second page" {
		t.Fatalf("after rotation: %q %v", data, err)
	}
	s.Close()
	if _, err := Open(filepath.Join(dir, "autografo.db"), oldKey); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("the old key still opens the store: %v", err)
	}
	s2, err := Open(filepath.Join(dir, "autografo.db"), newKey)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if n, err := s2.Check(ctx); err != nil || n != 2 {
		t.Fatalf("check after rotation: %d %v", n, err)
	}
	entries, _ := s2.Journal(ctx)
	if entries[len(entries)-1].Event != "key.rotate" {
		t.Error("the rotation is not journaled")
	}
}

func TestBundleCarriesAnActBetweenWorkstations(t *testing.T) {
	ctx := t.Context()
	laptop := openTest(t, t.TempDir())
	defer laptop.Close()
	laptop.CreateAct(ctx, Act{ID: "act-visit", Kind: "cittadinanza", Operator: "anna", Comune: "F205", Emergency: true, Register: "4/2026"},
		[]Signer{{Role: "dichiarante", Nome: "Maria Grazia", Cognome: "De Luca"}}, Actor{Operator: "anna"})
	capture(t, laptop, "act-visit", "prima pagina", "seconda pagina")
	// A sheet scanned duplex: its back travels as a back, and as made at
	// 300 dpi when 600 were asked.
	move(t, laptop, "act-visit", StateCapturing)
	if _, err := laptop.AddPage(ctx, Page{Act: "act-visit", MediaType: "image/jpeg", DPI: 300, Back: true, Fit: "resolution", AskedDPI: 600}, []byte("retro"), anna); err != nil {
		t.Fatal(err)
	}
	move(t, laptop, "act-visit", StateCaptured)
	seal, err := LoadOrCreateSealKey(filepath.Join(t.TempDir(), "seal.key"))
	if err != nil {
		t.Fatal(err)
	}
	var bundle bytes.Buffer
	if err := laptop.Export(ctx, "act-visit", &bundle, "parola d'ordine", seal, "anna"); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bundle.Bytes(), []byte("seconda pagina")) {
		t.Fatal("the bundle holds a page in clear")
	}
	fp := Fingerprint(seal.Public().(ed25519.PublicKey))

	office := openTest(t, t.TempDir())
	defer office.Close()
	tampered := bytes.Clone(bundle.Bytes())
	tampered[len(tampered)/2] ^= 1
	for name, tc := range map[string]struct {
		data    []byte
		pass    string
		trusted []string
		want    error
	}{
		"wrong passphrase":    {bundle.Bytes(), "sbagliata!", nil, ErrBundlePassword},
		"tampered in transit": {tampered, "parola d'ordine", nil, ErrBundleSignature},
		"untrusted laptop":    {bundle.Bytes(), "parola d'ordine", []string{"0123456789abcdef"}, ErrBundleUntrusted},
		"not a bundle":        {[]byte("PK\x03\x04 a zip file"), "parola d'ordine", nil, ErrBundle},
	} {
		if _, _, err := office.Import(ctx, bytes.NewReader(tc.data), tc.pass, tc.trusted, "marco"); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	id, gotFP, err := office.Import(ctx, bytes.NewReader(bundle.Bytes()), "parola d'ordine", []string{fp}, "marco")
	if err != nil || id != "act-visit" || gotFP != fp {
		t.Fatalf("import: %q %q %v", id, gotFP, err)
	}
	if _, data, err := office.Page(ctx, "act-visit", 2); err != nil || string(data) != "seconda pagina" {
		t.Fatalf("imported page: %q %v", data, err)
	}
	a, _ := office.Act(ctx, "act-visit")
	if !a.Emergency || a.Register != "4/2026" || a.Pages != 3 || a.Comune != "F205" || a.State != StateCaptured {
		t.Errorf("imported act %+v", a)
	}
	if pages, _ := office.Pages(ctx, "act-visit"); len(pages) != 3 || pages[0].Back || pages[1].Back || !pages[2].Back ||
		pages[2].Fit != "resolution" || pages[2].AskedDPI != 600 || pages[2].DPI != 300 || pages[0].Fit != "" {
		t.Errorf("imported pages' sides %+v", pages)
	}
	if sg, _ := office.Signers(ctx, "act-visit"); len(sg) != 1 || sg[0].Nome != "Maria Grazia" || sg[0].Cognome != "De Luca" {
		t.Errorf("imported signers %+v", sg)
	}
	entries, _ := office.Journal(ctx)
	last := entries[len(entries)-1]
	if last.Event != "import" || !bytes.Contains(last.Detail, []byte(`"event":"capture"`)) || !bytes.Contains(last.Detail, []byte(fp)) {
		t.Errorf("the import does not keep the laptop's journal: %s", last.Detail)
	}
	if _, _, err := office.Import(ctx, bytes.NewReader(bundle.Bytes()), "parola d'ordine", nil, "marco"); !errors.Is(err, ErrAlreadyImported) {
		t.Errorf("second import: %v", err)
	}
	if _, err := office.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestDecisionsAndDocumentsAreSealedRotatedAndPurged(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	defer s.Close()
	ctx := t.Context()
	regTime := time.Date(2026, 11, 21, 16, 30, 0, 0, time.UTC)
	s.CreateAct(ctx, Act{ID: "act-1", Kind: "matrimonio", Emergency: true, Register: "5/2026", RegisterTime: regTime}, nil, Actor{Operator: "anna"})
	capture(t, s, "act-1", "pagina")
	if err := s.PutAnalysis(ctx, "act-1", 1, []byte(`{"orientation":0}`), []Verdict{{Decision: Decision{Role: "sposa", Verdict: "signed", Confidence: 0.97,
		Reasons: []string{"ink inside the box"}, CropType: "image/png"}, Crop: []byte("CROP-OF-GIULIA")}}, anna); err != nil {
		t.Fatal(err)
	}
	doc, err := s.PutDocument(ctx, Document{Act: "act-1", Name: "verbale.pdf", MediaType: "application/pdf"}, []byte("%PDF-1.7 VERBALE"), anna)
	if err != nil || doc.Size != 16 {
		t.Fatalf("document: %+v %v", doc, err)
	}
	a, _ := s.Act(ctx, "act-1")
	if !a.RegisterTime.Equal(regTime) {
		t.Errorf("register time %v", a.RegisterTime)
	}
	ds, _ := s.Decisions(ctx, "act-1")
	if len(ds) != 1 || ds[0].Verdict != "signed" || ds[0].Reasons[0] != "ink inside the box" {
		t.Fatalf("decisions %+v", ds)
	}
	for _, name := range []string{"autografo.db", "autografo.db-wal"} {
		raw, _ := os.ReadFile(filepath.Join(dir, name))
		if bytes.Contains(raw, []byte("CROP-OF-GIULIA")) || bytes.Contains(raw, []byte("VERBALE")) {
			t.Fatalf("%s holds a crop or document in clear", name)
		}
	}
	if _, err := s.RotateKey(ctx, bytes.Repeat([]byte{9}, KeySize), "admin"); err != nil {
		t.Fatal(err)
	}
	if crop, err := s.Crop(ctx, "act-1", 1, "sposa"); err != nil || string(crop) != "CROP-OF-GIULIA" {
		t.Fatalf("crop after rotation: %q %v", crop, err)
	}
	if _, data, err := s.DocumentData(ctx, "act-1", "verbale.pdf"); err != nil || string(data) != "%PDF-1.7 VERBALE" {
		t.Fatalf("document after rotation: %q %v", data, err)
	}
	if _, err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, "act-1", "prova", anna); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Crop(ctx, "act-1", 1, "sposa"); !errors.Is(err, ErrNotFound) {
		t.Errorf("crop after deletion: %v", err)
	}
	if _, _, err := s.DocumentData(ctx, "act-1", "verbale.pdf"); !errors.Is(err, ErrNotFound) {
		t.Errorf("document after deletion: %v", err)
	}
}

// A store made by the first schema opens under the current one, data kept.
func TestMigrationFromVersion1(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	s.CreateAct(t.Context(), Act{ID: "act-old", Kind: "nascita"}, nil, Actor{Operator: "anna"})
	capture(t, s, "act-old", "vecchia pagina")
	// Turn it back into a version-1 store, with a signer as version 1 kept
	// them and the state it called "announced".
	for _, q := range []string{`DROP TABLE decisions`, `DROP TABLE documents`, `DROP TABLE signers`,
		`ALTER TABLE acts DROP COLUMN register_time`, `ALTER TABLE acts DROP COLUMN comune`, `ALTER TABLE acts DROP COLUMN printed`,
		`ALTER TABLE acts DROP COLUMN document`, `ALTER TABLE acts DROP COLUMN holder`, `ALTER TABLE acts DROP COLUMN delivery`,
		`ALTER TABLE acts DROP COLUMN attachment`, `ALTER TABLE acts DROP COLUMN confirmed`,
		`ALTER TABLE pages DROP COLUMN boxes`, `ALTER TABLE pages DROP COLUMN analysed`, `ALTER TABLE pages DROP COLUMN analysis`,
		`ALTER TABLE pages DROP COLUMN position`, `ALTER TABLE pages DROP COLUMN turn`,
		`ALTER TABLE pages DROP COLUMN removed`, `ALTER TABLE pages DROP COLUMN replaces`, `ALTER TABLE pages DROP COLUMN ord`,
		`ALTER TABLE pages DROP COLUMN back`,
		`ALTER TABLE pages DROP COLUMN asked_dpi`, `ALTER TABLE pages DROP COLUMN fit`,
		`ALTER TABLE acts DROP COLUMN interrupted`,
		`DROP TABLE used_tickets`,
		`DELETE FROM meta WHERE k = 'text_sealed'`,
		`UPDATE acts SET state = 'announced', signers = '[{"role":"dichiarante","name":"Maria Grazia De Luca"}]'`,
		`UPDATE schema_version SET v = 1`} {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Close()
	s = openTest(t, dir)
	defer s.Close()
	var v int
	s.db.QueryRow(`SELECT v FROM schema_version`).Scan(&v)
	if v != len(migrations) {
		t.Fatalf("schema version %d after opening, want %d", v, len(migrations))
	}
	p, data, err := s.Page(t.Context(), "act-old", 1)
	if err != nil || string(data) != "vecchia pagina" {
		t.Fatalf("old page after migration: %q %v", data, err)
	}
	if p.Ord != 1 || p.Removed {
		t.Errorf("old page's place after migration: ord %v, removed %v", p.Ord, p.Removed)
	}
	if err := s.PutAnalysis(t.Context(), "act-old", 1, nil, []Verdict{{Decision: Decision{Role: "dichiarante", Verdict: "empty"}, Crop: []byte("x")}}, anna); err != nil {
		t.Fatalf("the new table after migration: %v", err)
	}
	a, _ := s.Act(t.Context(), "act-old")
	sg, _ := s.Signers(t.Context(), "act-old")
	if a.State != StateCaptured || len(sg) != 1 || sg[0].Role != "dichiarante" || sg[0].Nome != "" || sg[0].Cognome != "Maria Grazia De Luca" {
		t.Fatalf("after migration: act %+v, signers %+v", a, sg)
	}
	// The name the old store kept in plaintext is sealed now, and gone
	// from the files.
	s.Close()
	for _, f := range storeFiles(t, dir) {
		if bytes.Contains(f.data, []byte("Grazia De Luca")) {
			t.Errorf("%s still holds the signer's name in plaintext after the migration", f.name)
		}
	}
}
