// Package store keeps every act and captured page durably and encrypted,
// with an outbox state per act and a hash-chained journal of every event,
// in an embedded SQLite database (WAL, synchronous=FULL: a commit has
// reached the disk when it returns).
package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the embedded database, pure Go
)

// Errors callers branch on.
var (
	ErrWrongKey = errors.New("store: the key does not open this store")
	ErrNotFound = errors.New("store: not found")
	ErrCorrupt  = errors.New("store: data does not match its hash")
)

// State is where an act is in the outbox.
type State string

const (
	StateOpen      State = "open"      // created, nothing captured yet
	StateCaptured  State = "captured"  // pages committed
	StateAnnounced State = "announced" // the browser was told
	StateDelivered State = "delivered" // the browser took the pages or document
	StateConfirmed State = "confirmed" // ANSC accepted it (stato allegato 3)
	StatePurged    State = "purged"    // images and documents removed
)

// Act is an act as stored.
type Act struct {
	ID        string
	Kind      string
	Ref       string
	Signers   json.RawMessage
	Operator  string
	Emergency bool   // entered in the paper emergency register
	Register  string // its number there
	// RegisterTime is when it was entered there (zero: not given).
	RegisterTime time.Time
	State        State
	Pages        int
	Created      time.Time
	Updated      time.Time
}

// Page is a page's metadata; its bytes come from Page.
type Page struct {
	Act       string
	Index     int
	MediaType string
	Width     int
	Height    int
	DPI       int
	Size      int64
	SHA256    string
	Created   time.Time
}

// Store is the durable store.
type Store struct {
	db   *sql.DB
	aead cipher.AEAD
	now  func() time.Time
	mu   sync.Mutex // serializes writers: the journal chain has one tail
}

// KeySize is the AES-256 key length.
const KeySize = 32

// LoadOrCreateKey reads the key file, creating it with mode 0600 on first
// run. A key file readable by others is refused: the key protects
// signatures on a laptop that can be lost.
func LoadOrCreateKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, KeySize)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("store: key directory: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("store: creating key: %w", err)
		}
		if _, err := f.Write([]byte(hex.EncodeToString(key) + "\n")); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, err
		}
		return key, f.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("store: reading key: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("store: key file %s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	key, err := hex.DecodeString(string(trimSpace(data)))
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("store: key file %s does not hold a 256-bit hex key", path)
	}
	return key, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// migrations bring the schema from version i to i+1. Append only.
var migrations = []string{
	`CREATE TABLE meta (k TEXT PRIMARY KEY, v BLOB NOT NULL);
	 CREATE TABLE acts (
		id TEXT PRIMARY KEY, kind TEXT NOT NULL, ref TEXT NOT NULL, signers TEXT NOT NULL,
		operator TEXT NOT NULL, emergency INTEGER NOT NULL, register TEXT NOT NULL,
		state TEXT NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL);
	 CREATE TABLE pages (
		act TEXT NOT NULL REFERENCES acts(id), idx INTEGER NOT NULL,
		media_type TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL, dpi INTEGER NOT NULL,
		size INTEGER NOT NULL, sha256 TEXT NOT NULL, nonce BLOB NOT NULL, data BLOB NOT NULL,
		created INTEGER NOT NULL, PRIMARY KEY (act, idx));
	 CREATE TABLE journal (
		seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, operator TEXT NOT NULL, act TEXT NOT NULL,
		event TEXT NOT NULL, detail TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL);`,
	// 2: the time an act was entered in the paper emergency register, the
	// signature pipeline's decisions with their crops, and the documents
	// built for ANSC.
	`ALTER TABLE acts ADD COLUMN register_time INTEGER NOT NULL DEFAULT 0;
	 CREATE TABLE decisions (
		act TEXT NOT NULL REFERENCES acts(id), page INTEGER NOT NULL, role TEXT NOT NULL,
		verdict TEXT NOT NULL, confidence REAL NOT NULL, reasons TEXT NOT NULL,
		crop_type TEXT NOT NULL, crop_sha256 TEXT NOT NULL, nonce BLOB NOT NULL, crop BLOB NOT NULL,
		created INTEGER NOT NULL, PRIMARY KEY (act, page, role));
	 CREATE TABLE documents (
		act TEXT NOT NULL REFERENCES acts(id), name TEXT NOT NULL, media_type TEXT NOT NULL,
		size INTEGER NOT NULL, sha256 TEXT NOT NULL, nonce BLOB NOT NULL, data BLOB NOT NULL,
		created INTEGER NOT NULL, PRIMARY KEY (act, name));`,
}

