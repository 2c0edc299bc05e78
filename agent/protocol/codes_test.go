package protocol

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// constants reads the string constants of codes.go whose names start
// with one of the prefixes: the codes and actions as written.
func constants(t *testing.T, prefixes ...string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "codes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name.Name, p) }) {
					continue
				}
				v, _ := strconv.Unquote(lit.Value)
				out[name.Name] = v
			}
		}
	}
	return out
}

// Every code has exactly one entry with an Italian message and a known
// action; every entry is a declared code.
func TestEveryCodeHasItsMessageAndAction(t *testing.T) {
	codes := constants(t, "Code", "Blocker")
	actions := map[string]bool{}
	for _, v := range constants(t, "Action") {
		actions[v] = true
	}
	if len(codes) < 40 || len(actions) < 10 {
		t.Fatalf("read %d codes and %d actions from codes.go", len(codes), len(actions))
	}
	declared := map[string]bool{}
	for name, code := range codes {
		declared[code] = true
		n := 0
		for _, c := range Codes {
			if c.Code == code {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s (%s) has %d entries in Codes, want 1", name, code, n)
		}
	}
	placeholder := regexp.MustCompile(`\{[^}]*\}`)
	for _, c := range Codes {
		if !declared[c.Code] {
			t.Errorf("Codes has %q, which is not a declared constant", c.Code)
		}
		if !actions[c.Action] {
			t.Errorf("%s: action %q is not one of the Action constants", c.Code, c.Action)
		}
		if len(c.Message) < 10 || !strings.HasSuffix(c.Message, ".") {
			t.Errorf("%s: message %q", c.Code, c.Message)
		}
		for _, p := range placeholder.FindAllString(c.Message, -1) {
			if p != "{chi}" && p != "{pagina}" {
				t.Errorf("%s: unknown placeholder %s", c.Code, p)
			}
		}
		if m := Italian(c.Code); strings.ContainsAny(m, "{}") {
			t.Errorf("%s: Italian left a placeholder: %q", c.Code, m)
		}
		if e := NewError(c.Code); e.Code != c.Code || e.Action != c.Action || e.Message == "" {
			t.Errorf("NewError(%s) = %+v", c.Code, e)
		}
	}
	if Info("no such code").Code != CodeInternal {
		t.Error("an unknown code does not fall back to internal")
	}
	if got := Format(BlockerSignatureEmpty, "di Chiara Colombo (secondo testimone)", 0); got != "Manca la firma di Chiara Colombo (secondo testimone)." {
		t.Errorf("Format: %q", got)
	}
	if got := Format(BlockerSheetMissing, "", 2); !strings.Contains(got, "pagina 2 ") {
		t.Errorf("Format with a page: %q", got)
	}
}

// The request types declared as constants are exactly the decoded ones: a
// request type cannot be declared and forgotten.
func TestRequestTypesAreTheDecodedOnes(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "protocol.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST || len(g.Specs) == 0 || g.Specs[0].(*ast.ValueSpec).Names[0].Name != "TypeHello" {
			continue
		}
		for _, spec := range g.Specs {
			v, _ := strconv.Unquote(spec.(*ast.ValueSpec).Values[0].(*ast.BasicLit).Value)
			declared = append(declared, v)
		}
	}
	slices.Sort(declared)
	if !slices.Equal(declared, RequestTypes()) {
		t.Errorf("declared request types %v, decoded %v", declared, RequestTypes())
	}
	for _, typ := range RequestTypes() {
		env, v, err := DecodeRequest([]byte(`{"type":"` + typ + `","id":"1"}`))
		if err != nil || v == nil || env.Type != typ {
			t.Errorf("%s: %v", typ, err)
		}
	}
}
