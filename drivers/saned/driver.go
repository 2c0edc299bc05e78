// Package saned drives any SANE scanner through a SANE network daemon
// (saned), local or on another workstation, with a pure-Go client of the
// SANE network protocol.
package saned

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/autografo/autografo/scanner"
)

// DefaultAddr is saned's well-known port on this machine.
const DefaultAddr = "127.0.0.1:6566"

// Options configure the driver.
type Options struct {
	Addr string // host:port of saned (default 127.0.0.1:6566)
	User string // sent at INIT and used for authorization
	// Credentials answers saned's authorization requests (saned.users).
	Credentials Credentials
	// MaxPageBytes bounds a page that must be held in memory (unknown height
	// or three-pass colour); default 512 MiB, a 600 dpi A3 colour page.
	MaxPageBytes int
	Logger       *slog.Logger
}

// Driver is the saned scanner.Driver.
type Driver struct {
	opts Options
}

var _ scanner.Driver = (*Driver)(nil)

// New returns a driver for the saned at opts.Addr.
func New(opts Options) *Driver {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.User == "" {
		opts.User = "autografo"
	}
	if opts.MaxPageBytes <= 0 {
		opts.MaxPageBytes = 512 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Driver{opts: opts}
}

func (d *Driver) Name() string { return "saned" }

func (d *Driver) id(name string) scanner.ID { return scanner.ID("saned:" + d.opts.Addr + "/" + name) }

func (d *Driver) deviceName(id scanner.ID) (string, bool) {
	return strings.CutPrefix(string(id), "saned:"+d.opts.Addr+"/")
}

// Discover lists saned's devices. No saned listening means no devices, not
// an error: most workstations have none.
func (d *Driver) Discover(ctx context.Context) ([]scanner.Info, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := dial(ctx, d.opts.Addr, d.opts.User, d.opts.Credentials)
	if err != nil {
		if refused(err) {
			return nil, nil
		}
		return nil, scanner.Wrap("discover", "", err)
	}
	defer c.exit()
	devs, err := c.devices(ctx)
	if err != nil {
		return nil, scanner.Wrap("discover", "", err)
	}
	out := make([]scanner.Info, 0, len(devs))
	for _, dv := range devs {
		out = append(out, scanner.Info{ID: d.id(dv.Name), Driver: "saned", Make: dv.Vendor, Model: dv.Model})
	}
	return out, nil
}

// Open opens a device on its own control connection.
func (d *Driver) Open(ctx context.Context, id scanner.ID) (scanner.Device, error) {
	name, ok := d.deviceName(id)
	if !ok {
		return nil, scanner.Wrap("open", id, scanner.ErrNotFound)
	}
	c, err := dial(ctx, d.opts.Addr, d.opts.User, d.opts.Credentials)
	if err != nil {
		return nil, scanner.Wrap("open", id, err)
	}
	h, err := c.open(ctx, name)
	if err != nil {
		c.exit()
		var se *StatusError
		if errors.As(err, &se) && se.Status == StatusInval {
			err = fmt.Errorf("%w: %w", scanner.ErrNotFound, err)
		}
		return nil, scanner.Wrap("open", id, err)
	}
	return &Device{drv: d, c: c, handle: h, id: id}, nil
}

// Device is an opened SANE device.
type Device struct {
	drv    *Driver
	c      *conn
	handle int32
	id     scanner.ID
	opts   []Option
}

var _ scanner.Device = (*Device)(nil)

func (v *Device) options(ctx context.Context) ([]Option, error) {
	if v.opts == nil {
		opts, err := v.c.options(ctx, v.handle)
		if err != nil {
			return nil, err
		}
		v.opts = opts
	}
	return v.opts, nil
}

// Caps reads the option descriptors and maps them.
func (v *Device) Caps(ctx context.Context) (scanner.Caps, error) {
	opts, err := v.options(ctx)
	if err != nil {
		return scanner.Caps{}, scanner.Wrap("caps", v.id, err)
	}
	return capsOf(opts), nil
}

// Options returns the device's option descriptors, for diagnostics and tests.
func (v *Device) Options(ctx context.Context) ([]Option, error) { return v.options(ctx) }

// set sets an option by name and returns the value the backend kept.
func (v *Device) set(ctx context.Context, name string, val value) (value, error) {
	opts, err := v.options(ctx)
	if err != nil {
		return value{}, err
	}
	o, ok := find(opts, name)
	if !ok {
		return value{}, fmt.Errorf("%w: no option %q", scanner.ErrUnsupported, name)
	}
	if !o.Settable() {
		return value{}, fmt.Errorf("%w: option %q cannot be set now", scanner.ErrUnsupported, name)
	}
	info, got, err := v.c.control(ctx, v.handle, o, actionSet, val)
	if err != nil {
		return value{}, err
	}
	if info&infoReloadOptions != 0 {
		v.opts = nil // e.g. a mode change activates other options
	}
	return got, nil
}

// SetString sets a string option (for tests and advanced settings).
func (v *Device) SetString(ctx context.Context, name, s string) error {
	_, err := v.set(ctx, name, value{str: s})
	return err
}

// SetBool sets a boolean option.
func (v *Device) SetBool(ctx context.Context, name string, b bool) error {
	w := int32(0)
	if b {
		w = 1
	}
	_, err := v.set(ctx, name, value{words: []int32{w}})
	return err
}

func (v *Device) setNumber(ctx context.Context, name string, f float64) (float64, error) {
	opts, err := v.options(ctx)
	if err != nil {
		return 0, err
	}
	o, ok := find(opts, name)
	if !ok {
		return 0, fmt.Errorf("%w: no option %q", scanner.ErrUnsupported, name)
	}
	got, err := v.set(ctx, name, value{words: []int32{fromFloat(o, f)}})
	if err != nil || len(got.words) == 0 {
		return 0, err
	}
	return toFloat(o, got.words[0]), nil
}

func (v *Device) setChoice(ctx context.Context, name string, match func(string) bool) (string, error) {
	opts, err := v.options(ctx)
	if err != nil {
		return "", err
	}
	o, ok := find(opts, name)
	if !ok {
		return "", fmt.Errorf("%w: no option %q", scanner.ErrUnsupported, name)
	}
	for _, s := range o.Strings {
		if match(s) {
			return s, v.SetString(ctx, name, s)
		}
	}
	return "", fmt.Errorf("%w: no %s among %v", scanner.ErrUnsupported, name, o.Strings)
}

// configure sets what the request asks and returns the resolution the
// backend actually kept.
func (v *Device) configure(ctx context.Context, req scanner.Request) (int, error) {
	opts, err := v.options(ctx)
	if err != nil {
		return 0, err
	}
	if _, ok := find(opts, "source"); ok {
		if _, err := v.setChoice(ctx, "source", sourceMatches(req)); err != nil {
			return 0, err
		}
	} else if req.Source == scanner.Feeder || req.Duplex {
		return 0, fmt.Errorf("%w: device has no feeder", scanner.ErrUnsupported)
	}
	mode := req.Color
	if _, err := v.setChoice(ctx, "mode", func(s string) bool { k, ok := modeKind(s); return ok && k == mode }); err != nil {
		if mode != scanner.BlackWhite {
			return 0, err
		}
		// Lineart as gray at one bit, as the test backend and others do.
		if _, err := v.setChoice(ctx, "mode", func(s string) bool { k, ok := modeKind(s); return ok && k == scanner.Gray }); err != nil {
			return 0, err
		}
	}
	if opts, _ := v.options(ctx); true {
		if d, ok := find(opts, "depth"); ok && d.Settable() {
			depth := 8.0
			if mode == scanner.BlackWhite {
				depth = 1
			}
			if _, err := v.setNumber(ctx, "depth", depth); err != nil {
				return 0, err
			}
		}
	}
	dpi, err := v.setNumber(ctx, "resolution", float64(req.DPI))
	if err != nil {
		return 0, err
	}
	opts, err = v.options(ctx)
	if err != nil {
		return 0, err
	}
	r := req.Region
	for _, g := range []struct {
		name string
		val  float64
		max  bool
	}{{"tl-x", r.X, false}, {"tl-y", r.Y, false}, {"br-x", r.X + r.Width, r.Width == 0}, {"br-y", r.Y + r.Height, r.Height == 0}} {
		o, ok := find(opts, g.name)
		if !ok || !o.Settable() {
			continue
		}
		val := g.val
		if g.max && o.Range != nil {
			val = toFloat(o, o.Range.Max)
		}
		if _, err := v.setNumber(ctx, g.name, val); err != nil {
			return 0, err
		}
	}
	return int(math.Round(dpi)), nil
}

// Scan configures the device and returns a job; frames start on NextPage.
func (v *Device) Scan(ctx context.Context, req scanner.Request) (scanner.Job, error) {
	if req.MediaType != "" && req.MediaType != MediaType && req.MediaType != "image/jpeg" {
		return nil, scanner.Wrap("scan", v.id, fmt.Errorf("%w: %s", scanner.ErrUnsupported, req.MediaType))
	}
	dpi, err := v.configure(ctx, req)
	if err != nil {
		return nil, scanner.Wrap("scan", v.id, err)
	}
	return &Job{dev: v, req: req, dpi: dpi}, nil
}

// Close closes the device and the control connection.
func (v *Device) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := v.c.simple(ctx, rpcClose, v.handle)
	v.c.exit()
	return err
}

