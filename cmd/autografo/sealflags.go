package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/autografo/autografo/agent/seal"
)

// sealFlags configure the two signatures a document can carry: the
// workstation seal (a PKCS#12 file) and the officer's attestation of
// conformity (a PKCS#11 token such as a smart card, or a PKCS#12 file).
type sealFlags struct {
	sealP12, sealPass            string
	attestP12, attestPass        string
	module, token, key, pinFile  string
	office                       string
	gender                       attestGender
	documentsFile                string
	tsaURL, tsaUser, tsaPassFile string
	tsaTimeout, tsaRetry         time.Duration
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
	fs.StringVar(&f.tsaURL, "tsa", "", "RFC 3161 timestamp authority every seal and attestation asks for a timestamp, e.g. https://tsa.example.it/tsa")
	fs.StringVar(&f.tsaUser, "tsa-user", "", "user name for the timestamp authority (HTTP basic authentication)")
	fs.StringVar(&f.tsaPassFile, "tsa-password-file", "", "file holding the password of --tsa-user")
	fs.DurationVar(&f.tsaTimeout, "tsa-timeout", 15*time.Second, "how long a signature waits for the timestamp authority before it is made without a timestamp")
	fs.DurationVar(&f.tsaRetry, "tsa-retry", 5*time.Minute, "how often a document made without a timestamp (the authority out of reach) is tried again, while it waits for the upload")
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

// signers are the keys serve signs with, and the timestamp relay they
// share.
type signers struct {
	sealer   *seal.Sealer // nil: documents go unsealed
	attester *seal.Sealer // nil: no attestation here
	// attesterDown is why a configured attester is not used (a PIN the
	// card refused): serve runs on without it.
	attesterDown error
	tsa          *seal.TSA
}

// close releases the token session and stops the timestamp relay.
func (s signers) close() {
	if s.attester != nil {
		s.attester.Close()
	}
	if s.tsa != nil {
		s.tsa.Close()
	}
}

// open returns the configured signers; close them when done. A PIN the
// officer's card refuses is not an error that stops serve: serve runs
// without the card, attestations say why (attesterDown), and the same PIN
// file is not tried again at the next start (see pinGuard).
func (f *sealFlags) open(stateDir string, now time.Time) (signers, error) {
	var out signers
	fail := func(err error) (signers, error) {
		out.close()
		return signers{}, err
	}
	if f.sealP12 != "" {
		s, err := fromP12(f.sealP12, f.sealPass)
		if err != nil {
			return fail(fmt.Errorf("the workstation seal cannot be used: %w", err))
		}
		out.sealer = s
	}
	switch {
	case f.module != "" && f.attestP12 != "":
		return fail(fmt.Errorf("give the officer's key either on a token (--attest-pkcs11-module) or in a file (--attest-p12), not both"))
	case f.module != "":
		guard := newPINGuard(stateDir)
		id, err := identify(f.module, f.token, f.pinFile)
		if err != nil {
			return fail(fmt.Errorf("cannot read the token PIN: %w", err))
		}
		if at, refused := guard.refused(id); refused {
			out.attesterDown = fmt.Errorf("%w: %w (refused %s)", seal.ErrPINRefused, errPINNotRetried, at.Format(time.RFC3339))
			break
		}
		pin, err := secretFile(f.pinFile)
		if err != nil {
			return fail(fmt.Errorf("cannot read the token PIN: %w", err))
		}
		attester, err := seal.FromPKCS11(seal.Token{Module: f.module, Label: f.token, PIN: pin, Key: f.key})
		if errors.Is(err, seal.ErrPINRefused) {
			if rerr := guard.record(id, now); rerr != nil {
				return fail(fmt.Errorf("%w; and it cannot be remembered, so serve stops rather than try it again: %w", err, rerr))
			}
			out.attesterDown = err
			break
		}
		if err != nil {
			return fail(fmt.Errorf("the officer's key cannot be used: %w", err))
		}
		out.attester = attester
		if err := guard.clear(); err != nil {
			return fail(fmt.Errorf("cannot forget the PIN refused before: %w", err))
		}
	case f.attestP12 != "":
		attester, err := fromP12(f.attestP12, f.attestPass)
		if err != nil {
			return fail(fmt.Errorf("the officer's key cannot be used: %w", err))
		}
		out.attester = attester
	}
	if f.tsaURL != "" {
		pass, err := secretFile(f.tsaPassFile)
		if err != nil {
			return fail(fmt.Errorf("cannot read the timestamp authority's password: %w", err))
		}
		if out.tsa, err = seal.NewTSA(f.tsaURL, &http.Client{Timeout: f.tsaTimeout}, f.tsaUser, pass); err != nil {
			return fail(err)
		}
		for _, s := range []*seal.Sealer{out.sealer, out.attester} {
			if s != nil {
				s.SetTSA(out.tsa)
			}
		}
	}
	return out, nil
}
