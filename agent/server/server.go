// Package server is Autografo's HTTP face: the embedded page and the
// websocket, on loopback only, behind a Host check (DNS rebinding) and an
// exact Origin allowlist.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/autografo/autografo/agent"
	"github.com/autografo/autografo/agent/auth"
)

// DefaultPort is where Autografo listens unless told otherwise, and
// DefaultPorts how many ports from it an agent tries: on a machine shared
// by several users (fast user switching, Remote Desktop) each user's agent
// takes the first one free, and a page finds its own with GET /v1/agent.
const (
	DefaultPort  = 8733
	DefaultPorts = 10
)

// Options configure a Server.
type Options struct {
	// Port on 127.0.0.1 and [::1]; 0 picks a free one.
	Port int
	// Ports is how many ports from Port are tried in turn while each is
	// held by another program (another user's agent); 1 when unset.
	Ports int
	// Hosts to bind; default 127.0.0.1 and ::1. Only loopback addresses
	// are accepted.
	Hosts []string
	// AllowedOrigins may open the websocket, in addition to the embedded
	// page's own origins. Exact match, e.g. "https://side.comune.milano.it".
	AllowedOrigins []string
	Logger         *slog.Logger
	// SendQueue bounds the messages waiting for one slow browser tab
	// (default 256); a tab that falls further behind is disconnected.
	SendQueue int
	// MessagesPerSecond from one connection (default 20, burst twice that).
	MessagesPerSecond float64
	// ConnectionsPerOrigin bounds the websockets open at once from one
	// origin (default 8), ConnectionsPerUser those of one local user
	// (default 16), and MaxConnections all of them (default 32). A
	// connection's user is the owner of its other end, where the system
	// tells (Linux); the origin cap counts per user too, since a local
	// program can send any Origin: another user of the workstation holding
	// sockets meets only its own caps, never the owner's.
	ConnectionsPerOrigin int
	ConnectionsPerUser   int
	MaxConnections       int
	// HelloTimeout closes a connection that has not authenticated by then
	// (default 10s).
	HelloTimeout time.Duration
	// PongWait closes a websocket silent that long: no message and no
	// pong to the pings sent every 25 s (default 60 s).
	PongWait time.Duration
	// IdleTimeout closes a keep-alive HTTP connection idle that long
	// (default 2 minutes): idle sockets held open would exhaust the
	// agent's file descriptors.
	IdleTimeout time.Duration
	// RefusalLogWindow is how often each kind of refusal is logged in
	// full (default 10s); the others are counted (refusalLog).
	RefusalLogWindow time.Duration
	// Pairing issues pairing tokens and codes to the local command line
	// (`autografo open`, `autografo pair`) that shows AdminSecret.
	Pairing     *auth.Pairing
	AdminSecret string
	// Stop, when set, is called by POST /v1/admin/stop (`autografo stop`):
	// the way to end an agent that has no console to press Ctrl+C in,
	// and no service manager to send it a signal (Windows' logon start).
	Stop func()
}

// Server serves the page and the websocket.
type Server struct {
	agent     *agent.Agent
	ui        fs.FS
	opts      Options
	log       *slog.Logger
	listeners []net.Listener
	port      int
	self      string // the local user this agent runs as, as peerUser names users
	origins   map[string]bool
	httpSrv   *http.Server
	conns     sync.WaitGroup
	refused   *refusalLog

	connMu    sync.Mutex
	perOrigin map[string]int // by user and origin
	perUser   map[string]int
	total     int
	closing   bool // set under connMu once Serve waits on conns: no more Add
}

// New returns a server for the agent and the page files.
func New(a *agent.Agent, ui fs.FS, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if len(opts.Hosts) == 0 {
		opts.Hosts = []string{"127.0.0.1", "::1"}
	}
	for _, h := range opts.Hosts {
		ip, err := netip.ParseAddr(h)
		if err != nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("server: refusing to listen on %q: only loopback addresses are allowed", h)
		}
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("server: port %d out of range", opts.Port)
	}
	for _, o := range opts.AllowedOrigins {
		if o == "" || o == "*" || o == "null" || strings.HasSuffix(o, "/") || !strings.Contains(o, "://") {
			return nil, fmt.Errorf("server: allowed origin %q must be an exact scheme://host[:port]", o)
		}
	}
	if opts.SendQueue <= 0 {
		opts.SendQueue = 256
	}
	if opts.Ports <= 0 {
		opts.Ports = 1
	}
	if opts.Port > 0 {
		opts.Ports = min(opts.Ports, 65536-opts.Port) // none beyond the last port
	}
	if opts.MessagesPerSecond <= 0 {
		opts.MessagesPerSecond = 20
	}
	if opts.ConnectionsPerOrigin <= 0 {
		opts.ConnectionsPerOrigin = 8
	}
	if opts.MaxConnections <= 0 {
		opts.MaxConnections = 32
	}
	if opts.ConnectionsPerUser <= 0 {
		opts.ConnectionsPerUser = 16
	}
	if opts.HelloTimeout <= 0 {
		opts.HelloTimeout = 10 * time.Second
	}
	if opts.PongWait <= 0 {
		opts.PongWait = 60 * time.Second
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 2 * time.Minute
	}
	if opts.RefusalLogWindow <= 0 {
		opts.RefusalLogWindow = 10 * time.Second
	}
	return &Server{agent: a, ui: ui, opts: opts, log: opts.Logger, self: ownUser(), perOrigin: map[string]int{}, perUser: map[string]int{},
		refused: newRefusalLog(opts.Logger, opts.RefusalLogWindow)}, nil
}

