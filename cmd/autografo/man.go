package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// manCmd prints autografo(1) in roff, from the command table and serve's
// flags: the page the package installs cannot drift from the program.
func manCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: autografo man | man -l -")
		return 2
	}
	fmt.Fprint(stdout, manPage())
	return 0
}

// roff escapes text for a roff line: backslashes, and a leading dot or
// quote that would read as a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

func manPage() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w(`.TH AUTOGRAFO 1 "" "autografo %s" "User Commands"`, roff(version))
	w(".SH NAME")
	w(`autografo \- handwritten signatures captured by scanner, for ANSC`)
	w(".SH SYNOPSIS")
	w(`.B autografo`)
	w(`.I command`)
	w(`.RI [ flags ]`)
	w(".SH DESCRIPTION")
	w("Autografo runs beside the browser of a civil-status office's workstation, on 127.0.0.1 and [::1] only.")
	w("It drives the office's scanners (eSCL over USB and the network, SANE through saned),")
	w("checks that every signer's box holds a signature, and hands the act-drafting app an")
	w("upload-ready document for ANSC, keeping every page encrypted until ANSC has confirmed the act.")
	w(".SH COMMANDS")
	for _, c := range commands {
		w(".TP")
		w(`.B %s`, roff(c.name))
		w("%s", roff(c.summary))
	}
	w(".SH SERVE OPTIONS")
	w("Each is also a key of the configuration files and an AUTOGRAFO_* variable (see FILES and ENVIRONMENT).")
	fs, _ := newServeFlags("serve", io.Discard)
	fs.VisitAll(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "sim") {
			return // the simulated scanner is for demos and tests: serve -h lists it
		}
		w(".TP")
		name, usage := flag.UnquoteUsage(f)
		if name != "" {
			w(`.BI \-\-%s " %s"`, roff(f.Name), roff(name))
		} else {
			w(`.B \-\-%s`, roff(f.Name))
		}
		text := roff(usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.Name != "store" && f.Name != "state-dir" {
			text += " (default: " + roff(f.DefValue) + ")"
		}
		w("%s", text)
	})
	w(".SH FILES")
	w(".TP")
	w(`.I /etc/autografo/autografo.toml`)
	w("The machine's settings: each key a serve flag's name.")
	w(".TP")
	w(`.I ~/.config/autografo/autografo.toml`)
	w("The user's settings ($XDG_CONFIG_HOME), over the machine's.")
	w(".TP")
	w(`.I ~/.local/share/autografo`)
	w("The encrypted store and its key file ($XDG_DATA_HOME). Back up both, apart.")
	w(".SH ENVIRONMENT")
	w(".TP")
	w(`.B AUTOGRAFO_*`)
	w("A serve setting: AUTOGRAFO_PORT, AUTOGRAFO_ALLOW_ORIGIN (repeatable flags take space\\-separated values), over the files and under the command line.")
	w(".SH EXIT STATUS")
	w("0 on success; 1 when the command failed; 2 for a command line or a configuration refused (a service is not restarted on it).")
	w("doctor exits with its first failing check's status: 9 configuration, 10 port, 11 store, 12 saned, 13 certificates, 14 browser policy, 15 USB, 16 clock.")
	w(".SH SEE ALSO")
	w(`.BR systemctl (1),`)
	w(`.BR saned (8),`)
	w(`.BR scanimage (1)`)
	return b.String()
}
