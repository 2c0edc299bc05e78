package saned

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/autografo/autografo/scanner"
)

// fakeConn is a client connection whose peer answers every request with the
// given bytes, as a broken or hostile saned might.
func fakeConn(reply []byte) *conn {
	client, server := net.Pipe()
	go func() {
		// Swallow requests and answer with the fuzz bytes, then hang up.
		go io.Copy(io.Discard, server)
		server.Write(reply)
		server.Close()
	}()
	return &conn{nc: client, dec: &decoder{r: bufio.NewReader(client)}, w: bufio.NewWriter(client), host: "127.0.0.1"}
}

func typed(err error) bool {
	var se *StatusError
	return err == nil || errors.Is(err, ErrProtocol) || errors.Is(err, scanner.ErrGone) ||
		errors.As(err, &se) || errors.Is(err, ErrAccessDenied)
}

// Replies to every RPC that parses saned's bytes: each ends in a value or a
// typed error, never a panic, and never allocates beyond the wire limits.
func FuzzReplies(f *testing.F) {
	var e encoder
	e.word(0).word(3) // devices: status, array of 3
	e.word(0).str("test:0").str("Noname").str("frontend-tester").str("virtual device")
	e.word(0).str("test:1").str("Noname").str("frontend-tester").str("virtual device")
	e.word(1)
	f.Add(e.buf.Bytes())
	var o encoder
	o.word(2) // two options
	o.word(0).str("").str("Number of options").str("").word(1).word(0).word(4).word(4).word(0)
	o.word(0).str("resolution").str("Resolution").str("").word(1).word(4).word(4).word(5).word(1).word(0).word(1).word(1200).word(1)
	f.Add(o.buf.Bytes())
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 50, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, reply []byte) {
		// No deadline: the fake saned sends its bytes and hangs up, so a
		// parser always meets the end; one that did not would be the
		// test's timeout, not a slow machine's error.
		ctx := context.Background()
		if _, err := fakeConn(reply).devices(ctx); !typed(err) {
			t.Fatalf("devices: untyped error %v", err)
		}
		if _, err := fakeConn(reply).options(ctx, 0); !typed(err) {
			t.Fatalf("options: untyped error %v", err)
		}
		if _, err := fakeConn(reply).params(ctx, 0); !typed(err) {
			t.Fatalf("params: untyped error %v", err)
		}
		if _, _, err := fakeConn(reply).control(ctx, 0, Option{Name: "x", Type: TypeString, Size: 8}, actionGet, value{}); !typed(err) {
			t.Fatalf("control: untyped error %v", err)
		}
		if _, _, err := fakeConn(reply).startFrame(ctx, 0, func(int) error { return nil }); !typed(err) {
			t.Fatalf("start: untyped error %v", err)
		}
	})
}

// The data stream: records of any shape end in rows, an error, or the end.
func FuzzRecords(f *testing.F) {
	f.Add([]byte{0, 0, 0, 4, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff, 5}, 2, 2)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 6}, 4, 1)
	f.Fuzz(func(t *testing.T, data []byte, bpl, lines int) {
		if bpl <= 0 || bpl > 64 || lines < -1 || lines > 64 || lines == 0 {
			return
		}
		p := Params{Format: FrameGray, BytesPerLine: bpl, PixelsPerLine: bpl, Lines: lines, Depth: 8, LastFrame: true}
		rr := &records{r: bufio.NewReader(bytes.NewReader(data))}
		if lines > 0 {
			s := &rowStream{src: rr, p: p, row: make([]byte, bpl)}
			out, err := io.ReadAll(s)
			if err == nil && len(out) != bpl*lines {
				t.Fatalf("%d bytes of rows, want %d", len(out), bpl*lines)
			}
			if err != nil && !typed(err) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		out, n, err := readFrame(rr, p, 4096)
		if err == nil && len(out) != n*bpl {
			t.Fatalf("%d bytes for %d lines", len(out), n)
		}
		if err != nil && !typed(err) {
			t.Fatalf("untyped error %v", err)
		}
	})
}
