package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
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
	fs, dir := newStoreFlags("export", stderr)
	act := fs.String("act", "", "ID of the act to export")
	out := fs.String("out", "", "bundle file to write")
	passFile := fs.String("passphrase-file", "", "file holding the bundle passphrase (at least 8 characters)")
	operator := fs.String("operator", currentUser(), "who exports, for the journal")
	var pass string
	usage := func() bool {
		if *act == "" || *out == "" {
			fmt.Fprintln(stderr, "usage: autografo export --act ID --out FILE --passphrase-file FILE")
			return false
		}
		var err error
		if pass, err = readPassphrase(*passFile); err != nil {
			fmt.Fprintln(stderr, "autografo:", err)
			return false
		}
		return true
	}
	return withStore(fs, dir, args, stderr, usage, func(s *store.Store) int { return export(s, *dir, *act, *out, pass, *operator, stdout, stderr) })
}

func export(s *store.Store, dir, act, out, pass, operator string, stdout, stderr io.Writer) int {
	seal, err := store.LoadOrCreateSealKey(filepath.Join(dir, "seal.key"))
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	var buf bytes.Buffer
	if err := s.Export(context.Background(), act, &buf, pass, seal, operator); err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	fmt.Fprintf(stdout, "act %s exported to %s, sealed by workstation %s\n", act, out, store.Fingerprint(seal.Public().(ed25519.PublicKey)))
	return 0
}

// importCmd stores an act from a bundle, checking its seal and every page.
func importCmd(args []string, stdout, stderr io.Writer) int {
	fs, dir := newStoreFlags("import", stderr)
	in := fs.String("in", "", "bundle file to read")
	passFile := fs.String("passphrase-file", "", "file holding the bundle passphrase")
	var trust stringList
	fs.Var(&trust, "trust", "fingerprint of a workstation whose bundles are accepted (repeatable; none: any, with a warning)")
	operator := fs.String("operator", currentUser(), "who imports, for the journal")
	var pass string
	usage := func() bool {
		if *in == "" {
			fmt.Fprintln(stderr, "usage: autografo import --in FILE --passphrase-file FILE [--trust FINGERPRINT]")
			return false
		}
		var err error
		if pass, err = readPassphrase(*passFile); err != nil {
			fmt.Fprintln(stderr, "autografo:", err)
			return false
		}
		return true
	}
	return withStore(fs, dir, args, stderr, usage, func(s *store.Store) int { return importBundle(s, *in, pass, trust, *operator, stdout, stderr) })
}

func importBundle(s *store.Store, in, pass string, trust []string, operator string, stdout, stderr io.Writer) int {
	f, err := os.Open(in)
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	defer f.Close()
	id, fp, err := s.Import(context.Background(), f, pass, trust, operator)
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
