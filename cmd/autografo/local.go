package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/autografo/autografo/agent/private"
)

// runtimeInfo is what a running agent tells the local command line: where it
// is and the secret that lets `autografo open` and `autografo pair` ask it
// for pairings. The file is readable by the user alone, so only the person
// at the keyboard (not a web page) can pair a browser.
type runtimeInfo struct {
	URL    string `json:"url"`
	Port   int    `json:"port"`
	PID    int    `json:"pid"`
	Secret string `json:"secret"`
}

const runtimeFile = "agent.json"

// storeLockFile, in the store's folder, is held by the agent that uses it.
const storeLockFile = "agent.lock"

func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// writeRuntime writes the runtime file, private to its user.
func writeRuntime(dir string, info runtimeInfo) (string, error) {
	data, err := json.Marshal(info)
	if err != nil {
		return "", err
	}
	return writePrivate(dir, runtimeFile, data)
}

// writePrivate writes a file with mode 0600 in the 0700 directory dir,
// atomically, so a reader never sees half of it, and returns its path.
func writePrivate(dir, name string, data []byte) (string, error) {
	if err := private.MkdirAll(dir); err != nil {
		return "", fmt.Errorf("state directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	if err := private.Restrict(tmp.Name()); err != nil {
		tmp.Close()
		return "", err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	return path, os.Rename(tmp.Name(), path)
}

func readRuntime(dir string) (runtimeInfo, error) {
	var info runtimeInfo
	data, err := os.ReadFile(filepath.Join(dir, runtimeFile))
	if errors.Is(err, os.ErrNotExist) {
		return info, fmt.Errorf("the agent is not running for this user (no %s in %s): start it with `autografo serve`", runtimeFile, dir)
	}
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return info, fmt.Errorf("runtime file %s: %w", filepath.Join(dir, runtimeFile), err)
	}
	return info, nil
}

type pairReply struct {
	Token   string    `json:"token"`
	Code    string    `json:"code"`
	URL     string    `json:"url"`
	Expires time.Time `json:"expires"`
}

func askPairing(dir, kind string) (pairReply, error) {
	var out pairReply
	return out, adminCall(dir, "v1/admin/pair", map[string]string{"kind": kind}, &out)
}

// localFlags is the flag set of a command that talks to the running
// agent: where its runtime file is.
func localFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs, fs.String("state-dir", defaultStateDir(), "where the running agent keeps its runtime file")
}

// adminCall posts body to the running agent's admin endpoint path, with
// the runtime file's secret, and decodes its JSON answer into out.
func adminCall(dir, path string, body, out any) error {
	info, err := readRuntime(dir)
	if err != nil {
		return err
	}
	return adminPost(info, path, body, out)
}

