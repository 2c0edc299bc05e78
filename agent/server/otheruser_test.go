package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/autografo/autografo/agent/auth/attacklog"
	"github.com/autografo/autografo/agent/server"
	"github.com/autografo/autografo/scanner/scannertest"
)

// holdEnv makes the test binary a program of another user that opens
// websockets and holds them until its input closes: "URL ORIGIN N".
const holdEnv = "AUTOGRAFO_TEST_HOLD_WEBSOCKETS"

func TestMain(m *testing.M) {
	if spec := os.Getenv(holdEnv); spec != "" {
		os.Exit(holdWebsockets(spec))
	}
	os.Exit(m.Run())
}

func holdWebsockets(spec string) int {
	f := strings.Fields(spec)
	n, _ := strconv.Atoi(f[2])
	held, refused := 0, 0
	var conns []*websocket.Conn
	for range n {
		c, resp, err := websocket.DefaultDialer.Dial(f[0], http.Header{"Origin": {f[1]}})
		switch {
		case err == nil:
			held++
			conns = append(conns, c)
		case resp != nil && resp.StatusCode == http.StatusTooManyRequests:
			refused++
		default:
			fmt.Println("error", err)
			return 1
		}
	}
	fmt.Println("held", held, "refused", refused)
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
	return 0
}

// Another user of the workstation opens websockets with the page's own
// Origin (a program can send any) and holds them: it meets its own caps,
// and the owner's tab still connects.
func TestAttackAnotherUsersSocketsDoNotStarveTheOwner(t *testing.T) {
	f := start(t, server.Options{ConnectionsPerOrigin: 8, ConnectionsPerUser: 8, MaxConnections: 32})
	// The test binary, where another user may run it.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "holder")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := scannertest.AsOtherUser(t, bin)
	cmd.Env = append(os.Environ(), holdEnv+"=ws://"+f.base+"/v1/ws "+f.origin()+" 20")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(line) != "held 8 refused 12" {
		t.Fatalf("the other user's program: %q, want 8 held and 12 refused", line)
	}
	// The owner's tab, same origin, while those are held.
	tab := connect(t, f)
	tab.hello()
	if !strings.Contains(f.logs.String(), `user=65534`) {
		t.Errorf("the refusals do not name the other user:\n%s", f.logs)
	}
	attacklog.Record(t, "another OS user's program holds websockets with the page's own Origin (20 dials, held open)",
		"that user meets its own caps (8 per origin); the owner's tab, same origin, still connects",
		strings.TrimSpace(line)+"; the owner's tab connected and said hello")
}
