package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"time"
)

// FirstUse records a session ticket's id until the time given and reports
// whether this is its first use: the agent's ticket replay cache, which a
// restart does not empty. Ids past their time are dropped; only the id's
// digest is kept.
func (s *Store) FirstUse(id string, until, now time.Time) (bool, error) {
	sum := sha256.Sum256([]byte(id))
	first := false
	err := s.tx(context.Background(), func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM used_tickets WHERE until < ?`, now.UnixNano()); err != nil {
			return err
		}
		res, err := tx.Exec(`INSERT OR IGNORE INTO used_tickets (digest, until) VALUES (?, ?)`, hex.EncodeToString(sum[:]), until.UnixNano())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		first = n == 1
		return err
	})
	return first, err
}
