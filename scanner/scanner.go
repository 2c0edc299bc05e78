// Package scanner is Autografo's device model: what a scanner driver offers,
// what a capture asks of it, and the errors callers branch on.
//
// It imports only the standard library so that every driver (USB, network,
// SANE, simulated) and every consumer (manager, pipeline, agent) can share it.
package scanner

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ID names a device uniquely and stably across polls, prefixed by its driver
// ("sim:0", "usb:03f0:2b17:CN123", "saned:127.0.0.1:6566/test:0").
type ID string

// Info describes a discovered device. Discovery must not open the device.
type Info struct {
	ID     ID     `json:"id"`
	Driver string `json:"driver"`
	Make   string `json:"make,omitempty"`
	Model  string `json:"model"`
	Serial string `json:"serial,omitempty"`
}

// Source is where the paper is: the flatbed glass or the document feeder.
type Source string

const (
	Platen Source = "platen"
	Feeder Source = "feeder"
)

// ColorMode is the pixel format asked of the device.
type ColorMode string

const (
	Color      ColorMode = "color"
	Gray       ColorMode = "gray"
	BlackWhite ColorMode = "bw"
)

// Caps is what a device can do, as read from it. Inputs says it source by
// source; the lists beside them are their union, for a quick look.
type Caps struct {
	Sources     []Source
	ColorModes  []ColorMode
	Resolutions []int // dpi values the device accepts, ascending
	MediaTypes  []string
	// MaxWidthMM and MaxHeightMM bound the scan area of the platen (of the
	// feeder, on a device without one).
	MaxWidthMM, MaxHeightMM float64
	// Inputs are what each source offers. A driver that cannot tell its
	// sources apart leaves it empty, and Supports checks the union.
	Inputs []Input
}

// Input is one source as the device offers it: the platen, the feeder one
// side at a time, or the feeder both sides at once (Duplex).
type Input struct {
	Source Source
	Duplex bool
	// The scan area's bounds in millimetres; 0 where the device does not
	// say.
	MinWidthMM, MinHeightMM, MaxWidthMM, MaxHeightMM float64
	// Modes are the resolutions (dpi, ascending) offered in each colour
	// mode: devices offer fewer in colour than in gray, or none at all.
	Modes      map[ColorMode][]int
	MediaTypes []string
}

// ColorModesOffered lists the input's colour modes in a stable order.
func (in Input) ColorModesOffered() []ColorMode {
	var out []ColorMode
	for _, m := range []ColorMode{Color, Gray, BlackWhite} {
		if _, ok := in.Modes[m]; ok {
			out = append(out, m)
		}
	}
	return out
}

// Input returns what the source offers, one side or both.
func (c Caps) Input(source Source, duplex bool) (Input, bool) {
	for _, in := range c.Inputs {
		if in.Source == source && in.Duplex == duplex {
			return in, true
		}
	}
	return Input{}, false
}

// Unsupported names the part of a request a device does not offer.
type Unsupported string

const (
	UnsupportedSource     Unsupported = "source"
	UnsupportedDuplex     Unsupported = "duplex"
	UnsupportedColor      Unsupported = "color"
	UnsupportedResolution Unsupported = "resolution"
	UnsupportedWidth      Unsupported = "width"
	UnsupportedHeight     Unsupported = "height"
)

// UnsupportedError says what of a request the device does not offer, and
// what it offers there instead. It wraps ErrUnsupported.
type UnsupportedError struct {
	Request Request
	Part    Unsupported
	// What the device offers instead, for the part refused.
	Sources      []Source
	Colors       []ColorMode
	Resolutions  []int
	MinMM, MaxMM float64
}

func (e *UnsupportedError) Error() string {
	r := e.Request
	side := ""
	if r.Duplex {
		side = " both sides"
	}
	switch e.Part {
	case UnsupportedSource:
		return fmt.Sprintf("%v: no %s (the device has %v)", ErrUnsupported, r.Source, e.Sources)
	case UnsupportedDuplex:
		return fmt.Sprintf("%v: the %s does not scan both sides", ErrUnsupported, r.Source)
	case UnsupportedColor:
		return fmt.Sprintf("%v: no %s mode from the %s%s (offered: %v)", ErrUnsupported, r.Color, r.Source, side, e.Colors)
	case UnsupportedResolution:
		return fmt.Sprintf("%v: no %d dpi in %s from the %s%s (offered: %v)", ErrUnsupported, r.DPI, r.Color, r.Source, side, e.Resolutions)
	case UnsupportedWidth, UnsupportedHeight:
		return fmt.Sprintf("%v: a %s of %.1f mm from the %s is outside %.1f-%.1f mm", ErrUnsupported, e.Part, e.asked(), r.Source, e.MinMM, e.MaxMM)
	}
	return ErrUnsupported.Error()
}

func (e *UnsupportedError) asked() float64 {
	if e.Part == UnsupportedWidth {
		return e.Request.Region.Width
	}
	return e.Request.Region.Height
}

func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }

// areaSlackMM absorbs the rounding between millimetres and a device's own
// units (eSCL's 1/300 inch is 0.085 mm; capabilities are read to 0.1 mm).
const areaSlackMM = 0.2

