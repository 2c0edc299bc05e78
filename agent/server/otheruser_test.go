package server_test

import (
	"bufio"
	"encoding/json"
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
	// Whose agent it says it is, as a page looking for its own would ask.
	resp, err := http.Get("http://" + strings.TrimSuffix(strings.TrimPrefix(f[0], "ws://"), "/v1/ws") + "/v1/agent")
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	var info struct{ User string }
	json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	held, refused := 0, map[int]int{}
	var conns []*websocket.Conn
	for range n {
		c, resp, err := websocket.DefaultDialer.Dial(f[0], http.Header{"Origin": {f[1]}})
		switch {
		case err == nil:
			held++
			conns = append(conns, c)
		case resp != nil:
			refused[resp.StatusCode]++
		default:
			fmt.Println("error", err)
			return 1
		}
	}
	fmt.Println("agent of", info.User, "held", held, "refused", refused)
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
	return 0
}

// Another user of the workstation opens websockets with the page's own
// Origin (a program can send any): the agent is not theirs (each user has
// their own, with their own store), so every one is refused, and the
// owner's tab still connects.
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
	if strings.TrimSpace(line) != "agent of other held 0 refused map[403:20]" {
		t.Fatalf("the other user's program: %q, want told the agent is another's and all 20 refused (403)", line)
	}
	// The owner's tab, same origin, while those are held.
	tab := connect(t, f)
	tab.hello()
	if !strings.Contains(f.logs.String(), `user=65534`) {
		t.Errorf("the refusals do not name the other user:\n%s", f.logs)
	}
	attacklog.Record(t, "another OS user's program opens websockets with the page's own Origin (20 dials, held open)",
		"GET /v1/agent tells it the agent is another user's; every websocket is refused (403); the owner's tab, same origin, still connects",
		strings.TrimSpace(line)+"; the owner's tab connected and said hello")
}
