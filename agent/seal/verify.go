package seal

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/digitorus/pdfsign/verify"
	"github.com/digitorus/pkcs7"
)

// Report says who sealed a document, when, and whether it is intact.
type Report struct {
	Seals []SealInfo
	// Intact: every signature valid, and the last one covers the file to
	// its last byte (nothing appended after sealing).
	Intact bool
}

// SealInfo is one signature.
type SealInfo struct {
	Signer       string // the certificate's subject
	Name, Reason string
	Time         time.Time
	Valid        bool // the signature matches the bytes it covers
	Trusted      bool // the issuer chains to a system root
	// Certificate is the signer's, Chain what the signature carries
	// besides it.
	Certificate *x509.Certificate
	Chain       []*x509.Certificate
	// Covers is how many bytes from the start the signature covers: the
	// revision it signed ends there.
	Covers int
	// ValidAtSigning: the certificate was valid at Time, the time the
	// signature gives itself (by the signer's clock: no timestamp).
	ValidAtSigning bool
	// LaterChanges are what revisions after this signature changed of the
	// document beyond adding signatures; empty when they only sign.
	LaterChanges []string
	// Timestamp is the time an RFC 3161 authority vouched for, when the
	// signature carries its token; TimestampCertificate is the
	// authority's certificate.
	Timestamp            time.Time
	TimestampCertificate *x509.Certificate
}

// TimestampTrustedBy tells whether the timestamp's authority is one of
// anchors or chains to one of them at the time it vouched for.
func (si SealInfo) TimestampTrustedBy(anchors []*x509.Certificate) (*x509.Certificate, bool) {
	if si.TimestampCertificate == nil {
		return nil, false
	}
	return trustedBy(si.TimestampCertificate, nil, si.Timestamp, anchors, x509.ExtKeyUsageTimeStamping)
}

// TrustedBy tells whether the seal's certificate is one of anchors, or
// chains to one of them at the time it signed: what a verifier who knows
// the office's seal certificate (or its CA) can say of who sealed.
func (si SealInfo) TrustedBy(anchors []*x509.Certificate) (*x509.Certificate, bool) {
	if si.Certificate == nil {
		return nil, false
	}
	return trustedBy(si.Certificate, si.Chain, si.signedAt(), anchors, x509.ExtKeyUsageAny)
}

// signedAt is when the signature was made: the timestamp's time when there
// is one, else the time the signer gives, else now.
func (si SealInfo) signedAt() time.Time {
	switch {
	case !si.Timestamp.IsZero():
		return si.Timestamp
	case !si.Time.IsZero():
		return si.Time
	}
	return time.Now()
}

// trustedBy tells whether cert is one of anchors, or chains to one of them
// through chain at the time at, for the usage given.
func trustedBy(cert *x509.Certificate, chain []*x509.Certificate, at time.Time, anchors []*x509.Certificate, usage x509.ExtKeyUsage) (*x509.Certificate, bool) {
	roots := x509.NewCertPool()
	for _, a := range anchors {
		if a.Equal(cert) {
			return a, true
		}
		roots.AddCert(a)
	}
	inter := x509.NewCertPool()
	for _, c := range chain {
		inter.AddCert(c)
	}
	chains, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{usage}})
	if err != nil || len(chains) == 0 {
		return nil, false
	}
	return chains[0][len(chains[0])-1], true
}

// signingCertificates are the certificates each signature's SignerInfo
// names, read from the signatures' /Contents (between the two parts of
// its /ByteRange), one per range; a signature that does not parse gives
// nil.
func signingCertificates(doc []byte, ranges [][][]byte) []*x509.Certificate {
	var out []*x509.Certificate
	for _, m := range ranges {
		b, errB := strconv.Atoi(string(m[2]))
		c, errC := strconv.Atoi(string(m[3]))
		out = append(out, nil)
		if errB != nil || errC != nil || b < 0 || c <= b+2 || c > len(doc) {
			continue
		}
		// The zeros that pad /Contents are left to the parser, as
		// pdfsign's own verifier leaves them.
		raw := bytes.Trim(doc[b:c], "<> \r\n")
		der := make([]byte, hex.DecodedLen(len(raw)))
		if _, err := hex.Decode(der, raw); err != nil {
			continue
		}
		p7, err := pkcs7.Parse(der)
		if err != nil {
			continue
		}
		out[len(out)-1] = p7.GetOnlySigner()
	}
	return out
}

