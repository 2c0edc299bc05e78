// Package seal signs Autografo's documents with digitorus/pdfsign: the
// workstation seal that makes any change between capture and upload show,
// and (later) the officer's attestation of conformity.
package seal

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"sync"
	"time"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/sign"
	"software.sslmate.com/src/go-pkcs12"
)

// Errors callers branch on.
var (
	ErrCredentials = errors.New("seal: certificate or key unusable")
	// ErrExpired is a certificate not valid at the moment of signing:
	// expired (or not yet valid) since the agent started with it.
	ErrExpired  = errors.New("seal: certificate not valid now")
	ErrDocument = errors.New("seal: document cannot be sealed")
	// ErrKeyUsage is a certificate whose key usage or extended key usage
	// does not allow signing documents: a TLS server's certificate, a
	// smart card's authentication certificate (CNS) rather than its
	// signature certificate.
	ErrKeyUsage = errors.New("seal: certificate not issued for signing documents")
)

// Extended key usages that allow signing documents besides "any" and
// e-mail protection (S/MIME, which is what many signature certificates
// carry): RFC 9336's document signing, Adobe's Authentic Documents Trust,
// Microsoft's document signing.
var documentSigningUsages = []asn1.ObjectIdentifier{
	{1, 3, 6, 1, 5, 5, 7, 3, 36},
	{1, 2, 840, 113583, 1, 1, 5},
	{1, 3, 6, 1, 4, 1, 311, 10, 3, 12},
}

// CheckUsage refuses a certificate that was not issued for signing
// documents. A certificate that names no usage allows every one, as X.509
// says.
func CheckUsage(cert *x509.Certificate) error {
	if cert.KeyUsage != 0 && cert.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return fmt.Errorf("%w: %w: the key usage of %q allows neither digital signature nor non-repudiation", ErrCredentials, ErrKeyUsage, cert.Subject.CommonName)
	}
	if len(cert.ExtKeyUsage) == 0 && len(cert.UnknownExtKeyUsage) == 0 {
		return nil
	}
	for _, u := range cert.ExtKeyUsage {
		if u == x509.ExtKeyUsageAny || u == x509.ExtKeyUsageEmailProtection {
			return nil
		}
	}
	for _, u := range cert.UnknownExtKeyUsage {
		for _, d := range documentSigningUsages {
			if u.Equal(d) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: %w: the extended key usage of %q does not include signing documents (e-mail protection, document signing or any)", ErrCredentials, ErrKeyUsage, cert.Subject.CommonName)
}

// Sealer signs PDFs with one key and certificate.
type Sealer struct {
	key   crypto.Signer
	cert  *x509.Certificate
	chain []*x509.Certificate
	name  string
	now   func() time.Time
	close func() error // releases a token session; nil for keys in memory
	// onDevice: the key lives on a token (a smart card), where it cannot
	// be copied, not in a file.
	onDevice bool
	tsa      *TSA // nil: signatures carry no timestamp
}

// SetTSA has every signature carry a timestamp from the authority t.
func (s *Sealer) SetTSA(t *TSA) { s.tsa = t }

// Timestamps tells whether signatures get a timestamp.
func (s *Sealer) Timestamps() bool { return s.tsa != nil }

// OnDevice tells whether the key lives on a token (a smart card or other
// signature device) rather than in a file: only then can the signature be
// a firma digitale.
func (s *Sealer) OnDevice() bool { return s.onDevice }

// Validity is when the certificate is valid, and the time now by the clock
// signatures are dated by and checked against.
func (s *Sealer) Validity() (notBefore, notAfter, now time.Time) {
	return s.cert.NotBefore, s.cert.NotAfter, s.now()
}

// Unfit is why the certificate may not sign documents (its key usage),
// or nil: serve and doctor warn of it before any document is made.
func (s *Sealer) Unfit() error { return CheckUsage(s.cert) }

// Name is the certificate holder's common name.
func (s *Sealer) Name() string { return s.name }

// SetClock sets the clock signatures are dated by and checked against
// (time.Now by default): a workstation may keep a trusted clock apart.
func (s *Sealer) SetClock(now func() time.Time) { s.now = now }

// Close releases the token the key lives on, if any.
func (s *Sealer) Close() error {
	if s.close == nil {
		return nil
	}
	return s.close()
}

// FromPKCS12 reads a PKCS#12 file (the workstation seal from the
// configuration). A wrong password or a file without a key is
// ErrCredentials.
func FromPKCS12(data []byte, password string) (*Sealer, error) {
	key, cert, chain, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: the key cannot sign", ErrCredentials)
	}
	return New(signer, cert, chain)
}

// New returns a sealer for a key and its certificate (and chain).
func New(key crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate) (*Sealer, error) {
	if cert == nil || key == nil {
		return nil, fmt.Errorf("%w: no certificate or key", ErrCredentials)
	}
	if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("%w: the key does not belong to the certificate of %q", ErrCredentials, cert.Subject.CommonName)
	}
	now := time.Now()
	if now.After(cert.NotAfter) || now.Before(cert.NotBefore) {
		return nil, fmt.Errorf("%w: certificate valid from %s to %s", ErrCredentials, cert.NotBefore.Format(time.DateOnly), cert.NotAfter.Format(time.DateOnly))
	}
	return &Sealer{key: key, cert: cert, chain: chain, name: cert.Subject.CommonName, now: time.Now}, nil
}

