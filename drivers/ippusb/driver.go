package ippusb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/autografo/autografo/drivers/escl"
	"github.com/autografo/autografo/scanner"
)

// Options configure the USB driver.
type Options struct {
	Logger    *slog.Logger
	Transport TransportOptions
	// Client tunes the eSCL client (retries on 503).
	Client escl.ClientOptions
	// Quirks the office adds for its own devices; they come before the
	// built-in ones.
	Quirks []QuirkRule
	// TraceDir, when set, records every HTTP exchange with a device there,
	// one subdirectory per opening (see Recorder).
	TraceDir string
}

// Driver offers the eSCL scanners plugged in by USB.
type Driver struct {
	opts Options
	bus  *Bus

	mu     sync.Mutex
	seen   map[scanner.ID]Candidate
	models map[scanner.ID]scanner.Info // learned when a device was opened
}

var _ scanner.Driver = (*Driver)(nil)

// New starts the driver's libusb context; ErrNoUSB where there is no USB.
func New(o Options) (*Driver, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Client.Host == "" {
		o.Client.Host = "localhost"
	}
	o.Transport.Host = o.Client.Host
	if o.Transport.Logger == nil {
		o.Transport.Logger = o.Logger
	}
	bus, err := NewBus()
	if err != nil {
		return nil, err
	}
	return &Driver{opts: o, bus: bus, seen: map[scanner.ID]Candidate{}, models: map[scanner.ID]scanner.Info{}}, nil
}

func (d *Driver) Name() string { return "usb" }

// Close ends the libusb context.
func (d *Driver) Close() error { return d.bus.Close() }

// Discover lists IPP-over-USB devices from their descriptors; the make
// and model appear once a device has been opened.
func (d *Driver) Discover(ctx context.Context) ([]scanner.Info, error) {
	cands, err := d.bus.Find()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	seen := make(map[scanner.ID]Candidate, len(cands))
	out := make([]scanner.Info, 0, len(cands))
	for _, c := range cands {
		id := c.ID()
		seen[id] = c
		info, ok := d.models[id]
		if !ok {
			info = scanner.Info{Model: fmt.Sprintf("USB %04x:%04x", c.Vendor, c.Product)}
		}
		info.ID, info.Driver = id, "usb"
		out = append(out, info)
	}
	for id := range d.models {
		if _, ok := seen[id]; !ok {
			delete(d.models, id) // another device may take the port
		}
	}
	d.seen = seen
	return out, nil
}

func (d *Driver) lookup(ctx context.Context, id scanner.ID) (Candidate, bool) {
	d.mu.Lock()
	c, ok := d.seen[id]
	d.mu.Unlock()
	if ok {
		return c, true
	}
	if _, err := d.Discover(ctx); err != nil {
		return Candidate{}, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok = d.seen[id]
	return c, ok
}

// Open claims the device's IPP-over-USB interfaces and returns it as an
// eSCL scanner; closing it releases the interfaces.
func (d *Driver) Open(ctx context.Context, id scanner.ID) (scanner.Device, error) {
	c, ok := d.lookup(ctx, id)
	if !ok {
		return nil, scanner.Wrap("open", id, scanner.ErrNotFound)
	}
	h, err := d.bus.Open(ctx, c, d.opts.Quirks...)
	if err != nil {
		if errors.Is(err, scanner.ErrGone) {
			err = fmt.Errorf("%w: %w", scanner.ErrNotFound, err)
		}
		return nil, scanner.Wrap("open", id, err)
	}
	d.opts.Logger.Info("USB scanner opened", "device", id, "manufacturer", h.Manufacturer, "product", h.Product, "interfaces", len(h.Pipes()))
	tr := NewTransport(h.Pipes(), d.opts.Transport)
	var rt http.RoundTripper = tr
	if d.opts.TraceDir != "" {
		dir := filepath.Join(d.opts.TraceDir, time.Now().UTC().Format("20060102T150405")+"-"+strings.ReplaceAll(string(id), ":", "_"))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			d.opts.Logger.Warn("cannot record USB traffic", "dir", dir, "err", err)
		} else {
			d.opts.Logger.Info("recording USB traffic", "device", id, "dir", dir)
			rt = &Recorder{Dir: dir, Next: tr}
		}
	}
	client, err := escl.NewClient("http://localhost/eSCL", rt, d.opts.Client)
	if err != nil {
		tr.Close()
		h.Close()
		return nil, scanner.Wrap("open", id, err)
	}
	d.mu.Lock()
	d.models[id] = scanner.Info{Make: h.Manufacturer, Model: h.Product, Serial: h.Serial}
	d.mu.Unlock()
	return escl.NewDevice(id, client, closer{tr, h}), nil
}

// closer closes the transport (waiting for drains) before the interfaces.
type closer struct {
	tr *Transport
	h  *Handle
}

func (c closer) Close() error {
	c.tr.Close()
	return c.h.Close()
}