// Listen binds the loopback addresses. With port 0 the first address picks a
// free port and the others take the same one.
func (s *Server) Listen() error {
	port, err := s.listenAll(s.opts.Port)
	for next := s.opts.Port + 1; err != nil && s.opts.Port != 0 && AddrInUse(err) && next < s.opts.Port+s.opts.Ports; next++ {
		s.log.Info("port held by another program: trying the next", "port", next-1)
		port, err = s.listenAll(next)
	}
	// With port 0 the system picks a port for the first address; another
	// program may hold it on the second, so a few picks are tried.
	for tries := 1; err != nil && s.opts.Port == 0 && AddrInUse(err) && tries < 5; tries++ {
		port, err = s.listenAll(0)
	}
	if err != nil {
		return err
	}
	s.port = port
	s.origins = map[string]bool{}
	for _, o := range s.PageOrigins() {
		s.origins[o] = true
	}
	for _, o := range s.opts.AllowedOrigins {
		s.origins[o] = true
	}
	return nil
}

// ListenError says which loopback address could not be bound, and why.
// Another program holding [::1] on our port would serve its own page to a
// browser that sends localhost there, so that is a refusal, not a warning.
type ListenError struct {
	Host string
	Port int
	Err  error
}

func (e *ListenError) Error() string {
	msg := fmt.Sprintf("server: cannot listen on %s port %d: %v", e.Host, e.Port, e.Err)
	if AddrInUse(e.Err) {
		msg += " (another program holds it: stop it, or choose another --port)"
	}
	return msg
}

func (e *ListenError) Unwrap() error { return e.Err }

// listenAll binds every host on port (0: the first one's pick), or none.
// Only a machine without an IPv6 loopback at all may go without [::1].
func (s *Server) listenAll(port int) (int, error) {
	var lns []net.Listener
	for i, h := range s.opts.Hosts {
		ln, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(port)))
		if err != nil {
			if i > 0 && strings.Contains(h, ":") && addrUnavailable(err) {
				s.log.Warn("IPv6 loopback unavailable: listening on 127.0.0.1 only", "err", err)
				continue
			}
			for _, l := range lns {
				l.Close()
			}
			return 0, &ListenError{Host: h, Port: port, Err: err}
		}
		if port == 0 {
			port = ln.Addr().(*net.TCPAddr).Port
		}
		lns = append(lns, ln)
	}
	s.listeners = lns
	return port, nil
}

// PageOrigins are the origins of the embedded page, once listening.
func (s *Server) PageOrigins() []string {
	port := strconv.Itoa(s.port)
	return []string{"http://127.0.0.1:" + port, "http://localhost:" + port, "http://[::1]:" + port}
}

// SetPairing gives the server the pairing it issues tokens and codes from;
// call it before Serve.
func (s *Server) SetPairing(p *auth.Pairing) { s.opts.Pairing = p }

// Close releases the listeners of a server that will not Serve.
func (s *Server) Close() {
	for _, ln := range s.listeners {
		ln.Close()
	}
}

// Port is the port listened on, after Listen.
func (s *Server) Port() int { return s.port }

// URL of the embedded page.
func (s *Server) URL() string { return "http://127.0.0.1:" + strconv.Itoa(s.port) + "/" }

