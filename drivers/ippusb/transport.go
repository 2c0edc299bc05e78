// Package ippusb drives eSCL scanners on USB through their IPP-over-USB
// interfaces (class 7, subclass 1, protocol 4; HP's 255/9/1): HTTP/1.1
// written raw on a bulk OUT endpoint and read raw from the bulk IN one, no
// vendor driver. usb.go is the only file in the project that imports gousb;
// the HTTP transport here works over any Pipe, so that it is tested in
// process as well as through libusb.
package ippusb

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/autografo/autografo/scanner"
)

// Pipe is one claimed interface's bulk pair. Implementations return errors
// that wrap scanner.ErrGone once the device is no longer there.
type Pipe interface {
	ReadContext(ctx context.Context, p []byte) (int, error)
	WriteContext(ctx context.Context, p []byte) (int, error)
}

// Bulk reads ask for at most 16 KiB, a multiple of 1024: some devices
// overflow a read whose length is not a multiple of their packet size.
const readSize = 16 << 10

// Requests with bodies up to this size go whole; larger ones are chunked.
const wholeBody = 16 << 10

// TransportOptions tune a Transport.
type TransportOptions struct {
	// Host is the Host header every request carries (default "localhost";
	// some devices want the port too).
	Host string
	// WriteTimeout bounds writing one request (default 30 s); ReadTimeout
	// one bulk read of the response (default 5 min: a device sends the
	// headers of NextDocument only when the page is scanned).
	WriteTimeout, ReadTimeout time.Duration
	// ZeroLengthBackoff is the first wait after a zero-length read (10 ms),
	// growing by a quarter each time up to a second.
	ZeroLengthBackoff time.Duration
	Logger            *slog.Logger
}

// Transport is an http.RoundTripper over a device's IPP-over-USB
// interfaces: one persistent HTTP/1.1 connection per interface, one
// request at a time on each, a response always read to its end before its
// interface serves another request.
type Transport struct {
	opts  TransportOptions
	idle  chan *conn
	conns int

	mu     sync.Mutex
	gone   error // set once the device is unplugged
	closed bool
	drains sync.WaitGroup
}

var _ http.RoundTripper = (*Transport)(nil)

// ErrClosed is a request on a closed transport.
var ErrClosed = errors.New("ippusb: transport closed")

// conn is one interface: its pipe and the reader that keeps what was read
// past the current response (nothing, with a well-behaved device).
type conn struct {
	pipe Pipe
	br   *bufio.Reader
}

// NewTransport returns a transport over the device's pipes.
func NewTransport(pipes []Pipe, o TransportOptions) *Transport {
	if o.Host == "" {
		o.Host = "localhost"
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 30 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 5 * time.Minute
	}
	if o.ZeroLengthBackoff <= 0 {
		o.ZeroLengthBackoff = 10 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	t := &Transport{opts: o, idle: make(chan *conn, len(pipes)), conns: len(pipes)}
	for _, p := range pipes {
		c := &conn{pipe: p}
		c.br = bufio.NewReaderSize(&pipeReader{t: t, pipe: p}, readSize)
		t.idle <- c
	}
	return t
}

func (t *Transport) err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gone != nil {
		return t.gone
	}
	if t.closed {
		return ErrClosed
	}
	return nil
}