// Job is a running SANE scan.
type Job struct {
	dev   *Device
	req   scanner.Request
	dpi   int
	pages int
	done  atomic.Bool // Cancel may come from another goroutine

	mu   sync.Mutex
	data net.Conn // the current frame's data connection
}

var _ scanner.Job = (*Job)(nil)

func (j *Job) setData(c net.Conn) {
	j.mu.Lock()
	j.data = c
	j.mu.Unlock()
}

func (j *Job) closeData() {
	j.mu.Lock()
	if j.data != nil {
		j.data.Close()
		j.data = nil
	}
	j.mu.Unlock()
}

// startFrame starts a frame and connects its data stream.
func (j *Job) startFrame(ctx context.Context) (*records, Params, bool, error) {
	c := j.dev.c
	var dc net.Conn
	p, little, err := c.startFrame(ctx, j.dev.handle, func(port int) error {
		var err error
		if dc, err = dialData(c.host, port); err != nil {
			return fmt.Errorf("%w: data connection: %w", scanner.ErrGone, err)
		}
		j.setData(dc)
		return nil
	})
	if err != nil {
		j.closeData()
		return nil, Params{}, false, err
	}
	return &records{r: bufio.NewReaderSize(dc, 64<<10)}, p, little, nil
}

// NextPage starts the next page: one sheet from the feeder, or the platen
// once. A feeder that runs out ends the job.
func (j *Job) NextPage(ctx context.Context) (scanner.Page, error) {
	id := j.dev.id
	if j.done.Load() {
		return scanner.Page{}, io.EOF
	}
	if j.req.Source == scanner.Platen && j.pages == 1 {
		j.finish()
		return scanner.Page{}, io.EOF
	}
	src, p, little, err := j.startFrame(ctx)
	if err != nil {
		if errors.Is(err, scanner.ErrNoDocs) && j.pages > 0 {
			j.finish() // the feeder is empty: the job is complete
			return scanner.Page{}, io.EOF
		}
		j.fail()
		return scanner.Page{}, scanner.Wrap("page", id, err)
	}
	if err := src.peek(); err != nil {
		j.fail()
		return scanner.Page{}, scanner.Wrap("page", id, err)
	}
	j.pages++
	if p.Format == FrameGray || p.Format == FrameRGB {
		if p.Lines > 0 && p.LastFrame {
			return j.streamPage(src, p, little), nil
		}
	}
	return j.bufferedPage(ctx, src, p, little)
}

