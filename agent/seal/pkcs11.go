package seal

import (
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"
)

// ErrToken is a PKCS#11 token (the officer's smart card) that is missing,
// locked, or holds no such key.
var ErrToken = errors.New("seal: signing token unavailable")

// ErrPINRefused is a PIN the token refused (wrong, locked, expired or of a
// length it does not take): each such try may have spent one of the card's
// few, so callers must not try the same PIN again on their own.
var ErrPINRefused = errors.New("seal: the token refused the PIN")

// pinRefusals are the PKCS#11 returns that mean the PIN, not the token, is
// at fault.
var pinRefusals = []pkcs11.Error{pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE,
	pkcs11.CKR_PIN_LOCKED, pkcs11.CKR_PIN_EXPIRED}

// Token names a key and its certificate on a PKCS#11 token.
type Token struct {
	Module string // the PKCS#11 library, e.g. the smart card reader's
	Label  string // the token's label
	PIN    string
	Key    string // the label of the key pair and of its certificate
}

// tokenSigner marks the token's failures (a card pulled out, a session
// closed) as ErrToken, so that callers can tell them from a bad document.
type tokenSigner struct{ crypto.Signer }

func (t tokenSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := t.Signer.Sign(rand, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrToken, err)
	}
	return sig, nil
}

// FromPKCS11 opens a session on the token and returns a sealer that signs
// with the key there; the key never leaves the token. Close the sealer to
// log out.
func FromPKCS11(t Token) (*Sealer, error) {
	if t.Module == "" || t.Label == "" || t.Key == "" {
		return nil, fmt.Errorf("%w: module, token label and key label are all needed", ErrToken)
	}
	// Named here: the library's loader says only that it could not open
	// "a" library.
	if _, err := os.Stat(t.Module); err != nil {
		return nil, fmt.Errorf("%w: the PKCS#11 library %s: %w", ErrToken, t.Module, err)
	}
	ctx, err := crypto11.Configure(&crypto11.Config{Path: t.Module, TokenLabel: t.Label, Pin: t.PIN})
	if err != nil {
		var code pkcs11.Error
		if errors.As(err, &code) && slices.Contains(pinRefusals, code) {
			return nil, fmt.Errorf("%w: %w: token %q: %w", ErrToken, ErrPINRefused, t.Label, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrToken, err)
	}
	fail := func(err error) (*Sealer, error) {
		_ = ctx.Close()
		return nil, err
	}
	key, err := ctx.FindKeyPair(nil, []byte(t.Key))
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrToken, err))
	}
	if key == nil {
		return fail(fmt.Errorf("%w: no key labelled %q on token %q", ErrToken, t.Key, t.Label))
	}
	cert, err := ctx.FindCertificate(nil, []byte(t.Key), nil)
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrToken, err))
	}
	if cert == nil {
		return fail(fmt.Errorf("%w: no certificate labelled %q on token %q", ErrToken, t.Key, t.Label))
	}
	s, err := New(tokenSigner{key}, cert, nil)
	if err != nil {
		return fail(err)
	}
	s.close = ctx.Close
	s.onDevice = true
	return s, nil
}
