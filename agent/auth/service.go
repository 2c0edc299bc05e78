package auth

import "fmt"

// Service authenticates a browser's hello with whichever credential it
// presents.
type Service struct {
	Tickets *Verifier
	Pairing *Pairing
}

// Authenticate returns the identity behind the credentials presented from
// origin, and a new session token when a pairing was redeemed.
func (s *Service) Authenticate(c Credentials, origin string) (Identity, string, error) {
	set := 0
	for _, v := range []string{c.Ticket, c.Pair, c.Code, c.Session} {
		if v != "" {
			set++
		}
	}
	switch {
	case set == 0:
		return Identity{}, "", ErrNoCredentials
	case set > 1:
		return Identity{}, "", fmt.Errorf("%w: more than one credential", ErrClaims)
	case c.Ticket != "":
		if s.Tickets == nil {
			return Identity{}, "", fmt.Errorf("%w: tickets are not configured", ErrForged)
		}
		id, err := s.Tickets.Verify(c.Ticket, origin)
		return id, "", err
	case c.Session != "":
		id, err := s.Pairing.Resume(c.Session, origin)
		return id, "", err
	default:
		return s.Pairing.Redeem(c, origin)
	}
}