var byteRange = regexp.MustCompile(`/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]`)

// Verify checks a document's seals.
func Verify(doc []byte) (Report, error) {
	resp, err := verify.Verify(bytes.NewReader(doc), int64(len(doc)))
	if err != nil && (resp == nil || len(resp.Signers) == 0) {
		return Report{}, fmt.Errorf("%w: %w", ErrDocument, err)
	}
	r := Report{Intact: len(resp.Signers) > 0}
	ranges := byteRange.FindAllSubmatch(doc, -1)
	signing := signingCertificates(doc, ranges)
	// pdfsign reports signatures in the form's order, which is the order
	// they were added in, and so the order of their /ByteRange in the
	// file; each is checked against its own range's signer below.
	if len(ranges) != len(resp.Signers) {
		return Report{}, fmt.Errorf("%w: %d signatures but %d signed ranges", ErrDocument, len(resp.Signers), len(ranges))
	}
	for i, s := range resp.Signers {
		si := SealInfo{Name: s.Name, Reason: s.Reason, Valid: s.ValidSignature, Trusted: s.TrustedIssuer}
		if len(s.Certificates) > 0 && s.Certificates[0].Certificate != nil {
			si.Signer = s.Certificates[0].Certificate.Subject.String()
		}
		// The signing certificate is the one the signature's SignerInfo
		// names, not the first the signature happens to carry: a forger
		// may carry the office's certificate beside their own.
		for _, c := range s.Certificates {
			switch {
			case c.Certificate == nil:
			case c.Certificate.Equal(signing[i]):
				si.Certificate = c.Certificate
				si.Signer = c.Certificate.Subject.String()
			default:
				si.Chain = append(si.Chain, c.Certificate)
			}
		}
		if s.SignatureTime != nil {
			si.Time = *s.SignatureTime
		}
		if ts := s.TimeStamp; ts != nil {
			si.Timestamp = ts.Time
			// The authority is the certificate the token's SignerInfo
			// names, not the first the token carries.
			if p7, err := pkcs7.Parse(ts.RawToken); err == nil {
				si.TimestampCertificate = p7.GetOnlySigner()
			}
		}
		if signing[i] == nil || si.Certificate == nil || !si.Certificate.Equal(signing[i]) {
			// Not the signature of the range it is matched with: nothing
			// this report says of it could be trusted.
			si.Valid = false
		}
		c, _ := strconv.Atoi(string(ranges[i][3]))
		d, _ := strconv.Atoi(string(ranges[i][4]))
		si.Covers = c + d
		at := si.signedAt()
		si.ValidAtSigning = si.Certificate != nil && (!si.Time.IsZero() || !si.Timestamp.IsZero()) &&
			!at.Before(si.Certificate.NotBefore) && !at.After(si.Certificate.NotAfter)
		if si.LaterChanges, err = changesSince(doc, si.Covers); err != nil {
			return Report{}, err
		}
		r.Intact = r.Intact && si.Valid && len(si.LaterChanges) == 0
		r.Seals = append(r.Seals, si)
	}
	if len(ranges) == 0 {
		r.Intact = false
	} else {
		last := ranges[len(ranges)-1]
		c, _ := strconv.Atoi(string(last[3]))
		d, _ := strconv.Atoi(string(last[4]))
		if c+d != len(doc) {
			r.Intact = false // bytes were added after the last seal
		}
	}
	return r, nil
}