// stamp is the seal's small mark on the first page: a navy band with a
// lighter frame. It is a paletted image: pdfsign gives any RGBA image a soft
// mask, and PDF/A-1 allows no transparency.
var stamp = sync.OnceValue(func() []byte {
	navy, light := color.RGBA{22, 48, 110, 255}, color.RGBA{200, 212, 235, 255}
	img := image.NewPaletted(image.Rect(0, 0, 144, 48), color.Palette{navy, light})
	for y := 0; y < 48; y++ {
		for x := 0; x < 144; x++ {
			if x < 3 || y < 3 || x > 140 || y > 44 || (x > 8 && x < 12) || (x > 132 && x < 136) {
				img.SetColorIndex(x, y, 1)
			}
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img) // encoding an in-memory image cannot fail
	return buf.Bytes()
})

// Info is what the seal says about itself, and where it shows.
type Info struct {
	Reason   string
	Location string
	// LastPage puts the mark on the document's last page (the officer's
	// attestation) instead of the first.
	LastPage bool
	// Rect is the mark's place in PDF points (lower left, upper right);
	// zero puts it in the first page's lower left corner.
	Rect [4]float64
	// NoTimestamp signs without asking the timestamp authority: after
	// ErrTimestamp, when the authority cannot be reached.
	NoTimestamp bool
}

// Seal signs a whole PDF with an approval signature, appended as an
// incremental update: the original bytes stay as they were.
func (s *Sealer) Seal(doc []byte, info Info) ([]byte, error) {
	// Checked at every signing, not only at start: an agent runs for
	// weeks, and a signature made after its certificate expired is one
	// no verifier accepts, whatever the document says of itself.
	now := s.now()
	if now.After(s.cert.NotAfter) || now.Before(s.cert.NotBefore) {
		return nil, fmt.Errorf("%w: %w: %q is valid from %s to %s", ErrCredentials, ErrExpired, s.name,
			s.cert.NotBefore.Format(time.RFC3339), s.cert.NotAfter.Format(time.RFC3339))
	}
	// Refused here, at signing, rather than when the agent starts: the
	// office goes on capturing (nothing is lost), and the officer is told
	// in Italian why the document cannot be signed.
	if err := CheckUsage(s.cert); err != nil {
		return nil, err
	}
	rdr, err := pdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDocument, err)
	}
	page, rect := uint32(1), [4]float64{12, 12, 84, 36}
	if info.LastPage {
		page = uint32(rdr.NumPage())
	}
	if info.Rect != ([4]float64{}) {
		rect = info.Rect
	}
	// pdfsign copies the input into a growing buffer, then the signed
	// ranges into another, then writes the result once: our output buffer
	// is left to grow at that last write, when pdfsign's copies are done
	// with, and the input is read in chunks (no WriteTo) so that pdfsign's
	// buffer grows by doubling to just past the document instead of being
	// sized to it exactly and doubled again by the first byte it appends.
	var tsa sign.TSA
	var session *tsaSession
	if s.tsa != nil && !info.NoTimestamp {
		session, tsa.URL = s.tsa.session()
		defer s.tsa.end(session)
	}
	var out bytes.Buffer
	err = sign.Sign(chunkedReader{bytes.NewReader(doc)}, &out, rdr, int64(len(doc)), sign.SignData{
		TSA: tsa,
		Signature: sign.SignDataSignature{
			Info: sign.SignDataSignatureInfo{Name: s.name, Location: info.Location, Reason: info.Reason, Date: now},
			// An approval signature: a later attestation may still be added.
			CertType: sign.ApprovalSignature,
		},
		// Visible, drawn with an opaque image and no text: PDF/A-1 wants an
		// appearance for every widget, embedded fonts and no transparency,
		// and this is the appearance that needs neither a font nor a mask.
		Appearance: sign.Appearance{Visible: true, Page: page,
			LowerLeftX: rect[0], LowerLeftY: rect[1], UpperRightX: rect[2], UpperRightY: rect[3], Image: stamp()},
		Signer:            s.key,
		DigestAlgorithm:   crypto.SHA256,
		Certificate:       s.cert,
		CertificateChains: [][]*x509.Certificate{append([]*x509.Certificate{s.cert}, s.chain...)},
	})
	if err != nil {
		if session != nil && session.failure() != nil {
			return nil, fmt.Errorf("%w: %w", ErrTimestamp, session.failure())
		}
		return nil, fmt.Errorf("%w: %w", ErrDocument, err)
	}
	return out.Bytes(), nil
}

// chunkedReader hides bytes.Reader's WriteTo (see Seal).
type chunkedReader struct{ r *bytes.Reader }

func (c chunkedReader) Read(p []byte) (int, error)                { return c.r.Read(p) }
func (c chunkedReader) Seek(off int64, whence int) (int64, error) { return c.r.Seek(off, whence) }
