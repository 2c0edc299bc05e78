package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"
)

// PairingConfig configures local pairing.
type PairingConfig struct {
	// Origins the embedded page is served from; pairing is only for them.
	Origins []string
	// Operator names the local user in the journal.
	Operator string
	Comune   string
	// Perms granted to a paired page (default all of them: the
	// workstation's own user, at its counter, with its card, who holds the
	// store's key anyway).
	Perms      Permission
	TokenTTL   time.Duration // one-time token from `autografo open` (default 10 min)
	CodeTTL    time.Duration // code from `autografo pair` (default 5 min)
	SessionTTL time.Duration // session after pairing (default 12 h, a working day)
	// Failures allowed per minute across all connections (default 5).
	FailuresPerMinute float64
	Now               func() time.Time
}

// Pairing issues and redeems the embedded page's credentials. Secrets are
// kept only as SHA-256 digests: a lookup by digest reveals nothing through
// timing, and a memory dump reveals no usable token.
type Pairing struct {
	cfg      PairingConfig
	mu       sync.Mutex
	pending  map[[32]byte]pendingPair
	sessions map[[32]byte]Identity
	// codeFails limits wrong codes only. Tokens, sessions and the admin
	// secret are 256-bit random: no guess can find one, so their failures
	// count for nothing, and a page that makes the browser present a bad
	// token over and over cannot lock the owner out.
	codeFails limiter
}

type pendingPair struct {
	expires time.Time
	kind    string
}

// NewPairing returns a Pairing.
func NewPairing(cfg PairingConfig) *Pairing {
	if cfg.Perms == 0 {
		cfg.Perms = View | Capture | Export | Attest | Admin
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 10 * time.Minute
	}
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = 5 * time.Minute
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.FailuresPerMinute <= 0 {
		cfg.FailuresPerMinute = 5
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Operator == "" {
		cfg.Operator = "operatore locale"
	}
	burst := cfg.FailuresPerMinute
	return &Pairing{
		cfg: cfg, pending: map[[32]byte]pendingPair{}, sessions: map[[32]byte]Identity{},
		codeFails: limiter{rate: cfg.FailuresPerMinute / 60, burst: burst, tokens: burst},
	}
}

func digest(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewToken issues a one-time token for `autografo open` to put in the URL
// fragment (which browsers never send to a server or in a Referer).
func (p *Pairing) NewToken() (string, time.Time) {
	t := randomToken()
	exp := p.cfg.Now().Add(p.cfg.TokenTTL)
	p.mu.Lock()
	p.pending[digest("t:"+t)] = pendingPair{exp, "token"}
	p.mu.Unlock()
	return t, exp
}

// NewCode issues a 9-digit code to type into a browser opened by hand. At
// 5 failures a minute, guessing one of 10^9 codes within its 5 minutes has a
// chance of 25 in a billion.
func (p *Pairing) NewCode() (string, time.Time) {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000_000))
	s := fmt.Sprintf("%09d", n.Int64())
	code := s[:3] + "-" + s[3:6] + "-" + s[6:]
	exp := p.cfg.Now().Add(p.cfg.CodeTTL)
	p.mu.Lock()
	p.pending[digest("c:"+normalizeCode(code))] = pendingPair{exp, "code"}
	p.mu.Unlock()
	return code, exp
}

func normalizeCode(c string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, c)
}

func (p *Pairing) originAllowed(origin string) bool {
	for _, o := range p.cfg.Origins {
		if subtle.ConstantTimeCompare([]byte(o), []byte(origin)) == 1 {
			return true
		}
	}
	return false
}

// Redeem turns a token or code into a session: it returns the identity and
// the session token the page keeps for reconnecting.
func (p *Pairing) Redeem(c Credentials, origin string) (Identity, string, error) {
	now := p.cfg.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	code := c.Pair == "" && c.Code != ""
	failed := func() {
		if code {
			p.codeFails.fail(now)
		}
	}
	if code && !p.codeFails.allow(now) {
		return Identity{}, "", ErrRateLimited
	}
	if !p.originAllowed(origin) {
		failed()
		return Identity{}, "", fmt.Errorf("%w: pairing is only for the embedded page, not %q", ErrOrigin, origin)
	}
	var key [32]byte
	switch {
	case c.Pair != "":
		key = digest("t:" + c.Pair)
	case c.Code != "":
		key = digest("c:" + normalizeCode(c.Code))
	default:
		return Identity{}, "", ErrNoCredentials
	}
	pp, ok := p.pending[key]
	delete(p.pending, key) // one use, whatever the outcome
	if !ok {
		failed()
		return Identity{}, "", ErrUnknown
	}
	if now.After(pp.expires) {
		failed()
		return Identity{}, "", fmt.Errorf("%w: pairing %s", ErrExpired, pp.kind)
	}
	id := Identity{Via: "pairing", Comune: p.cfg.Comune, Operator: p.cfg.Operator, Origin: origin,
		Perms: p.cfg.Perms, Expires: now.Add(p.cfg.SessionTTL)}
	session := randomToken()
	d := digest(session)
	id.Session = hex.EncodeToString(d[:6])
	p.sessions[d] = id
	return id, session, nil
}

// Resume checks a session token from an earlier pairing.
func (p *Pairing) Resume(session, origin string) (Identity, error) {
	now := p.cfg.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	id, ok := p.sessions[digest(session)]
	if !ok {
		return Identity{}, ErrUnknown
	}
	if now.After(id.Expires) {
		delete(p.sessions, digest(session))
		return Identity{}, fmt.Errorf("%w: session", ErrExpired)
	}
	if id.Origin != origin {
		return Identity{}, fmt.Errorf("%w: session of %q presented from %q", ErrOrigin, id.Origin, origin)
	}
	id.Via = "session"
	return id, nil
}

// Sessions lists the paired sessions that are still valid.
func (p *Pairing) Sessions() []Identity {
	now := p.cfg.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Identity
	for k, id := range p.sessions {
		if now.After(id.Expires) {
			delete(p.sessions, k)
			continue
		}
		out = append(out, id)
	}
	return out
}

// End forgets the paired session named id (Identity.Session): its token no
// longer resumes. It reports whether there was one.
func (p *Pairing) End(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, s := range p.sessions {
		if s.Session == id {
			delete(p.sessions, k)
			return true
		}
	}
	return false
}

// CheckAdmin compares a presented admin secret in constant time. The
// secret is 256-bit random, readable only by its owner: failures are not
// limited, so nobody else's can lock the owner's commands out.
func (p *Pairing) CheckAdmin(presented, secret string) error {
	a, b := digest(presented), digest(secret)
	if secret == "" || subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return ErrUnknown
	}
	return nil
}
