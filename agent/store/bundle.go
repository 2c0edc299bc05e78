package store

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// A bundle carries one act from a workstation to another (a home-visit
// laptop to the office): its pages and its journal lines, encrypted with a
// key derived from a passphrase, and sealed with the exporting
// workstation's Ed25519 key so that any change in transit shows.
//
// Layout: the magic line, a JSON header line, the sealed payload, and the
// signature over all that precedes it (64 bytes).

const bundleMagic = "AUTOGRAFO-BUNDLE-1\n"

// pbkdf2Iterations follows current guidance for PBKDF2-HMAC-SHA256.
const pbkdf2Iterations = 600_000

// Errors of bundles.
var (
	ErrBundle          = errors.New("store: not a valid bundle")
	ErrBundleSignature = errors.New("store: bundle signature does not verify")
	ErrBundleUntrusted = errors.New("store: bundle sealed by an untrusted workstation")
	ErrBundlePassword  = errors.New("store: wrong passphrase for the bundle")
	ErrAlreadyImported = errors.New("store: act already in this store")
)

type bundleHeader struct {
	Version   int    `json:"version"`
	Created   string `json:"created"`
	Seal      string `json:"seal"` // the exporting workstation's public key, base64
	Salt      string `json:"salt"`
	Nonce     string `json:"nonce"`
	Iteration int    `json:"iterations"`
}

type bundlePayload struct {
	Act     bundleAct    `json:"act"`
	Pages   []bundlePage `json:"pages"`
	Journal []Entry      `json:"journal"`
}

type bundleAct struct {
	ID, Kind, Ref, Operator, Register, Comune string
	SignerRows                                []Signer
	Emergency                                 bool
	RegisterTime                              time.Time
	Created                                   time.Time
	// Printed carries the act's printed layout, so that the office can
	// read the page codes of its pages.
	Printed []byte `json:",omitempty"`
}

type bundlePage struct {
	Index              int
	MediaType          string
	Width, Height, DPI int
	SHA256             string
	Boxes              json.RawMessage `json:",omitempty"`
	Back               bool            `json:",omitempty"` // the back of a sheet scanned duplex
	Fit                string          `json:",omitempty"` // how its pixels differ from what was asked
	AskedDPI           int             `json:",omitempty"`
	Data               []byte
}

// PrintedLayout names the document that holds an act's printed layout.
const PrintedLayout = "printed-layout.json"

