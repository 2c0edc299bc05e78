package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/autografo/autografo/agent/seal"
)

// checkToken looks at the officer's smart card without logging in: a
// login with a wrong PIN would spend one of the card's tries. It finds the
// token by its label, reads its PIN state and the certificate under the
// key's label (certificates are public objects).
func checkToken(sf *sealFlags, storeDir string, now time.Time) finding {
	f := finding{Check: "certificates"}
	fail := func(detail, fix string) finding { f.Status, f.Detail, f.Fix = "fail", detail, fix; return f }
	// What serve will do first: a PIN the card refused is not tried again.
	if id, err := identify(sf.module, sf.token, sf.pinFile); err == nil {
		if at, refused := newPINGuard(storeDir).refused(id); refused {
			return fail(fmt.Sprintf("the card %q refused the PIN in %s on %s; serve does not try that PIN file again, so as not to lock the card", sf.token, sf.pinFile, at.Format(time.RFC3339)),
				"write the card's right PIN to the PIN file (writing it anew is what lets serve try), then restart serve")
		}
	}
	if _, err := os.Stat(sf.module); err != nil {
		return fail(fmt.Sprintf("the smart card's PKCS#11 library %s is not there: %v", sf.module, err),
			"install the card's middleware (for instance the reader's vendor package), or give its library's path in attest-pkcs11-module")
	}
	p := pkcs11.New(sf.module)
	if p == nil {
		return fail(fmt.Sprintf("%s is not a PKCS#11 library", sf.module), "give the card middleware's PKCS#11 library (a .so file) in attest-pkcs11-module")
	}
	defer p.Destroy()
	if err := p.Initialize(); err != nil && !errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
		return fail(fmt.Sprintf("the PKCS#11 library %s does not start: %v", sf.module, err), "check the card middleware's installation and its configuration")
	}
	defer p.Finalize()
	slots, err := p.GetSlotList(true)
	if err != nil {
		return fail(fmt.Sprintf("the PKCS#11 library %s lists no readers: %v", sf.module, err), "plug the card reader in")
	}
	var seen []string
	for _, slot := range slots {
		ti, err := p.GetTokenInfo(slot)
		if err != nil {
			continue
		}
		label := strings.TrimRight(ti.Label, " \x00")
		seen = append(seen, fmt.Sprintf("%q", label))
		if label != sf.token {
			continue
		}
		switch {
		case ti.Flags&pkcs11.CKF_USER_PIN_LOCKED != 0:
			return fail(fmt.Sprintf("the PIN of the card %q is locked", label), "unblock it with the card's PUK (the certification authority's tool), then correct the PIN file")
		case ti.Flags&pkcs11.CKF_USER_PIN_FINAL_TRY != 0:
			return fail(fmt.Sprintf("the card %q has one PIN try left", label), "check the PIN file against the card's PIN before serve starts: one more wrong PIN locks the card")
		}
		cert, err := tokenCertificate(p, slot, sf.key)
		if err != nil {
			return fail(fmt.Sprintf("the card %q: %v", label, err), "the key's label (attest-key) must be the label of its certificate on the card")
		}
		left := cert.NotAfter.Sub(now)
		f.Status = "ok"
		f.Detail = fmt.Sprintf("the officer's card %q holds the certificate of %s, valid until %s (%d days); its PIN was not tried",
			label, cert.Subject.CommonName, cert.NotAfter.Format(time.DateOnly), int(left.Hours()/24))
		switch unfit := seal.CheckUsage(cert); {
		case unfit != nil:
			f.Status, f.Fix = "fail", "the key label names a certificate that cannot sign documents (an authentication certificate?): give the label of the card's signature key in attest-key"
			f.Detail += ": " + unfit.Error()
		case now.After(cert.NotAfter) || now.Before(cert.NotBefore):
			f.Status, f.Fix = "fail", "the certificate is not valid now: the officer needs a renewed card or certificate"
		case left < certificateWarning:
			f.Status, f.Fix = "warn", "renew it before it expires: attestations cannot be signed after"
		case ti.Flags&pkcs11.CKF_USER_PIN_COUNT_LOW != 0:
			f.Status, f.Fix = "warn", "a wrong PIN was entered: check the PIN file against the card's PIN"
			f.Detail += "; a wrong PIN has been entered since the last right one"
		}
		return f
	}
	return fail(fmt.Sprintf("no card labelled %q in the readers (seen: %s)", sf.token, strings.Join(seen, ", ")),
		"put the officer's card in the reader, or correct attest-token to its label")
}

// tokenCertificate reads the certificate labelled label, without a login.
func tokenCertificate(p *pkcs11.Ctx, slot uint, label string) (*x509.Certificate, error) {
	s, err := p.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		return nil, fmt.Errorf("no session: %w", err)
	}
	defer p.CloseSession(s)
	if err := p.FindObjectsInit(s, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE), pkcs11.NewAttribute(pkcs11.CKA_LABEL, label)}); err != nil {
		return nil, err
	}
	objs, _, err := p.FindObjects(s, 1)
	p.FindObjectsFinal(s)
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("no certificate labelled %q", label)
	}
	attrs, err := p.GetAttributeValue(s, objs[0], []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
	if err != nil || len(attrs) == 0 {
		return nil, fmt.Errorf("the certificate labelled %q does not read: %v", label, err)
	}
	return x509.ParseCertificate(attrs[0].Value)
}
