package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Entry is one journal line.
type Entry struct {
	Seq      int64           `json:"seq"`
	At       time.Time       `json:"at"`
	Operator string          `json:"operator"`
	Act      string          `json:"act"`
	Event    string          `json:"event"`
	Detail   json.RawMessage `json:"detail"`
	Prev     string          `json:"prev"`
	Hash     string          `json:"hash"`
}

// ErrJournalBroken is a journal whose chain does not verify.
var ErrJournalBroken = errors.New("store: journal chain broken")

// entryHash chains an entry to the previous one. The encoding is fixed
// field by field, so that the hash does not depend on a JSON library.
func entryHash(prev string, seq int64, at int64, operator, act, event, detail string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d\n%d\n%q\n%q\n%q\n%s", prev, seq, at, operator, act, event, detail)
	return hex.EncodeToString(h.Sum(nil))
}

// appendJournal adds an entry in the caller's transaction, so the event and
// the change it records commit together.
func (s *Store) appendJournal(tx *sql.Tx, at time.Time, operator, act, event string, detail map[string]any) error {
	d, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	var seq int64
	var prev string
	err = tx.QueryRow(`SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
	if errors.Is(err, sql.ErrNoRows) {
		prev = "genesis"
	} else if err != nil {
		return err
	}
	seq++
	hash := entryHash(prev, seq, at.UnixNano(), operator, act, event, string(d))
	// The hash covers the detail as written, not as sealed: the chain
	// holds across a key rotation, which seals every detail again.
	_, err = tx.Exec(`INSERT INTO journal (seq, at, operator, act, event, detail, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		seq, at.UnixNano(), operator, act, event, s.sealText(string(d), "journal.detail", seq), prev, hash)
	return err
}

// Journal returns the whole journal in order.
func (s *Store) Journal(ctx context.Context) ([]Entry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, at, operator, act, event, detail, prev, hash FROM journal ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var at int64
		var detail string
		if err := rows.Scan(&e.Seq, &at, &e.Operator, &e.Act, &e.Event, &detail, &e.Prev, &e.Hash); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		if detail, err = s.openText(detail, "journal.detail", e.Seq); err != nil {
			// Edited behind the agent's back: the line no longer holds.
			return nil, fmt.Errorf("%w at line %d (%s of act %s): %w", ErrJournalBroken, e.Seq, e.Event, e.Act, err)
		}
		e.At, e.Detail = time.Unix(0, at), json.RawMessage(detail)
		out = append(out, e)
	}
	return out, rows.Err()
}

// VerifyJournal recomputes the chain; any edited, removed or reordered line
// breaks it at that line.
func (s *Store) VerifyJournal(ctx context.Context) (int, error) {
	entries, err := s.Journal(ctx)
	if err != nil {
		return 0, err
	}
	prev := "genesis"
	for i, e := range entries {
		if e.Seq != int64(i+1) || e.Prev != prev ||
			entryHash(prev, e.Seq, e.At.UnixNano(), e.Operator, e.Act, e.Event, string(e.Detail)) != e.Hash {
			return i, fmt.Errorf("%w at line %d (%s of act %s)", ErrJournalBroken, e.Seq, e.Event, e.Act)
		}
		prev = e.Hash
	}
	return len(entries), nil
}

