package scanner

import (
	"errors"
	"io"
	"slices"
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

// A device that says what each source offers: fewer resolutions in colour
// than in gray, a feeder that also scans both sides, areas bounded.
func TestCapsSupportsPerSourceAndMode(t *testing.T) {
	caps := Caps{
		Sources: []Source{Platen, Feeder},
		Inputs: []Input{
			{Source: Platen, MinWidthMM: 25.4, MinHeightMM: 25.4, MaxWidthMM: 215.9, MaxHeightMM: 297,
				Modes: map[ColorMode][]int{Color: {75, 150, 300}, Gray: {75, 150, 300, 600}}},
			{Source: Feeder, MinWidthMM: 25.4, MinHeightMM: 25.4, MaxWidthMM: 215.9, MaxHeightMM: 355.6,
				Modes: map[ColorMode][]int{Gray: {150, 300}}},
			{Source: Feeder, Duplex: true, MaxWidthMM: 215.9, MaxHeightMM: 297,
				Modes: map[ColorMode][]int{Gray: {300}}},
		},
	}
	a4 := Region{Width: 210, Height: 297}
	for _, tc := range []struct {
		name  string
		req   Request
		part  Unsupported
		offer []int
	}{
		{"gray 600 from the glass", Request{Source: Platen, DPI: 600, Color: Gray}, "", nil},
		{"colour 600 from the glass", Request{Source: Platen, DPI: 600, Color: Color}, UnsupportedResolution, []int{75, 150, 300}},
		{"gray 75 from the feeder", Request{Source: Feeder, DPI: 75, Color: Gray}, UnsupportedResolution, []int{150, 300}},
		{"colour from the feeder", Request{Source: Feeder, DPI: 300, Color: Color}, UnsupportedColor, nil},
		{"duplex gray 300", Request{Source: Feeder, DPI: 300, Color: Gray, Duplex: true}, "", nil},
		{"duplex gray 150", Request{Source: Feeder, DPI: 150, Color: Gray, Duplex: true}, UnsupportedResolution, []int{300}},
		{"duplex from the glass", Request{Source: Platen, DPI: 300, Color: Gray, Duplex: true}, UnsupportedDuplex, nil},
		{"an A4 page from the glass", Request{Source: Platen, DPI: 300, Color: Gray, Region: a4}, "", nil},
		{"a legal page from the feeder", Request{Source: Feeder, DPI: 300, Color: Gray, Region: Region{Width: 215.9, Height: 355.6}}, "", nil},
		{"a legal page from the glass", Request{Source: Platen, DPI: 300, Color: Gray, Region: Region{Width: 215.9, Height: 355.6}}, UnsupportedHeight, nil},
		{"250 mm wide", Request{Source: Platen, DPI: 300, Color: Gray, Region: Region{Width: 250, Height: 297}}, UnsupportedWidth, nil},
		{"a 10 mm strip", Request{Source: Feeder, DPI: 300, Color: Gray, Region: Region{Width: 10, Height: 100}}, UnsupportedWidth, nil},
		{"A4 moved right off the glass", Request{Source: Platen, DPI: 300, Color: Gray, Region: Region{X: 10, Width: 210, Height: 297}}, UnsupportedWidth, nil},
	} {
		err := caps.Supports(tc.req)
		var ue *UnsupportedError
		switch {
		case tc.part == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.part == "":
		case !errors.As(err, &ue) || !errors.Is(err, ErrUnsupported):
			t.Errorf("%s: %v, want an UnsupportedError wrapping ErrUnsupported", tc.name, err)
		case ue.Part != tc.part:
			t.Errorf("%s: refused for its %s (%v), want its %s", tc.name, ue.Part, err, tc.part)
		case tc.offer != nil && !slices.Equal(ue.Resolutions, tc.offer):
			t.Errorf("%s: offers %v instead, want %v", tc.name, ue.Resolutions, tc.offer)
		}
	}
	// What a colour-only refusal offers: the feeder's one mode.
	err := caps.Supports(Request{Source: Feeder, DPI: 300, Color: Color})
	var ue *UnsupportedError
	if !errors.As(err, &ue) || !slices.Equal(ue.Colors, []ColorMode{Gray}) {
		t.Errorf("colour from the feeder: %v", err)
	}
}
