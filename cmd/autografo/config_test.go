package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// configEnv is an environment of its own: the machine's file and the
// user's in temporary folders, and the variables given.
func configEnv(t *testing.T, system, user string, vars map[string]string) func(string) (string, bool) {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{"AUTOGRAFO_SYSTEM_CONFIG": filepath.Join(dir, "etc", "autografo.toml"), "XDG_CONFIG_HOME": filepath.Join(dir, "config")}
	for path, text := range map[string]string{env["AUTOGRAFO_SYSTEM_CONFIG"]: system, filepath.Join(env["XDG_CONFIG_HOME"], "autografo", "autografo.toml"): user} {
		if text == "" {
			continue
		}
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range vars {
		env[k] = v
	}
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestConfigurationPrecedence(t *testing.T) {
	system := "port = 9001\nallow-origin = [\"https://a.comune.example\"]\ncomune = \"F205\"\nlog-json = true\n"
	user := "port = 9002\nallow-origin = [\"https://b.comune.example\", \"https://c.comune.example\"]\n"
	for _, tc := range []struct {
		name     string
		vars     map[string]string
		args     []string
		port     int
		origins  []string
		portFrom string
	}{
		{"the files alone: the user's over the machine's", nil, nil, 9002, []string{"https://b.comune.example", "https://c.comune.example"}, "config/autografo/autografo.toml:1"},
		{"a variable over the files", map[string]string{"AUTOGRAFO_PORT": "9003", "AUTOGRAFO_ALLOW_ORIGIN": "https://d.comune.example https://e.comune.example"}, nil,
			9003, []string{"https://d.comune.example", "https://e.comune.example"}, "AUTOGRAFO_PORT"},
		{"the command line over everything", map[string]string{"AUTOGRAFO_PORT": "9003"}, []string{"--port", "9004", "--allow-origin", "https://f.comune.example"},
			9004, []string{"https://f.comune.example"}, "command line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, f := newServeFlags("serve", io.Discard)
			source, err := configure(fs, tc.args, configEnv(t, system, user, tc.vars))
			if err != nil {
				t.Fatal(err)
			}
			if *f.port != tc.port || !slices.Equal(f.origins, tc.origins) || !strings.HasSuffix(source["port"], tc.portFrom) {
				t.Errorf("port %d from %s, origins %v; want %d from %s, %v", *f.port, source["port"], f.origins, tc.port, tc.portFrom, tc.origins)
			}
			// What only the machine's file sets still comes from it.
			if *f.comune != "F205" || !*f.logJSON || !strings.HasSuffix(source["comune"], "etc/autografo.toml:3") || source["poll"] != "default" {
				t.Errorf("comune %q log-json %v from %q, poll from %q", *f.comune, *f.logJSON, source["comune"], source["poll"])
			}
		})
	}
}

func TestConfigurationErrorsNameTheKeyTheFileAndTheLine(t *testing.T) {
	for _, tc := range []struct {
		name, user string
		vars       map[string]string
		want       []string
	}{
		{"a key misspelt", "comune = \"F205\"\nprot = 8733\n", nil, []string{"autografo.toml:2: prot: no such setting", "did you mean port?"}},
		{"a value the flag refuses", "\n\nport = \"ottomila\"\n", nil, []string{"autografo.toml:3: port:", "it takes: port on 127.0.0.1"}},
		{"a duration without its unit", "retention = 7\n", nil, []string{"autografo.toml:1: retention:", "it takes: how long images stay"}},
		{"a list where one value goes", "comune = [\"F205\", \"A944\"]\n", nil, []string{"autografo.toml:1: comune: a list where one value goes"}},
		{"not TOML", "port = 8733\nallow-origin = [\"https://a.example\"\n", nil, []string{"autografo.toml:", "(syntax)", "each line is key = value"}},
		{"a table", "[seal]\np12 = \"x\"\n", nil, []string{"autografo.toml:1: seal: no such setting"}},
		{"a variable the flag refuses", "", map[string]string{"AUTOGRAFO_LOG_JSON": "forse"}, []string{"AUTOGRAFO_LOG_JSON: log-json:", "it takes: log as JSON lines"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, _ := newServeFlags("serve", io.Discard)
			_, err := configure(fs, nil, configEnv(t, "", tc.user, tc.vars))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("configure: %v, want a ConfigError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
		})
	}
}

// docs/autografo.toml is what `autografo config example` prints: the same
// table of settings the code reads.
func TestExampleConfigurationIsCurrent(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"config", "example"}, &out, &errb); code != 0 {
		t.Fatalf("config example: %d %s", code, errb.String())
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "docs", "autografo.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("docs/autografo.toml is not what config example prints: run go run ./cmd/autografo config example > docs/autografo.toml")
	}
	// Uncommented, the example is a valid configuration that changes
	// nothing but the two personal paths it leaves empty.
	var file strings.Builder
	for _, line := range strings.Split(out.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "# "); ok && strings.Contains(v, " = ") && !strings.HasPrefix(v, "store =") && !strings.HasPrefix(v, "state-dir =") {
			file.WriteString(v + "\n")
		}
	}
	fs, _ := newServeFlags("serve", io.Discard)
	source, err := configure(fs, nil, configEnv(t, "", file.String(), nil))
	if err != nil {
		t.Fatalf("the example uncommented: %v\n%s", err, file.String())
	}
	if !strings.Contains(source["port"], "autografo.toml:") || source["sim"] != "default" {
		t.Errorf("sources %v", source)
	}
}

