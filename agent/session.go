package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/autografo/autografo/agent/auth"
	"github.com/autografo/autografo/agent/protocol"
	"github.com/autografo/autografo/agent/store"
)

// Sender delivers messages to one browser connection. It must not block: a
// connection that cannot keep up is cut off by its implementation.
type Sender interface {
	Send(msg any)
	SendBlob(h protocol.BlobHeader, data []byte)
	// Close ends the connection after what is queued has been sent.
	Close(reason error)
}

// Session is one browser connection's view of the agent.
type Session struct {
	a      *Agent
	out    Sender
	log    *slog.Logger
	origin string
	tab    string // names this connection in the journal
	hello  bool
	authed atomic.Bool
	id     auth.Identity
	mu     sync.Mutex
	unsub  func()
	// deliveries are the tokens of the acts this connection holds for
	// upload: confirm and release without sending them again.
	deliveries map[string]string
	done       chan struct{}
	closed     sync.Once
}

// NewSession starts a session for a browser connection from origin that
// reports to out. Nothing but hello is served until it authenticates. Close
// it when the connection ends.
func (a *Agent) NewSession(out Sender, log *slog.Logger, origin string) *Session {
	if log == nil {
		log = a.log
	}
	return &Session{a: a, out: out, log: log, origin: origin, tab: newID("tab-"), done: make(chan struct{}),
		deliveries: map[string]string{}}
}

// Authenticated reports whether the session's hello was accepted.
func (s *Session) Authenticated() bool { return s.authed.Load() }

// who is the session as the journal and the background work know it.
func (s *Session) who() actor {
	return actor{by: store.Actor{Operator: s.id.Operator, Tab: s.tab}, perms: s.id.Perms}
}

// send queues a message and the binary frames it announces, together.
func (s *Session) send(msg any, blobs ...blob) {
	s.a.sending.Lock()
	defer s.a.sending.Unlock()
	s.out.Send(msg)
	for _, b := range blobs {
		s.out.SendBlob(protocol.BlobHeader{Blob: b.id, MediaType: b.mediaType}, b.data)
	}
}

// authenticate checks the hello's credentials. A refusal closes the
// connection: a guess costs a new connection, which the server limits.
func (s *Session) authenticate(env protocol.Envelope, h *protocol.Hello) {
	if s.a.opts.Auth == nil {
		s.log.Warn("refused session: no authenticator configured")
		s.replyError(env.ID, protocol.CodeUnauthorized)
		s.out.Close(errors.New("unauthenticated"))
		return
	}
	id, session, err := s.a.opts.Auth.Authenticate(auth.Credentials{
		Ticket: h.Ticket, Pair: h.Pair, Code: h.Code, Session: h.Session,
	}, s.origin)
	if err != nil {
		s.log.Warn("refused session", "reason", err)
		code := protocol.CodeUnauthorized
		if errors.Is(err, auth.ErrRateLimited) {
			code = protocol.CodePairingLocked // the page says what to do
		}
		s.replyError(env.ID, code)
		s.out.Close(fmt.Errorf("authentication failed: %w", err))
		return
	}
	s.id = id
	s.authed.Store(true)
	s.hello = true
	s.log.Info("session authenticated", "via", id.Via, "operator", id.Operator, "comune", id.Comune,
		"permissions", id.Perms.String(), "ticket", id.TicketID)
	s.send(protocol.Welcome{
		Envelope: protocol.Envelope{Type: protocol.TypeWelcome, ID: env.ID},
		Version:  protocol.Version, Agent: "autografo " + s.a.opts.Version,
		Operator: id.Operator, Permissions: id.Perms.Names(), Session: session,
		Devices: devicesOf(s.a.scanners.Devices()),
		Kinds:   actKinds, Roles: roleNames,
	})
	s.a.mu.Lock()
	s.a.sessions[s] = struct{}{}
	s.a.mu.Unlock()
	s.watchDevices()
}

// Close ends the session. Captures it started go on: their pages are kept in
// the act, and every other session that sees the act is told of them.
func (s *Session) Close() {
	s.closed.Do(func() {
		close(s.done)
		s.a.mu.Lock()
		delete(s.a.sessions, s)
		s.a.mu.Unlock()
		s.mu.Lock()
		if s.unsub != nil {
			s.unsub()
		}
		s.mu.Unlock()
	})
}