// LoadOrCreateSealKey reads the workstation's Ed25519 seal key, creating it
// (mode 0600) on first use.
func LoadOrCreateSealKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		if err := WriteKey(path, priv.Seed()); err != nil {
			return nil, err
		}
		return priv, nil
	}
	if err != nil {
		return nil, err
	}
	seed, err := hex.DecodeString(string(trimSpace(data)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("store: seal key %s is not an Ed25519 seed", path)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// Fingerprint names a seal key for people: the first 16 hex digits of the
// SHA-256 of the public key.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

func bundleAEAD(passphrase string, salt []byte, iterations int) (cipher.AEAD, error) {
	key, err := pbkdf2.Key(sha256.New, passphrase, salt, iterations, KeySize)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Export writes one act as a bundle and journals the export.
func (s *Store) Export(ctx context.Context, act string, w io.Writer, passphrase string, seal ed25519.PrivateKey, operator string) error {
	if len(passphrase) < 8 {
		return errors.New("store: the bundle passphrase must have at least 8 characters")
	}
	a, err := s.Act(ctx, act)
	if err != nil {
		return err
	}
	signers, err := s.Signers(ctx, act)
	if err != nil {
		return err
	}
	p := bundlePayload{Act: bundleAct{ID: a.ID, Kind: a.Kind, Ref: a.Ref, Operator: a.Operator, Register: a.Register, Comune: a.Comune,
		SignerRows: signers, Emergency: a.Emergency, RegisterTime: a.RegisterTime, Created: a.Created}}
	if a.Printed {
		if _, layout, err := s.DocumentData(ctx, act, PrintedLayout); err == nil {
			p.Act.Printed = layout
		}
	}
	pages, err := s.Pages(ctx, act)
	if err != nil {
		return err
	}
	for _, pg := range pages {
		_, data, err := s.Page(ctx, act, pg.Index)
		if err != nil {
			return err
		}
		p.Pages = append(p.Pages, bundlePage{Index: pg.Index, MediaType: pg.MediaType, Width: pg.Width, Height: pg.Height,
			DPI: pg.DPI, SHA256: pg.SHA256, Boxes: pg.Boxes, Back: pg.Back, Fit: pg.Fit, AskedDPI: pg.AskedDPI, Data: data})
	}
	entries, err := s.Journal(ctx)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Act == act {
			p.Journal = append(p.Journal, e)
		}
	}
	plain, err := json.Marshal(p)
	if err != nil {
		return err
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	aead, err := bundleAEAD(passphrase, salt, pbkdf2Iterations)
	if err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	h := bundleHeader{Version: 1, Created: s.now().UTC().Format(time.RFC3339),
		Seal: base64.StdEncoding.EncodeToString(seal.Public().(ed25519.PublicKey)),
		Salt: base64.StdEncoding.EncodeToString(salt), Nonce: base64.StdEncoding.EncodeToString(nonce), Iteration: pbkdf2Iterations}
	hj, _ := json.Marshal(h)
	var buf bytes.Buffer
	buf.WriteString(bundleMagic)
	buf.Write(hj)
	buf.WriteByte('\n')
	buf.Write(aead.Seal(nil, nonce, plain, hj))
	buf.Write(ed25519.Sign(seal, buf.Bytes()))
	if _, err := w.Write(buf.Bytes()); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tx(ctx, func(tx *sql.Tx) error {
		return s.appendJournal(tx, s.now(), operator, act, "export",
			map[string]any{"pages": len(p.Pages), "seal": Fingerprint(seal.Public().(ed25519.PublicKey))})
	})
}

// Import reads a bundle, checks its seal (against trusted, when given: the
// fingerprints of workstations whose bundles are accepted), decrypts it,
// checks every page against its hash, and stores the act with its pages.
// The act's journal lines from the exporting workstation are kept, whole,
// in the import's journal entry. It returns the act's ID and the seal's
// fingerprint.
func (s *Store) Import(ctx context.Context, r io.Reader, passphrase string, trusted []string, operator string) (string, string, error) {
	data, err := io.ReadAll(io.LimitReader(r, 2<<30))
	if err != nil {
		return "", "", err
	}
	if !bytes.HasPrefix(data, []byte(bundleMagic)) || len(data) < len(bundleMagic)+ed25519.SignatureSize+2 {
		return "", "", ErrBundle
	}
	body, sig := data[:len(data)-ed25519.SignatureSize], data[len(data)-ed25519.SignatureSize:]
	rest := body[len(bundleMagic):]
	nl := bytes.IndexByte(rest, '\n')
	if nl < 0 {
		return "", "", ErrBundle
	}
	hj, sealed := rest[:nl], rest[nl+1:]
	var h bundleHeader
	if err := json.Unmarshal(hj, &h); err != nil || h.Version != 1 || h.Iteration < 100_000 || h.Iteration > 10_000_000 {
		return "", "", ErrBundle
	}
	pub, err1 := base64.StdEncoding.DecodeString(h.Seal)
	salt, err2 := base64.StdEncoding.DecodeString(h.Salt)
	nonce, err3 := base64.StdEncoding.DecodeString(h.Nonce)
	if err1 != nil || err2 != nil || err3 != nil || len(pub) != ed25519.PublicKeySize {
		return "", "", ErrBundle
	}
	if !ed25519.Verify(pub, body, sig) {
		return "", "", ErrBundleSignature
	}
	fp := Fingerprint(pub)
	if len(trusted) > 0 {
		ok := false
		for _, t := range trusted {
			ok = ok || t == fp
		}
		if !ok {
			return "", fp, fmt.Errorf("%w: %s", ErrBundleUntrusted, fp)
		}
	}
	aead, err := bundleAEAD(passphrase, salt, h.Iteration)
	if err != nil {
		return "", fp, err
	}
	if len(nonce) != aead.NonceSize() {
		return "", fp, ErrBundle
	}
	plain, err := aead.Open(nil, nonce, sealed, hj)
	if err != nil {
		return "", fp, ErrBundlePassword
	}
	var p bundlePayload
	if err := json.Unmarshal(plain, &p); err != nil || p.Act.ID == "" {
		return "", fp, ErrBundle
	}
	for i, pg := range p.Pages {
		sum := sha256.Sum256(pg.Data)
		if hex.EncodeToString(sum[:]) != pg.SHA256 || pg.Index != i+1 {
			return "", fp, fmt.Errorf("%w: page %d", ErrCorrupt, pg.Index)
		}
	}
	if _, err := s.Act(ctx, p.Act.ID); err == nil {
		return p.Act.ID, fp, ErrAlreadyImported
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		// The act arrives with its pages, to be analysed here: captured
		// (or draft, with none), whatever it was on the laptop.
		state := StateCaptured
		if len(p.Pages) == 0 {
			state = StateDraft
		}
		var regTime int64
		if !p.Act.RegisterTime.IsZero() {
			regTime = p.Act.RegisterTime.UnixNano()
		}
		if _, err := tx.Exec(`INSERT INTO acts (id, kind, ref, signers, operator, comune, emergency, register, register_time, state, printed, created, updated)
			VALUES (?, ?, ?, '[]', ?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.Act.ID, p.Act.Kind, s.sealText(p.Act.Ref, "acts.ref", p.Act.ID), p.Act.Operator, p.Act.Comune,
			p.Act.Emergency, p.Act.Register, regTime, state, len(p.Act.Printed) > 0, p.Act.Created.UnixNano(), now.UnixNano()); err != nil {
			return err
		}
		for i := range p.Act.SignerRows {
			// The laptop's exceptions travel in its journal lines; the
			// office's officer decides again here.
			p.Act.SignerRows[i].Unable, p.Act.SignerRows[i].Override = false, false
		}
		if err := s.insertSigners(tx, p.Act.ID, p.Act.SignerRows); err != nil {
			return err
		}
		if len(p.Act.Printed) > 0 {
			if err := s.putDocument(tx, Document{Act: p.Act.ID, Name: PrintedLayout, MediaType: "application/vnd.autografo.layout+json"}, p.Act.Printed); err != nil {
				return err
			}
		}
		for _, pg := range p.Pages {
			nonce, box := s.seal(pg.Data, pageAAD(p.Act.ID, pg.Index, pg.SHA256))
			if _, err := tx.Exec(`INSERT INTO pages (act, idx, media_type, width, height, dpi, size, sha256, nonce, data, created, boxes, back, fit, asked_dpi)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.Act.ID, pg.Index, pg.MediaType, pg.Width, pg.Height, pg.DPI,
				len(pg.Data), pg.SHA256, nonce, box, now.UnixNano(), s.sealText(string(pg.Boxes), "pages.boxes", p.Act.ID, pg.Index), pg.Back, pg.Fit, pg.AskedDPI); err != nil {
				return err
			}
		}
		return s.appendJournal(tx, now, operator, p.Act.ID, "import",
			map[string]any{"seal": fp, "pages": len(p.Pages), "journal": p.Journal})
	})
	if err != nil {
		return "", fp, err
	}
	return p.Act.ID, fp, nil
}
