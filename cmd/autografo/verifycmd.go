package main

import (
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/autografo/autografo/agent/document"
	"github.com/autografo/autografo/agent/seal"
)

// verifyCmd prints, for every signature of a document (each the revision
// it signed), who signed, when, in which format, whether the signature
// matches its bytes, whether the certificate was valid when it signed and
// is one given to trust, and whether any later revision changed the
// document beyond adding signatures. Exit codes: 0 when every signature
// holds on every count and covers the file to its end; 1 otherwise (not
// intact, changed after a signature, not trusted, not valid at signing,
// unsigned or unreadable): anyone can make a certificate with any name,
// so an untrusted signature proves nothing; 2 usage.
func verifyCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var trustFiles stringList
	fs.Var(&trustFiles, "trust", "a PEM `file` of certificates to trust: the office's workstation seals, the officers', or their CA (repeatable)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: autografo verify [--trust CERTS.pem]... FILE.pdf")
		return 2
	}
	var anchors []*x509.Certificate
	for _, f := range trustFiles {
		certs, err := readCertificates(f)
		if err != nil {
			fmt.Fprintln(stderr, "autografo:", err)
			return 2
		}
		anchors = append(anchors, certs...)
	}
	path := fs.Arg(0)
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	d := document.Digests(data)
	fmt.Fprintf(stdout, "%s\n  sha256 %s\n  sha1   %s\n", path, d.SHA256, d.SHA1)
	r, err := seal.Verify(data)
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	if len(r.Seals) == 0 {
		fmt.Fprintln(stdout, "  no seal")
		return 1
	}
	trusted, validAtSigning, unchanged := true, true, true
	for i, s := range r.Seals {
		state := "valid"
		if !s.Valid {
			state = "INVALID"
		}
		fmt.Fprintf(stdout, "  seal %d: %s\n    revision: bytes 0 to %d of %d\n", i+1, s.Signer, s.Covers, len(data))
		// What these signatures are, and are not, said plainly.
		if s.Timestamp.IsZero() {
			fmt.Fprintf(stdout, "    signed %s by its own clock, %s\n", s.Time.UTC().Format(time.RFC3339), state)
			fmt.Fprintln(stdout, "    format: adbe.pkcs7.detached (a PDF signature, not PAdES baseline), no timestamp: the time is the signer's clock")
		} else {
			ts := "NOT TRUSTED: no --trust certificate vouches for the timestamp authority"
			if anchor, ok := s.TimestampTrustedBy(anchors); ok {
				ts = "trusted (--trust " + anchor.Subject.String() + ")"
			} else {
				trusted = false
			}
			authority := "an unnamed authority"
			if s.TimestampCertificate != nil {
				authority = s.TimestampCertificate.Subject.String()
			}
			fmt.Fprintf(stdout, "    signed %s by the RFC 3161 timestamp of %s, %s\n    timestamp: %s\n",
				s.Timestamp.UTC().Format(time.RFC3339), authority, state, ts)
			fmt.Fprintln(stdout, "    format: adbe.pkcs7.detached (a PDF signature, not PAdES baseline) with an RFC 3161 signature timestamp")
		}
		if s.Reason != "" {
			fmt.Fprintf(stdout, "    reason: %s\n", s.Reason)
		}
		if s.Certificate != nil {
			validity := "valid when it signed"
			if !s.ValidAtSigning {
				validity, validAtSigning = "NOT VALID when it signed", false
			}
			fmt.Fprintf(stdout, "    certificate: %s (%s to %s)\n", validity,
				s.Certificate.NotBefore.UTC().Format(time.DateOnly), s.Certificate.NotAfter.UTC().Format(time.DateOnly))
		}
		trust := "NOT TRUSTED: no --trust certificate and no system root vouches for it"
		if anchor, ok := s.TrustedBy(anchors); ok {
			trust = "trusted (--trust " + anchor.Subject.String() + ")"
		} else if s.Trusted {
			trust = "trusted issuer (system roots)"
		} else {
			trusted = false
		}
		fmt.Fprintf(stdout, "    trust: %s\n", trust)
		switch {
		case len(s.LaterChanges) > 0:
			unchanged = false
			fmt.Fprintln(stdout, "    later revisions CHANGE THE DOCUMENT:")
			for _, c := range s.LaterChanges {
				fmt.Fprintf(stdout, "      %s\n", c)
			}
		case i < len(r.Seals)-1:
			fmt.Fprintln(stdout, "    later revisions only add signatures")
		}
	}
	switch {
	case !r.Intact && unchanged:
		fmt.Fprintln(stdout, "  NOT INTACT: the document changed after it was sealed")
	case !unchanged:
		fmt.Fprintln(stdout, "  NOT INTACT: a revision after a seal changed the document, whatever signed it after")
	case !validAtSigning:
		fmt.Fprintln(stdout, "  bytes intact, but a certificate was not valid when it signed")
	case !trusted:
		fmt.Fprintln(stdout, "  bytes intact, but sealed by a certificate nobody here vouches for: this proves nothing about who sealed it")
	default:
		fmt.Fprintln(stdout, "  intact: every byte is covered by a valid seal from a trusted certificate")
		return 0
	}
	return 1
}

// readCertificates reads every certificate of a PEM file.
func readCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate in it", path)
	}
	return out, nil
}
