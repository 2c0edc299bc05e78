package saned

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/autografo/autografo/scanner"
)

// MediaType of the pages this driver delivers: PNM (P4, P5, P6), which is
// SANE's raw samples behind a short header, so a page streams through
// without being re-encoded.
const MediaType = "image/x-portable-anymap"

// maxRecord bounds one data record; saned sends at most 8 KiB.
const maxRecord = 1 << 24

// records reads the data connection's record stream: a big-endian length
// and that many bytes, until 0xFFFFFFFF and one status byte.
type records struct {
	r    *bufio.Reader
	left int
	done bool
	err  error // the final error, io.EOF after a good end
}

func (rr *records) next() error {
	if rr.done {
		return rr.err
	}
	var b [4]byte
	if _, err := io.ReadFull(rr.r, b[:]); err != nil {
		rr.done, rr.err = true, fmt.Errorf("%w: data connection: %w", scanner.ErrGone, unexpected(err))
		return rr.err
	}
	n := binary.BigEndian.Uint32(b[:])
	if n == 0xFFFFFFFF {
		rr.done = true
		st, err := rr.r.ReadByte()
		switch {
		case err == io.EOF:
			rr.err = io.EOF // saned versions without the status byte
		case err != nil:
			rr.err = fmt.Errorf("%w: data connection: %w", scanner.ErrGone, err)
		case Status(st) == StatusEOF || Status(st) == StatusGood:
			rr.err = io.EOF
		default:
			rr.err = &StatusError{Op: "read", Status: Status(st)}
		}
		return rr.err
	}
	if n > maxRecord {
		rr.done, rr.err = true, fmt.Errorf("%w: record of %d bytes", ErrProtocol, n)
		return rr.err
	}
	rr.left = int(n)
	return nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (rr *records) Read(p []byte) (int, error) {
	for rr.left == 0 {
		if err := rr.next(); err != nil {
			return 0, err
		}
	}
	n, err := rr.r.Read(p[:min(len(p), rr.left)])
	rr.left -= n
	if err != nil && n == 0 {
		rr.done, rr.err = true, fmt.Errorf("%w: data connection: %w", scanner.ErrGone, unexpected(err))
		return 0, rr.err
	}
	return n, nil
}

// peek waits for the first record, so that a status the backend returns at
// once (a jam, a cover open) is an error of NextPage, not of the page.
func (rr *records) peek() error {
	for rr.left == 0 {
		if err := rr.next(); err != nil {
			if err == io.EOF {
				return nil // an empty frame; the row reader reports it
			}
			return err
		}
	}
	return nil
}

// rowBytes is the sample bytes of one row without the backend's padding.
func rowBytes(p Params) int {
	ch := 1
	if p.Format == FrameRGB {
		ch = 3
	}
	return (p.PixelsPerLine*ch*p.Depth + 7) / 8
}

func pnmHeader(p Params, lines int, color bool) []byte {
	magic, maxval := "P5", "255"
	switch {
	case p.Depth == 1:
		magic, maxval = "P4", ""
	case color:
		magic = "P6"
	}
	if p.Depth == 16 {
		maxval = "65535"
	}
	h := magic + "\n" + strconv.Itoa(p.PixelsPerLine) + " " + strconv.Itoa(lines) + "\n"
	if maxval != "" {
		h += maxval + "\n"
	}
	return []byte(h)
}

// rowStream turns a single frame of known height into PNM rows: padding
// dropped, 16-bit samples put in PNM's big-endian order.
type rowStream struct {
	src     *records
	p       Params
	swap    bool
	rows    int
	row     []byte
	out     []byte
	onEnd   func(error) error
	checked bool
}

func (s *rowStream) Read(b []byte) (int, error) {
	for len(s.out) == 0 {
		if s.rows == s.p.Lines {
			if !s.checked {
				s.checked = true
				// Drain to the end marker: its status tells whether the
				// page really ended well.
				_, err := io.Copy(io.Discard, s.src)
				if err == nil {
					err = io.EOF
				}
				if s.onEnd != nil {
					return 0, s.onEnd(err)
				}
				return 0, err
			}
			return 0, io.EOF
		}
		if _, err := io.ReadFull(s.src, s.row); err != nil {
			// A clean end of records before the last line is the backend's
			// mistake; a broken connection stays ErrGone.
			if err == io.EOF || (err == io.ErrUnexpectedEOF && !errors.Is(err, scanner.ErrGone)) {
				err = fmt.Errorf("%w: frame ended after %d of %d lines", ErrProtocol, s.rows, s.p.Lines)
			}
			if s.onEnd != nil {
				return 0, s.onEnd(err)
			}
			return 0, err
		}
		s.rows++
		s.out = s.row[:rowBytes(s.p)]
		if s.swap {
			for i := 0; i+1 < len(s.out); i += 2 {
				s.out[i], s.out[i+1] = s.out[i+1], s.out[i]
			}
		}
	}
	n := copy(b, s.out)
	s.out = s.out[n:]
	return n, nil
}

// readFrame reads a whole frame into memory, for the cases where a page
// cannot be streamed: unknown height, or three separate colour frames.
func readFrame(src *records, p Params, limit int) ([]byte, int, error) {
	var buf bytes.Buffer
	if p.Lines > 0 {
		buf.Grow(p.BytesPerLine * p.Lines)
	}
	n, err := io.Copy(&buf, io.LimitReader(src, int64(limit)+1))
	if err != nil {
		return nil, 0, err
	}
	if n > int64(limit) {
		return nil, 0, fmt.Errorf("%w: frame over %d bytes", ErrProtocol, limit)
	}
	data := buf.Bytes()
	lines := len(data) / p.BytesPerLine
	if p.Lines > 0 && lines != p.Lines {
		return nil, 0, fmt.Errorf("%w: frame of %d lines, announced %d", ErrProtocol, lines, p.Lines)
	}
	if lines == 0 {
		return nil, 0, fmt.Errorf("%w: empty frame", ErrProtocol)
	}
	// Compact rows: drop padding, fix byte order.
	rb := rowBytes(p)
	out := data[:0]
	for y := 0; y < lines; y++ {
		out = append(out, data[y*p.BytesPerLine:y*p.BytesPerLine+rb]...)
	}
	return out, lines, nil
}

func swap16(b []byte) {
	for i := 0; i+1 < len(b); i += 2 {
		b[i], b[i+1] = b[i+1], b[i]
	}
}

// interleave joins three planes (R, G, B in any order of arrival) into
// RGB samples.
func interleave(planes map[Frame][]byte, bytesPerSample int) []byte {
	r, g, b := planes[FrameRed], planes[FrameGreen], planes[FrameBlue]
	out := make([]byte, 0, 3*len(r))
	for i := 0; i+bytesPerSample <= len(r); i += bytesPerSample {
		out = append(out, r[i:i+bytesPerSample]...)
		out = append(out, g[i:i+bytesPerSample]...)
		out = append(out, b[i:i+bytesPerSample]...)
	}
	return out
}

func dialData(host string, port int) (net.Conn, error) {
	return net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
}