// Handler is the whole HTTP handler, middleware included.
func (s *Server) Handler(ctx context.Context) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /v1/ws", s.websocket(ctx))
	mux.Handle("POST /v1/admin/pair", http.HandlerFunc(s.adminPair))
	mux.Handle("POST /v1/admin/sessions", http.HandlerFunc(s.adminSessions))
	mux.Handle("POST /v1/admin/stop", http.HandlerFunc(s.adminStop))
	// For monitoring: no secret and no act's data, so no pairing; the
	// Host check still applies, and no page of another origin can read it
	// (no CORS header).
	mux.Handle("GET /v1/health", http.HandlerFunc(s.health))
	// Whose agent this is, for a page that looks for its own user's among
	// several (one per user on a shared machine, each on its own port).
	mux.Handle("GET /v1/agent", s.clientModule(http.HandlerFunc(s.whoami)))
	// The client module (and its types, and its first name) may be
	// imported by an allowed act-drafting app.
	for _, f := range []string{"/autografo.js", "/autografo.d.ts", "/autografo-client.js"} {
		mux.Handle("GET "+f, s.clientModule(http.FileServerFS(s.ui)))
	}
	mux.Handle("GET /", http.FileServerFS(s.ui))
	return s.checkHost(securityHeaders(s.checkOrigin(mux)))
}

// Serve serves until ctx is cancelled, then shuts down: it stops accepting,
// closes the websockets, and waits for them.
func (s *Server) Serve(ctx context.Context) error {
	if len(s.listeners) == 0 {
		return errors.New("server: Serve before Listen")
	}
	connCtx, cancelConns := context.WithCancel(context.Background())
	defer cancelConns()
	s.httpSrv = &http.Server{
		Handler:           s.Handler(connCtx),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second, // the websocket clears it once upgraded
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, len(s.listeners))
	for _, ln := range s.listeners {
		go func() { errc <- s.httpSrv.Serve(ln) }()
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			cancelConns()
			s.httpSrv.Close()
			return fmt.Errorf("server: %w", err)
		}
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.httpSrv.Shutdown(shutCtx) // websockets are hijacked: not waited for here
	// A handler between takeConn and its upgrade is still running when a
	// busy Shutdown gives up; closing makes any later takeConn refuse, so
	// conns.Add never runs beside conns.Wait.
	s.connMu.Lock()
	s.closing = true
	s.connMu.Unlock()
	cancelConns()
	s.conns.Wait()
	s.refused.flush()
	return err
}

// health answers the agent's state as JSON: 200 when it is ok, 503 when
// it is degraded (the store unreadable, a certificate not valid now).
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	h := s.agent.Health(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if h.Status != "ok" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(h)
}

// agentInfo is GET /v1/agent's answer: this is an Autografo agent, on
// this port, and whether it is the asking program's user's.
type agentInfo struct {
	Autografo bool   `json:"autografo"`
	Port      int    `json:"port"`
	User      string `json:"user"` // yours, other, unknown
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(agentInfo{Autografo: true, Port: s.port, User: s.whose(connUser(r))})
}

// whose says whether the local user named ("" when the system does not
// tell) is the one this agent runs as.
func (s *Server) whose(user string) string {
	switch {
	case user == "" || s.self == "":
		return "unknown"
	case user == s.self:
		return "yours"
	}
	return "other"
}