const keyCheckPlain = "autografo store key check"

// Open opens (or creates) the store at path with key. A key that does not
// match the store's is ErrWrongKey, and nothing is written.
func Open(path string, key []byte) (*Store, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("store: key of %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: directory: %w", err)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db.SetMaxOpenConns(1) // one writer; SQLite serializes anyway
	s := &Store{db: db, aead: aead, now: time.Now}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.checkKey(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) migrate() error {
	if _, err := s.db.Exec(`CREATE TABLE IF NOT EXISTS schema_version (v INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	var v int
	err := s.db.QueryRow(`SELECT v FROM schema_version`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := s.db.Exec(`INSERT INTO schema_version VALUES (0)`); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("store: reading schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("store: schema version %d is newer than this Autografo (%d): upgrade it", v, len(migrations))
	}
	for ; v < len(migrations); v++ {
		tx, err := s.db.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %d: %w", v+1, err)
		}
		if _, err := tx.Exec(`UPDATE schema_version SET v = ?`, v+1); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: migration %d: %w", v+1, err)
		}
	}
	return nil
}

// checkKey proves the key against a sealed known value, writing it on first
// use.
func (s *Store) checkKey() error {
	var sealed []byte
	err := s.db.QueryRow(`SELECT v FROM meta WHERE k = 'key_check'`).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		nonce, box := s.seal([]byte(keyCheckPlain), []byte("key_check"))
		_, err := s.db.Exec(`INSERT INTO meta (k, v) VALUES ('key_check', ?)`, append(nonce, box...))
		return err
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	ns := s.aead.NonceSize()
	if len(sealed) < ns {
		return ErrWrongKey
	}
	plain, err := s.aead.Open(nil, sealed[:ns], sealed[ns:], []byte("key_check"))
	if err != nil || string(plain) != keyCheckPlain {
		return ErrWrongKey
	}
	return nil
}

func (s *Store) seal(plain, aad []byte) (nonce, box []byte) {
	nonce = make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return nonce, s.aead.Seal(nil, nonce, plain, aad)
}

// pageAAD binds a page's ciphertext to its place: moving or swapping pages
// between acts fails to decrypt.
func pageAAD(act string, idx int, sum string) []byte {
	return []byte(fmt.Sprintf("page|%s|%d|%s", act, idx, sum))
}

// CreateAct stores a new act.
func (s *Store) CreateAct(ctx context.Context, a Act) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	a.State, a.Created, a.Updated = StateOpen, now, now
	if len(a.Signers) == 0 {
		a.Signers = json.RawMessage("[]")
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var regTime int64
		if !a.RegisterTime.IsZero() {
			regTime = a.RegisterTime.UnixNano()
		}
		if _, err := tx.Exec(`INSERT INTO acts (id, kind, ref, signers, operator, emergency, register, register_time, state, created, updated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, a.Kind, a.Ref, string(a.Signers), a.Operator, a.Emergency, a.Register,
			regTime, a.State, now.UnixNano(), now.UnixNano()); err != nil {
			return err
		}
		detail := map[string]any{"kind": a.Kind, "ref": a.Ref}
		if a.Emergency {
			detail["register"] = a.Register
			if regTime != 0 {
				detail["register_time"] = a.RegisterTime.UTC().Format(time.RFC3339)
			}
		}
		return s.appendJournal(tx, now, a.Operator, a.ID, "act.open", detail)
	})
}

