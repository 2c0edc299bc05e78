// Package sanedtest starts a real saned serving SANE's test backend, from
// private configuration directories, on a free loopback port, for tests
// anywhere in the project.
package sanedtest

import (
	"bytes"
	"context"
	"image"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/autografo/autografo/scanner/pnm"
	"github.com/autografo/autografo/scanner/scannertest"
)

// Need finds a program of sane-utils (saned lives in /usr/sbin).
func Need(t testing.TB, name string) string { return scannertest.Need(t, name) }

// Options configure the daemon.
type Options struct {
	Users string // contents of saned.users: enables authorization
	Port  int    // 0: a free port
}

// Saned is a running saned.
type Saned struct {
	Addr      string
	ServerDir string // its SANE_CONFIG_DIR
	cmd       *exec.Cmd
	log       *syncBuffer
	once      sync.Once
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs saned until the test ends. It fails the test when saned cannot
// start: a missing peer is not a pass.
func Start(t testing.TB, o Options) *Saned {
	t.Helper()
	saned := Need(t, "saned")
	server := filepath.Join(t.TempDir(), "server")
	if err := os.MkdirAll(server, 0o755); err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile("/etc/sane.d/test.conf")
	if err != nil {
		t.Fatalf("SANE's test backend configuration: %v", err)
	}
	// The stock geometry stops at 200 mm, narrower than A4.
	conf = bytes.ReplaceAll(conf, []byte("geometry_max 200.0"), []byte("geometry_max 300.0"))
	files := map[string]string{"dll.conf": "test\n", "test.conf": string(conf), "saned.conf": "127.0.0.1\n"}
	if o.Users != "" {
		files["saned.users"] = o.Users
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(server, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	port := o.Port
	if port == 0 {
		port = FreePort(t)
	}
	s := &Saned{Addr: "127.0.0.1:" + strconv.Itoa(port), ServerDir: server, log: &syncBuffer{}}
	s.cmd = exec.Command(saned, "-l", "-e", "-b", "127.0.0.1", "-p", strconv.Itoa(port))
	s.cmd.Env = append(os.Environ(), "SANE_CONFIG_DIR="+server)
	s.cmd.Stderr, s.cmd.Stdout = s.log, s.log
	// Its own process group: saned forks a child per connection, and Kill
	// must stop the one sending a page too.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting saned: %v", err)
	}
	t.Cleanup(s.Kill)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("saned did not listen on %s: %v\n%s", s.Addr, err, s.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Log is what saned printed.
func (s *Saned) Log() string { return s.log.String() }

// Kill stops saned and every child it forked, by process group, and waits
// for it (no zombie left behind).
func (s *Saned) Kill() {
	s.once.Do(func() {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		_ = s.cmd.Wait()
	})
}

// Scanimage scans locally, without the network, on the same test backend:
// the reference image for a test.
func (s *Saned) Scanimage(t testing.TB, args ...string) image.Image {
	t.Helper()
	var out, errb bytes.Buffer
	// A reference scan takes a second. Once in a CI run the test
	// backend's reader hung scanimage for twenty minutes: a run that has
	// not ended in two minutes is such a hang, not slowness, and is tried
	// again.
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, Need(t, "scanimage"), append([]string{"-d", "test:0", "--format=pnm"}, args...)...)
		cmd.Env = append(os.Environ(), "SANE_CONFIG_DIR="+s.ServerDir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) } // its reader process too
		cmd.WaitDelay = 10 * time.Second
		out.Reset()
		errb.Reset()
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		hung := ctx.Err() != nil
		cancel()
		if err == nil {
			break
		}
		if !hung || try == 3 {
			t.Fatalf("scanimage %v: %v (try %d)\n%s", args, err, try, errb.String())
		}
		t.Logf("scanimage %v hung (try %d), killed: %s", args, try, errb.String())
	}
	img, err := pnm.Decode(&out)
	if err != nil {
		t.Fatalf("scanimage output: %v", err)
	}
	return img
}
