package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/autografo/autografo/agent/store"
)

func readPassphrase(path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("--passphrase-file is required (a passphrase on the command line would show in the process list)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// exportCmd writes one act as an encrypted, sealed bundle: how an act taken
// on a home-visit laptop reaches the office.
func exportCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("store", defaultStoreDir(), "directory of the store")
	act := fs.String("act", "", "ID of the act to export")
	out := fs.String("out", "", "bundle file to write")
	passFile := fs.String("passphrase-file", "", "file holding the bundle passphrase (at least 8 characters)")
	operator := fs.String("operator", currentUser(), "who exports, for the journal")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *act == "" || *out == "" {
		fmt.Fprintln(stderr, "usage: autografo export --act ID --out FILE --passphrase-file FILE")
		return 2
	}
	pass, err := readPassphrase(*passFile)
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 2
	}
	s, err := openStore(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	defer s.Close()
	seal, err := store.LoadOrCreateSealKey(filepath.Join(*dir, "seal.key"))
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	var buf bytes.Buffer
	if err := s.Export(context.Background(), *act, &buf, pass, seal, *operator); err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o600); err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	fmt.Fprintf(stdout, "act %s exported to %s, sealed by workstation %s\n", *act, *out, store.Fingerprint(seal.Public().(ed25519.PublicKey)))
	return 0
}

// importCmd stores an act from a bundle, checking its seal and every page.
func importCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("store", defaultStoreDir(), "directory of the store")
	in := fs.String("in", "", "bundle file to read")
	passFile := fs.String("passphrase-file", "", "file holding the bundle passphrase")
	var trust stringList
	fs.Var(&trust, "trust", "fingerprint of a workstation whose bundles are accepted (repeatable; none: any, with a warning)")
	operator := fs.String("operator", currentUser(), "who imports, for the journal")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *in == "" {
		fmt.Fprintln(stderr, "usage: autografo import --in FILE --passphrase-file FILE [--trust FINGERPRINT]")
		return 2
	}
	pass, err := readPassphrase(*passFile)
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 2
	}
	f, err := os.Open(*in)
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	defer f.Close()
	s, err := openStore(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	defer s.Close()
	id, fp, err := s.Import(context.Background(), f, pass, trust, *operator)
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	if len(trust) == 0 {
		fmt.Fprintf(stderr, "warning: no --trust given; the bundle was sealed by workstation %s: check that it is yours\n", fp)
	}
	fmt.Fprintf(stdout, "act %s imported from workstation %s\n", id, fp)
	return 0
}