// streamPage hands the frame to the caller as it arrives: header, then rows.
func (j *Job) streamPage(src *records, p Params, little bool) scanner.Page {
	if p.Format == FrameRGB && p.Depth == 1 {
		// No PNM for 1-bit colour; rare enough to refuse.
		j.fail()
		return scanner.Page{Body: io.NopCloser(errReader{scanner.Wrap("page", j.dev.id, fmt.Errorf("%w: 1-bit colour", scanner.ErrUnsupported))})}
	}
	header := pnmHeader(p, p.Lines, p.Format == FrameRGB)
	rows := &rowStream{src: src, p: p, swap: p.Depth == 16 && little, row: make([]byte, p.BytesPerLine),
		onEnd: func(err error) error {
			j.closeData()
			if err == io.EOF {
				return io.EOF
			}
			j.fail()
			return scanner.Wrap("page", j.dev.id, err)
		}}
	size := int64(len(header)) + int64(rowBytes(p))*int64(p.Lines)
	return scanner.Page{
		MediaType: MediaType, DPI: j.dpi, Width: p.PixelsPerLine, Height: p.Lines, Size: size,
		Body: &pageBody{r: io.MultiReader(bytes.NewReader(header), rows), job: j},
	}
}

// bufferedPage reads a page that cannot be streamed: unknown height, or
// three-pass colour sent as separate red, green and blue frames.
func (j *Job) bufferedPage(ctx context.Context, src *records, p Params, little bool) (scanner.Page, error) {
	id := j.dev.id
	planes := map[Frame][]byte{}
	first := p
	lines := 0
	for {
		data, n, err := readFrame(src, p, j.dev.drv.opts.MaxPageBytes)
		j.closeData()
		if err != nil {
			j.fail()
			return scanner.Page{}, scanner.Wrap("page", id, err)
		}
		if p.Depth == 16 && little {
			swap16(data)
		}
		if p.PixelsPerLine != first.PixelsPerLine || p.Depth != first.Depth || (lines != 0 && n != lines) {
			j.fail()
			return scanner.Page{}, scanner.Wrap("page", id, fmt.Errorf("%w: frames of different sizes", ErrProtocol))
		}
		lines = n
		planes[p.Format] = data
		if p.LastFrame {
			break
		}
		if len(planes) >= 3 {
			j.fail()
			return scanner.Page{}, scanner.Wrap("page", id, fmt.Errorf("%w: more than three frames", ErrProtocol))
		}
		src, p, little, err = j.startFrame(ctx)
		if err != nil {
			j.fail()
			return scanner.Page{}, scanner.Wrap("page", id, err)
		}
	}
	var body []byte
	color := false
	switch {
	case len(planes) == 1 && (first.Format == FrameGray || first.Format == FrameRGB):
		body = planes[first.Format]
		color = first.Format == FrameRGB
	case planes[FrameRed] != nil && planes[FrameGreen] != nil && planes[FrameBlue] != nil && first.Depth != 1:
		body = interleave(planes, first.Depth/8)
		color = true
	default:
		j.fail()
		return scanner.Page{}, scanner.Wrap("page", id, fmt.Errorf("%w: incomplete colour frames", ErrProtocol))
	}
	header := pnmHeader(first, lines, color)
	return scanner.Page{
		MediaType: MediaType, DPI: j.dpi, Width: first.PixelsPerLine, Height: lines,
		Size: int64(len(header) + len(body)),
		Body: io.NopCloser(io.MultiReader(bytes.NewReader(header), bytes.NewReader(body))),
	}, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// pageBody is a streamed page; closing it before its end cancels the scan,
// because saned cannot skip the rest of a frame.
type pageBody struct {
	r    io.Reader
	job  *Job
	done bool
}

func (b *pageBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil {
		b.done = true
	}
	return n, err
}

func (b *pageBody) Close() error {
	if !b.done {
		b.job.closeData()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return b.job.Cancel(ctx)
	}
	return nil
}

// finish ends a scan that completed: SANE wants a cancel after the last
// frame of a job.
func (j *Job) finish() {
	if j.done.Swap(true) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = j.dev.c.simple(ctx, rpcCancel, j.dev.handle)
}

func (j *Job) fail() { j.finish() }

// Cancel stops the scan: the data connection is closed and saned told.
func (j *Job) Cancel(ctx context.Context) error {
	j.closeData()
	if j.done.Swap(true) {
		return nil
	}
	return scanner.Wrap("cancel", j.dev.id, j.dev.c.simple(ctx, rpcCancel, j.dev.handle))
}
