package seal

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/digitorus/pdfsign/verify"
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
	Trusted      bool // the issuer chains to a trusted root
}

var byteRange = regexp.MustCompile(`/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]`)

// Verify checks a document's seals.
func Verify(doc []byte) (Report, error) {
	resp, err := verify.Verify(bytes.NewReader(doc), int64(len(doc)))
	if err != nil && (resp == nil || len(resp.Signers) == 0) {
		return Report{}, fmt.Errorf("%w: %w", ErrDocument, err)
	}
	r := Report{Intact: len(resp.Signers) > 0}
	for _, s := range resp.Signers {
		si := SealInfo{Name: s.Name, Reason: s.Reason, Valid: s.ValidSignature, Trusted: s.TrustedIssuer}
		if len(s.Certificates) > 0 && s.Certificates[0].Certificate != nil {
			si.Signer = s.Certificates[0].Certificate.Subject.String()
		}
		if s.SignatureTime != nil {
			si.Time = *s.SignatureTime
		}
		r.Intact = r.Intact && si.Valid
		r.Seals = append(r.Seals, si)
	}
	ranges := byteRange.FindAllSubmatch(doc, -1)
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
