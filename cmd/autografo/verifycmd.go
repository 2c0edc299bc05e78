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

// verifyCmd prints who sealed a document, when, whether its bytes are
// intact, and whether anyone vouches for the certificates that sealed it.
// Exit codes: 0 intact and every seal trusted; 1 not intact, not sealed
// or unreadable; 3 intact but sealed by a certificate nobody here trusts
// (anyone can make a certificate with any name); 2 usage.
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
	trusted := len(r.Seals) > 0
	for i, s := range r.Seals {
		state := "valid"
		if !s.Valid {
			state = "INVALID"
		}
		trust := "NOT TRUSTED: no --trust certificate and no system root vouches for it"
		if anchor, ok := s.TrustedBy(anchors); ok {
			trust = "trusted (--trust " + anchor.Subject.String() + ")"
		} else if s.Trusted {
			trust = "trusted issuer (system roots)"
		} else {
			trusted = false
		}
		fmt.Fprintf(stdout, "  seal %d: %s\n    signed %s by its own clock, %s, %s\n", i+1, s.Signer, s.Time.UTC().Format(time.RFC3339), state, trust)
		if s.Reason != "" {
			fmt.Fprintf(stdout, "    reason: %s\n", s.Reason)
		}
	}
	if len(r.Seals) == 0 {
		fmt.Fprintln(stdout, "  no seal")
		return 1
	}
	// What these signatures are, and are not, said plainly.
	fmt.Fprintln(stdout, "  format: adbe.pkcs7.detached approval signatures, no timestamp: each time is the signer's clock")
	if !r.Intact {
		fmt.Fprintln(stdout, "  NOT INTACT: the document changed after it was sealed")
		return 1
	}
	if !trusted {
		fmt.Fprintln(stdout, "  bytes intact, but sealed by a certificate nobody here vouches for: this proves nothing about who sealed it")
		return 3
	}
	fmt.Fprintln(stdout, "  intact: every byte is covered by a valid seal from a trusted certificate")
	return 0
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
