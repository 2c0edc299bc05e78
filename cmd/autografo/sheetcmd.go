package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/autografo/autografo/scanner/sheet"
)

// sheetCmd: autografo sheet stamp | new. Pages printed for signing carry a
// page code (act, page i of N, the PDF's hash) and registration marks.
func sheetCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "stamp" && args[0] != "new") {
		fmt.Fprintln(stderr, `usage: autografo sheet stamp --act ID IN.pdf OUT.pdf
       autografo sheet new --act ID --title T [--office O] [--description D] --signer ROLE=LABEL[:NAME]... OUT.pdf`)
		return 2
	}
	fs := flag.NewFlagSet("sheet "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	act := fs.String("act", "", "the act's id in Autografo (letters, digits, - and _)")
	title := fs.String("title", "", "the sheet's title")
	office := fs.String("office", "", "the office, printed at the top")
	desc := fs.String("description", "", "what is being signed")
	var signers stringList
	fs.Var(&signers, "signer", "ROLE=LABEL[:NAME], e.g. dichiarante=Il dichiarante:Mario Rossi (repeatable)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	fail := func(err error) int { fmt.Fprintln(stderr, "autografo:", err); return 1 }
	switch args[0] {
	case "stamp":
		if fs.NArg() != 2 || *act == "" {
			fmt.Fprintln(stderr, "usage: autografo sheet stamp --act ID IN.pdf OUT.pdf")
			return 2
		}
		in, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return fail(err)
		}
		out, err := sheet.Stamp(in, *act)
		if err != nil {
			return fail(err)
		}
		if err := os.WriteFile(fs.Arg(1), out, 0o644); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "%s: page codes for act %s, PDF %s\n", fs.Arg(1), *act, sheet.PDFHash(in))
		return 0
	default:
		if fs.NArg() != 1 || *act == "" || *title == "" || len(signers) == 0 {
			fmt.Fprintln(stderr, "usage: autografo sheet new --act ID --title T --signer ROLE=LABEL[:NAME]... OUT.pdf")
			return 2
		}
		sh := sheet.Sheet{Office: *office, Title: *title, Description: *desc}
		for _, s := range signers {
			role, rest, ok := strings.Cut(s, "=")
			label, name, _ := strings.Cut(rest, ":")
			if !ok || role == "" || label == "" {
				fmt.Fprintf(stderr, "autografo: --signer %q: want ROLE=LABEL[:NAME]\n", s)
				return 2
			}
			sh.Signers = append(sh.Signers, sheet.SheetSigner{Role: role, Label: label, Name: name})
		}
		pdf, layout, err := sh.PDF()
		if err != nil {
			return fail(err)
		}
		out, err := sheet.Stamp(pdf, *act)
		if err != nil {
			return fail(err)
		}
		path := fs.Arg(0)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			return fail(err)
		}
		b, _ := json.MarshalIndent(layout, "", "  ")
		lpath := strings.TrimSuffix(path, ".pdf") + ".layout.json"
		if err := os.WriteFile(lpath, b, 0o644); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "%s\n%s\n", path, lpath)
		return 0
	}
}