// `autografo config show` says what is in force and where it came from;
// `serve` takes its settings from the user's file.
func TestServeTakesItsSettingsFromTheFiles(t *testing.T) {
	dir := t.TempDir()
	port := freeLoopbackPort(t)
	user := "port = " + strconv.Itoa(port) + "\nsaned = \"\"\nsim = true\nusb = false\nmdns = false\nlog-json = true\n" +
		"store = \"" + filepath.Join(dir, "store") + "\"\nstate-dir = \"" + filepath.Join(dir, "state") + "\"\n"
	os.MkdirAll(filepath.Join(dir, "config", "autografo"), 0o755)
	os.WriteFile(filepath.Join(dir, "config", "autografo", "autografo.toml"), []byte(user), 0o644)
	env := append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "AUTOGRAFO_SYSTEM_CONFIG="+filepath.Join(dir, "none.toml"),
		"AUTOGRAFO_POLL=300ms")
	show := exec.Command(agentBinary(t), "config", "show", "--comune", "F205")
	show.Env = env
	out, err := show.Output()
	if err != nil {
		t.Fatalf("config show: %v", err)
	}
	for _, want := range []string{"port = " + strconv.Itoa(port) + "\t# " + filepath.Join(dir, "config", "autografo", "autografo.toml") + ":1",
		`poll = "300ms"` + "\t# AUTOGRAFO_POLL", `comune = "F205"` + "\t# command line", `ticket-audience = "autografo"` + "\t# default", "allow-origin = []\t# default"} {
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("config show does not say %q:\n%s", want, out)
		}
	}

	serve := exec.Command(agentBinary(t), "serve")
	serve.Env = env
	logs, err := serveOnce(t, serve, "Autografo è pronto su http://127.0.0.1:"+strconv.Itoa(port)+"/", nil)
	if err != nil {
		t.Fatalf("serve from the file: %v\n%s", err, logs)
	}
	if !strings.HasPrefix(strings.TrimSpace(logs), "{") {
		t.Errorf("log-json from the file was not taken:\n%s", logs)
	}
	if _, err := os.Stat(filepath.Join(dir, "store", "autografo.db")); err != nil {
		t.Errorf("the store is not where the file puts it: %v", err)
	}

	// A file serve refuses: status 2, and the key, the file and the line.
	os.WriteFile(filepath.Join(dir, "config", "autografo", "autografo.toml"), []byte(user+"retention = \"una settimana\"\n"), 0o644)
	bad := exec.Command(agentBinary(t), "serve")
	bad.Env = env
	msg, err := bad.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(msg), "autografo.toml:9: retention:") {
		t.Errorf("serve with a bad file: %v\n%s", err, msg)
	}
}
