package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Autografo's settings are its flags. Each may also be set in a TOML file,
// the system's and then the user's, or in an AUTOGRAFO_* environment
// variable; the command line counts most, then the environment, then the
// user's file, then the system's. A key is a flag's name (port,
// allow-origin, seal-p12, ...); a repeatable flag takes an array in a file
// and space-separated values in a variable.

// systemConfig is the system's file; AUTOGRAFO_SYSTEM_CONFIG names another
// (for a package's tests, or a machine that keeps it elsewhere).
const systemConfig = "/etc/autografo/autografo.toml"

// configFiles are the files read, least first.
func configFiles(lookup func(string) (string, bool)) []string {
	system := systemConfig
	if p, ok := lookup("AUTOGRAFO_SYSTEM_CONFIG"); ok {
		system = p
	}
	user := ""
	if d, ok := lookup("XDG_CONFIG_HOME"); ok && d != "" {
		user = filepath.Join(d, "autografo", "autografo.toml")
	} else if h, ok := lookup("HOME"); ok && h != "" {
		user = filepath.Join(h, ".config", "autografo", "autografo.toml")
	}
	return []string{system, user}
}

// envName is a flag's environment variable: AUTOGRAFO_ALLOW_ORIGIN.
func envName(flagName string) string {
	return "AUTOGRAFO_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ConfigError is a setting refused: where it is, what is wrong, and what
// the flag takes.
type ConfigError struct {
	Source string // "/etc/autografo/autografo.toml:4", "AUTOGRAFO_PORT"
	Key    string
	Err    error
	Fix    string
}

func (e *ConfigError) Error() string {
	msg := fmt.Sprintf("%s: %s: %v", e.Source, e.Key, e.Err)
	if e.Fix != "" {
		msg += " (" + e.Fix + ")"
	}
	return msg
}

func (e *ConfigError) Unwrap() error { return e.Err }

// errUsage is a command line the flag package refused and already
// explained.
var errUsage = errors.New("bad command line")

// repeatable tells the flags that take several values.
func repeatable(f *flag.Flag) bool {
	_, ok := f.Value.(*stringList)
	return ok
}

// configure parses the command line into fs and sets every flag it did not
// set from the environment and the files. It returns where each flag's
// value came from: "command line", a variable's name, file:line, or
// "default".
func configure(fs *flag.FlagSet, args []string, lookup func(string) (string, bool)) (map[string]string, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	source := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) { source[f.Name] = "default" })
	fs.Visit(func(f *flag.Flag) { source[f.Name] = "command line" })
	taken := func(name string) bool { return source[name] != "default" }
	// The environment.
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		v, ok := lookup(envName(f.Name))
		if !ok || taken(f.Name) || err != nil {
			return
		}
		values := []string{v}
		if repeatable(f) {
			values = strings.Fields(v)
		}
		for _, v := range values {
			if e := f.Value.Set(v); e != nil {
				err = &ConfigError{Source: envName(f.Name), Key: f.Name, Err: e, Fix: "it takes: " + f.Usage}
				return
			}
		}
		source[f.Name] = envName(f.Name)
	})
	if err != nil {
		return nil, err
	}
	// The files, the user's before the system's: a key the user's sets is
	// taken from there.
	files := configFiles(lookup)
	for i := len(files) - 1; i >= 0; i-- {
		if files[i] == "" {
			continue
		}
		if err := configureFrom(fs, files[i], source); err != nil {
			return nil, err
		}
	}
	return source, nil
}

// configureFrom sets the flags not yet taken from one TOML file; a file
// that does not exist sets nothing.
func configureFrom(fs *flag.FlagSet, path string, source map[string]string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &ConfigError{Source: path, Key: "(file)", Err: err, Fix: "make it readable, or remove it"}
	}
	var values map[string]any
	if _, err := toml.Decode(string(data), &values); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return &ConfigError{Source: fmt.Sprintf("%s:%d", path, pe.Position.Line), Key: "(syntax)", Err: errors.New(pe.Message),
				Fix: `each line is key = value, e.g. port = 8733 or allow-origin = ["https://side.comune.example"]`}
		}
		return &ConfigError{Source: path, Key: "(syntax)", Err: err}
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		at := fmt.Sprintf("%s:%d", path, lineOf(data, key))
		f := fs.Lookup(key)
		if f == nil {
			return &ConfigError{Source: at, Key: key, Err: errors.New("no such setting"), Fix: suggest(fs, key)}
		}
		if source[key] != "default" {
			continue // set by the command line, a variable, or the user's file
		}
		var list []string
		switch v := values[key].(type) {
		case []any:
			if !repeatable(f) {
				return &ConfigError{Source: at, Key: key, Err: errors.New("a list where one value goes"), Fix: "it takes: " + f.Usage}
			}
			for _, e := range v {
				s, ok := scalar(e)
				if !ok {
					return &ConfigError{Source: at, Key: key, Err: fmt.Errorf("%v is not a value", e), Fix: "it takes: " + f.Usage}
				}
				list = append(list, s)
			}
		default:
			s, ok := scalar(v)
			if !ok {
				return &ConfigError{Source: at, Key: key, Err: fmt.Errorf("a table where a value goes"), Fix: "it takes: " + f.Usage}
			}
			list = []string{s}
		}
		for _, s := range list {
			if err := f.Value.Set(s); err != nil {
				return &ConfigError{Source: at, Key: key, Err: err, Fix: "it takes: " + f.Usage}
			}
		}
		source[key] = at
	}
	return nil
}

