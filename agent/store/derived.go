package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// Decision is the signature pipeline's verdict on one signer's box, with
// the normalized crop of the signature.
type Decision struct {
	Act        string
	Page       int
	Role       string
	Verdict    string // signed, empty, doubtful
	Confidence float64
	Reasons    []string
	CropType   string
	CropSHA256 string
}

// Document is an upload-ready file built for ANSC.
type Document struct {
	Act       string
	Name      string
	MediaType string
	Size      int64
	SHA256    string
	// Info is what the agent says of the document (JSON), kept with it.
	Info json.RawMessage
}

func deleteDerived(tx *sql.Tx, act string) error {
	if _, err := tx.Exec(`DELETE FROM decisions WHERE act = ?`, act); err != nil {
		return err
	}
	_, err := tx.Exec(`DELETE FROM documents WHERE act = ?`, act)
	return err
}

func derivedAAD(kind, act, key, sum string) []byte {
	return []byte(fmt.Sprintf("%s|%s|%s|%s", kind, act, key, sum))
}

// Decisions lists an act's decisions (without crops).
func (s *Store) Decisions(ctx context.Context, act string) ([]Decision, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT page, role, verdict, confidence, reasons, crop_type, crop_sha256
		FROM decisions WHERE act = ? ORDER BY page, role`, act)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []Decision
	for rows.Next() {
		d := Decision{Act: act}
		var reasons string
		if err := rows.Scan(&d.Page, &d.Role, &d.Verdict, &d.Confidence, &reasons, &d.CropType, &d.CropSHA256); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		_ = json.Unmarshal([]byte(reasons), &d.Reasons)
		out = append(out, d)
	}
	return out, rows.Err()
}

// Crop returns a decision's crop, decrypted and checked.
func (s *Store) Crop(ctx context.Context, act string, page int, role string) ([]byte, error) {
	var sum string
	var nonce, box []byte
	err := s.db.QueryRowContext(ctx, `SELECT crop_sha256, nonce, crop FROM decisions WHERE act = ? AND page = ? AND role = ?`,
		act, page, role).Scan(&sum, &nonce, &box)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: crop of %s on page %d of %s", ErrNotFound, role, page, act)
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return s.open(nonce, box, derivedAAD("decision", act, fmt.Sprintf("%d|%s", page, role), sum), sum)
}

// PutDocument stores a document of an act (its printed sheets and
// layout, a format asked for), sealed, and journals it.
func (s *Store) PutDocument(ctx context.Context, d Document, data []byte, by Actor) (Document, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := sha256.Sum256(data)
	d.SHA256, d.Size = hex.EncodeToString(sum[:]), int64(len(data))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.putDocument(tx, d, data); err != nil {
			return err
		}
		return s.journal(tx, s.now(), by, d.Act, "document", map[string]any{"name": d.Name, "sha256": d.SHA256, "bytes": d.Size})
	})
	return d, err
}

// putDocument stores (or replaces) a document in the caller's transaction.
func (s *Store) putDocument(tx *sql.Tx, d Document, data []byte) error {
	sum := sha256.Sum256(data)
	d.SHA256, d.Size = hex.EncodeToString(sum[:]), int64(len(data))
	nonce, box := s.seal(data, derivedAAD("document", d.Act, d.Name, d.SHA256))
	_, err := tx.Exec(`INSERT OR REPLACE INTO documents (act, name, media_type, size, sha256, nonce, data, created, info)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.Act, d.Name, d.MediaType, d.Size, d.SHA256, nonce, box, s.now().UnixNano(),
		s.sealText(string(d.Info), "documents.info", d.Act, d.Name))
	return err
}

// DocumentData returns a document's bytes, decrypted and checked.
func (s *Store) DocumentData(ctx context.Context, act, name string) (Document, []byte, error) {
	d := Document{Act: act, Name: name}
	var nonce, box []byte
	var info string
	err := s.db.QueryRowContext(ctx, `SELECT media_type, size, sha256, nonce, data, info FROM documents WHERE act = ? AND name = ?`,
		act, name).Scan(&d.MediaType, &d.Size, &d.SHA256, &nonce, &box, &info)
	if errors.Is(err, sql.ErrNoRows) {
		return d, nil, fmt.Errorf("%w: document %s of %s", ErrNotFound, name, act)
	}
	if err != nil {
		return d, nil, fmt.Errorf("store: %w", err)
	}
	if info, err = s.openText(info, "documents.info", act, name); err != nil {
		return d, nil, err
	}
	if info != "" {
		d.Info = json.RawMessage(info)
	}
	data, err := s.open(nonce, box, derivedAAD("document", act, name, d.SHA256), d.SHA256)
	return d, data, err
}

func (s *Store) open(nonce, box, aad []byte, sum string) ([]byte, error) {
	data, err := s.aead.Open(nil, nonce, box, aad)
	if err != nil {
		return nil, fmt.Errorf("%w: does not decrypt", ErrCorrupt)
	}
	if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != sum {
		return nil, ErrCorrupt
	}
	return data, nil
}

// DocumentMeta returns a document's metadata and info, without its bytes.
func (s *Store) DocumentMeta(ctx context.Context, act, name string) (Document, error) {
	d := Document{Act: act, Name: name}
	var info string
	err := s.db.QueryRowContext(ctx, `SELECT media_type, size, sha256, info FROM documents WHERE act = ? AND name = ?`,
		act, name).Scan(&d.MediaType, &d.Size, &d.SHA256, &info)
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("%w: document %s of %s", ErrNotFound, name, act)
	}
	if err != nil {
		return d, fmt.Errorf("store: %w", err)
	}
	if info, err = s.openText(info, "documents.info", act, name); err != nil {
		return d, err
	}
	if info != "" {
		d.Info = json.RawMessage(info)
	}
	return d, nil
}
