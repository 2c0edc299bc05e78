package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/autografo/autografo/agent/document"
	"github.com/autografo/autografo/agent/seal"
)

// verifyCmd prints who sealed a document, when, and whether its bytes are
// intact; the exit code is 0 only for an intact, sealed document.
func verifyCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: autografo verify FILE.pdf")
		return 2
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	d := document.Digests(data)
	fmt.Fprintf(stdout, "%s\n  sha256 %s\n  sha1   %s\n", args[0], d.SHA256, d.SHA1)
	r, err := seal.Verify(data)
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	for i, s := range r.Seals {
		state := "valid"
		if !s.Valid {
			state = "INVALID"
		}
		trust := "issuer not in the trusted roots"
		if s.Trusted {
			trust = "trusted issuer"
		}
		fmt.Fprintf(stdout, "  seal %d: %s\n    signed %s, %s, %s\n", i+1, s.Signer, s.Time.UTC().Format(time.RFC3339), state, trust)
		if s.Reason != "" {
			fmt.Fprintf(stdout, "    reason: %s\n", s.Reason)
		}
	}
	if len(r.Seals) == 0 {
		fmt.Fprintln(stdout, "  no seal")
		return 1
	}
	if !r.Intact {
		fmt.Fprintln(stdout, "  NOT INTACT: the document changed after it was sealed")
		return 1
	}
	fmt.Fprintln(stdout, "  intact: every byte is covered by a valid seal")
	return 0
}
