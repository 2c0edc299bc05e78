package server_test

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/autografo/autografo/agent/server"
)

// twoFreePorts finds a port free on the loopback addresses with the one
// after it free too.
func twoFreePorts(t *testing.T) int {
	t.Helper()
	free := func(port int) bool {
		for _, host := range []string{"127.0.0.1", "::1"} {
			l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
			if err != nil {
				if host == "::1" && !server.AddrInUse(err) {
					continue // no IPv6 loopback here
				}
				return false
			}
			l.Close()
		}
		return true
	}
	for {
		probe, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := probe.Addr().(*net.TCPAddr).Port
		probe.Close()
		if port < 65535 && free(port) && free(port+1) {
			return port
		}
	}
}

// On a machine shared by several users each one's agent takes the first
// of its ports that is free: another user's agent holding the first moves
// this one to the next; with one port only, that is a refusal.
func TestAHeldPortMovesTheAgentToTheNext(t *testing.T) {
	port := twoFreePorts(t)
	held, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	srv, err := server.New(nil, nil, server.Options{Port: port, Ports: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); !server.AddrInUse(err) {
		srv.Close()
		t.Fatalf("one port, held: %v", err)
	}
	srv, err = server.New(nil, nil, server.Options{Port: port, Ports: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatalf("three ports, the first held: %v", err)
	}
	defer srv.Close()
	if srv.Port() <= port || srv.Port() >= port+3 {
		t.Errorf("listening on %d, want one of the two after %d", srv.Port(), port)
	}
}

// GET /v1/agent tells a page looking for its user's agent whether this
// is it: from this process, it is, and an allowed app may read that.
func TestTheAgentSaysWhoseItIs(t *testing.T) {
	f := start(t, server.Options{})
	for _, origin := range []string{appOrigin, "https://evil.example"} {
		req, _ := http.NewRequest("GET", "http://"+f.base+"/v1/agent", nil)
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var info struct {
			Autografo bool   `json:"autografo"`
			Port      int    `json:"port"`
			User      string `json:"user"`
		}
		err = json.NewDecoder(resp.Body).Decode(&info)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !info.Autografo || info.User != "yours" || strconv.Itoa(info.Port) != portOfBase(t, f.base) {
			t.Errorf("GET /v1/agent from the agent's own user: %+v", info)
		}
		allow := resp.Header.Get("Access-Control-Allow-Origin")
		if origin == appOrigin && allow != appOrigin || origin != appOrigin && allow != "" {
			t.Errorf("Origin %s: Access-Control-Allow-Origin %q", origin, allow)
		}
	}
}

func portOfBase(t *testing.T, base string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(base)
	if err != nil {
		t.Fatal(errors.New(base))
	}
	return p
}