// AddPage commits a page, encrypted, and journals the capture. When it
// returns nil the page is on disk: only then may it be announced.
func (s *Store) AddPage(ctx context.Context, p Page, data []byte, operator string) (Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := sha256.Sum256(data)
	p.SHA256 = hex.EncodeToString(sum[:])
	p.Size = int64(len(data))
	p.Created = s.now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM acts WHERE id = ?`, p.Act).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return fmt.Errorf("%w: act %s", ErrNotFound, p.Act)
		}
		if err := tx.QueryRow(`SELECT COUNT(*) + 1 FROM pages WHERE act = ?`, p.Act).Scan(&p.Index); err != nil {
			return err
		}
		nonce, box := s.seal(data, pageAAD(p.Act, p.Index, p.SHA256))
		if _, err := tx.Exec(`INSERT INTO pages (act, idx, media_type, width, height, dpi, size, sha256, nonce, data, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.Act, p.Index, p.MediaType, p.Width, p.Height, p.DPI, p.Size,
			p.SHA256, nonce, box, p.Created.UnixNano()); err != nil {
			return err
		}
		res, err := tx.Exec(`UPDATE acts SET state = ?, updated = ? WHERE id = ?`, StateCaptured, p.Created.UnixNano(), p.Act)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("%w: act %s", ErrNotFound, p.Act)
		}
		return s.appendJournal(tx, p.Created, operator, p.Act, "capture",
			map[string]any{"page": p.Index, "sha256": p.SHA256, "bytes": p.Size})
	})
	return p, err
}

