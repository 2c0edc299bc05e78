package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autografo/autografo/agent/store"
)

var anna = store.Actor{Operator: "anna"}

// storePages captures pages into an act as a capture would.
func storePages(t *testing.T, s *store.Store, act string, pages ...string) {
	t.Helper()
	if _, err := s.Move(t.Context(), act, store.StateCapturing, anna, "test", nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		if _, err := s.AddPage(t.Context(), store.Page{Act: act, MediaType: "image/jpeg"}, []byte(p), anna); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Move(t.Context(), act, store.StateCaptured, anna, "test", nil); err != nil {
		t.Fatal(err)
	}
}

func TestStoreCommands(t *testing.T) {
	dir := t.TempDir()
	s, err := openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, reg := range []string{"9/2026", "2/2026"} {
		id := "act-" + strings.ReplaceAll(reg, "/", "-")
		s.CreateAct(ctx, store.Act{ID: id, Kind: "matrimonio", Emergency: true, Register: reg, Operator: "anna"}, nil, anna)
		storePages(t, s, id, "pagina "+reg)
	}
	s.Close()
	cli := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := run(append(args, "--store", dir), &out, &errb)
		return out.String() + errb.String(), code
	}
	out, code := cli("journal", "export", "--format", "csv")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[1], "2/2026,") || !strings.HasPrefix(lines[2], "9/2026,") {
		t.Fatalf("csv export (%d):\n%s", code, out)
	}
	out, _ = cli("journal", "export", "--format", "json")
	var recs []store.EmergencyRecord
	if err := json.Unmarshal([]byte(out), &recs); err != nil || len(recs) != 2 || recs[0].Register != "2/2026" {
		t.Fatalf("json export: %v\n%s", err, out)
	}
	oldKey, _ := os.ReadFile(filepath.Join(dir, "key"))
	if out, code := cli("key", "rotate"); code != 0 || !strings.Contains(out, "2 pages sealed again") {
		t.Fatalf("key rotate (%d): %s", code, out)
	}
	if newKey, _ := os.ReadFile(filepath.Join(dir, "key")); bytes.Equal(oldKey, newKey) {
		t.Fatal("the key file did not change")
	}
	if out, code := cli("check"); code != 0 || !strings.Contains(out, "2 pages verified") {
		t.Fatalf("check after rotation (%d): %s", code, out)
	}
	if out, code := cli("delete", "--act", "act-9-2026"); code != 2 || !strings.Contains(out, "usage") {
		t.Fatalf("delete without a reason (%d): %s", code, out)
	}
	if out, code := cli("delete", "--act", "act-9-2026", "--reason", "acquisito per errore"); code != 0 {
		t.Fatalf("delete (%d): %s", code, out)
	}
	if out, code := cli("check"); code != 0 || !strings.Contains(out, "1 pages verified") {
		t.Fatalf("check after delete (%d): %s", code, out)
	}
	if out, code := cli("journal", "verify"); code != 0 {
		t.Fatalf("journal verify (%d): %s", code, out)
	}
	// A tampered journal line, edited behind Autografo's back.
	db, err := sql.Open("sqlite", filepath.Join(dir, "autografo.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE journal SET detail = '{"register":"1/2026"}' WHERE seq = 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if out, code := cli("journal", "verify"); code == 0 || !strings.Contains(out, "journal chain broken at line 1") {
		t.Fatalf("tampered journal passed verify (%d): %s", code, out)
	}
	// A wrong key: a clear error, nothing overwritten.
	os.WriteFile(filepath.Join(dir, "key"), []byte(strings.Repeat("ab", 32)+"\n"), 0o600)
	before, _ := os.ReadFile(filepath.Join(dir, "autografo.db"))
	if out, code := cli("check"); code == 0 || !strings.Contains(out, "the key does not open this store") {
		t.Fatalf("wrong key (%d): %s", code, out)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "autografo.db")); !bytes.Equal(before, after) {
		t.Fatal("a wrong key changed the database")
	}
}

func TestExportImportBetweenWorkstations(t *testing.T) {
	laptop, office := t.TempDir(), t.TempDir()
	s, err := openStore(laptop)
	if err != nil {
		t.Fatal(err)
	}
	s.CreateAct(t.Context(), store.Act{ID: "act-casa", Kind: "cittadinanza", Operator: "anna"}, nil, anna)
	storePages(t, s, "act-casa", "firma a domicilio")
	s.Close()
	pass := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(pass, []byte("una frase lunga\n"), 0o600)
	bundle := filepath.Join(t.TempDir(), "atto.agb")
	var out, errb bytes.Buffer
	if code := run([]string{"export", "--store", laptop, "--act", "act-casa", "--out", bundle, "--passphrase-file", pass}, &out, &errb); code != 0 {
		t.Fatalf("export: %s", errb.String())
	}
	fp := strings.Fields(out.String())[len(strings.Fields(out.String()))-1]
	out.Reset()
	if code := run([]string{"import", "--store", office, "--in", bundle, "--passphrase-file", pass, "--trust", fp}, &out, &errb); code != 0 {
		t.Fatalf("import: %s", errb.String())
	}
	if !strings.Contains(out.String(), "act act-casa imported from workstation "+fp) {
		t.Errorf("import said %q", out.String())
	}
	out.Reset()
	if code := run([]string{"check", "--store", office}, &out, &errb); code != 0 || !strings.Contains(out.String(), "1 pages verified") {
		t.Fatalf("office store after import: %s %s", out.String(), errb.String())
	}
}
