// Package auth decides who may drive the agent. An act-drafting app proves
// itself with a session ticket its backend signed (a JWT with EdDSA, RFC
// 8037); the embedded page pairs with the agent through a one-time token or
// code that only the local user can obtain. Either way the result is an
// Identity with permissions, bound to the browser origin it was issued for.
package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Permission is what a session may do.
type Permission uint8

const (
	View    Permission = 1 << iota // list and read the acts of its scope, list devices
	Capture                        // open, print, capture, retake, mark signers, confirm verdicts
	Export                         // build and download documents; deliver, release and confirm its own delivery
	Attest                         // ask for the officer's attestation of conformity: sessions of the officer
	Admin                          // templates, deletions, register times, releasing another tab's delivery
)

var permNames = []struct {
	p    Permission
	name string
}{{View, "view"}, {Capture, "capture"}, {Export, "export"}, {Attest, "attest"}, {Admin, "admin"}}

// AllPermissions lists every permission, for tables over them.
func AllPermissions() []Permission {
	out := make([]Permission, len(permNames))
	for i, pn := range permNames {
		out[i] = pn.p
	}
	return out
}

// ParsePermissions reads permission names ("view", "capture", ...). Unknown
// names are an error: a ticket asking for a power we do not know is wrong.
func ParsePermissions(names []string) (Permission, error) {
	var p Permission
	for _, n := range names {
		found := false
		for _, pn := range permNames {
			if pn.name == n {
				p |= pn.p
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("%w: unknown permission %q", ErrClaims, n)
		}
	}
	return p, nil
}

// Has reports whether all of q are granted.
func (p Permission) Has(q Permission) bool { return p&q == q }

// Names lists the granted permissions.
func (p Permission) Names() []string {
	var out []string
	for _, pn := range permNames {
		if p.Has(pn.p) {
			out = append(out, pn.name)
		}
	}
	return out
}

func (p Permission) String() string { return strings.Join(p.Names(), ",") }

// Identity is an authenticated session's principal. A ticket's identity
// sees the acts of its comune only; a paired page is the workstation's own
// user (Local) and sees every act kept here.
type Identity struct {
	Via      string // "ticket", "pairing" or "session"
	Comune   string
	Operator string
	Origin   string // the browser origin the credential is bound to
	Perms    Permission
	Expires  time.Time
	TicketID string // jti, for the log
	// Session names the session for `autografo sessions` without being a
	// credential: a pairing's is taken from its token's digest, a ticket's
	// is "ticket:" and its jti.
	Session string
}

// Local reports whether the identity is the workstation's own user (a
// paired page), not an act-drafting app's ticket.
func (id Identity) Local() bool { return id.Via == "pairing" || id.Via == "session" }

// Sees reports whether the identity may see an act of comune: its own
// comune's, or any for the workstation's own user.
func (id Identity) Sees(comune string) bool { return id.Local() || id.Comune == comune }

// Credentials are what a browser presents in its hello; exactly one is set.
type Credentials struct {
	Ticket  string // a JWT from the act-drafting backend
	Pair    string // one-time token from `autografo open`
	Code    string // pairing code from `autografo pair`
	Session string // session token from an earlier pairing
}

// Errors a refusal wraps; the log says which, the browser only "refused".
var (
	ErrNoCredentials = errors.New("no credentials")
	ErrForged        = errors.New("ticket signature invalid or key unknown")
	ErrExpired       = errors.New("credential expired")
	ErrAudience      = errors.New("ticket audience is not this agent")
	ErrOrigin        = errors.New("credential bound to another origin")
	ErrReplayed      = errors.New("ticket already used")
	ErrReplayUnknown = errors.New("cannot check whether the ticket was used")
	ErrClaims        = errors.New("ticket claims invalid")
	ErrLifetime      = errors.New("ticket lifetime too long")
	ErrUnknown       = errors.New("pairing token, code or session unknown or used")
	ErrRateLimited   = errors.New("too many failed attempts")
	ErrScope         = errors.New("credential for another comune")
)

// limiter counts failures in a token bucket shared by all connections: a
// brute force through many sockets meets the same limit as through one.
type limiter struct {
	rate, burst, tokens float64
	last                time.Time
}

func (l *limiter) allow(now time.Time) bool {
	l.refill(now)
	return l.tokens >= 1
}

func (l *limiter) fail(now time.Time) {
	l.refill(now)
	l.tokens = max(0, l.tokens-1)
}

func (l *limiter) refill(now time.Time) {
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
}
