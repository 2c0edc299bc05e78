package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const appOrigin = "https://side.comune.example"

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{time.Unix(1_800_000_000, 0)} }
func mustKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func claims(c *clock) TicketClaims {
	return TicketClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    "side",
			Audience:  jwt.ClaimStrings{"autografo"},
			IssuedAt:  jwt.NewNumericDate(c.now()),
			ExpiresAt: jwt.NewNumericDate(c.now().Add(2 * time.Minute)),
			ID:        "t-" + randomToken()[:10],
		},
		Comune: "F205", Operator: "mario.rossi", Origin: appOrigin, Perms: []string{"view", "capture"},
	}
}

func sign(t *testing.T, priv ed25519.PrivateKey, kid string, c TicketClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTickets(t *testing.T) {
	c := newClock()
	pub, priv := mustKey(t)
	_, otherPriv := mustKey(t)
	v, err := NewVerifier(TicketConfig{Keys: []TicketKey{{ID: "side-2026", Key: pub, Issuer: "side"}}, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	good := claims(c)
	id, err := v.Verify(sign(t, priv, "side-2026", good), appOrigin)
	if err != nil {
		t.Fatalf("good ticket refused: %v", err)
	}
	if id.Operator != "mario.rossi" || id.Comune != "F205" || !id.Perms.Has(View|Capture) || id.Perms.Has(Export) || id.Via != "ticket" {
		t.Fatalf("identity %+v", id)
	}

	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(c))
	hsTicket, _ := hs.SignedString([]byte(pub)) // the public key used as an HMAC secret
	none := jwt.NewWithClaims(jwt.SigningMethodNone, claims(c))
	noneTicket, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)

	mod := func(f func(*TicketClaims)) string {
		cl := claims(c)
		f(&cl)
		return sign(t, priv, "side-2026", cl)
	}
	for _, tc := range []struct {
		name, ticket, origin string
		want                 error
	}{
		{"replayed", sign(t, priv, "side-2026", good), appOrigin, ErrReplayed},
		{"forged (other key)", sign(t, otherPriv, "side-2026", claims(c)), appOrigin, ErrForged},
		{"unknown kid", sign(t, priv, "nope", claims(c)), appOrigin, ErrForged},
		{"alg none", noneTicket, appOrigin, ErrForged},
		{"HS256 with the public key", hsTicket, appOrigin, ErrForged},
		{"tampered payload", tamper(sign(t, priv, "side-2026", claims(c))), appOrigin, ErrForged},
		{"expired", mod(func(cl *TicketClaims) {
			cl.IssuedAt = jwt.NewNumericDate(c.now().Add(-5 * time.Minute))
			cl.ExpiresAt = jwt.NewNumericDate(c.now().Add(-time.Minute))
		}), appOrigin, ErrExpired},
		{"not yet valid", mod(func(cl *TicketClaims) { cl.NotBefore = jwt.NewNumericDate(c.now().Add(5 * time.Minute)) }), appOrigin, ErrExpired},
		{"no expiry", mod(func(cl *TicketClaims) { cl.ExpiresAt = nil }), appOrigin, ErrClaims},
		{"lifetime of a day", mod(func(cl *TicketClaims) { cl.ExpiresAt = jwt.NewNumericDate(c.now().Add(24 * time.Hour)) }), appOrigin, ErrLifetime},
		{"wrong audience", mod(func(cl *TicketClaims) { cl.Audience = jwt.ClaimStrings{"another-agent"} }), appOrigin, ErrAudience},
		{"wrong origin", sign(t, priv, "side-2026", claims(c)), "https://evil.example", ErrOrigin},
		{"no jti", mod(func(cl *TicketClaims) { cl.ID = "" }), appOrigin, ErrClaims},
		{"wrong issuer", mod(func(cl *TicketClaims) { cl.Issuer = "someone" }), appOrigin, ErrClaims},
		{"unknown permission", mod(func(cl *TicketClaims) { cl.Perms = []string{"view", "root"} }), appOrigin, ErrClaims},
		{"no permission", mod(func(cl *TicketClaims) { cl.Perms = nil }), appOrigin, ErrClaims},
		{"garbage", "not.a.ticket", appOrigin, ErrClaims},
	} {
		_, err := v.Verify(tc.ticket, tc.origin)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = []byte(strings.Replace(string(payload), `"view","capture"`, `"view","admin"`, 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func TestParsePublicKey(t *testing.T) {
	pub, _ := mustKey(t)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	for _, s := range []string{pemKey, base64.StdEncoding.EncodeToString(pub)} {
		k, err := ParsePublicKey(s)
		if err != nil || !k.Equal(pub) {
			t.Errorf("ParsePublicKey: %v", err)
		}
	}
	if _, err := ParsePublicKey("aGVsbG8="); err == nil {
		t.Error("5 bytes accepted as a key")
	}
}

const pageOrigin = "http://127.0.0.1:8733"

func TestPairingTokenBecomesASession(t *testing.T) {
	c := newClock()
	p := NewPairing(PairingConfig{Origins: []string{pageOrigin}, Now: c.now})
	tok, _ := p.NewToken()
	id, session, err := p.Redeem(Credentials{Pair: tok}, pageOrigin)
	if err != nil || session == "" || id.Via != "pairing" || !id.Perms.Has(View|Capture) {
		t.Fatalf("redeem: %+v %q %v", id, session, err)
	}
	if _, _, err := p.Redeem(Credentials{Pair: tok}, pageOrigin); !errors.Is(err, ErrUnknown) {
		t.Fatalf("a one-time token worked twice: %v", err)
	}
	if id, err := p.Resume(session, pageOrigin); err != nil || id.Via != "session" {
		t.Fatalf("resume: %v", err)
	}
	if _, err := p.Resume(session, appOrigin); !errors.Is(err, ErrOrigin) {
		t.Fatalf("session from another origin: %v", err)
	}
	c.add(13 * time.Hour)
	if _, err := p.Resume(session, pageOrigin); !errors.Is(err, ErrExpired) {
		t.Fatalf("session after 13 h: %v", err)
	}
	tok2, _ := p.NewToken()
	if _, _, err := p.Redeem(Credentials{Pair: tok2}, "https://evil.example"); !errors.Is(err, ErrOrigin) {
		t.Fatalf("pairing from another origin: %v", err)
	}
	tok3, _ := p.NewToken()
	c.add(11 * time.Minute)
	if _, _, err := p.Redeem(Credentials{Pair: tok3}, pageOrigin); !errors.Is(err, ErrExpired) {
		t.Fatalf("stale token: %v", err)
	}
}

func TestPairingCodeBruteForceIsRateLimited(t *testing.T) {
	c := newClock()
	p := NewPairing(PairingConfig{Origins: []string{pageOrigin}, Now: c.now, FailuresPerMinute: 5})
	code, _ := p.NewCode()
	if len(normalizeCode(code)) != 9 {
		t.Fatalf("code %q", code)
	}
	refused, limited := 0, 0
	for i := range 100 {
		_, _, err := p.Redeem(Credentials{Code: "000-000-" + string(rune('0'+i%10)) + "00"}, pageOrigin)
		switch {
		case errors.Is(err, ErrRateLimited):
			limited++
		case errors.Is(err, ErrUnknown):
			refused++
		default:
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if refused != 5 || limited != 95 {
		t.Fatalf("100 guesses: %d checked, %d rate limited; want 5 and 95", refused, limited)
	}
	// Even the right code waits out the lockout...
	if _, _, err := p.Redeem(Credentials{Code: code}, pageOrigin); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("right code during lockout: %v", err)
	}
	// ...and works after it, typed with spaces instead of dashes.
	c.add(time.Minute)
	if _, _, err := p.Redeem(Credentials{Code: strings.ReplaceAll(code, "-", " ")}, pageOrigin); err != nil {
		t.Fatalf("right code after the lockout: %v", err)
	}
}

func TestAdminSecret(t *testing.T) {
	p := NewPairing(PairingConfig{Now: newClock().now})
	if err := p.CheckAdmin("s3cret", "s3cret"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "s3cre", "s3cret2"} {
		if err := p.CheckAdmin(bad, "s3cret"); err == nil {
			t.Errorf("admin secret %q accepted", bad)
		}
	}
	if err := p.CheckAdmin("", ""); err == nil {
		t.Error("an empty configured secret accepted the empty string")
	}
}

func TestServiceNeedsExactlyOneCredential(t *testing.T) {
	s := &Service{Pairing: NewPairing(PairingConfig{Origins: []string{pageOrigin}})}
	if _, _, err := s.Authenticate(Credentials{}, pageOrigin); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("none: %v", err)
	}
	if _, _, err := s.Authenticate(Credentials{Pair: "a", Code: "1"}, pageOrigin); !errors.Is(err, ErrClaims) {
		t.Errorf("two: %v", err)
	}
	if _, _, err := s.Authenticate(Credentials{Ticket: "x.y.z"}, pageOrigin); !errors.Is(err, ErrForged) {
		t.Errorf("ticket without keys: %v", err)
	}
}

func TestPermissions(t *testing.T) {
	p, err := ParsePermissions([]string{"view", "export"})
	if err != nil || p.String() != "view,export" || p.Has(Capture) {
		t.Fatalf("%v %v", p, err)
	}
}

// A workstation of one comune takes that comune's tickets only; without
// --comune, each ticket is scoped to its own comune's acts.
func TestTicketComuneScope(t *testing.T) {
	c := newClock()
	pub, priv := mustKey(t)
	v, err := NewVerifier(TicketConfig{Keys: []TicketKey{{ID: "side", Key: pub}}, Comune: "F205", Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(sign(t, priv, "side", claims(c)), appOrigin); err != nil {
		t.Fatalf("the workstation's own comune: %v", err)
	}
	other := claims(c)
	other.Comune, other.ID = "H501", "other-comune"
	if _, err := v.Verify(sign(t, priv, "side", other), appOrigin); !errors.Is(err, ErrScope) {
		t.Fatalf("another comune's ticket: %v", err)
	}
	id := Identity{Via: "ticket", Comune: "F205"}
	if !id.Sees("F205") || id.Sees("H501") || id.Sees("") {
		t.Error("a ticket sees acts of another comune")
	}
	if local := (Identity{Via: "session"}); !local.Sees("H501") || !local.Local() {
		t.Error("the workstation's own user does not see its acts")
	}
}

// Only wrong codes count against the pairing limit. Tokens, sessions and
// the admin secret are 256-bit random: a page making the browser present a
// bad token again and again, or a program presenting bad sessions or admin
// secrets, locks nobody out; and a lockout of codes leaves tokens working.
func TestFailuresOfOneKindLockOutNoOther(t *testing.T) {
	c := newClock()
	p := NewPairing(PairingConfig{Origins: []string{pageOrigin}, Now: c.now, FailuresPerMinute: 5})
	for range 100 {
		if _, _, err := p.Redeem(Credentials{Pair: "x"}, pageOrigin); !errors.Is(err, ErrUnknown) {
			t.Fatalf("a bad token: %v", err)
		}
		if _, err := p.Resume("stale-session", pageOrigin); !errors.Is(err, ErrUnknown) {
			t.Fatalf("a bad session: %v", err)
		}
		if err := p.CheckAdmin("wrong", "s3cret"); !errors.Is(err, ErrUnknown) {
			t.Fatalf("a bad admin secret: %v", err)
		}
	}
	if err := p.CheckAdmin("s3cret", "s3cret"); err != nil {
		t.Fatalf("the owner's admin secret after 100 bad ones: %v", err)
	}
	code, _ := p.NewCode()
	if _, _, err := p.Redeem(Credentials{Code: code}, pageOrigin); err != nil {
		t.Fatalf("the owner's code after 300 bad tokens, sessions and secrets: %v", err)
	}
	// Codes guessed until locked: tokens, sessions and admin still work.
	for range 10 {
		p.Redeem(Credentials{Code: "000-000-000"}, pageOrigin)
	}
	if _, _, err := p.Redeem(Credentials{Code: "000-000-001"}, pageOrigin); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("codes after 10 wrong ones: %v", err)
	}
	tok, _ := p.NewToken()
	_, session, err := p.Redeem(Credentials{Pair: tok}, pageOrigin)
	if err != nil {
		t.Fatalf("a token while codes are locked: %v", err)
	}
	if _, err := p.Resume(session, pageOrigin); err != nil {
		t.Fatalf("a session while codes are locked: %v", err)
	}
	if err := p.CheckAdmin("s3cret", "s3cret"); err != nil {
		t.Fatalf("the admin secret while codes are locked: %v", err)
	}
}
