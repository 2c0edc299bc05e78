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

	"github.com/autografo/autografo/agent/private"
	_ "modernc.org/sqlite" // the embedded database, pure Go
)

// Errors callers branch on.
var (
	ErrWrongKey = errors.New("store: the key does not open this store")
	ErrNotFound = errors.New("store: not found")
	ErrCorrupt  = errors.New("store: data does not match its hash")
)

// Act is an act as stored.
type Act struct {
	ID       string
	Kind     string
	Ref      string
	Comune   string // the comune it belongs to: sessions of another comune do not see it
	Operator string // who opened it
	// Signers is the legacy JSON list of an act opened before signers
	// became rows; new acts keep their signers in Signers().
	Signers   json.RawMessage
	Emergency bool   // entered in the paper emergency register
	Register  string // its number there
	// RegisterTime is when it was entered there (zero: not given).
	RegisterTime time.Time
	State        State
	Printed      bool // its sheets were printed with page codes
	// Interrupted is the error code that ended the act's last capture
	// before the feeder was empty ("" when it ended as it should): a tab
	// opened later still tells the officer the capture did not finish.
	Interrupted string
	Document    string // the upload-ready document's name, once ready
	Holder      string // the tab that holds its delivery
	Attachment  string // ANSC's attachment id, once confirmed
	Confirmed   time.Time
	Pages       int
	Created     time.Time
	Updated     time.Time
}

