package scanner

import (
	"errors"
	"io"
	"testing"
)

func TestOpErrorUnwrapsToTheCause(t *testing.T) {
	for _, cause := range []error{ErrBusy, ErrGone, ErrNoDocs, ErrJammed, ErrNotFound, ErrUnsupported} {
		err := Wrap("scan", "sim:0", cause)
		if !errors.Is(err, cause) {
			t.Errorf("Wrap(%v) does not unwrap to it", cause)
		}
		var oe *OpError
		if !errors.As(err, &oe) || oe.Op != "scan" || oe.Dev != "sim:0" {
			t.Errorf("Wrap(%v) = %#v, want an OpError naming op and device", cause, err)
		}
		if got, want := err.Error(), "scanner scan sim:0: "+cause.Error(); got != want {
			t.Errorf("message %q, want %q", got, want)
		}
	}
	if Wrap("page", "x", nil) != nil {
		t.Error("Wrap(nil) != nil")
	}
	if Wrap("page", "x", io.EOF) != io.EOF {
		t.Error("io.EOF must stay unwrapped: it ends a job, it is not a failure")
	}
}

func TestCapsSupports(t *testing.T) {
	caps := Caps{
		Sources:     []Source{Platen},
		ColorModes:  []ColorMode{Gray, Color},
		Resolutions: []int{150, 300},
	}
	for _, tc := range []struct {
		name string
		req  Request
		ok   bool
	}{
		{"supported", Request{Source: Platen, DPI: 300, Color: Gray}, true},
		{"no feeder", Request{Source: Feeder, DPI: 300, Color: Gray}, false},
		{"resolution", Request{Source: Platen, DPI: 600, Color: Gray}, false},
		{"lineart", Request{Source: Platen, DPI: 150, Color: BlackWhite}, false},
	} {
		err := caps.Supports(tc.req)
		if (err == nil) != tc.ok {
			t.Errorf("%s: Supports = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v does not wrap ErrUnsupported", tc.name, err)
		}
	}
}
