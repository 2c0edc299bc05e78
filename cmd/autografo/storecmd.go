package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/autografo/autografo/agent/store"
)

// defaultStoreDir is per user: where a desktop keeps its data.
func defaultStoreDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "autografo")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "autografo")
	}
	return "autografo-data"
}

// openStore opens the store in dir, creating its key on first run.
func openStore(dir string) (*store.Store, error) {
	key, err := store.LoadOrCreateKey(filepath.Join(dir, "key"))
	if err != nil {
		return nil, err
	}
	return store.Open(filepath.Join(dir, "autografo.db"), key)
}

// checkCmd verifies the store: database integrity, every page against its
// hash, the journal chain.
func checkCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("store", defaultStoreDir(), "directory of the store")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	s, err := openStore(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	defer s.Close()
	pages, err := s.Check(context.Background())
	if err != nil {
		fmt.Fprintf(stderr, "autografo: store check failed after %d good pages: %v\n", pages, err)
		return 1
	}
	fmt.Fprintf(stdout, "store ok: %d pages verified, journal chain intact\n", pages)
	return 0
}

// journalCmd: autografo journal verify.
func journalCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "usage: autografo journal verify [--store DIR]")
		return 2
	}
	fs := flag.NewFlagSet("journal verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("store", defaultStoreDir(), "directory of the store")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	s, err := openStore(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	defer s.Close()
	n, err := s.VerifyJournal(context.Background())
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	fmt.Fprintf(stdout, "journal ok: %d entries, chain intact\n", n)
	return 0
}