// acquire waits for an idle interface.
func (t *Transport) acquire(ctx context.Context) (*conn, error) {
	if err := t.err(); err != nil {
		return nil, err
	}
	select {
	case c := <-t.idle:
		if err := t.err(); err != nil {
			t.idle <- c
			return nil, err
		}
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// release returns an interface to the pool. After an error that is not
// the device leaving, the interface's stream cannot be trusted to be at a
// message boundary, so it is dropped.
func (t *Transport) release(c *conn, err error) {
	switch {
	case err == nil:
		t.idle <- c
	case errors.Is(err, scanner.ErrGone):
		t.mu.Lock()
		if t.gone == nil {
			t.gone = fmt.Errorf("ippusb: %w", scanner.ErrGone)
		}
		t.mu.Unlock()
		t.idle <- c // every later request fails at acquire
	default:
		t.opts.Logger.Warn("IPP-USB interface dropped after a broken exchange", "err", err)
		t.mu.Lock()
		t.conns--
		left := t.conns
		if left == 0 && t.gone == nil {
			t.gone = fmt.Errorf("ippusb: every interface broke, last with %v: %w", err, scanner.ErrGone)
		}
		t.mu.Unlock()
		if left == 0 {
			t.idle <- c // wake waiters; acquire sees the error
		}
	}
}

// RoundTrip sends req on an idle interface and returns its response. If the
// caller gives up before the response arrives, the exchange still runs to
// its end in the background: a response left unread would be taken as the
// answer to the next request.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	out, err := t.prepare(req)
	if err != nil {
		return nil, err
	}
	c, err := t.acquire(ctx)
	if err != nil {
		return nil, err
	}
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	t.drains.Add(1)
	go func() {
		resp, err := t.exchange(c, out, req)
		done <- result{resp, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.release(c, r.err)
			t.drains.Done()
			return nil, r.err
		}
		r.resp.Body = &body{rc: r.resp.Body, t: t, c: c}
		return r.resp, nil
	case <-ctx.Done():
		go func() {
			r := <-done
			if r.err == nil {
				_, r.err = io.Copy(io.Discard, r.resp.Body)
			}
			t.release(c, r.err)
			t.drains.Done()
		}()
		return nil, ctx.Err()
	}
}

// prepare makes the request as it goes on the wire: Host as the device
// wants it, no Connection or Expect headers, small bodies whole.
func (t *Transport) prepare(req *http.Request) (*http.Request, error) {
	out := req.Clone(context.Background())
	out.Host = t.opts.Host
	out.Header.Del("Connection")
	out.Header.Del("Expect")
	out.Close = false
	if req.Body != nil && req.Body != http.NoBody && req.ContentLength >= 0 && req.ContentLength <= wholeBody {
		b, err := io.ReadAll(io.LimitReader(req.Body, wholeBody+1))
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("ippusb: reading the request body: %w", err)
		}
		if len(b) <= wholeBody {
			out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
			out.TransferEncoding = nil
		} else {
			out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(b)), -1
		}
	} else if req.Body != nil && req.Body != http.NoBody && req.ContentLength > wholeBody {
		out.ContentLength = -1 // chunked
	}
	return out, nil
}

// exchange writes the request and reads the response's headers.
func (t *Transport) exchange(c *conn, out, orig *http.Request) (*http.Response, error) {
	w := bufio.NewWriterSize(&pipeWriter{t: t, pipe: c.pipe}, readSize)
	if err := out.Write(w); err != nil {
		return nil, fmt.Errorf("ippusb: writing %s %s: %w", out.Method, out.URL.Path, err)
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("ippusb: writing %s %s: %w", out.Method, out.URL.Path, err)
	}
	resp, err := http.ReadResponse(c.br, orig)
	if err != nil {
		return nil, fmt.Errorf("ippusb: reading the response to %s %s: %w", out.Method, out.URL.Path, err)
	}
	return resp, nil
}

// Close waits up to a few seconds for exchanges still draining, then
// refuses new requests.
func (t *Transport) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	done := make(chan struct{})
	go func() { t.drains.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.opts.Logger.Warn("IPP-USB exchanges still draining at close")
	}
	return nil
}

// body releases the interface when the response has been read to its end,
// and reads the rest in the background when the caller closes it early.
type body struct {
	rc   io.ReadCloser
	t    *Transport
	c    *conn
	once sync.Once
}

func (b *body) done(err error) {
	b.once.Do(func() {
		b.t.release(b.c, err)
		b.t.drains.Done()
	})
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	switch {
	case err == io.EOF:
		b.done(nil)
	case err != nil:
		b.done(err)
	}
	return n, err
}

func (b *body) Close() error {
	go func() {
		_, err := io.Copy(io.Discard, b.rc)
		b.done(err)
	}()
	return nil
}

// pipeReader reads the bulk IN endpoint in aligned 16 KiB transfers and
// waits out zero-length reads.
type pipeReader struct {
	t    *Transport
	pipe Pipe
	buf  [readSize]byte
	data []byte
}

func (r *pipeReader) Read(p []byte) (int, error) {
	wait := r.t.opts.ZeroLengthBackoff
	for len(r.data) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), r.t.opts.ReadTimeout)
		n, err := r.pipe.ReadContext(ctx, r.buf[:])
		cancel()
		if err != nil {
			return 0, err
		}
		if n == 0 {
			time.Sleep(wait)
			wait = min(wait*5/4, time.Second)
			continue
		}
		r.data = r.buf[:n]
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

type pipeWriter struct {
	t    *Transport
	pipe Pipe
}

func (w *pipeWriter) Write(p []byte) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), w.t.opts.WriteTimeout)
	defer cancel()
	return w.pipe.WriteContext(ctx, p)
}
