//go:build !windows

// Package sanedtest starts a real saned serving SANE's test backend, from
// private configuration directories, on a free loopback port, for tests
// anywhere in the project.
package sanedtest

import (
	"bytes"
	"image"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
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
	exited    chan struct{} // closed when saned has ended and been waited for
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
func (s *syncBuffer) Len() int       { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Len() }
func (s *syncBuffer) Reset()         { s.mu.Lock(); defer s.mu.Unlock(); s.b.Reset() }

// Bytes is a copy of what was written.
func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

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
	s.exited = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(s.Kill)
	// No deadline: saned either listens or ends (a bad configuration, a
	// port taken), however busy the machine is.
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
			return s
		}
		select {
		case <-s.exited:
			t.Fatalf("saned ended without listening on %s: %v\n%s", s.Addr, err, s.log)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Log is what saned printed.
func (s *Saned) Log() string { return s.log.String() }

// Kill stops saned and every child it forked, by process group, and waits
// for it (no zombie left behind).
func (s *Saned) Kill() {
	s.once.Do(func() {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	})
}

// Scanimage scans locally, without the network, on the same test backend:
// the reference image for a test.
func (s *Saned) Scanimage(t testing.TB, args ...string) image.Image {
	t.Helper()
	var out, errb syncBuffer
	// A reference scan takes a second. Once in a CI run the test
	// backend's reader hung scanimage for twenty minutes, every process
	// asleep and nothing written. Such a run is killed and tried again;
	// one that progresses, however slowly, is left to finish.
	for try := 1; ; try++ {
		cmd := exec.Command(Need(t, "scanimage"), append([]string{"-d", "test:0", "--format=pnm"}, args...)...)
		cmd.Env = append(os.Environ(), "SANE_CONFIG_DIR="+s.ServerDir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its reader process in the same group
		out.Reset()
		errb.Reset()
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatalf("scanimage %v: %v", args, err)
		}
		done := make(chan struct{})
		var hung atomic.Bool
		go watchForStall(cmd.Process.Pid, out.Len, 5*time.Second, 6, done, func() {
			hung.Store(true)
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		})
		err := cmd.Wait()
		close(done)
		if err == nil {
			break
		}
		if !hung.Load() || try == 3 {
			t.Fatalf("scanimage %v: %v (try %d)\n%s", args, err, try, errb.String())
		}
		t.Logf("scanimage %v stalled (try %d), killed: %s", args, try, errb.String())
	}
	img, err := pnm.Decode(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatalf("scanimage output: %v", err)
	}
	return img
}