// SetState moves an act in the outbox; confirmations and purges are
// journaled.
func (s *Store) SetState(ctx context.Context, act string, st State, operator string, detail map[string]any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE acts SET state = ?, updated = ? WHERE id = ?`, st, now.UnixNano(), act)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("%w: act %s", ErrNotFound, act)
		}
		switch st {
		case StateConfirmed, StateDelivered, StatePurged:
			return s.appendJournal(tx, now, operator, act, string(st), detail)
		}
		return nil
	})
}

// Act returns one act with its page count.
func (s *Store) Act(ctx context.Context, id string) (Act, error) {
	acts, err := s.queryActs(ctx, `WHERE a.id = ?`, id)
	if err != nil {
		return Act{}, err
	}
	if len(acts) == 0 {
		return Act{}, fmt.Errorf("%w: act %s", ErrNotFound, id)
	}
	return acts[0], nil
}

// Pending lists the acts not yet purged, newest first.
func (s *Store) Pending(ctx context.Context) ([]Act, error) {
	return s.queryActs(ctx, `WHERE a.state != ? ORDER BY a.created DESC`, StatePurged)
}

func (s *Store) queryActs(ctx context.Context, where string, args ...any) ([]Act, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT a.id, a.kind, a.ref, a.signers, a.operator, a.emergency, a.register, a.register_time,
		a.state, a.created, a.updated, (SELECT COUNT(*) FROM pages p WHERE p.act = a.id) FROM acts a `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []Act
	for rows.Next() {
		var a Act
		var signers string
		var created, updated, regTime int64
		if err := rows.Scan(&a.ID, &a.Kind, &a.Ref, &signers, &a.Operator, &a.Emergency, &a.Register, &regTime, &a.State,
			&created, &updated, &a.Pages); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		if regTime != 0 {
			a.RegisterTime = time.Unix(0, regTime)
		}
		a.Signers = json.RawMessage(signers)
		a.Created, a.Updated = time.Unix(0, created), time.Unix(0, updated)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Pages lists an act's pages in order.
func (s *Store) Pages(ctx context.Context, act string) ([]Page, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT idx, media_type, width, height, dpi, size, sha256, created
		FROM pages WHERE act = ? ORDER BY idx`, act)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []Page
	for rows.Next() {
		p := Page{Act: act}
		var created int64
		if err := rows.Scan(&p.Index, &p.MediaType, &p.Width, &p.Height, &p.DPI, &p.Size, &p.SHA256, &created); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		p.Created = time.Unix(0, created)
		out = append(out, p)
	}
	return out, rows.Err()
}

// Page returns a page and its bytes, decrypted and checked against its hash.
func (s *Store) Page(ctx context.Context, act string, idx int) (Page, []byte, error) {
	p := Page{Act: act, Index: idx}
	var nonce, box []byte
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT media_type, width, height, dpi, size, sha256, nonce, data, created
		FROM pages WHERE act = ? AND idx = ?`, act, idx).Scan(&p.MediaType, &p.Width, &p.Height, &p.DPI, &p.Size, &p.SHA256, &nonce, &box, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil, fmt.Errorf("%w: page %d of %s", ErrNotFound, idx, act)
	}
	if err != nil {
		return p, nil, fmt.Errorf("store: %w", err)
	}
	p.Created = time.Unix(0, created)
	data, err := s.aead.Open(nil, nonce, box, pageAAD(act, idx, p.SHA256))
	if err != nil {
		return p, nil, fmt.Errorf("%w: page %d of %s does not decrypt", ErrCorrupt, idx, act)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != p.SHA256 {
		return p, nil, fmt.Errorf("%w: page %d of %s", ErrCorrupt, idx, act)
	}
	return p, data, nil
}

func (s *Store) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return fmt.Errorf("store: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// Purge removes the images of acts confirmed before cutoff and marks them
// purged, one journal line each. Only confirmed acts are touched: an act
// never confirmed (an emergency-register act waiting for ANSC included)
// stays until an operator deletes it.
func (s *Store) Purge(ctx context.Context, cutoff time.Time, operator string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	purged := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.Query(`SELECT id FROM acts WHERE state = ? AND updated < ?`, StateConfirmed, cutoff.UnixNano())
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids {
			res, err := tx.Exec(`DELETE FROM pages WHERE act = ?`, id)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			if err := deleteDerived(tx, id); err != nil {
				return err
			}
			if _, err := tx.Exec(`UPDATE acts SET state = ?, updated = ? WHERE id = ?`, StatePurged, now.UnixNano(), id); err != nil {
				return err
			}
			if err := s.appendJournal(tx, now, operator, id, "purge", map[string]any{"pages": n}); err != nil {
				return err
			}
			purged++
		}
		return nil
	})
	return purged, err
}

// Delete removes an act and its images at an operator's explicit request,
// confirmed or not; the journal keeps who did it and why.
func (s *Store) Delete(ctx context.Context, act, operator, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE acts SET state = ?, updated = ? WHERE id = ?`, StatePurged, now.UnixNano(), act)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("%w: act %s", ErrNotFound, act)
		}
		res, err = tx.Exec(`DELETE FROM pages WHERE act = ?`, act)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		if err := deleteDerived(tx, act); err != nil {
			return err
		}
		return s.appendJournal(tx, now, operator, act, "delete", map[string]any{"pages": n, "reason": reason})
	})
}

// RotateKey re-seals every page and the key check under newKey in one
// transaction and journals the rotation. The caller keeps the new key where
// Open will find it before calling (see WriteKey), so that a crash right
// after the commit cannot lock the store.
func (s *Store) RotateKey(ctx context.Context, newKey []byte, operator string) (int, error) {
	if len(newKey) != KeySize {
		return 0, fmt.Errorf("store: new key of %d bytes", len(newKey))
	}
	block, err := aes.NewCipher(newKey)
	if err != nil {
		return 0, err
	}
	next, err := cipher.NewGCM(block)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pages := 0
	err = s.tx(ctx, func(tx *sql.Tx) error {
		// Everything sealed: pages, signature crops, documents. Each keeps
		// its associated data, so it stays bound to its place.
		for _, t := range sealedTables {
			n, err := s.reseal(tx, next, t)
			if err != nil {
				return err
			}
			if t.table == "pages" {
				pages = n
			}
		}
		nonce := make([]byte, next.NonceSize())
		_, _ = rand.Read(nonce)
		if _, err := tx.Exec(`UPDATE meta SET v = ? WHERE k = 'key_check'`,
			append(nonce, next.Seal(nil, nonce, []byte(keyCheckPlain), []byte("key_check"))...)); err != nil {
			return err
		}
		return s.appendJournal(tx, s.now(), operator, "", "key.rotate", map[string]any{"pages": pages})
	})
	if err == nil {
		s.aead = next
	}
	return pages, err
}

// sealedTable describes where sealed blobs live and what they are bound to.
type sealedTable struct {
	table, keys, data string
	aad               func(keys []any, sum string) []byte
}

var sealedTables = []sealedTable{
	{"pages", "act, idx", "data", func(k []any, sum string) []byte { return pageAAD(k[0].(string), int(k[1].(int64)), sum) }},
	{"decisions", "act, page, role", "crop", func(k []any, sum string) []byte {
		return derivedAAD("decision", k[0].(string), fmt.Sprintf("%d|%s", k[1].(int64), k[2].(string)), sum)
	}},
	{"documents", "act, name", "data", func(k []any, sum string) []byte {
		return derivedAAD("document", k[0].(string), k[1].(string), sum)
	}},
}

func (t sealedTable) sumColumn() string {
	if t.table == "decisions" {
		return "crop_sha256"
	}
	return "sha256"
}

// reseal opens every blob of a table with the current key and seals it
// with next, in the caller's transaction.
func (s *Store) reseal(tx *sql.Tx, next cipher.AEAD, t sealedTable) (int, error) {
	keyCols := strings.Split(t.keys, ", ")
	rows, err := tx.Query(`SELECT ` + t.keys + `, ` + t.sumColumn() + `, nonce, ` + t.data + ` FROM ` + t.table)
	if err != nil {
		return 0, err
	}
	type row struct {
		keys       []any
		sum        string
		nonce, box []byte
	}
	var all []row
	for rows.Next() {
		r := row{keys: make([]any, len(keyCols))}
		dest := make([]any, 0, len(keyCols)+3)
		for i := range r.keys {
			dest = append(dest, &r.keys[i])
		}
		dest = append(dest, &r.sum, &r.nonce, &r.box)
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return 0, err
		}
		all = append(all, r)
	}
	rows.Close()
	where := strings.Join(keyCols, " = ? AND ") + " = ?"
	for _, r := range all {
		aad := t.aad(r.keys, r.sum)
		plain, err := s.aead.Open(nil, r.nonce, r.box, aad)
		if err != nil {
			return 0, fmt.Errorf("%w: a blob of %s does not decrypt", ErrCorrupt, t.table)
		}
		nonce := make([]byte, next.NonceSize())
		_, _ = rand.Read(nonce)
		args := append([]any{nonce, next.Seal(nil, nonce, plain, aad)}, r.keys...)
		if _, err := tx.Exec(`UPDATE `+t.table+` SET nonce = ?, `+t.data+` = ? WHERE `+where, args...); err != nil {
			return 0, err
		}
	}
	return len(all), nil
}

// WriteKey writes a key file (mode 0600) and syncs it.
func WriteKey(path string, key []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write([]byte(hex.EncodeToString(key) + "\n")); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Errors of the delivery hand-over.
var (
	ErrAlreadyDelivered = errors.New("store: act already delivered to a browser")
	ErrAlreadyConfirmed = errors.New("store: act already confirmed by ANSC")
	ErrNothingToDeliver = errors.New("store: act has no pages")
)

// Deliver hands an act over to one browser tab, exactly once: the check and
// the change are one transaction under the writers' lock, so of two tabs
// asking at the same moment one gets it and the other ErrAlreadyDelivered.
// Release gives it back (an upload that failed) for another attempt.
func (s *Store) Deliver(ctx context.Context, act, operator, tab string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		var st State
		if err := tx.QueryRow(`SELECT state FROM acts WHERE id = ?`, act).Scan(&st); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: act %s", ErrNotFound, act)
		} else if err != nil {
			return err
		}
		switch st {
		case StateDelivered:
			return ErrAlreadyDelivered
		case StateConfirmed, StatePurged:
			return ErrAlreadyConfirmed
		case StateOpen:
			return ErrNothingToDeliver
		}
		if _, err := tx.Exec(`UPDATE acts SET state = ?, updated = ? WHERE id = ?`, StateDelivered, now.UnixNano(), act); err != nil {
			return err
		}
		return s.appendJournal(tx, now, operator, act, "delivery", map[string]any{"tab": tab})
	})
}

// Release returns a delivered act to the outbox.
func (s *Store) Release(ctx context.Context, act, operator, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE acts SET state = ?, updated = ? WHERE id = ? AND state = ?`, StateAnnounced, now.UnixNano(), act, StateDelivered)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("%w: act %s is not delivered", ErrNotFound, act)
		}
		return s.appendJournal(tx, now, operator, act, "release", map[string]any{"reason": reason})
	})
}
