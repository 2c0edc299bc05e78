package ippusb

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/gousb"

	"github.com/autografo/autografo/scanner"
)

// Interface is one IPP-over-USB alt setting of a device: where to claim it
// and its bulk endpoints.
type Interface struct {
	Number, Alt int
	In, Out     int // endpoint numbers
}

// Candidate is a device with IPP-over-USB interfaces, as its descriptors
// describe it: found without opening the device.
type Candidate struct {
	Bus, Address    int
	Path            string // the port path, e.g. "1-4.2": stable while it stays in that port
	Vendor, Product uint16
	Config          int
	Interfaces      []Interface
}

// ID names the device by vendor, product and port: the serial number
// would need the device opened, and polling must not open anything.
func (c Candidate) ID() scanner.ID {
	return scanner.ID(fmt.Sprintf("usb:%04x:%04x:%s", c.Vendor, c.Product, c.Path))
}

// isIPPUSB: class 7/1/4, or HP's vendor-specific 255/9/1.
func isIPPUSB(s gousb.InterfaceSetting, vendor gousb.ID) bool {
	if s.Class == gousb.ClassPrinter && s.SubClass == 1 && s.Protocol == 4 {
		return true
	}
	return vendor == 0x03f0 && s.Class == gousb.ClassVendorSpec && s.SubClass == 9 && s.Protocol == 1
}

// candidate picks, from one configuration, the first IPP-over-USB alt
// setting of each interface that has a bulk IN and a bulk OUT endpoint.
func candidate(d *gousb.DeviceDesc) (Candidate, bool) {
	path := make([]string, len(d.Path))
	for i, p := range d.Path {
		path[i] = strconv.Itoa(p)
	}
	cfgs := make([]int, 0, len(d.Configs))
	for n := range d.Configs {
		cfgs = append(cfgs, n)
	}
	slices.Sort(cfgs)
	for _, n := range cfgs {
		cfg := d.Configs[n]
		c := Candidate{Bus: d.Bus, Address: d.Address, Path: fmt.Sprintf("%d-%s", d.Bus, strings.Join(path, ".")),
			Vendor: uint16(d.Vendor), Product: uint16(d.Product), Config: cfg.Number}
		for _, intf := range cfg.Interfaces {
			for _, alt := range intf.AltSettings {
				if !isIPPUSB(alt, d.Vendor) {
					continue
				}
				in, out := -1, -1
				for _, ep := range alt.Endpoints {
					if ep.TransferType != gousb.TransferTypeBulk {
						continue
					}
					if ep.Direction == gousb.EndpointDirectionIn && in < 0 {
						in = ep.Number
					}
					if ep.Direction == gousb.EndpointDirectionOut && out < 0 {
						out = ep.Number
					}
				}
				if in >= 0 && out >= 0 {
					c.Interfaces = append(c.Interfaces, Interface{Number: alt.Number, Alt: alt.Alternate, In: in, Out: out})
					break // one alt setting per interface
				}
			}
		}
		if len(c.Interfaces) > 0 {
			return c, true
		}
	}
	return Candidate{}, false
}

// Bus finds and opens IPP-over-USB devices through libusb. It is the only
// type in the project that touches gousb.
type Bus struct {
	mu  sync.Mutex
	ctx *gousb.Context
}

// ErrNoUSB: libusb cannot start here (no usbfs, as in most containers).
var ErrNoUSB = errors.New("ippusb: USB unavailable")

// NewBus starts a libusb context.
func NewBus() (b *Bus, err error) {
	// gousb panics when libusb_init fails.
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("%w: %v", ErrNoUSB, r)
		}
	}()
	return &Bus{ctx: gousb.NewContext()}, nil
}

// Close ends the libusb context; close every Handle first.
func (b *Bus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ctx.Close()
}

// Find lists the devices with IPP-over-USB interfaces from their
// descriptors alone: nothing is opened, so polling is cheap and never
// disturbs a device in use.
func (b *Bus) Find() ([]Candidate, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var found []Candidate
	_, err := b.ctx.OpenDevices(func(d *gousb.DeviceDesc) bool {
		if c, ok := candidate(d); ok {
			found = append(found, c)
		}
		return false
	})
	if err != nil {
		return found, fmt.Errorf("ippusb: listing USB devices: %w", err)
	}
	slices.SortFunc(found, func(a, b Candidate) int { return strings.Compare(a.Path, b.Path) })
	return found, nil
}

// Handle is an opened device with its IPP-over-USB interfaces claimed.
type Handle struct {
	Manufacturer, Product, Serial string
	dev                           *gousb.Device
	cfg                           *gousb.Config
	intfs                         []*gousb.Interface
	pipes                         []Pipe
	bus                           *Bus
}

// Pipes are the claimed interfaces' bulk pairs.
func (h *Handle) Pipes() []Pipe { return h.pipes }

