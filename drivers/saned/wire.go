package saned

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The SANE network protocol's encoding: every value is a 4-byte big-endian
// word; a string is a word with its length including the NUL, then the
// bytes (length 0 is NULL); a pointer is a word that is 0 when a value
// follows; an array is a length word and its elements.

// Limits on what a peer may make us allocate. A real saned sends option
// lists of a few hundred entries and strings of a few hundred bytes.
const (
	maxString = 64 << 10
	maxArray  = 1 << 16
)

// ErrProtocol is a reply that does not follow the protocol.
var ErrProtocol = errors.New("saned: protocol violation")

type decoder struct {
	r   *bufio.Reader
	buf [4]byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) word() uint32 {
	if d.err != nil {
		return 0
	}
	if _, err := io.ReadFull(d.r, d.buf[:]); err != nil {
		d.fail(err)
		return 0
	}
	return binary.BigEndian.Uint32(d.buf[:])
}

func (d *decoder) int() int32 { return int32(d.word()) }

// str reads a string; ok is false for NULL.
func (d *decoder) str() (s string, ok bool) {
	n := d.word()
	if d.err != nil || n == 0 {
		return "", false
	}
	if n > maxString {
		d.fail(fmt.Errorf("%w: string of %d bytes", ErrProtocol, n))
		return "", false
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.fail(err)
		return "", false
	}
	// Strings are Latin-1 with a terminating NUL.
	b = bytes.TrimRight(b, "\x00")
	return latin1(b), true
}

func latin1(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// present reads a pointer word: true when a value follows.
func (d *decoder) present() bool { return d.word() == 0 && d.err == nil }

// count reads an array length, bounded.
func (d *decoder) count() int {
	n := d.word()
	if n > maxArray {
		d.fail(fmt.Errorf("%w: array of %d elements", ErrProtocol, n))
		return 0
	}
	return int(n)
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > maxString {
		d.fail(fmt.Errorf("%w: value of %d bytes", ErrProtocol, n))
		return nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.fail(err)
		return nil
	}
	return b
}

type encoder struct {
	buf bytes.Buffer
}

func (e *encoder) word(v uint32) *encoder {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	e.buf.Write(b[:])
	return e
}

func (e *encoder) int(v int32) *encoder { return e.word(uint32(v)) }

func (e *encoder) str(s string) *encoder {
	b := make([]byte, 0, len(s)+1)
	for _, r := range s {
		if r > 0xff {
			r = '?' // not representable in Latin-1
		}
		b = append(b, byte(r))
	}
	b = append(b, 0)
	e.word(uint32(len(b)))
	e.buf.Write(b)
	return e
}