// checkHost refuses any Host but our loopback names with our port: a page
// on a DNS-rebinding domain reaches 127.0.0.1 with its own name as Host.
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, port, err := net.SplitHostPort(r.Host)
		ok := err == nil && port == strconv.Itoa(s.port) &&
			(host == "127.0.0.1" || host == "::1" || host == "localhost")
		if !ok {
			s.refused.warn("refused request: bad Host header", "host", r.Host, "remote", r.RemoteAddr, "path", r.URL.Path)
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkOrigin refuses any request but GET and HEAD whose Origin is not
// allowed: a form or fetch POST from another site carries its own origin.
// Requests without Origin come from programs, not pages (browsers always
// send it on POST); such endpoints (the admin ones) also need the admin secret.
func (s *Server) checkOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			origin := r.Header.Get("Origin")
			if origin != "" && !s.originAllowed(origin) {
				s.refused.warn("refused request: origin not allowed", "origin", origin, "method", r.Method, "path", r.URL.Path)
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
			if origin == "" && strings.HasPrefix(r.Header.Get("Sec-Fetch-Site"), "cross") {
				s.refused.warn("refused request: cross-site without origin", "method", r.Method, "path", r.URL.Path)
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// adminRequest admits the local command line's requests and decodes their
// JSON body into req, and answers the others: pages may not call the admin
// endpoints at all (any request that carries an Origin is refused),
// programs need the 0600 runtime file's secret.
func (s *Server) adminRequest(w http.ResponseWriter, r *http.Request, req any) bool {
	if r.Header.Get("Origin") != "" || s.opts.Pairing == nil {
		s.refused.warn("refused admin request", "origin", r.Header.Get("Origin"))
		http.Error(w, "forbidden", http.StatusForbidden)
		return false
	}
	presented, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if err := s.opts.Pairing.CheckAdmin(presented, s.opts.AdminSecret); err != nil {
		s.refused.warn("refused admin request", "reason", err)
		http.Error(w, "forbidden", http.StatusForbidden)
		return false
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024)).Decode(req); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// adminSessions lists the sessions, paired and connected, and ends one
// when asked ({"end": ID}): its connections close and a paired session's
// token no longer resumes.
func (s *Server) adminSessions(w http.ResponseWriter, r *http.Request) {
	var req struct {
		End string `json:"end"`
	}
	if !s.adminRequest(w, r, &req) {
		return
	}
	var resp struct {
		Sessions []sessionRow `json:"sessions"`
		Ended    bool         `json:"ended,omitempty"`
	}
	if req.End != "" {
		forgotten := s.opts.Pairing.End(req.End)
		closed := s.agent.EndSession(req.End)
		resp.Ended = forgotten || closed > 0
		s.log.Info("session ended by the workstation's user", "session", req.End, "connections", closed, "paired", forgotten)
	}
	rows := map[string]*sessionRow{}
	for _, id := range s.opts.Pairing.Sessions() {
		rows[id.Session] = &sessionRow{SessionInfo: agent.SessionInfo{ID: id.Session, Via: "pairing", Operator: id.Operator,
			Comune: id.Comune, Origin: id.Origin, Expires: id.Expires}}
	}
	for _, c := range s.agent.ConnectedSessions() {
		row := rows[c.ID]
		if row == nil {
			row = &sessionRow{SessionInfo: c}
			rows[c.ID] = row
		}
		row.Connections++
	}
	for _, row := range rows {
		resp.Sessions = append(resp.Sessions, *row)
	}
	slices.SortFunc(resp.Sessions, func(a, b sessionRow) int { return a.Expires.Compare(b.Expires) })
	writeJSON(w, resp)
}

// adminStop asks the agent to stop as a signal does: captures end, the
// store closes. The answer goes out first.
func (s *Server) adminStop(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if !s.adminRequest(w, r, &req) {
		return
	}
	if s.opts.Stop == nil {
		http.Error(w, "this agent is not stopped this way", http.StatusNotImplemented)
		return
	}
	s.log.Info("stop asked by the workstation's user")
	writeJSON(w, map[string]bool{"stopping": true})
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	s.opts.Stop()
}

// sessionRow is a session and how many connections it has now.
type sessionRow struct {
	agent.SessionInfo
	Connections int `json:"connections"`
}

// adminPair issues a pairing token or code to the local command line.
func (s *Server) adminPair(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Kind string `json:"kind"`
	}
	if !s.adminRequest(w, r, &req) {
		return
	}
	var resp struct {
		Token   string    `json:"token,omitempty"`
		Code    string    `json:"code,omitempty"`
		URL     string    `json:"url,omitempty"`
		Expires time.Time `json:"expires"`
	}
	switch req.Kind {
	case "token":
		resp.Token, resp.Expires = s.opts.Pairing.NewToken()
		resp.URL = s.URL() + "#pair=" + resp.Token
	case "code":
		resp.Code, resp.Expires = s.opts.Pairing.NewCode()
	default:
		http.Error(w, "kind must be token or code", http.StatusBadRequest)
		return
	}
	s.log.Info("pairing issued", "kind", req.Kind, "expires", resp.Expires)
	writeJSON(w, resp)
}

// clientModule lets the allowed act-drafting apps import the JS client from
// the agent itself (a module script is fetched with CORS), so that they
// always speak the agent's own protocol version. It is the only file shared
// across origins; it holds no data.
func (s *Server) clientModule(files http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && s.originAllowed(origin) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
		}
		w.Header().Add("Vary", "Origin")
		files.ServeHTTP(w, r)
	})
}

// takeConn reserves a websocket slot for origin, opened by the local
// user named ("" when unknown).
func (s *Server) takeConn(user, origin string) bool {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	key := user + "\x00" + origin
	if s.closing || s.total >= s.opts.MaxConnections || s.perOrigin[key] >= s.opts.ConnectionsPerOrigin ||
		s.perUser[user] >= s.opts.ConnectionsPerUser {
		return false
	}
	s.total++
	s.perOrigin[key]++
	s.perUser[user]++
	s.conns.Add(1)
	return true
}

func (s *Server) dropConn(user, origin string) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	key := user + "\x00" + origin
	s.total--
	if s.perOrigin[key]--; s.perOrigin[key] <= 0 {
		delete(s.perOrigin, key)
	}
	if s.perUser[user]--; s.perUser[user] <= 0 {
		delete(s.perUser, user)
	}
	s.conns.Done()
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) originAllowed(origin string) bool {
	return origin != "" && s.origins[origin]
}