// Supports reports whether the capabilities allow the request as given;
// the error is an *UnsupportedError.
func (c Caps) Supports(r Request) error {
	refuse := func(part Unsupported, e UnsupportedError) error {
		e.Request, e.Part = r, part
		return &e
	}
	if len(c.Inputs) == 0 {
		switch {
		case !contains(c.Sources, r.Source):
			return refuse(UnsupportedSource, UnsupportedError{Sources: c.Sources})
		case r.Duplex:
			return refuse(UnsupportedDuplex, UnsupportedError{})
		case !contains(c.ColorModes, r.Color):
			return refuse(UnsupportedColor, UnsupportedError{Colors: c.ColorModes})
		case !contains(c.Resolutions, r.DPI):
			return refuse(UnsupportedResolution, UnsupportedError{Resolutions: c.Resolutions})
		}
		return nil
	}
	in, ok := c.Input(r.Source, r.Duplex)
	if !ok {
		if _, one := c.Input(r.Source, false); one && r.Duplex {
			return refuse(UnsupportedDuplex, UnsupportedError{})
		}
		return refuse(UnsupportedSource, UnsupportedError{Sources: c.Sources})
	}
	res, ok := in.Modes[r.Color]
	if !ok {
		return refuse(UnsupportedColor, UnsupportedError{Colors: in.ColorModesOffered()})
	}
	if !contains(res, r.DPI) {
		return refuse(UnsupportedResolution, UnsupportedError{Resolutions: res})
	}
	if r.Region.Width > 0 && r.Region.Height > 0 {
		// The region is at least the smallest area, and ends within the
		// largest.
		if r.Region.Width < in.MinWidthMM-areaSlackMM || (in.MaxWidthMM > 0 && r.Region.X+r.Region.Width > in.MaxWidthMM+areaSlackMM) {
			return refuse(UnsupportedWidth, UnsupportedError{MinMM: in.MinWidthMM, MaxMM: in.MaxWidthMM})
		}
		if r.Region.Height < in.MinHeightMM-areaSlackMM || (in.MaxHeightMM > 0 && r.Region.Y+r.Region.Height > in.MaxHeightMM+areaSlackMM) {
			return refuse(UnsupportedHeight, UnsupportedError{MinMM: in.MinHeightMM, MaxMM: in.MaxHeightMM})
		}
	}
	return nil
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Region is a scan area in millimetres from the top-left corner of the
// platen; the zero Region means the whole area.
type Region struct {
	X, Y, Width, Height float64
}

// Request is one capture as asked by the operator.
type Request struct {
	Source    Source
	DPI       int
	Color     ColorMode
	MediaType string // "image/jpeg" unless the caller needs another
	Region    Region
	// Duplex asks the feeder for both sides of each sheet.
	Duplex bool
}

// Page is one scanned image as the device sends it. The caller must close
// Body; a driver streams it and holds at most one page at a time.
type Page struct {
	MediaType string
	DPI       int
	// Width and Height in pixels when the driver knows them up front, else 0.
	Width, Height int
	// Size in bytes when known up front, else -1; used for progress only.
	Size int64
	// Back: the back of the sheet before it, in a duplex job (devices send
	// each sheet's front, then its back).
	Back bool
	Body io.ReadCloser
}

// Driver finds and opens devices of one kind.
type Driver interface {
	Name() string
	// Discover lists the devices present now. It is polled, so it must be
	// cheap and must not open or claim anything.
	Discover(ctx context.Context) ([]Info, error)
	Open(ctx context.Context, id ID) (Device, error)
}

// Device is an opened scanner. It runs one Job at a time.
type Device interface {
	Caps(ctx context.Context) (Caps, error)
	Scan(ctx context.Context, req Request) (Job, error)
	Close() error
}

// Job is a running capture. NextPage returns io.EOF after the last page.
// Cancel stops the device and releases the job; it is safe to call after
// NextPage has returned an error.
type Job interface {
	NextPage(ctx context.Context) (Page, error)
	Cancel(ctx context.Context) error
}

// Errors callers branch on. Drivers wrap them in an *OpError.
var (
	ErrBusy        = errors.New("device busy")
	ErrGone        = errors.New("device gone")
	ErrNoDocs      = errors.New("no documents in feeder")
	ErrJammed      = errors.New("paper jammed")
	ErrNotFound    = errors.New("device not found")
	ErrUnsupported = errors.New("request not supported by device")
	// ErrPermission: the operating system refuses access to the device
	// (on Linux, a missing udev rule for a USB scanner).
	ErrPermission = errors.New("no permission to use the device")
)

// OpError records which operation on which device failed, and why.
type OpError struct {
	Op  string // "discover", "open", "caps", "scan", "page", "cancel"
	Dev ID
	Err error
}

func (e *OpError) Error() string {
	if e.Dev == "" {
		return "scanner " + e.Op + ": " + e.Err.Error()
	}
	return "scanner " + e.Op + " " + string(e.Dev) + ": " + e.Err.Error()
}

func (e *OpError) Unwrap() error { return e.Err }

// Wrap returns err wrapped in an *OpError, or nil when err is nil. io.EOF is
// returned unwrapped because it is the end of a Job, not a failure.
func Wrap(op string, dev ID, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return &OpError{Op: op, Dev: dev, Err: err}
}
