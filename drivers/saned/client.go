package saned

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/autografo/autografo/scanner"
)

// RPC numbers of the SANE network protocol.
const (
	rpcInit          = 0
	rpcGetDevices    = 1
	rpcOpen          = 2
	rpcClose         = 3
	rpcGetOptions    = 4
	rpcControlOption = 5
	rpcGetParameters = 6
	rpcStart         = 7
	rpcCancel        = 8
	rpcAuthorize     = 9
	rpcExit          = 10
)

// protocolVersion is SANE 1.0 with network protocol 3.
const protocolVersion = 0x01000003

// Status is a SANE status code.
type Status uint32

const (
	StatusGood         Status = 0
	StatusUnsupported  Status = 1
	StatusCancelled    Status = 2
	StatusDeviceBusy   Status = 3
	StatusInval        Status = 4
	StatusEOF          Status = 5
	StatusJammed       Status = 6
	StatusNoDocs       Status = 7
	StatusCoverOpen    Status = 8
	StatusIOError      Status = 9
	StatusNoMem        Status = 10
	StatusAccessDenied Status = 11
)

var statusNames = map[Status]string{
	StatusGood: "good", StatusUnsupported: "unsupported", StatusCancelled: "cancelled",
	StatusDeviceBusy: "device busy", StatusInval: "invalid argument", StatusEOF: "end of file",
	StatusJammed: "jammed", StatusNoDocs: "no documents", StatusCoverOpen: "cover open",
	StatusIOError: "I/O error", StatusNoMem: "out of memory", StatusAccessDenied: "access denied",
}

// StatusError is a SANE status other than good, unwrapping to the scanner
// error that callers branch on.
type StatusError struct {
	Op     string
	Status Status
}

func (e *StatusError) Error() string {
	name := statusNames[e.Status]
	if name == "" {
		name = fmt.Sprintf("status %d", e.Status)
	}
	return "saned " + e.Op + ": " + name
}

func (e *StatusError) Unwrap() error {
	switch e.Status {
	case StatusDeviceBusy:
		return scanner.ErrBusy
	case StatusJammed, StatusCoverOpen:
		return scanner.ErrJammed
	case StatusNoDocs:
		return scanner.ErrNoDocs
	case StatusIOError:
		return scanner.ErrGone
	case StatusUnsupported, StatusInval:
		return scanner.ErrUnsupported
	case StatusCancelled:
		return context.Canceled
	case StatusAccessDenied:
		return ErrAccessDenied
	}
	return nil
}

// ErrAccessDenied is saned refusing the user or password.
var ErrAccessDenied = errors.New("saned: access denied")

func check(op string, s uint32) error {
	if Status(s) == StatusGood {
		return nil
	}
	return &StatusError{Op: op, Status: Status(s)}
}

// Credentials answers saned's authorization requests for a resource.
type Credentials func(resource string) (user, password string, ok bool)

// conn is one control connection to saned. Its RPCs are strictly one at a
// time; the mutex makes that so.
type conn struct {
	mu    sync.Mutex
	nc    net.Conn
	dec   *decoder
	w     *bufio.Writer
	host  string
	creds Credentials
	user  string
}

func dial(ctx context.Context, addr, user string, creds Credentials) (*conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(addr)
	c := &conn{nc: nc, dec: &decoder{r: bufio.NewReaderSize(nc, 64<<10)}, w: bufio.NewWriter(nc), host: host, creds: creds, user: user}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
		defer nc.SetDeadline(time.Time{})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.send(new(encoder).word(rpcInit).word(protocolVersion).str(user)); err != nil {
		nc.Close()
		return nil, err
	}
	status, version := c.dec.word(), c.dec.word()
	if err := c.readErr(); err != nil {
		nc.Close()
		return nil, err
	}
	if err := check("init", status); err != nil {
		nc.Close()
		return nil, err
	}
	if version>>24 != 1 {
		nc.Close()
		return nil, fmt.Errorf("%w: SANE version %#x", ErrProtocol, version)
	}
	return c, nil
}

func (c *conn) send(e *encoder) error {
	if _, err := c.w.Write(e.buf.Bytes()); err != nil {
		return c.gone(err)
	}
	if err := c.w.Flush(); err != nil {
		return c.gone(err)
	}
	return nil
}

// gone turns a broken control connection into ErrGone: saned died, the
// network dropped, or the host went away.
func (c *conn) gone(err error) error {
	return fmt.Errorf("%w: %w", scanner.ErrGone, err)
}

func (c *conn) readErr() error {
	if c.dec.err == nil {
		return nil
	}
	if errors.Is(c.dec.err, ErrProtocol) {
		return c.dec.err
	}
	return c.gone(c.dec.err)
}

// withDeadline bounds one RPC by ctx: a saned that stops answering must not
// hang the agent.
func (c *conn) withDeadline(ctx context.Context) func() {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Now()) })
	return func() {
		stop()
		_ = c.nc.SetDeadline(time.Time{})
	}
}

// DeviceInfo is one entry of GET_DEVICES.
type DeviceInfo struct {
	Name, Vendor, Model, Type string
}

func (c *conn) devices(ctx context.Context) ([]DeviceInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.withDeadline(ctx)()
	if err := c.send(new(encoder).word(rpcGetDevices)); err != nil {
		return nil, err
	}
	status := c.dec.word()
	n := c.dec.count()
	var out []DeviceInfo
	for i := 0; i < n && c.dec.err == nil; i++ {
		if !c.dec.present() {
			continue // the terminating NULL
		}
		var d DeviceInfo
		d.Name, _ = c.dec.str()
		d.Vendor, _ = c.dec.str()
		d.Model, _ = c.dec.str()
		d.Type, _ = c.dec.str()
		out = append(out, d)
	}
	if err := c.readErr(); err != nil {
		return nil, err
	}
	return out, check("get devices", status)
}