// Handle processes one text frame from the browser: hello first, then any
// request its route allows. Every failure becomes an error reply; nothing
// a page sends can stop the agent.
func (s *Session) Handle(ctx context.Context, data []byte) {
	env, req, err := protocol.DecodeRequest(data)
	if err != nil {
		code := protocol.CodeBadMessage
		switch {
		case errors.Is(err, protocol.ErrUnknownType):
			code = protocol.CodeUnknownType
		case errors.Is(err, protocol.ErrTooLarge):
			code = protocol.CodeTooLarge
		}
		s.log.Warn("refused message from browser", "code", code, "err", err)
		s.replyError(env.ID, code)
		return
	}
	if env.Type == protocol.TypeHello {
		r := req.(*protocol.Hello)
		switch {
		case !slices.Contains(r.Versions, protocol.Version):
			s.log.Warn("refused hello", "versions", r.Versions)
			s.replyError(env.ID, protocol.CodeUnsupportedVer)
		case s.hello:
			s.replyError(env.ID, protocol.CodeBadMessage) // one hello per connection
		default:
			s.authenticate(env, r)
		}
		return
	}
	if !s.hello {
		s.replyError(env.ID, protocol.CodeNoHello)
		return
	}
	if !s.id.Expires.IsZero() && time.Now().After(s.id.Expires) {
		s.log.Warn("closing session: credential expired", "operator", s.id.Operator)
		s.replyError(env.ID, protocol.CodeUnauthorized)
		s.out.Close(errors.New("session expired"))
		return
	}
	rt, ok := routes[env.Type]
	if !ok || rt.perm == 0 {
		// Deny by default: a type without a route, or a route without a
		// permission, is our bug; the route test keeps it from shipping.
		s.log.Error("refused request: no route", "type", env.Type)
		s.replyError(env.ID, protocol.CodeForbidden)
		return
	}
	if !s.id.Perms.Has(rt.perm) {
		s.log.Warn("refused request: permission", "type", env.Type, "operator", s.id.Operator, "permissions", s.id.Perms.String())
		s.replyError(env.ID, protocol.CodeForbidden)
		return
	}
	if err := rt.handle(s, ctx, env, req); err != nil {
		e := errorFor(err)
		level := slog.LevelInfo
		if e.Code == protocol.CodeInternal || e.Code == protocol.CodeStoreFailed {
			level = slog.LevelError
		}
		s.log.Log(ctx, level, "request refused", "type", env.Type, "code", e.Code, "err", err)
		s.send(protocol.ErrorMessage{Envelope: protocol.Envelope{Type: protocol.TypeError, ID: env.ID}, Error: e})
	}
}

func (s *Session) replyError(id, code string) {
	s.send(protocol.ErrorMessage{
		Envelope: protocol.Envelope{Type: protocol.TypeError, ID: id},
		Error:    protocol.NewError(code),
	})
}

// watchDevices forwards device list changes until the session closes or
// the agent stops.
func (s *Session) watchDevices() {
	ch, unsub := s.a.scanners.Subscribe()
	s.mu.Lock()
	s.unsub = unsub
	s.mu.Unlock()
	err := s.a.background(func(ctx context.Context) {
		for {
			select {
			case <-s.done:
				return
			case <-ctx.Done():
				return
			case list := <-ch:
				s.send(protocol.Devices{
					Envelope: protocol.Envelope{Type: protocol.TypeDevicesChanged},
					Devices:  devicesOf(list),
				})
			}
		}
	})
	if err != nil {
		unsub()
	}
}

// act is an act the session may see: one of its comune's, or any for the
// workstation's own user. Another comune's act is "not found", so that a
// session cannot learn which acts exist elsewhere.
func (s *Session) act(ctx context.Context, id string) (store.Act, error) {
	act, err := s.a.opts.Store.Act(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (!s.id.Sees(act.Comune) || act.State.Terminal()) {
		return store.Act{}, fmt.Errorf("%w: %s", errActNotFound, id)
	}
	return act, storeErr(err)
}

// comune is the comune a new act of this session belongs to.
func (s *Session) comune() string { return s.id.Comune }

// SessionInfo is a connected browser session, as `autografo sessions`
// lists it.
type SessionInfo struct {
	ID       string    `json:"id"`
	Via      string    `json:"via"`
	Operator string    `json:"operator"`
	Comune   string    `json:"comune,omitempty"`
	Origin   string    `json:"origin"`
	Expires  time.Time `json:"expires"`
}

// ConnectedSessions lists the authenticated sessions connected now.
func (a *Agent) ConnectedSessions() []SessionInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]SessionInfo, 0, len(a.sessions))
	for s := range a.sessions {
		out = append(out, SessionInfo{ID: s.id.Session, Via: s.id.Via, Operator: s.id.Operator, Comune: s.id.Comune,
			Origin: s.id.Origin, Expires: s.id.Expires})
	}
	return out
}

// EndSession closes every connection of the session named id and reports
// how many there were. A paired session's token must also be forgotten
// (auth.Pairing.End), or the tab would resume it.
func (a *Agent) EndSession(id string) int {
	a.mu.Lock()
	var ending []*Session
	for s := range a.sessions {
		if s.id.Session == id {
			ending = append(ending, s)
		}
	}
	a.mu.Unlock()
	for _, s := range ending {
		s.log.Warn("closing session: ended by the workstation's user", "session", id)
		s.out.Close(errors.New("session ended by the workstation's user"))
	}
	return len(ending)
}
