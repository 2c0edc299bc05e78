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

// Caps is what a device can do, as read from it.
type Caps struct {
	Sources     []Source
	ColorModes  []ColorMode
	Resolutions []int // dpi values the device accepts, ascending
	MediaTypes  []string
	// MaxWidthMM and MaxHeightMM bound the scan area of the platen.
	MaxWidthMM, MaxHeightMM float64
}

// Supports reports whether the capabilities allow the request as given.
func (c Caps) Supports(r Request) error {
	if !contains(c.Sources, r.Source) {
		return fmt.Errorf("%w: source %q not in %v", ErrUnsupported, r.Source, c.Sources)
	}
	if !contains(c.ColorModes, r.Color) {
		return fmt.Errorf("%w: colour mode %q not in %v", ErrUnsupported, r.Color, c.ColorModes)
	}
	if !contains(c.Resolutions, r.DPI) {
		return fmt.Errorf("%w: %d dpi not in %v", ErrUnsupported, r.DPI, c.Resolutions)
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
