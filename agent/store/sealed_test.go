package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autografo/autografo/agent/auth/attacklog"
)

type storeFile struct {
	name string
	data []byte
}

// storeFiles reads the database and its WAL and shared-memory files as
// another user of the workstation could, were their modes looser.
func storeFiles(t *testing.T, dir string) []storeFile {
	t.Helper()
	var out []storeFile
	for _, name := range []string{"autografo.db", "autografo.db-wal", "autografo.db-shm"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, storeFile{name, b})
	}
	return out
}

// What an act says of its people, each somewhere else in the store.
var personal = []string{"Zanzottera", "Quirino", "ZNZQRN80A01F205X", "Kovačič", "Registro-Zyxwv-42", "cieca dalla nascita",
	"Firma di Q. Z.", "Testimone Ulderica"}

func actWithPeople(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	signers := []Signer{
		{Role: "sposo", Nome: "Quirino", Cognome: "Zanzottera", CodiceFiscale: "ZNZQRN80A01F205X", Label: "Lo sposo"},
		{Role: "sposa", Nome: "Mojca", Cognome: "Kovačič", Label: "Testimone Ulderica"},
	}
	if err := s.CreateAct(ctx, Act{ID: "act-p", Kind: "matrimonio", Ref: "Registro-Zyxwv-42"}, signers, anna); err != nil {
		t.Fatal(err)
	}
	move(t, s, "act-p", StateCapturing)
	if _, err := s.AddPage(ctx, Page{Act: "act-p", MediaType: "image/jpeg", DPI: 300,
		Boxes: json.RawMessage(`[{"role":"sposo","label":"Firma di Q. Z."}]`)}, []byte("pagina"), anna); err != nil {
		t.Fatal(err)
	}
	move(t, s, "act-p", StateCaptured)
	if err := s.PutAnalysis(ctx, "act-p", 1, json.RawMessage(`{"signer":"Zanzottera"}`), nil, anna); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MarkUnable(ctx, "act-p", "sposa", "cieca dalla nascita", anna); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutDocument(ctx, Document{Act: "act-p", Name: "atto.pdf", MediaType: "application/pdf",
		Info: json.RawMessage(`{"listaFirmatari":"Quirino Zanzottera"}`)}, []byte("%PDF-"), anna); err != nil {
		t.Fatal(err)
	}
}

// noPlaintext reports how many of the personal strings the store's files
// hold in plaintext, each also as an error.
func noPlaintext(t *testing.T, dir, when string) int {
	t.Helper()
	found := 0
	for _, f := range storeFiles(t, dir) {
		for _, p := range personal {
			if bytes.Contains(f.data, []byte(p)) {
				t.Errorf("%s: %s holds %q in plaintext", when, f.name, p)
				found++
			}
		}
	}
	return found
}

// readsBack checks that everything sealed reads back as it was written.
func readsBack(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	a, err := s.Act(ctx, "act-p")
	if err != nil || a.Ref != "Registro-Zyxwv-42" {
		t.Fatalf("act: %q %v", a.Ref, err)
	}
	sg, err := s.Signers(ctx, "act-p")
	if err != nil || len(sg) != 2 || sg[0].Nome != "Quirino" || sg[0].Cognome != "Zanzottera" || sg[0].CodiceFiscale != "ZNZQRN80A01F205X" ||
		sg[0].Label != "Lo sposo" || sg[1].Cognome != "Kovačič" || !sg[1].Unable || sg[1].UnableReason != "cieca dalla nascita" {
		t.Fatalf("signers: %+v %v", sg, err)
	}
	pages, err := s.Pages(ctx, "act-p")
	if err != nil || len(pages) != 1 || !strings.Contains(string(pages[0].Boxes), "Firma di Q. Z.") || string(pages[0].Analysis) != `{"signer":"Zanzottera"}` {
		t.Fatalf("pages: %+v %v", pages, err)
	}
	d, err := s.DocumentMeta(ctx, "act-p", "atto.pdf")
	if err != nil || !strings.Contains(string(d.Info), "Quirino Zanzottera") {
		t.Fatalf("document: %s %v", d.Info, err)
	}
	entries, err := s.Journal(ctx)
	if err != nil || !strings.Contains(string(entries[0].Detail), "Registro-Zyxwv-42") {
		t.Fatalf("journal: %v", err)
	}
	if _, err := s.VerifyJournal(ctx); err != nil {
		t.Fatal(err)
	}
}

// Another user who reads the store's files, the WAL included, learns
// nothing of whom its acts are about; the agent reads everything back, also
// after a restart and a key rotation.
func TestAttackStoreFilesReadWithoutTheKey(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	actWithPeople(t, s)
	found := noPlaintext(t, dir, "open store")
	readsBack(t, s)
	s.Close()
	found += noPlaintext(t, dir, "closed store")
	attacklog.Record(t, "another local user reads the store's database, WAL and shm files (were their modes looser): names, codice fiscale, reference, reasons",
		"none of the act's 8 personal strings in any file, open or closed", fmt.Sprintf("%d found in plaintext", found))

	s = openTest(t, dir)
	readsBack(t, s)
	if _, err := s.RotateKey(t.Context(), bytes.Repeat([]byte{7}, KeySize), "admin"); err != nil {
		t.Fatal(err)
	}
	readsBack(t, s)
	if _, err := s.Check(t.Context()); err != nil {
		t.Fatalf("check after rotation: %v", err)
	}
	s.Close()
	noPlaintext(t, dir, "after rotation")
}

// A sealed value is bound to its row: one moved to another act, or a
// value written in plaintext behind the agent's back, is refused.
func TestSealedTextIsBoundToItsRow(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	defer s.Close()
	actWithPeople(t, s)
	if err := s.CreateAct(t.Context(), Act{ID: "act-q", Kind: "matrimonio"}, []Signer{{Role: "sposo", Nome: "Aldo", Cognome: "Bianchi"}}, anna); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE signers SET cognome = (SELECT cognome FROM signers WHERE act = 'act-p' AND role = 'sposo') WHERE act = 'act-q'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Signers(t.Context(), "act-q"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a surname moved from another act: %v, want ErrCorrupt", err)
	}
	if _, err := s.Check(t.Context()); !errors.Is(err, ErrCorrupt) {
		t.Errorf("autografo check with a surname moved: %v, want ErrCorrupt", err)
	}
	if _, err := s.db.Exec(`UPDATE acts SET ref = 'Registro scritto a mano' WHERE id = 'act-p'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Act(t.Context(), "act-p"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a reference written in plaintext: %v, want ErrCorrupt", err)
	}
}
