package auth

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TicketKey is a public key of an act-drafting backend.
type TicketKey struct {
	ID  string // matched against the ticket's kid header
	Key ed25519.PublicKey
	// Issuer, when set, must be the ticket's iss.
	Issuer string
}

// ParsePublicKey reads an Ed25519 public key as PEM (SubjectPublicKeyInfo)
// or as the base64 of its 32 raw bytes.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if block, _ := pem.Decode([]byte(s)); block != nil {
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("auth: public key: %w", err)
		}
		ek, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("auth: public key is %T, want Ed25519", k)
		}
		return ek, nil
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		raw, err = base64.RawURLEncoding.DecodeString(s)
	}
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("auth: public key is neither PEM nor the base64 of 32 bytes")
	}
	return ed25519.PublicKey(raw), nil
}

// TicketConfig configures ticket verification.
type TicketConfig struct {
	Keys []TicketKey
	// Audience the ticket's aud must contain (default "autografo").
	Audience string
	// MaxLifetime bounds exp - iat (default 10 minutes): a ticket is for
	// opening one session now, not a standing credential.
	MaxLifetime time.Duration
	Leeway      time.Duration // clock skew allowed (default 30s)
	// SessionTTL is how long a session opened with a ticket lasts (default
	// 12 h, a working day): the ticket's own expiry only bounds when it may
	// be presented.
	SessionTTL time.Duration
	// Comune, when set, is the only comune whose tickets this workstation
	// takes: a ticket for another is refused (ErrScope).
	Comune string
	// Replays remembers the tickets used (default: in memory, forgotten
	// at a restart). The agent's store keeps them across restarts, so that
	// a ticket copied in transit is refused after a restart too.
	Replays ReplayCache
	Now     func() time.Time
}

// ReplayCache remembers used tickets until they expire.
type ReplayCache interface {
	// FirstUse records the ticket id until the time given and reports
	// whether this is its first use; ids past their time may be dropped.
	FirstUse(id string, until, now time.Time) (bool, error)
}

// memoryReplays is the ReplayCache of a Verifier with none configured.
type memoryReplays struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (m *memoryReplays) FirstUse(id string, until, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, exp := range m.seen {
		if now.After(exp) {
			delete(m.seen, k) // an expired ticket is refused anyway
		}
	}
	if _, used := m.seen[id]; used {
		return false, nil
	}
	m.seen[id] = until
	return true, nil
}

// TicketClaims are the claims an act-drafting backend signs.
type TicketClaims struct {
	jwt.RegisteredClaims
	Comune   string   `json:"comune"`
	Operator string   `json:"operator"`
	Origin   string   `json:"origin"`
	Perms    []string `json:"perms"`
}

// Verifier checks tickets and refuses replays.
type Verifier struct {
	cfg TicketConfig
}

// NewVerifier returns a Verifier for the keys.
func NewVerifier(cfg TicketConfig) (*Verifier, error) {
	if cfg.Audience == "" {
		cfg.Audience = "autografo"
	}
	if cfg.MaxLifetime <= 0 {
		cfg.MaxLifetime = 10 * time.Minute
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	for _, k := range cfg.Keys {
		if len(k.Key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("auth: ticket key %q is not an Ed25519 public key", k.ID)
		}
	}
	if cfg.Replays == nil {
		cfg.Replays = &memoryReplays{seen: map[string]time.Time{}}
	}
	return &Verifier{cfg: cfg}, nil
}

func (v *Verifier) key(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	for _, k := range v.cfg.Keys {
		if k.ID == kid || (kid == "" && len(v.cfg.Keys) == 1) {
			return k.Key, nil
		}
	}
	return nil, fmt.Errorf("%w: no key %q", ErrForged, kid)
}

// Verify checks a ticket presented from origin and consumes its jti.
func (v *Verifier) Verify(ticket, origin string) (Identity, error) {
	if len(v.cfg.Keys) == 0 {
		return Identity{}, fmt.Errorf("%w: no ticket keys configured", ErrForged)
	}
	if len(ticket) > 8<<10 {
		return Identity{}, fmt.Errorf("%w: ticket of %d bytes", ErrClaims, len(ticket))
	}
	var c TicketClaims
	tok, err := jwt.ParseWithClaims(ticket, &c, v.key,
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithAudience(v.cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.cfg.Leeway),
		jwt.WithTimeFunc(v.cfg.Now),
	)
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return Identity{}, fmt.Errorf("%w: %w", ErrExpired, err)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return Identity{}, fmt.Errorf("%w: %w", ErrAudience, err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable), errors.Is(err, ErrForged):
		return Identity{}, fmt.Errorf("%w: %w", ErrForged, err)
	default:
		return Identity{}, fmt.Errorf("%w: %w", ErrClaims, err)
	}
	if !tok.Valid {
		return Identity{}, ErrForged
	}
	key, _ := v.key(tok)
	for _, k := range v.cfg.Keys {
		if k.Key.Equal(key) && k.Issuer != "" && k.Issuer != c.Issuer {
			return Identity{}, fmt.Errorf("%w: issuer %q", ErrClaims, c.Issuer)
		}
	}
	if c.IssuedAt == nil || c.ExpiresAt.Sub(c.IssuedAt.Time) > v.cfg.MaxLifetime {
		return Identity{}, fmt.Errorf("%w: more than %s", ErrLifetime, v.cfg.MaxLifetime)
	}
	if c.ID == "" || len(c.ID) > 128 || c.Comune == "" || c.Operator == "" || len(c.Operator) > 200 {
		return Identity{}, fmt.Errorf("%w: jti, comune and operator are required", ErrClaims)
	}
	if v.cfg.Comune != "" && c.Comune != v.cfg.Comune {
		return Identity{}, fmt.Errorf("%w: ticket for comune %q, this workstation serves %q", ErrScope, c.Comune, v.cfg.Comune)
	}
	if c.Origin == "" || c.Origin != origin {
		return Identity{}, fmt.Errorf("%w: ticket for %q presented from %q", ErrOrigin, c.Origin, origin)
	}
	perms, err := ParsePermissions(c.Perms)
	if err != nil {
		return Identity{}, err
	}
	if perms == 0 {
		return Identity{}, fmt.Errorf("%w: no permissions", ErrClaims)
	}
	now := v.cfg.Now()
	first, err := v.cfg.Replays.FirstUse(c.ID, c.ExpiresAt.Add(v.cfg.Leeway), now)
	if err != nil {
		// Unable to tell a replay from a first use: refused.
		return Identity{}, fmt.Errorf("%w: %w", ErrReplayUnknown, err)
	}
	if !first {
		return Identity{}, fmt.Errorf("%w: jti %q", ErrReplayed, c.ID)
	}
	return Identity{Via: "ticket", Comune: c.Comune, Operator: c.Operator, Origin: origin,
		Perms: perms, Expires: now.Add(v.cfg.SessionTTL), TicketID: c.ID, Session: "ticket:" + c.ID}, nil
}
