// Package ippusbtest is the device side of IPP over USB for tests: an
// http.Handler (an eSCL emulator) answering HTTP/1.1 that arrives on a bulk
// OUT endpoint, its responses queued for the bulk IN endpoint. The same
// Stream backs an in-process Pipe for fast tests and the emulated USB
// device that libusb talks to under umockdev.
package ippusbtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/autografo/autografo/scanner"
)

// Stream is one IPP-over-USB interface of a device. Out never blocks; In
// returns what the device has answered so far.
type Stream struct {
	mu      sync.Mutex
	rx, tx  []byte
	rxReady chan struct{} // signalled when rx grows
	txReady chan struct{} // signalled when tx grows
	pulled  bool

	// ZeroLengthReads makes the next that many IN transfers complete with
	// no data, as some devices do while busy.
	ZeroLengthReads int
	// Delay holds every response back this long: a device that is slow or
	// has stopped answering.
	Delay time.Duration
	// OnPull is called when the handler hijacks the connection: the device
	// is unplugged in the middle of a response.
	OnPull func()
}

// NewStream starts serving h on a new stream.
func NewStream(h http.Handler) *Stream {
	s := &Stream{rxReady: make(chan struct{}, 1), txReady: make(chan struct{}, 1)}
	go s.serve(h)
	return s
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Out takes the payload of a bulk OUT transfer.
func (s *Stream) Out(data []byte) {
	s.mu.Lock()
	s.rx = append(s.rx, data...)
	s.mu.Unlock()
	signal(s.rxReady)
}

// In gives at most max bytes for a bulk IN transfer; ok is false while the
// device has nothing to send.
func (s *Stream) In(max int) (data []byte, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ZeroLengthReads > 0 && len(s.tx) > 0 {
		s.ZeroLengthReads--
		return nil, true
	}
	if len(s.tx) == 0 {
		return nil, false
	}
	n := min(max, len(s.tx))
	data = append([]byte(nil), s.tx[:n]...)
	s.tx = s.tx[n:]
	return data, true
}

// Pulled reports whether the device was unplugged.
func (s *Stream) Pulled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pulled
}

func (s *Stream) send(b []byte) {
	s.mu.Lock()
	s.tx = append(s.tx, b...)
	s.mu.Unlock()
	signal(s.txReady)
}

// read is the device's side of OUT: it blocks until the host writes.
func (s *Stream) Read(p []byte) (int, error) {
	for {
		s.mu.Lock()
		if len(s.rx) > 0 {
			n := copy(p, s.rx)
			s.rx = s.rx[n:]
			s.mu.Unlock()
			return n, nil
		}
		s.mu.Unlock()
		<-s.rxReady
	}
}

func (s *Stream) serve(h http.Handler) {
	br := bufio.NewReader(s)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		// A request's body must be read before the next request is.
		b, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(b))
		w := &responseWriter{s: s, header: http.Header{}}
		h.ServeHTTP(w, req)
		if w.hijacked {
			return // the device is gone
		}
		if s.Delay > 0 {
			time.Sleep(s.Delay)
		}
		s.send(w.bytes(true))
	}
}

// responseWriter collects the handler's response and writes it as an
// HTTP/1.1 message with a Content-Length.
type responseWriter struct {
	s        *Stream
	header   http.Header
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (w *responseWriter) Header() http.Header { return w.header }
func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *responseWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}
func (w *responseWriter) Flush() {}

// bytes is the message; complete sets Content-Length to what was written.
func (w *responseWriter) bytes(complete bool) []byte {
	w.WriteHeader(http.StatusOK)
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", w.status, http.StatusText(w.status))
	if complete {
		w.header.Set("Content-Length", strconv.Itoa(w.body.Len()))
	}
	w.header.Write(&b)
	b.WriteString("\r\n")
	b.Write(w.body.Bytes())
	return b.Bytes()
}

// Hijack sends what the handler wrote so far (the headers and part of the
// body) and unplugs the device.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.hijacked = true
	w.s.send(w.bytes(false))
	w.s.mu.Lock()
	w.s.pulled = true
	w.s.mu.Unlock()
	signal(w.s.txReady)
	if w.s.OnPull != nil {
		w.s.OnPull()
	}
	c1, c2 := net.Pipe()
	c2.Close()
	return c1, bufio.NewReadWriter(bufio.NewReader(c1), bufio.NewWriter(c1)), nil
}

// Pipe is an in-process ippusb.Pipe over a Stream: the transport's tests
// without libusb. After the device is pulled and its last bytes are read,
// transfers fail with scanner.ErrGone, as the USB layer reports it.
type Pipe struct{ S *Stream }

func (p Pipe) ReadContext(ctx context.Context, b []byte) (int, error) {
	for {
		data, ok := p.S.In(len(b))
		if ok {
			return copy(b, data), nil
		}
		if p.S.Pulled() {
			return 0, fmt.Errorf("bulk IN: %w", scanner.ErrGone)
		}
		select {
		case <-p.S.txReady:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (p Pipe) WriteContext(ctx context.Context, b []byte) (int, error) {
	if p.S.Pulled() {
		return 0, fmt.Errorf("bulk OUT: %w", scanner.ErrGone)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	p.S.Out(b)
	return len(b), nil
}