// Open opens the device at c's bus address: kernel drivers detached, the
// configuration set (with a pause after a change, which devices need
// before they answer), and each IPP-over-USB interface claimed in its alt
// setting, up to the model's quirk limit.
func (b *Bus) Open(ctx context.Context, c Candidate, extra ...QuirkRule) (*Handle, error) {
	b.mu.Lock()
	devs, err := b.ctx.OpenDevices(func(d *gousb.DeviceDesc) bool {
		return d.Bus == c.Bus && d.Address == c.Address
	})
	b.mu.Unlock()
	if len(devs) == 0 {
		if err != nil {
			return nil, fmt.Errorf("ippusb: opening %s: %w", c.ID(), usbError(err))
		}
		return nil, fmt.Errorf("ippusb: %s: %w", c.ID(), scanner.ErrGone)
	}
	for _, d := range devs[1:] {
		d.Close()
	}
	h := &Handle{dev: devs[0], bus: b}
	fail := func(err error) (*Handle, error) {
		h.Close()
		return nil, err
	}
	// Strings may be missing on some devices; that is a quirk, not an error.
	h.Manufacturer, _ = h.dev.Manufacturer()
	h.Product, _ = h.dev.Product()
	h.Serial, _ = h.dev.SerialNumber()
	q := quirksFor(extra, h.Manufacturer, h.Product)
	if q.HardReset || h.Manufacturer == "" && h.Product == "" {
		// Devices that come up confused answer only after a reset.
		if err := h.dev.Reset(); err != nil {
			return fail(fmt.Errorf("ippusb: resetting %s: %w", c.ID(), usbError(err)))
		}
	}
	// Windows has no kernel driver to take the interface from: WinUSB is
	// bound to it, or libusb cannot open it at all. Asking is refused,
	// and gousb then believes it detached and fails to configure.
	if runtime.GOOS != "windows" {
		if err := h.dev.SetAutoDetach(true); err != nil {
			return fail(fmt.Errorf("ippusb: %s: %w", c.ID(), usbError(err)))
		}
	}
	active, _ := h.dev.ActiveConfigNum()
	if h.cfg, err = h.dev.Config(c.Config); err != nil {
		return fail(fmt.Errorf("ippusb: configuring %s: %w", c.ID(), usbError(err)))
	}
	if active != c.Config {
		select {
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
			return fail(ctx.Err())
		}
	}
	intfs := c.Interfaces
	if q.MaxInterfaces > 0 && len(intfs) > q.MaxInterfaces {
		intfs = intfs[:q.MaxInterfaces]
	}
	if q.SoftReset {
		// The printer class's SOFT_RESET (request 2), to the device and
		// then to each interface, as ipp-usb does.
		if _, err := h.dev.Control(0x23, 2, 0, 0, nil); err != nil {
			return fail(fmt.Errorf("ippusb: soft reset of %s: %w", c.ID(), usbError(err)))
		}
		for _, i := range intfs {
			if _, err := h.dev.Control(0x21, 2, 0, uint16(i.Number), nil); err != nil {
				return fail(fmt.Errorf("ippusb: soft reset of %s interface %d: %w", c.ID(), i.Number, usbError(err)))
			}
		}
	}
	for _, i := range intfs {
		intf, err := h.cfg.Interface(i.Number, i.Alt)
		if err != nil {
			return fail(fmt.Errorf("ippusb: claiming interface %d.%d of %s: %w", i.Number, i.Alt, c.ID(), usbError(err)))
		}
		h.intfs = append(h.intfs, intf)
		in, err := intf.InEndpoint(i.In)
		if err != nil {
			return fail(fmt.Errorf("ippusb: %s: %w", c.ID(), usbError(err)))
		}
		out, err := intf.OutEndpoint(i.Out)
		if err != nil {
			return fail(fmt.Errorf("ippusb: %s: %w", c.ID(), usbError(err)))
		}
		h.pipes = append(h.pipes, bulkPipe{in: in, out: out})
	}
	return h, nil
}

// Close releases the interfaces and the device.
func (h *Handle) Close() error {
	for _, i := range h.intfs {
		i.Close()
	}
	h.intfs = nil
	if h.cfg != nil {
		h.cfg.Close()
		h.cfg = nil
	}
	if h.dev != nil {
		err := h.dev.Close()
		h.dev = nil
		return err
	}
	return nil
}

// bulkPipe is a claimed interface's endpoints.
type bulkPipe struct {
	in  *gousb.InEndpoint
	out *gousb.OutEndpoint
}

func (p bulkPipe) ReadContext(ctx context.Context, b []byte) (int, error) {
	n, err := p.in.ReadContext(ctx, b)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && errors.Is(err, gousb.TransferCancelled) {
			return n, cerr
		}
		return n, fmt.Errorf("bulk IN: %w", usbError(err))
	}
	return n, nil
}

func (p bulkPipe) WriteContext(ctx context.Context, b []byte) (int, error) {
	n, err := p.out.WriteContext(ctx, b)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && errors.Is(err, gousb.TransferCancelled) {
			return n, cerr
		}
		return n, fmt.Errorf("bulk OUT: %w", usbError(err))
	}
	return n, nil
}

// isLibusb tells whether err is the libusb error e. gousb's
// Config.Interface reports a failed claim with %v, which keeps the text of
// libusb's error but not the error itself: so the text is matched too.
func isLibusb(err error, e gousb.Error) bool {
	return errors.Is(err, e) || strings.Contains(err.Error(), e.Error())
}

// usbError makes libusb's "the device is not there" the scanner's ErrGone
// and a busy interface ErrBusy, keeping the libusb error for the log.
func usbError(err error) error {
	switch {
	case isLibusb(err, gousb.ErrorNoDevice), errors.Is(err, gousb.TransferNoDevice):
		return fmt.Errorf("%w: %w", scanner.ErrGone, err)
	case isLibusb(err, gousb.ErrorBusy):
		return fmt.Errorf("%w: %w", scanner.ErrBusy, err)
	case isLibusb(err, gousb.ErrorAccess):
		return fmt.Errorf("%w (udev rule for the device missing?): %w", scanner.ErrPermission, err)
	}
	return err
}