// Actor is who makes a change, as the journal records it.
type Actor struct {
	Operator string
	Tab      string // the browser connection, when there is one
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
	// Boxes is where the device said the signers' boxes are (JSON; the
	// simulator knows), kept so that an analysis can run again.
	Boxes json.RawMessage
	// Analysed: the signature pipeline ran on it; Analysis is what it
	// found of the page itself (JSON: geometry and printed identity).
	Analysed bool
	Analysis json.RawMessage
	// Position is its place in the document (1-based), 0 when it is not in
	// it (a page of another act, an earlier scan of a printed page).
	Position int
	// Turn is the officer's quarter turn for it (0, 90, 180, 270), or -1
	// when the officer did not turn it.
	Turn int
	// Back: the back of a sheet, scanned duplex. A blank back is kept
	// but left out of the document.
	Back bool
	// Fit and AskedDPI: how the page's pixels differ from what was asked
	// of the device (scanner.Fit), "" when they do not. DPI is the
	// resolution the pixels were made at.
	Fit      string
	AskedDPI int
	// Removed: the officer took the page out of the act, or retook it
	// (the page that Replaces it took its place). Kept, never in the
	// document.
	Removed  bool
	Replaces int
	// Ord orders the pages that carry no code: their capture order, or
	// where the officer moved them.
	Ord float64
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
		if err := private.MkdirAll(filepath.Dir(path)); err != nil {
			return nil, fmt.Errorf("store: key directory: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("store: creating key: %w", err)
		}
		if err := private.Restrict(path); err != nil {
			f.Close()
			return nil, fmt.Errorf("store: %w", err)
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
	if err := private.Check(path); err != nil {
		return nil, fmt.Errorf("store: key file: %w", err)
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
	// 3: the act's lifecycle. Acts carry their comune, whether they were
	// printed, their document, their delivery's holder and ANSC's
	// attachment id; pages carry what decides the document (the boxes they
	// came with, their analysis, their place in the document, the
	// officer's turn); signers become rows with separate names and the
	// officer's exceptions. The old states map onto the new ones: an act
	// that was "captured" or "announced" is analysed again at the next
	// start. An old signer's single name field goes into cognome whole:
	// splitting a name at a space would guess wrong ("Maria Grazia De
	// Luca").
	`ALTER TABLE acts ADD COLUMN comune TEXT NOT NULL DEFAULT '';
	 ALTER TABLE acts ADD COLUMN printed INTEGER NOT NULL DEFAULT 0;
	 ALTER TABLE acts ADD COLUMN document TEXT NOT NULL DEFAULT '';
	 ALTER TABLE acts ADD COLUMN holder TEXT NOT NULL DEFAULT '';
	 ALTER TABLE acts ADD COLUMN delivery TEXT NOT NULL DEFAULT '';
	 ALTER TABLE acts ADD COLUMN attachment TEXT NOT NULL DEFAULT '';
	 ALTER TABLE acts ADD COLUMN confirmed INTEGER NOT NULL DEFAULT 0;
	 ALTER TABLE pages ADD COLUMN boxes TEXT NOT NULL DEFAULT '';
	 ALTER TABLE pages ADD COLUMN analysed INTEGER NOT NULL DEFAULT 0;
	 ALTER TABLE pages ADD COLUMN analysis TEXT NOT NULL DEFAULT '';
	 ALTER TABLE pages ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
	 ALTER TABLE pages ADD COLUMN turn INTEGER NOT NULL DEFAULT -1;
	 CREATE TABLE signers (
		act TEXT NOT NULL REFERENCES acts(id), ord INTEGER NOT NULL, role TEXT NOT NULL,
		nome TEXT NOT NULL, cognome TEXT NOT NULL, codice_fiscale TEXT NOT NULL, label TEXT NOT NULL,
		unable INTEGER NOT NULL DEFAULT 0, unable_reason TEXT NOT NULL DEFAULT '',
		override INTEGER NOT NULL DEFAULT 0, override_reason TEXT NOT NULL DEFAULT '',
		decided_by TEXT NOT NULL DEFAULT '', PRIMARY KEY (act, role));
	 INSERT OR IGNORE INTO signers (act, ord, role, nome, cognome, codice_fiscale, label)
		SELECT a.id, j.key, COALESCE(json_extract(j.value, '$.role'), ''), '', COALESCE(json_extract(j.value, '$.name'), ''), '', ''
		FROM acts a, json_each(a.signers) j WHERE json_valid(a.signers);
	 UPDATE acts SET state = 'draft' WHERE state = 'open';
	 UPDATE acts SET state = 'captured' WHERE state = 'announced';
	 UPDATE acts SET confirmed = updated WHERE state = 'confirmed';
	 UPDATE acts SET printed = 1 WHERE id IN (SELECT act FROM documents WHERE name = 'printed-layout.json');
	 ALTER TABLE documents ADD COLUMN info TEXT NOT NULL DEFAULT '';`,
	// 4: the officer's hand on the pages: a page taken out of the act (a
	// duplicate, a page of something else), a page retaken in place of
	// another, and the order of pages that carry no code.
	`ALTER TABLE pages ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;
	 ALTER TABLE pages ADD COLUMN replaces INTEGER NOT NULL DEFAULT 0;
	 ALTER TABLE pages ADD COLUMN ord REAL NOT NULL DEFAULT 0;
	 UPDATE pages SET ord = idx;`,
	// 5: how an act's last capture ended, when something ended it early.
	`ALTER TABLE acts ADD COLUMN interrupted TEXT NOT NULL DEFAULT '';`,
	// 6: the session tickets used, by digest, until they expire.
	`CREATE TABLE used_tickets (digest TEXT PRIMARY KEY, until INTEGER NOT NULL);`,
	// 7: which pages are the backs of sheets, from a duplex scan.
	`ALTER TABLE pages ADD COLUMN back INTEGER NOT NULL DEFAULT 0;`,
	// 8: pages whose pixels are not what was asked of the device: the
	// resolution asked, and how the page differs (its dpi is the real one).
	`ALTER TABLE pages ADD COLUMN asked_dpi INTEGER NOT NULL DEFAULT 0;
	 ALTER TABLE pages ADD COLUMN fit TEXT NOT NULL DEFAULT '';`,
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
	if err := keepPrivate(path); err != nil {
		return nil, err
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=secure_delete(1)"
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
	if err := s.sealPlainText(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// keepPrivate makes the store's directory and its database files private
// to their owner (0700 and 0600 on Unix)
// before the database opens, also for a store made by an older Autografo
// or restored by hand: what is not sealed (states, times, page sizes,
// operators) is still nobody else's business, and a store made before
// text was sealed keeps names in plaintext until it is opened once. SQLite gives the -wal and -shm files the database file's mode, so a
// new database is created 0600 first.
func keepPrivate(path string) error {
	dir := filepath.Dir(path)
	if err := private.MkdirAll(dir); err != nil {
		return fmt.Errorf("store: cannot make the folder %s private to its user: %w", dir, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := private.Restrict(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: cannot make %s private to its user: %w", p, err)
		}
	}
	return nil
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

// Page returns a page and its bytes, decrypted and checked against its hash.
func (s *Store) Page(ctx context.Context, act string, idx int) (Page, []byte, error) {
	var nonce, box []byte
	p, err := s.scanPage(s.db.QueryRowContext(ctx, `SELECT `+pageColumns+`, nonce, data FROM pages WHERE act = ? AND idx = ?`, act, idx),
		act, &nonce, &box)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil, fmt.Errorf("%w: page %d of %s", ErrNotFound, idx, act)
	}
	if err != nil {
		return p, nil, fmt.Errorf("store: %w", err)
	}
	data, err := s.aead.Open(nil, nonce, box, pageAAD(act, idx, p.SHA256))
	if err != nil {
		return p, nil, fmt.Errorf("%w: page %d of %s does not decrypt", ErrCorrupt, idx, act)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != p.SHA256 {
		return p, nil, fmt.Errorf("%w: page %d of %s", ErrCorrupt, idx, act)
	}
	return p, data, nil
}

// tx runs f in one transaction. A cancelled ctx keeps a transaction from
// starting, but one that started is finished: a write cut in half by a
// shutdown would only be rolled back and reported as a failure.
func (s *Store) tx(ctx context.Context, f func(*sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	tx, err := s.db.BeginTx(context.WithoutCancel(ctx), nil)
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
		if err := s.appendJournal(tx, s.now(), operator, "", "key.rotate", map[string]any{"pages": pages}); err != nil {
			return err
		}
		// Last, so that the rotation's own journal line is sealed again too.
		_, err := s.resealText(tx, s.aead, next)
		return err
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
	if err := private.Restrict(path); err != nil {
		f.Close()
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
