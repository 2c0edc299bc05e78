package store

import (
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strings"
)

// Text that names people (signers' names, codici fiscali, the act's
// reference, the officer's reasons, the journal's details, what the pages
// and documents record of their signers) is sealed in its column with the
// store's key, as the images are: the database and its WAL say nothing of
// whom an act is about to anyone who reads the files without the key.
// A sealed value is textSealPrefix and the base64 of nonce and ciphertext,
// bound to its place (column and row) so that values cannot be moved
// between rows unnoticed. The empty string stays empty: it says nothing.
const textSealPrefix = "sealed1:"

// textPlace names where a sealed value lives, for its associated data.
func textPlace(column string, row ...any) []byte {
	var b strings.Builder
	b.WriteString("text|" + column)
	for _, k := range row {
		fmt.Fprintf(&b, "|%v", k)
	}
	return []byte(b.String())
}

// sealTextWith seals plain for its place with aead.
func sealTextWith(aead cipher.AEAD, plain string, place []byte) string {
	if plain == "" {
		return ""
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return textSealPrefix + base64.RawStdEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(plain), place))
}

// sealText seals a column's value for its row.
func (s *Store) sealText(plain, column string, row ...any) string {
	return sealTextWith(s.aead, plain, textPlace(column, row...))
}

// openText opens a value sealTextWith made. A value that is not sealed, or
// that does not open for this place, is ErrCorrupt: once a store is
// sealed, plaintext in these columns was written by something else.
func (s *Store) openText(stored, column string, row ...any) (string, error) {
	return openTextWith(s.aead, stored, column, row...)
}

func openTextWith(aead cipher.AEAD, stored, column string, row ...any) (string, error) {
	if stored == "" {
		return "", nil
	}
	raw, ok := strings.CutPrefix(stored, textSealPrefix)
	if !ok {
		return "", fmt.Errorf("%w: %s of %v is not sealed", ErrCorrupt, column, row)
	}
	box, err := base64.RawStdEncoding.DecodeString(raw)
	ns := aead.NonceSize()
	if err != nil || len(box) < ns {
		return "", fmt.Errorf("%w: %s of %v is damaged", ErrCorrupt, column, row)
	}
	plain, err := aead.Open(nil, box[:ns], box[ns:], textPlace(column, row...))
	if err != nil {
		return "", fmt.Errorf("%w: %s of %v does not decrypt here", ErrCorrupt, column, row)
	}
	return string(plain), nil
}

// sealedColumns are the text columns sealed in each table, with the
// columns that name their row.
var sealedColumns = []struct {
	table, keys string
	columns     []string
}{
	{"acts", "id", []string{"ref"}},
	{"signers", "act, role", []string{"nome", "cognome", "codice_fiscale", "label", "unable_reason", "override_reason"}},
	{"pages", "act, idx", []string{"boxes", "analysis"}},
	{"documents", "act, name", []string{"info"}},
	{"journal", "seq", []string{"detail"}},
}

// resealText rewrites every sealed text column in tx: each value is
// opened with from and sealed again with to. With from nil the store was
// made before text was sealed: its values are plaintext, and any sealed
// one must open with to.
func (s *Store) resealText(tx *sql.Tx, from, to cipher.AEAD) (int, error) {
	n := 0
	for _, t := range sealedColumns {
		keyCols := strings.Split(t.keys, ", ")
		rows, err := tx.Query(`SELECT ` + t.keys + `, ` + strings.Join(t.columns, ", ") + ` FROM ` + t.table)
		if err != nil {
			return n, err
		}
		type row struct {
			keys   []any
			values []string
		}
		var all []row
		for rows.Next() {
			r := row{keys: make([]any, len(keyCols)), values: make([]string, len(t.columns))}
			dest := make([]any, 0, len(keyCols)+len(t.columns))
			for i := range r.keys {
				dest = append(dest, &r.keys[i])
			}
			for i := range r.values {
				dest = append(dest, &r.values[i])
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return n, err
			}
			all = append(all, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, err
		}
		set := strings.Join(t.columns, " = ?, ") + " = ?"
		where := strings.Join(keyCols, " = ? AND ") + " = ?"
		for _, r := range all {
			args := make([]any, 0, len(t.columns)+len(keyCols))
			for i, v := range r.values {
				col := t.table + "." + t.columns[i]
				plain, opener := v, from
				if opener == nil && strings.HasPrefix(v, textSealPrefix) {
					opener = to // sealed already: by this key, or it is damaged
				}
				if opener != nil {
					if plain, err = openTextWith(opener, v, col, r.keys...); err != nil {
						return n, err
					}
				}
				args = append(args, sealTextWith(to, plain, textPlace(col, r.keys...)))
			}
			if _, err := tx.Exec(`UPDATE `+t.table+` SET `+set+` WHERE `+where, append(args, r.keys...)...); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// sealPlainText seals, once, the text a store made before text was sealed
// keeps in plaintext; then rebuilds the database file and empties the WAL,
// so that the plaintext is gone from the disk too, not only from the rows.
func (s *Store) sealPlainText() error {
	var done string
	err := s.db.QueryRow(`SELECT v FROM meta WHERE k = 'text_sealed'`).Scan(&done)
	if err == nil {
		return nil
	}
	if err != sql.ErrNoRows {
		return fmt.Errorf("store: %w", err)
	}
	tx, err := s.db.Begin()
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if _, err := s.resealText(tx, nil, s.aead); err != nil {
		tx.Rollback()
		return fmt.Errorf("store: sealing the text columns: %w", err)
	}
	// The act's signers before they had their own table: copied there by
	// the third migration, kept here in plaintext.
	if _, err := tx.Exec(`UPDATE acts SET signers = '[]'`); err != nil {
		tx.Rollback()
		return fmt.Errorf("store: %w", err)
	}
	if _, err := tx.Exec(`INSERT INTO meta (k, v) VALUES ('text_sealed', '1')`); err != nil {
		tx.Rollback()
		return fmt.Errorf("store: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	if _, err := s.db.Exec(`VACUUM`); err != nil {
		return fmt.Errorf("store: rewriting the database without its plaintext: %w", err)
	}
	if _, err := s.db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}