// authorize answers a resource that needs a user and password. With an MD5
// challenge in the resource the password never crosses the wire in clear.
func (c *conn) authorize(resource string) error {
	if c.creds == nil {
		return fmt.Errorf("%w: %q needs a user and password; none configured", ErrAccessDenied, resource)
	}
	user, password, ok := c.creds(resource)
	if !ok {
		return fmt.Errorf("%w: no credentials for %q", ErrAccessDenied, resource)
	}
	if _, salt, ok := strings.Cut(resource, "$MD5$"); ok {
		sum := md5.Sum([]byte(salt + password))
		password = "$MD5$" + hex.EncodeToString(sum[:])
	}
	if err := c.send(new(encoder).word(rpcAuthorize).str(resource).str(user).str(password)); err != nil {
		return err
	}
	c.dec.word() // a dummy word
	return c.readErr()
}

func (c *conn) open(ctx context.Context, name string) (int32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.withDeadline(ctx)()
	if err := c.send(new(encoder).word(rpcOpen).str(name)); err != nil {
		return 0, err
	}
	for range 3 {
		status, handle := c.dec.word(), c.dec.int()
		resource, _ := c.dec.str()
		if err := c.readErr(); err != nil {
			return 0, err
		}
		if resource == "" {
			return handle, check("open", status)
		}
		// saned asks for authorization, then sends the reply again.
		if err := c.authorize(resource); err != nil {
			return 0, err
		}
	}
	return 0, fmt.Errorf("%w: authorization loop on open", ErrProtocol)
}

// simple sends an RPC with a handle whose reply is one dummy word.
func (c *conn) simple(ctx context.Context, rpc uint32, handle int32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.withDeadline(ctx)()
	if err := c.send(new(encoder).word(rpc).int(handle)); err != nil {
		return err
	}
	c.dec.word()
	return c.readErr()
}

func (c *conn) exit() {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.nc.SetDeadline(time.Now().Add(time.Second))
	_ = c.send(new(encoder).word(rpcExit))
	c.nc.Close()
}

// Params are a frame's parameters from GET_PARAMETERS.
type Params struct {
	Format        Frame
	LastFrame     bool
	BytesPerLine  int
	PixelsPerLine int
	Lines         int // -1 when unknown until the end of the frame
	Depth         int
}

// Frame is a SANE frame format.
type Frame uint32

const (
	FrameGray  Frame = 0
	FrameRGB   Frame = 1
	FrameRed   Frame = 2
	FrameGreen Frame = 3
	FrameBlue  Frame = 4
)

func (c *conn) params(ctx context.Context, handle int32) (Params, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.withDeadline(ctx)()
	if err := c.send(new(encoder).word(rpcGetParameters).int(handle)); err != nil {
		return Params{}, err
	}
	return c.readParams()
}

func (c *conn) readParams() (Params, error) {
	status := c.dec.word()
	p := Params{
		Format: Frame(c.dec.word()), LastFrame: c.dec.word() != 0,
		BytesPerLine: int(c.dec.int()), PixelsPerLine: int(c.dec.int()), Lines: int(c.dec.int()), Depth: int(c.dec.int()),
	}
	if err := c.readErr(); err != nil {
		return p, err
	}
	if err := check("get parameters", status); err != nil {
		return p, err
	}
	if p.Format > FrameBlue || (p.Depth != 1 && p.Depth != 8 && p.Depth != 16) || p.PixelsPerLine <= 0 ||
		p.BytesPerLine <= 0 || p.BytesPerLine > 1<<20 || p.Lines > 1<<20 {
		return p, fmt.Errorf("%w: parameters %+v", ErrProtocol, p)
	}
	return p, nil
}

// startFrame begins a frame: START, then GET_PARAMETERS sent at once, then
// the data connection, then the parameters' reply. The order matters: saned
// waits for the data connection before it reads the backend, so the
// parameters are taken before any sample of the frame. Asked later, saned
// may already have read the whole frame, and a three-pass backend then
// describes the next frame (seen with SANE's test backend under load).
func (c *conn) startFrame(ctx context.Context, handle int32, connect func(port int) error) (Params, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.withDeadline(ctx)()
	port, little, err := c.start(handle)
	if err != nil {
		return Params{}, false, err
	}
	if err := c.send(new(encoder).word(rpcGetParameters).int(handle)); err != nil {
		return Params{}, false, err
	}
	if err := connect(port); err != nil {
		return Params{}, false, err
	}
	p, err := c.readParams()
	return p, little, err
}

// start sends START and reads its reply: the data port and whether samples
// of 16 bits come little-endian. The caller holds the lock.
func (c *conn) start(handle int32) (port int, littleEndian bool, err error) {
	if err := c.send(new(encoder).word(rpcStart).int(handle)); err != nil {
		return 0, false, err
	}
	for range 3 {
		status, p, order := c.dec.word(), c.dec.word(), c.dec.word()
		resource, _ := c.dec.str()
		if err := c.readErr(); err != nil {
			return 0, false, err
		}
		if resource == "" {
			if err := check("start", status); err != nil {
				return 0, false, err
			}
			if p == 0 || p > 65535 || (order != 0x1234 && order != 0x4321) {
				return 0, false, fmt.Errorf("%w: start port %d byte order %#x", ErrProtocol, p, order)
			}
			return int(p), order == 0x1234, nil
		}
		if err := c.authorize(resource); err != nil {
			return 0, false, err
		}
	}
	return 0, false, fmt.Errorf("%w: authorization loop on start", ErrProtocol)
}