// Check verifies the whole store: SQLite's integrity check, every page
// decrypts and matches its hash, every sealed text opens where it lies,
// and the journal chain holds.
func (s *Store) Check(ctx context.Context) (pages int, err error) {
	var res string
	if err := s.db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil {
		return 0, fmt.Errorf("store: integrity check: %w", err)
	}
	if res != "ok" {
		return 0, fmt.Errorf("%w: integrity check: %s", ErrCorrupt, res)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT act, idx FROM pages ORDER BY act, idx`)
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	type ref struct {
		act string
		idx int
	}
	var refs []ref
	for rows.Next() {
		var r ref
		if err := rows.Scan(&r.act, &r.idx); err != nil {
			rows.Close()
			return 0, err
		}
		refs = append(refs, r)
	}
	rows.Close()
	for _, r := range refs {
		if _, _, err := s.Page(ctx, r.act, r.idx); err != nil {
			return pages, err
		}
		pages++
	}
	if err := s.checkDerived(ctx); err != nil {
		return pages, err
	}
	// The sealed text of every act and signer opens too.
	acts, err := s.queryActs(ctx, ``)
	if err != nil {
		return pages, err
	}
	for _, a := range acts {
		if _, err := s.Signers(ctx, a.ID); err != nil {
			return pages, err
		}
	}
	if _, err := s.VerifyJournal(ctx); err != nil {
		return pages, err
	}
	return pages, nil
}

// EmergencyRecord is an act of the paper emergency register, for the
// office's records.
type EmergencyRecord struct {
	Register  string    `json:"register"`
	Entered   time.Time `json:"entered"` // in the paper register
	Act       string    `json:"act"`
	Kind      string    `json:"kind"`
	Operator  string    `json:"operator"`
	Opened    time.Time `json:"opened"`
	Pages     int       `json:"pages"`
	State     State     `json:"state"`
	Confirmed string    `json:"confirmed,omitempty"` // ANSC attachment id, once entered
}

// EmergencyRegister lists the emergency-register acts in register order:
// the order in which they must be entered in ANSC.
func (s *Store) EmergencyRegister(ctx context.Context) ([]EmergencyRecord, error) {
	acts, err := s.queryActs(ctx, `WHERE a.emergency = 1`)
	if err != nil {
		return nil, err
	}
	out := make([]EmergencyRecord, 0, len(acts))
	for _, a := range acts {
		out = append(out, EmergencyRecord{Register: a.Register, Entered: a.RegisterTime, Act: a.ID, Kind: a.Kind, Operator: a.Operator,
			Opened: a.Created, Pages: a.Pages, State: a.State, Confirmed: a.Attachment})
	}
	sortRegister(out)
	return out, nil
}

// sortRegister orders register numbers as people write them, "7/2026"
// before "12/2026" and years in order: by year, then number, then text.
func sortRegister(r []EmergencyRecord) {
	key := func(s string) (int, int, string) {
		var n, y int
		if _, err := fmt.Sscanf(s, "%d/%d", &n, &y); err == nil {
			return y, n, s
		}
		return 1 << 30, 0, s
	}
	slices.SortStableFunc(r, func(a, b EmergencyRecord) int {
		ay, an, as := key(a.Register)
		by, bn, bs := key(b.Register)
		if ay != by {
			return ay - by
		}
		if an != bn {
			return an - bn
		}
		return strings.Compare(as, bs)
	})
}

// checkDerived opens every signature crop and document.
func (s *Store) checkDerived(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT act, page, role FROM decisions`)
	if err != nil {
		return err
	}
	type crop struct {
		act, role string
		page      int
	}
	var crops []crop
	for rows.Next() {
		var c crop
		if err := rows.Scan(&c.act, &c.page, &c.role); err != nil {
			rows.Close()
			return err
		}
		crops = append(crops, c)
	}
	rows.Close()
	for _, c := range crops {
		if _, err := s.Crop(ctx, c.act, c.page, c.role); err != nil {
			return err
		}
	}
	rows, err = s.db.QueryContext(ctx, `SELECT act, name FROM documents`)
	if err != nil {
		return err
	}
	var docs [][2]string
	for rows.Next() {
		var d [2]string
		if err := rows.Scan(&d[0], &d[1]); err != nil {
			rows.Close()
			return err
		}
		docs = append(docs, d)
	}
	rows.Close()
	for _, d := range docs {
		if _, _, err := s.DocumentData(ctx, d[0], d[1]); err != nil {
			return err
		}
	}
	return nil
}
