package main

import (
	"bytes"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/autografo/autografo/scanner/scannertest"
)

// Every command of the table answers -h with its usage and 0, and is in
// the list help prints.
func TestEveryCommandHasItsHelp(t *testing.T) {
	var list bytes.Buffer
	if code := run([]string{"help"}, &list, &list); code != 0 {
		t.Fatalf("help: %d", code)
	}
	for _, c := range commands {
		if !strings.Contains(list.String(), "  "+c.name+" ") {
			t.Errorf("help does not list %s", c.name)
		}
		if c.name == "help" || c.name == "version" {
			continue
		}
		var out bytes.Buffer
		if code := run([]string{c.name, "-h"}, &out, &out); code != 0 || !strings.Contains(strings.ToLower(out.String()), "usage") {
			t.Errorf("%s -h: %d %q", c.name, code, out.String())
		}
	}
	var out bytes.Buffer
	if code := run([]string{"nonsense"}, &out, &out); code != 2 || !strings.Contains(out.String(), `unknown command "nonsense"`) {
		t.Errorf("an unknown command: %d %q", code, out.String())
	}
}

// The manual page, made from the same table and serve's flags, is roff
// that groff renders without a warning, and names every command and every
// setting of serve but the simulator's.
func TestManualPage(t *testing.T) {
	groff := scannertest.Need(t, "groff")
	page := manPage()
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww")
	cmd.Stdin = strings.NewReader(page)
	var text, warnings bytes.Buffer
	cmd.Stdout, cmd.Stderr = &text, &warnings
	if err := cmd.Run(); err != nil || warnings.Len() > 0 {
		t.Fatalf("groff: %v\n%s", err, warnings.String())
	}
	// Bold and underline as overstrikes (a character, backspace) or as
	// terminal escapes; the minus sign may be U+2212.
	plain := regexp.MustCompile("(?s).\b|\x1b\\[[0-9;]*m").ReplaceAllString(text.String(), "")
	rendered := strings.ReplaceAll(strings.Join(strings.Fields(plain), " "), "\u2212", "-")
	for _, c := range commands {
		if !strings.Contains(rendered, c.name) {
			t.Errorf("the manual does not name the command %s", c.name)
		}
	}
	fs, _ := newServeFlags("serve", nil)
	for _, name := range []string{"port", "allow-origin", "seal-p12", "session-max", "usb-quirk", "saned"} {
		if fs.Lookup(name) == nil || !strings.Contains(rendered, "--"+name) {
			t.Errorf("the manual does not give --%s", name)
		}
	}
	if strings.Contains(rendered, "sim-pages") {
		t.Error("the manual lists the simulator's flags")
	}
}
