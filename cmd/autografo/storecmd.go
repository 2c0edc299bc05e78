package main

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/autografo/autografo/agent/store"
)

// openStore opens the store in dir, creating its key on first run. After a
// key rotation cut short between its commit and the rename of the new key
// file, the new key is in key.new: it is tried, and put in place.
func openStore(dir string) (*store.Store, error) {
	keyPath, newPath := filepath.Join(dir, "key"), filepath.Join(dir, "key.new")
	key, err := store.LoadOrCreateKey(keyPath)
	if err != nil {
		return nil, err
	}
	s, err := store.Open(filepath.Join(dir, "autografo.db"), key)
	if errors.Is(err, store.ErrWrongKey) {
		if next, err2 := store.LoadOrCreateKey(newPath); err2 == nil {
			if s2, err3 := store.Open(filepath.Join(dir, "autografo.db"), next); err3 == nil {
				return s2, os.Rename(newPath, keyPath)
			}
		}
	}
	return s, err
}

// newStoreFlags starts the flags of a store command, with --store.
func newStoreFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs, fs.String("store", defaultStoreDir(), "directory of the store")
}

// withStore parses a store command's flags, checks them (ok returns false
// after printing the usage), opens the store and runs the command on it.
func withStore(fs *flag.FlagSet, dir *string, args []string, stderr io.Writer, ok func() bool, run func(*store.Store) int) int {
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if ok != nil && !ok() {
		return 2
	}
	s, err := openStore(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	defer s.Close()
	return run(s)
}

// keyCmd: autografo key rotate.
func keyCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "rotate" {
		fmt.Fprintln(stderr, "usage: autografo key rotate [--store DIR]")
		return 2
	}
	fs, dir := newStoreFlags("key rotate", stderr)
	operator := fs.String("operator", currentUser(), "who rotates, for the journal")
	return withStore(fs, dir, args[1:], stderr, nil, func(s *store.Store) int { return rotate(s, *dir, *operator, stdout, stderr) })
}

func rotate(s *store.Store, dir, operator string, stdout, stderr io.Writer) int {
	next := make([]byte, store.KeySize)
	if _, err := rand.Read(next); err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	// The new key is on disk before the store depends on it.
	newPath := filepath.Join(dir, "key.new")
	if err := store.WriteKey(newPath, next); err != nil {
		fmt.Fprintln(stderr, "autografo: writing the new key:", err)
		return 1
	}
	n, err := s.RotateKey(context.Background(), next, operator)
	if err != nil {
		os.Remove(newPath)
		fmt.Fprintln(stderr, "autografo: rotation failed, the old key still works:", err)
		return 1
	}
	if err := os.Rename(newPath, filepath.Join(dir, "key")); err != nil {
		fmt.Fprintln(stderr, "autografo: the store uses the new key in", newPath, "but it could not replace the old one:", err)
		return 1
	}
	fmt.Fprintf(stdout, "key rotated: %d pages sealed again\n", n)
	return 0
}

// currentUser is the operator's account name, for the journal: on
// Windows without its domain (DOMAIN\\user), which says the workstation,
// not the person.
func currentUser() string {
	if u, err := user.Current(); err == nil {
		return accountName(u.Username)
	}
	return "operatore locale"
}

func accountName(s string) string {
	if i := strings.LastIndexByte(s, '\\'); i >= 0 && i+1 < len(s) {
		return s[i+1:]
	}
	return s
}

// checkCmd verifies the store: database integrity, every page against its
// hash, the journal chain.
func checkCmd(args []string, stdout, stderr io.Writer) int {
	fs, dir := newStoreFlags("check", stderr)
	return withStore(fs, dir, args, stderr, nil, func(s *store.Store) int {
		pages, err := s.Check(context.Background())
		if err != nil {
			fmt.Fprintf(stderr, "autografo: store check failed after %d good pages: %v\n", pages, err)
			return 1
		}
		fmt.Fprintf(stdout, "store ok: %d pages verified, journal chain intact\n", pages)
		return 0
	})
}

// journalCmd: autografo journal verify | export.
func journalCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "export" {
		return journalExport(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "usage: autografo journal verify|export [--store DIR]")
		return 2
	}
	fs, dir := newStoreFlags("journal verify", stderr)
	return withStore(fs, dir, args[1:], stderr, nil, func(s *store.Store) int {
		n, err := s.VerifyJournal(context.Background())
		if err != nil {
			fmt.Fprintln(stderr, "autografo:", err)
			return 1
		}
		fmt.Fprintf(stdout, "journal ok: %d entries, chain intact\n", n)
		return 0
	})
}

// journalExport writes the emergency-register acts in register order, the
// order in which they must be entered in ANSC, as CSV or JSON.
func journalExport(args []string, stdout, stderr io.Writer) int {
	fs, dir := newStoreFlags("journal export", stderr)
	format := fs.String("format", "csv", "csv or json")
	return withStore(fs, dir, args, stderr, nil, func(s *store.Store) int { return exportRegister(s, *format, stdout, stderr) })
}

func exportRegister(s *store.Store, format string, stdout, stderr io.Writer) int {
	recs, err := s.EmergencyRegister(context.Background())
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	switch format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(recs); err != nil {
			fmt.Fprintln(stderr, "autografo:", err)
			return 1
		}
	case "csv":
		w := csv.NewWriter(stdout)
		w.Write([]string{"registro", "data_registro", "atto", "tipo", "operatore", "aperto", "pagine", "stato", "allegato_ansc"})
		for _, r := range recs {
			entered := ""
			if !r.Entered.IsZero() {
				entered = r.Entered.UTC().Format(time.RFC3339)
			}
			w.Write([]string{r.Register, entered, r.Act, r.Kind, r.Operator, r.Opened.UTC().Format(time.RFC3339),
				strconv.Itoa(r.Pages), string(r.State), r.Confirmed})
		}
		w.Flush()
		if err := w.Error(); err != nil {
			fmt.Fprintln(stderr, "autografo:", err)
			return 1
		}
	default:
		fmt.Fprintln(stderr, "autografo: --format must be csv or json")
		return 2
	}
	return 0
}

// deleteCmd removes an act and its images at an administrator's explicit
// request, confirmed by ANSC or not (but not while a tab holds it for the
// upload); the journal records who and why.
func deleteCmd(args []string, stdout, stderr io.Writer) int {
	fs, dir := newStoreFlags("delete", stderr)
	act := fs.String("act", "", "ID of the act to delete")
	reason := fs.String("reason", "", "why (kept in the journal)")
	operator := fs.String("operator", currentUser(), "who deletes, for the journal")
	usage := func() bool {
		if *act == "" || strings.TrimSpace(*reason) == "" {
			fmt.Fprintln(stderr, "usage: autografo delete --act ID --reason TEXT")
			return false
		}
		return true
	}
	return withStore(fs, dir, args, stderr, usage, func(s *store.Store) int {
		if _, err := s.Delete(context.Background(), *act, *reason, store.Actor{Operator: *operator}); err != nil {
			fmt.Fprintln(stderr, "autografo:", err)
			return 1
		}
		fmt.Fprintf(stdout, "act %s deleted; the journal records it\n", *act)
		return 0
	})
}
