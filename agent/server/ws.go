package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/autografo/autografo/agent/protocol"
)

const (
	writeWait  = 10 * time.Second
	pingPeriod = 25 * time.Second
	// hardReadLimit closes the connection; messages between
	// protocol.MaxMessageBytes and this get an error reply instead.
	hardReadLimit = 1 << 20
)

func (s *Server) websocket(shutdown context.Context) http.Handler {
	up := websocket.Upgrader{
		ReadBufferSize:  16 << 10,
		WriteBufferSize: 64 << 10,
		// gorilla's default compares Origin with Host, which a rebinding page
		// passes; only an exact allowlist is safe.
		CheckOrigin: func(r *http.Request) bool { return s.originAllowed(r.Header.Get("Origin")) },
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			s.refused.warn("refused websocket", "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr, "status", status, "reason", reason)
			http.Error(w, http.StatusText(status), status)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if !s.originAllowed(origin) {
			up.Error(w, r, http.StatusForbidden, errors.New("origin not allowed"))
			return
		}
		// Each user of a shared machine has an agent of their own, with
		// their own store: another user's browser that reached this one
		// (on another's port) must find its own, not work in this store.
		user := connUser(r)
		if s.whose(user) == "other" {
			s.refused.warn("refused websocket: a program of another local user", "origin", origin, "user", user)
			http.Error(w, "another user's agent", http.StatusForbidden)
			return
		}
		// A flood of sockets from one origin, or one local user, must not
		// starve the others.
		if !s.takeConn(user, origin) {
			s.refused.warn("refused websocket: too many connections", "origin", origin, "user", user)
			http.Error(w, "too many connections", http.StatusTooManyRequests)
			return
		}
		defer s.dropConn(user, origin)
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return // the Upgrader has answered and logged
		}
		log := s.log.With("origin", origin, "remote", r.RemoteAddr)
		log.Info("browser connected")
		c := newConn(conn, s.opts.SendQueue, s.opts.PongWait, log)
		sess := s.agent.NewSession(c, log, origin)
		defer sess.Close()
		// A connection that does not authenticate promptly holds a slot for
		// nothing.
		helloTimer := time.AfterFunc(s.opts.HelloTimeout, func() {
			if !sess.Authenticated() {
				log.Warn("closing connection: no authentication in time")
				c.Close(errors.New("hello timeout"))
			}
		})
		defer helloTimer.Stop()
		c.run(shutdown, sess, s.opts.MessagesPerSecond)
		log.Info("browser disconnected", "reason", c.reason())
	})
}

type frame struct {
	binary bool
	data   []byte
}

// conn is one websocket. The reader runs in the handler's goroutine, the
// writer in its own; the queue between them is bounded.
type conn struct {
	ws    *websocket.Conn
	log   *slog.Logger
	queue chan frame
	ctx   context.Context
	stop  context.CancelCauseFunc
	// pongWait is how long the socket may be silent (no message, no
	// pong to our pings) before it is taken for dead.
	pongWait time.Duration
}

func newConn(ws *websocket.Conn, queue int, pongWait time.Duration, log *slog.Logger) *conn {
	ctx, stop := context.WithCancelCause(context.Background())
	return &conn{ws: ws, log: log, queue: make(chan frame, queue), ctx: ctx, stop: stop, pongWait: pongWait}
}

var errSlowClient = errors.New("browser too slow: send queue full")

func (c *conn) enqueue(f frame) {
	select {
	case <-c.ctx.Done():
		return
	default:
	}
	select {
	case c.queue <- f:
	default:
		// A tab that stopped reading (frozen, backgrounded, hostile) must
		// not grow our memory or stall captures: cut it off.
		c.stop(errSlowClient)
	}
}

// Send queues a JSON message.
func (c *conn) Send(msg any) {
	data, err := json.Marshal(msg)
	if err != nil {
		c.log.Error("encoding message failed", "err", err)
		return
	}
	c.enqueue(frame{data: data})
}

// SendBlob queues a binary frame.
func (c *conn) SendBlob(h protocol.BlobHeader, data []byte) {
	f, err := protocol.EncodeBlob(h, data)
	if err != nil {
		c.log.Error("encoding blob failed", "err", err)
		return
	}
	c.enqueue(frame{binary: true, data: f})
}

