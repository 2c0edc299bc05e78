package seal

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/digitorus/timestamp"
)

// ErrTimestamp is a timestamp authority that could not be reached in time,
// or that refused: the signature was not made, and may be made again
// without a timestamp.
var ErrTimestamp = errors.New("seal: timestamp authority unavailable")

// maxTimestampReply bounds what is read of a TSA's answer: a reply is a few
// kilobytes (a token with the TSA's certificates).
const maxTimestampReply = 1 << 20

// TSA asks an RFC 3161 timestamp authority for the tokens pdfsign embeds.
// pdfsign calls the authority itself, with an HTTP client that has no
// timeout: on a laptop with no network, at a home visit, a signature would
// hang for as long as the connection does. So pdfsign is pointed at a
// relay on the loopback interface, which forwards each request with a
// client that gives up in time, and remembers why it failed.
type TSA struct {
	target           *url.URL
	client           *http.Client
	username, secret string

	ln  net.Listener
	srv *http.Server

	mu       sync.Mutex
	sessions map[string]*tsaSession
}

// tsaSession is one signature's use of the relay: its own unguessable
// path, so that no other local program can use the authority (and its
// credentials) through it, and the failure, if any.
type tsaSession struct {
	path string
	mu   sync.Mutex
	err  error
}

func (s *tsaSession) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

func (s *tsaSession) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// NewTSA starts the relay to the authority at target. client makes the
// requests (its Timeout bounds each); username and password, when given,
// are sent as HTTP basic authentication. Close stops the relay.
func NewTSA(target string, client *http.Client, username, password string) (*TSA, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: the timestamp authority's address %q is not an http or https URL", ErrCredentials, target)
	}
	if client == nil || client.Timeout <= 0 {
		return nil, fmt.Errorf("seal: the timestamp authority's client needs a timeout")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("seal: timestamp relay: %w", err)
	}
	t := &TSA{target: u, client: client, username: username, secret: password, ln: ln, sessions: map[string]*tsaSession{}}
	t.srv = &http.Server{Handler: http.HandlerFunc(t.relay), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = t.srv.Serve(ln) }()
	return t, nil
}

// Authority is the timestamp authority's address, for logs and reports.
func (t *TSA) Authority() string { return t.target.Redacted() }

// Close stops the relay.
func (t *TSA) Close() error { return t.srv.Close() }

// session opens a path on the relay for one signature.
func (t *TSA) session() (*tsaSession, string) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	s := &tsaSession{path: "/" + hex.EncodeToString(b[:])}
	t.mu.Lock()
	t.sessions[s.path] = s
	t.mu.Unlock()
	return s, "http://" + t.ln.Addr().String() + s.path
}

func (t *TSA) end(s *tsaSession) {
	t.mu.Lock()
	delete(t.sessions, s.path)
	t.mu.Unlock()
}

// relay forwards one timestamp request to the authority.
func (t *TSA) relay(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	s := t.sessions[r.URL.Path]
	t.mu.Unlock()
	if s == nil || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		s.fail(err)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	reply, err := t.ask(r.Context(), body)
	if err != nil {
		s.fail(err)
		http.Error(w, "timestamp authority unavailable", http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	_, _ = w.Write(reply)
}

// ask sends a request to the authority and returns its reply.
func (t *TSA) ask(ctx context.Context, query []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.target.String(), bytes.NewReader(query))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/timestamp-query")
	if t.username != "" {
		req.SetBasicAuth(t.username, t.secret)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("timestamp authority %s: %w", t.Authority(), err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, maxTimestampReply+1))
	if err != nil {
		return nil, fmt.Errorf("timestamp authority %s: reading the reply: %w", t.Authority(), err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("timestamp authority %s answered %s", t.Authority(), resp.Status)
	}
	if len(reply) > maxTimestampReply {
		return nil, fmt.Errorf("timestamp authority %s: a reply over %d bytes", t.Authority(), maxTimestampReply)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/timestamp-reply") {
		return nil, fmt.Errorf("timestamp authority %s answered %q, not a timestamp reply", t.Authority(), ct)
	}
	// A reply that refuses (a bad policy, the authority's own trouble) is
	// the authority's failure too, not the document's.
	if _, err := timestamp.ParseResponse(reply); err != nil {
		return nil, fmt.Errorf("timestamp authority %s: %w", t.Authority(), err)
	}
	return reply, nil
}
