// Command autografo is the Autografo agent: it drives the office's scanners
// and serves the act-drafting page and its websocket on this machine only.
//
//	autografo serve [--sim] [--port 8733] [--allow-origin https://app.example]
package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// command is one subcommand: its name, what it does in a line, and how it
// runs. The usage, the dispatch and the manual page are made from this
// one table.
type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) int
}

// commands are Autografo's subcommands, in the order the usage lists them.
// Assigned in init: help and man read the table they are in.
var commands []command

func init() {
	commands = []command{
		{"serve", "run the agent (see autografo serve -h)", serve},
		{"open", "open the page in the browser, paired with the running agent", openCmd},
		{"pair", "print a code to pair a browser opened by hand", pairCmd},
		{"sessions", "list the sessions, or end one (sessions end ID)", sessionsCmd},
		{"stop", "stop the running agent (as a signal would: captures end, the store closes)", stopCmd},
		{"doctor", "check what Autografo needs here, and say how to fix what is wrong", doctorCmd},
		{"config", "config show: the settings in force and where each came from; config example: the file", configCmd},
		{"devices", "list the scanners found now", devicesCmd},
		{"scan", "scan from the command line into files", scanCmd},
		{"check", "verify the store: database, every page against its hash, the journal", checkCmd},
		{"journal", "journal verify: check the hash chain; journal export: the emergency register, in order", journalCmd},
		{"key", "key rotate: seal the store under a new key", keyCmd},
		{"export", "write an act as an encrypted, sealed bundle (home visit -> office)", exportCmd},
		{"import", "store an act from a bundle", importCmd},
		{"delete", "remove an act and its images at an operator's request (journaled)", deleteCmd},
		{"verify", "check a document's seals: who, when, and whether it is intact", verifyCmd},
		{"analyse", "a page's skew and orientation, and each signer's box: signed or not", analyseCmd},
		{"sheet", "stamp page codes on a PDF for printing, or make a signature sheet", sheetCmd},
		{"man", "print the manual page (roff), made from this table and serve's flags", manCmd},
		{"version", "print the version", func(_ []string, stdout, _ io.Writer) int {
			fmt.Fprintln(stdout, "autografo", version)
			return 0
		}},
		{"help", "this list", func(_ []string, stdout, _ io.Writer) int { usage(stdout); return 0 }},
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "--version":
		name = "version"
	case "-h", "--help":
		name = "help"
	}
	for _, c := range commands {
		if c.name == name {
			code := c.run(args[1:], stdout, stderr)
			// Help asked of any command is its usage, printed, and 0.
			if len(args) == 2 && slices.Contains([]string{"-h", "-help", "--help"}, args[1]) && code == 2 {
				code = 0
			}
			return code
		}
	}
	fmt.Fprintf(stderr, "autografo: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, "usage: autografo <command> [flags]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nEach command's flags: autografo <command> -h.\n")
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