// scalar is a TOML value as a flag takes it.
func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case int64:
		return strconv.FormatInt(v, 10), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// lineOf is the line where a key is set, 0 when it is not found as such.
func lineOf(data []byte, key string) int {
	k := regexp.QuoteMeta(key)
	re := regexp.MustCompile(`^\s*((` + k + `|"` + k + `")\s*=|\[\s*(` + k + `|"` + k + `")\s*\])`)
	for i, line := range strings.Split(string(data), "\n") {
		if re.MatchString(line) {
			return i + 1
		}
	}
	return 0
}

// suggest names the setting a mistyped key most likely meant.
func suggest(fs *flag.FlagSet, key string) string {
	best, dist := "", 3
	fs.VisitAll(func(f *flag.Flag) {
		if d := editDistance(key, f.Name); d < dist {
			best, dist = f.Name, d
		}
	})
	if best == "" {
		return "the settings are serve's flags: autografo config example lists them"
	}
	return fmt.Sprintf("did you mean %s?", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// configCmd: autografo config show | example.
func configCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "show" && args[0] != "example") {
		fmt.Fprintln(stderr, "usage: autografo config show [serve's flags] | autografo config example")
		return 2
	}
	fs, _ := newServeFlags("config", stderr)
	if args[0] == "example" {
		fmt.Fprint(stdout, exampleConfig(fs))
		return 0
	}
	source, err := configure(fs, args[1:], os.LookupEnv)
	if err != nil {
		if !errors.Is(err, errUsage) && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "autografo:", err)
		}
		return 2
	}
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(stdout, "%s = %s\t# %s\n", f.Name, tomlValue(f), source[f.Name])
	})
	return 0
}

// tomlValue is a flag's value as the file would set it.
func tomlValue(f *flag.Flag) string {
	if l, ok := f.Value.(*stringList); ok {
		quoted := make([]string, len(*l))
		for i, v := range *l {
			quoted[i] = strconv.Quote(v)
		}
		return "[" + strings.Join(quoted, ", ") + "]"
	}
	v := f.Value.String()
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return v
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil && v != "NaN" {
		return v
	}
	return strconv.Quote(v)
}

// exampleConfig is the commented configuration file, every setting at its
// default: docs/autografo.toml is this, kept equal by a test.
func exampleConfig(fs *flag.FlagSet) string {
	var b strings.Builder
	b.WriteString(`# Autografo's configuration: /etc/autografo/autografo.toml for the machine,
# ~/.config/autografo/autografo.toml ($XDG_CONFIG_HOME) for a user.
# Each key is a flag of ` + "`autografo serve`" + ` and may also be an AUTOGRAFO_*
# variable (AUTOGRAFO_ALLOW_ORIGIN; repeatable flags take space-separated
# values there). The command line counts most, then the environment, then
# the user's file, then the machine's. ` + "`autografo config show`" + ` prints what
# is in force and where each value came from.
# Generated by ` + "`autografo config example`" + `: every setting at its default.
`)
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	// Machine- and user-specific defaults (home folders) are written as
	// what they mean, not as this machine's paths.
	personal := map[string]string{"store": "the user's ~/.local/share/autografo", "state-dir": "the user's ~/.local/state/autografo"}
	for _, name := range names {
		if strings.HasPrefix(name, "sim") {
			continue // the simulated scanner is for demos and tests
		}
		f := fs.Lookup(name)
		v := tomlValue(f)
		if p, ok := personal[name]; ok {
			fmt.Fprintf(&b, "\n# %s (default: %s; give a full path)\n# %s = \"\"\n", f.Usage, p, name)
			continue
		}
		if repeatable(f) {
			v = "[]"
		}
		fmt.Fprintf(&b, "\n# %s\n# %s = %s\n", f.Usage, name, v)
	}
	return b.String()
}