// adminPost is adminCall for a runtime file already read.
func adminPost(info runtimeInfo, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest("POST", info.URL+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+info.Secret)
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("the agent does not answer at %s: %w", info.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("the agent refused the request: %s %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

// stopCmd asks the running agent to stop and waits until its process has
// ended: a windowless agent started at logon has no other way to be told.
func stopCmd(args []string, stdout, stderr io.Writer) int {
	fs, dir := localFlags("stop", stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	info, err := readRuntime(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "autografo: no running agent:", err)
		return 1
	}
	var out struct{ Stopping bool }
	if err := adminPost(info, "v1/admin/stop", struct{}{}, &out); err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	// Stopping ends running captures first; the process is watched, not
	// timed, and the user can interrupt the wait.
	for processAlive(info.PID) {
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintln(stdout, "Autografo si è fermato.")
	return 0
}

// sessionsCmd lists the running agent's sessions, or ends one: its tabs
// are disconnected and a paired tab must pair again.
func sessionsCmd(args []string, stdout, stderr io.Writer) int {
	fs, dir := localFlags("sessions", stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: autografo sessions [list] | autografo sessions end ID")
		fs.PrintDefaults()
	}
	// The words first (sessions end ID --state-dir D) or after the flags.
	var words []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		words, args = append(words, args[0]), args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	words = append(words, fs.Args()...)
	body := map[string]string{}
	switch {
	case len(words) == 0 || len(words) == 1 && words[0] == "list":
	case len(words) == 2 && words[0] == "end" && words[1] != "":
		body["end"] = words[1]
	default:
		fs.Usage()
		return 2
	}
	var out struct {
		Sessions []struct {
			ID, Via, Operator, Comune, Origin string
			Expires                           time.Time
			Connections                       int
		}
		Ended bool
	}
	if err := adminCall(*dir, "v1/admin/sessions", body, &out); err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	if body["end"] != "" {
		if !out.Ended {
			fmt.Fprintf(stderr, "autografo: no session %s\n", body["end"])
			return 1
		}
		fmt.Fprintf(stdout, "Sessione %s chiusa.\n", body["end"])
		return 0
	}
	if len(out.Sessions) == 0 {
		fmt.Fprintln(stdout, "Nessuna sessione.")
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tVIA\tOPERATORE\tCOMUNE\tORIGINE\tSCADE\tCOLLEGAMENTI")
	for _, s := range out.Sessions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", s.ID, s.Via, s.Operator, s.Comune, s.Origin, s.Expires.Local().Format("02/01 15:04"), s.Connections)
	}
	tw.Flush()
	return 0
}

// launchPrefix names the launch files openCmd leaves in the state
// directory.
const launchPrefix = "open-"

// writeLaunch writes, in the owner's 0700 state directory, a 0600 page
// that sends the browser on to the agent's page with the one-time token in
// the URL fragment, and returns its file:// URL. The browser is started
// with that URL: a command line is readable by every user of the machine
// (/proc/PID/cmdline), the file only by its owner. Earlier launch files go.
func writeLaunch(dir, pageURL string) (string, error) {
	old, _ := filepath.Glob(filepath.Join(dir, launchPrefix+"*.html"))
	for _, o := range old {
		os.Remove(o)
	}
	page := `<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer">` +
		`<meta http-equiv="refresh" content="0;url=` + html.EscapeString(pageURL) + `"><title>Autografo</title>` +
		`<p>Apertura della pagina di Autografo…</p>` + "\n"
	path, err := writePrivate(dir, launchPrefix+rand.Text()+".html", []byte(page))
	if err != nil {
		return "", err
	}
	return fileURL(path)
}

// fileURL is a file's file:// URL: file:///home/u/x on Unix,
// file:///C:/Users/u/x on Windows (a drive's path gains a slash).
func fileURL(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return (&url.URL{Scheme: "file", Path: p}).String(), nil
}

// openCmd asks the running agent for a one-time pairing token and opens the
// page with it, through a launch file only the owner can read.
func openCmd(args []string, stdout, stderr io.Writer) int {
	fs, dir := localFlags("open", stderr)
	printOnly := fs.Bool("print", false, "print the launch file's address instead of opening a browser")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	r, err := askPairing(*dir, "token")
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	launch, err := writeLaunch(*dir, r.URL)
	if err != nil {
		fmt.Fprintln(stderr, "autografo: writing the launch file:", err)
		return 1
	}
	if *printOnly {
		fmt.Fprintln(stdout, launch)
		return 0
	}
	opener := "xdg-open"
	switch runtime.GOOS {
	case "darwin":
		opener = "open"
	case "windows":
		opener = "explorer"
	}
	if b := os.Getenv("BROWSER"); b != "" {
		opener = b
	}
	if err := exec.Command(opener, launch).Start(); err != nil {
		fmt.Fprintf(stderr, "autografo: cannot start a browser (%v); open this address by hand:\n", err)
		fmt.Fprintln(stdout, launch)
		return 1
	}
	fmt.Fprintln(stdout, "Pagina di Autografo aperta nel browser.")
	return 0
}

// pairCmd prints a pairing code for a browser opened by hand.
func pairCmd(args []string, stdout, stderr io.Writer) int {
	fs, dir := localFlags("pair", stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	r, err := askPairing(*dir, "code")
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	fmt.Fprintf(stdout, "Codice di abbinamento: %s (valido fino alle %s)\n", r.Code, r.Expires.Local().Format("15:04"))
	return 0
}