// Close ends the connection after the writer has sent what is queued.
func (c *conn) Close(reason error) { c.stop(reason) }

func (c *conn) reason() error { return context.Cause(c.ctx) }

func (c *conn) run(shutdown context.Context, sess interface {
	Handle(context.Context, []byte)
}, perSecond float64) {
	defer c.ws.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); c.writeLoop(shutdown) }()
	c.readLoop(sess, perSecond)
	wg.Wait()
}

func (c *conn) readLoop(sess interface {
	Handle(context.Context, []byte)
}, perSecond float64) {
	defer c.stop(errors.New("connection closed"))
	c.ws.SetReadLimit(hardReadLimit)
	_ = c.ws.SetReadDeadline(time.Now().Add(c.pongWait))
	c.ws.SetPongHandler(func(string) error { return c.ws.SetReadDeadline(time.Now().Add(c.pongWait)) })
	bucket := newTokenBucket(perSecond, 2*perSecond)
	for {
		kind, data, err := c.ws.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				c.log.Warn("closing connection: message over hard limit", "limit", hardReadLimit)
			}
			c.stop(err)
			return
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(c.pongWait))
		if !bucket.take(time.Now()) {
			c.log.Warn("refused message: rate limit")
			c.Send(errorReply("", protocol.CodeRateLimited))
			continue
		}
		if kind != websocket.TextMessage {
			c.log.Warn("refused binary message from browser")
			c.Send(errorReply("", protocol.CodeBadMessage))
			continue
		}
		sess.Handle(c.ctx, data)
	}
}

func errorReply(id, code string) protocol.ErrorMessage {
	return protocol.ErrorMessage{
		Envelope: protocol.Envelope{Type: protocol.TypeError, ID: id},
		Error:    protocol.NewError(code),
	}
}

func (c *conn) writeLoop(shutdown context.Context) {
	ping := time.NewTicker(pingPeriod)
	defer ping.Stop()
	for {
		select {
		case f := <-c.queue:
			_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
			kind := websocket.TextMessage
			if f.binary {
				kind = websocket.BinaryMessage
			}
			if err := c.ws.WriteMessage(kind, f.data); err != nil {
				c.stop(err)
				c.ws.Close() // unblocks the reader
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				c.stop(err)
				c.ws.Close()
				return
			}
		case <-shutdown.Done():
			c.flush()
			c.stop(errors.New("server shutting down"))
			_ = c.ws.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseGoingAway, "Autografo si sta chiudendo"), time.Now().Add(time.Second))
			c.ws.Close()
			return
		case <-c.ctx.Done():
			if errors.Is(context.Cause(c.ctx), errSlowClient) {
				c.log.Warn("disconnecting slow browser tab")
				_ = c.ws.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "troppo lento"), time.Now().Add(time.Second))
			} else {
				c.flush() // e.g. the error reply to a refused hello
				_ = c.ws.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.ClosePolicyViolation, ""), time.Now().Add(time.Second))
			}
			c.ws.Close()
			return
		}
	}
}

// flush writes what is already queued, so that the last events before a
// shutdown (a capture's end) reach the browser.
func (c *conn) flush() {
	for {
		select {
		case f := <-c.queue:
			kind := websocket.TextMessage
			if f.binary {
				kind = websocket.BinaryMessage
			}
			_ = c.ws.SetWriteDeadline(time.Now().Add(time.Second))
			if c.ws.WriteMessage(kind, f.data) != nil {
				return
			}
		default:
			return
		}
	}
}

// tokenBucket limits messages per second from one connection.
type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newTokenBucket(rate, burst float64) *tokenBucket {
	return &tokenBucket{rate: rate, burst: burst, tokens: burst}
}

func (b *tokenBucket) take(now time.Time) bool {
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// connUser is the local user at the other end of the request's connection
// ("" when the system does not tell).
func connUser(r *http.Request) string {
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	remote, err := netip.ParseAddrPort(r.RemoteAddr)
	if local == nil || err != nil {
		return ""
	}
	l, err := netip.ParseAddrPort(local.String())
	if err != nil {
		return ""
	}
	return peerUser(remote, l)
}
