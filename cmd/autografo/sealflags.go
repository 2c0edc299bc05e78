package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/autografo/autografo/agent"
	"github.com/autografo/autografo/agent/seal"
)

// sealFlags configure the two signatures a document can carry: the
// workstation seal (a PKCS#12 file) and the officer's attestation of
// conformity (a PKCS#11 token such as a smart card, or a PKCS#12 file).
type sealFlags struct {
	sealP12, sealPass           string
	attestP12, attestPass       string
	module, token, key, pinFile string
	office                      string
	gender                      attestGender
	documentsFile               string
}

// attestGender is how attestations speak of the officer.
type attestGender string

func (g *attestGender) String() string { return string(*g) }

func (g *attestGender) Set(v string) error {
	switch v {
	case "", "f", "m":
		*g = attestGender(v)
		return nil
	}
	return fmt.Errorf("%q: give f (La sottoscritta), m (Il sottoscritto), or nothing for wording by name alone", v)
}

// attestDocuments reads the office's names of each act kind's paper
// document, a JSON object such as {"matrimonio": "processo verbale di
// matrimonio"}.
func (f *sealFlags) attestDocuments() (map[string]string, error) {
	if f.documentsFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(f.documentsFile)
	if err != nil {
		return nil, err
	}
	var docs map[string]string
	if err := json.Unmarshal(b, &docs); err != nil {
		return nil, fmt.Errorf("%s: want a JSON object of act kind to document name: %w", f.documentsFile, err)
	}
	for kind, name := range docs {
		if strings.TrimSpace(kind) == "" || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("%s: an act kind or a document name is empty", f.documentsFile)
		}
	}
	return docs, nil
}

func (f *sealFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.sealP12, "seal-p12", "", "PKCS#12 file of the workstation seal put on every document")
	fs.StringVar(&f.sealPass, "seal-password-file", "", "file holding the password of --seal-p12")
	fs.StringVar(&f.module, "attest-pkcs11-module", "", "PKCS#11 library of the officer's smart card, for attestations of conformity")
	fs.StringVar(&f.token, "attest-token", "", "label of the officer's token")
	fs.StringVar(&f.key, "attest-key", "", "label of the officer's key and certificate on the token")
	fs.StringVar(&f.pinFile, "attest-pin-file", "", "file holding the token's PIN")
	fs.StringVar(&f.attestP12, "attest-p12", "", "PKCS#12 file of the officer's key, instead of a token")
	fs.StringVar(&f.attestPass, "attest-password-file", "", "file holding the password of --attest-p12")
	fs.StringVar(&f.office, "office", "", `the office named in attestations, e.g. "Comune di Borgo Sereno"`)
	fs.Var(&f.gender, "attest-gender", `how attestations speak of the officer: f ("La sottoscritta"), m ("Il sottoscritto"), or empty for the name alone`)
	fs.StringVar(&f.documentsFile, "attest-documents", "", `JSON file naming each act kind's paper document in attestations, e.g. {"matrimonio": "processo verbale di matrimonio"}`)
}

// secretFile reads a password or PIN file; no file is the empty secret.
func secretFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func fromP12(path, passFile string) (*seal.Sealer, error) {
	p12, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pass, err := secretFile(passFile)
	if err != nil {
		return nil, err
	}
	return seal.FromPKCS12(p12, pass)
}

// open returns the configured signers; either may be nil. Close the
// attester when done: it may hold a token session. A PIN the officer's
// card refuses is not an error that stops serve: serve runs without the
// card, attestations say why (down), and the same PIN file is not tried
// again at the next start (see pinGuard).
func (f *sealFlags) open(stateDir string, now time.Time) (sealer agent.Sealer, attester *seal.Sealer, down error, err error) {
	if f.sealP12 != "" {
		s, err := fromP12(f.sealP12, f.sealPass)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("the workstation seal cannot be used: %w", err)
		}
		sealer = s
	}
	switch {
	case f.module != "" && f.attestP12 != "":
		return nil, nil, nil, fmt.Errorf("give the officer's key either on a token (--attest-pkcs11-module) or in a file (--attest-p12), not both")
	case f.module != "":
		guard := newPINGuard(stateDir)
		id, err := identify(f.module, f.token, f.pinFile)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("cannot read the token PIN: %w", err)
		}
		if at, refused := guard.refused(id); refused {
			return sealer, nil, fmt.Errorf("%w: %w (refused %s)", seal.ErrPINRefused, errPINNotRetried, at.Format(time.RFC3339)), nil
		}
		pin, err := secretFile(f.pinFile)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("cannot read the token PIN: %w", err)
		}
		attester, err = seal.FromPKCS11(seal.Token{Module: f.module, Label: f.token, PIN: pin, Key: f.key})
		if errors.Is(err, seal.ErrPINRefused) {
			if rerr := guard.record(id, now); rerr != nil {
				return nil, nil, nil, fmt.Errorf("%w; and it cannot be remembered, so serve stops rather than try it again: %w", err, rerr)
			}
			return sealer, nil, err, nil
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("the officer's key cannot be used: %w", err)
		}
		if err := guard.clear(); err != nil {
			attester.Close()
			return nil, nil, nil, fmt.Errorf("cannot forget the PIN refused before: %w", err)
		}
	case f.attestP12 != "":
		attester, err = fromP12(f.attestP12, f.attestPass)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("the officer's key cannot be used: %w", err)
		}
	}
	return sealer, attester, nil, nil
}
