// Package scannertest has fakes of the scanner model for fast unit tests.
// Tests that need a realistic device use drivers/sim or a real peer instead.
package scannertest

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"io"
	"slices"
	"sync"

	"github.com/autografo/autografo/scanner"
)

// Driver is a fake driver whose devices and pages the test scripts.
type Driver struct {
	DriverName string

	mu          sync.Mutex
	devices     []scanner.Info
	discoverErr error
	script      map[scanner.ID][]Step
	opened      int
	closed      int
	caps        *scanner.Caps
	// Started is signalled (non-blocking) each time a job starts.
	Started chan scanner.ID
}

var _ scanner.Driver = (*Driver)(nil)

// Step is what one NextPage call returns: a page with Data, or Err. Block, if
// set, is waited on first (or the context's end).
type Step struct {
	Data  []byte
	Err   error
	Block <-chan struct{}
	// CancelErr, if set, is what a step cancelled while blocked returns
	// instead of the context's error: a device whose connection breaks
	// when the job is abandoned says it is gone.
	CancelErr error
}

// NewDriver returns a fake driver named name with no devices.
func NewDriver(name string) *Driver {
	return &Driver{DriverName: name, script: map[scanner.ID][]Step{}, Started: make(chan scanner.ID, 16)}
}

func (d *Driver) Name() string { return d.DriverName }

// Plug adds a device.
func (d *Driver) Plug(info scanner.Info) {
	d.mu.Lock()
	defer d.mu.Unlock()
	info.Driver = d.DriverName
	d.devices = append(d.devices, info)
}

// Unplug removes a device.
func (d *Driver) Unplug(id scanner.ID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.devices = slices.DeleteFunc(d.devices, func(in scanner.Info) bool { return in.ID == id })
}

// FailDiscovery makes Discover return err (nil to stop).
func (d *Driver) FailDiscovery(err error) {
	d.mu.Lock()
	d.discoverErr = err
	d.mu.Unlock()
}

// Script sets what the next job on id returns, page by page; after the last
// step NextPage returns io.EOF.
func (d *Driver) Script(id scanner.ID, steps ...Step) {
	d.mu.Lock()
	d.script[id] = steps
	d.mu.Unlock()
}

// SetCaps makes every device say it has the capabilities given, instead of
// a platen and a feeder of no stated area at 150 and 300 dpi.
func (d *Driver) SetCaps(c scanner.Caps) {
	d.mu.Lock()
	d.caps = &c
	d.mu.Unlock()
}

// OpenCount and CloseCount tell how often devices were opened and closed.
func (d *Driver) OpenCount() int  { d.mu.Lock(); defer d.mu.Unlock(); return d.opened }
func (d *Driver) CloseCount() int { d.mu.Lock(); defer d.mu.Unlock(); return d.closed }

func (d *Driver) Discover(ctx context.Context) ([]scanner.Info, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.discoverErr != nil {
		return nil, d.discoverErr
	}
	return slices.Clone(d.devices), nil
}

func (d *Driver) Open(ctx context.Context, id scanner.ID) (scanner.Device, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, in := range d.devices {
		if in.ID == id {
			d.opened++
			return &device{d: d, id: id}, nil
		}
	}
	return nil, scanner.Wrap("open", id, scanner.ErrNotFound)
}

type device struct {
	d  *Driver
	id scanner.ID
}

func (v *device) Caps(ctx context.Context) (scanner.Caps, error) {
	v.d.mu.Lock()
	defer v.d.mu.Unlock()
	if v.d.caps != nil {
		return *v.d.caps, nil
	}
	return scanner.Caps{
		Sources:     []scanner.Source{scanner.Platen, scanner.Feeder},
		ColorModes:  []scanner.ColorMode{scanner.Color, scanner.Gray},
		Resolutions: []int{150, 300},
		MediaTypes:  []string{"image/jpeg"},
	}, nil
}

func (v *device) Scan(ctx context.Context, req scanner.Request) (scanner.Job, error) {
	v.d.mu.Lock()
	steps := slices.Clone(v.d.script[v.id])
	v.d.mu.Unlock()
	select {
	case v.d.Started <- v.id:
	default:
	}
	return &job{id: v.id, steps: steps, dpi: req.DPI}, nil
}

func (v *device) Close() error {
	v.d.mu.Lock()
	v.d.closed++
	v.d.mu.Unlock()
	return nil
}

type job struct {
	id    scanner.ID
	steps []Step
	dpi   int
	mu    sync.Mutex
	canc  bool
}

// Canceled tells whether Cancel was called; tests reach it through an
// anonymous interface.
func (j *job) Canceled() bool { j.mu.Lock(); defer j.mu.Unlock(); return j.canc }

func (j *job) NextPage(ctx context.Context) (scanner.Page, error) {
	if len(j.steps) == 0 {
		return scanner.Page{}, io.EOF
	}
	s := j.steps[0]
	j.steps = j.steps[1:]
	if s.Block != nil {
		select {
		case <-s.Block:
		case <-ctx.Done():
			if s.CancelErr != nil {
				return scanner.Page{}, scanner.Wrap("page", j.id, s.CancelErr)
			}
			return scanner.Page{}, scanner.Wrap("page", j.id, ctx.Err())
		}
	}
	if s.Err != nil {
		return scanner.Page{}, scanner.Wrap("page", j.id, s.Err)
	}
	return scanner.Page{MediaType: "image/jpeg", DPI: j.dpi, Size: int64(len(s.Data)),
		Body: io.NopCloser(bytes.NewReader(s.Data))}, nil
}

func (j *job) Cancel(ctx context.Context) error {
	j.mu.Lock()
	j.canc = true
	j.mu.Unlock()
	return nil
}

// JPEG returns a valid gray JPEG of w x h pixels with a gradient, for pages
// that must decode.
func JPEG(w, h int) []byte {
	return encodeGray(w, h, func(x, y int) uint8 { return uint8((x + y) % 256) })
}

// PaperJPEG is a gray JPEG of w x h pixels that is mostly paper, with a
// band of gradient at the top: a page the size a scanner sends, in few
// bytes.
func PaperJPEG(w, h int) []byte {
	band := min(h, 32)
	return encodeGray(w, h, func(x, y int) uint8 {
		if y < band {
			return uint8((x + y) % 256)
		}
		return 236
	})
}

func encodeGray(w, h int, pixel func(x, y int) uint8) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Pix[y*img.Stride+x] = pixel(x, y)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		panic(err) // encoding an in-memory gray image cannot fail
	}
	return buf.Bytes()
}
