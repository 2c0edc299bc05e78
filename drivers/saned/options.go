package saned

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/autografo/autografo/scanner"
)

// ValueType of an option.
type ValueType uint32

const (
	TypeBool   ValueType = 0
	TypeInt    ValueType = 1
	TypeFixed  ValueType = 2
	TypeString ValueType = 3
	TypeButton ValueType = 4
	TypeGroup  ValueType = 5
)

// Capability bits of an option.
const (
	capSoftSelect = 1
	capInactive   = 32
)

// Info bits of a CONTROL_OPTION reply.
const (
	infoInexact       = 1
	infoReloadOptions = 2
)

const (
	actionGet = 0
	actionSet = 1
)

// Range is a range constraint, in the option's own units (16.16 fixed point
// for TypeFixed).
type Range struct{ Min, Max, Quant int32 }

// Option is an option descriptor.
type Option struct {
	Index       int
	Name, Title string
	Type        ValueType
	Unit        uint32
	Size        int
	Cap         uint32
	Range       *Range
	Words       []int32
	Strings     []string
}

// Settable reports whether the frontend may set the option now.
func (o Option) Settable() bool { return o.Cap&capSoftSelect != 0 && o.Cap&capInactive == 0 }

func (c *conn) options(ctx context.Context, handle int32) ([]Option, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.withDeadline(ctx)()
	if err := c.send(new(encoder).word(rpcGetOptions).int(handle)); err != nil {
		return nil, err
	}
	d := c.dec
	n := d.count()
	opts := make([]Option, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		if !d.present() {
			opts = append(opts, Option{Index: i})
			continue
		}
		o := Option{Index: i}
		o.Name, _ = d.str()
		o.Title, _ = d.str()
		d.str() // description
		o.Type, o.Unit, o.Size, o.Cap = ValueType(d.word()), d.word(), int(d.int()), d.word()
		switch ct := d.word(); ct {
		case 0:
		case 1:
			if d.present() {
				o.Range = &Range{d.int(), d.int(), d.int()}
			}
		case 2:
			k := d.count()
			for j := 0; j < k && d.err == nil; j++ {
				o.Words = append(o.Words, d.int())
			}
			if len(o.Words) > 0 {
				o.Words = o.Words[1:] // the first element is the count
			}
		case 3:
			k := d.count()
			for j := 0; j < k && d.err == nil; j++ {
				if s, ok := d.str(); ok {
					o.Strings = append(o.Strings, s)
				}
			}
		default:
			d.fail(fmt.Errorf("%w: constraint type %d", ErrProtocol, ct))
		}
		if o.Size < 0 || o.Size > maxString {
			d.fail(fmt.Errorf("%w: option size %d", ErrProtocol, o.Size))
		}
		opts = append(opts, o)
	}
	return opts, c.readErr()
}

// value is an option value: words for bool, int and fixed, or a string.
type value struct {
	words []int32
	str   string
}

func (c *conn) control(ctx context.Context, handle int32, o Option, action uint32, v value) (uint32, value, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.withDeadline(ctx)()
	e := new(encoder).word(rpcControlOption).int(handle).int(int32(o.Index)).word(action).word(uint32(o.Type)).int(int32(o.Size))
	switch o.Type {
	case TypeBool, TypeInt, TypeFixed:
		n := o.Size / 4
		e.word(uint32(n))
		for i := range n {
			var w int32
			if i < len(v.words) {
				w = v.words[i]
			}
			e.int(w)
		}
	case TypeString:
		b := make([]byte, o.Size) // NUL-padded to the option's size
		copy(b, v.str)
		if len(v.str) >= o.Size {
			return 0, value{}, fmt.Errorf("saned: value %q too long for option %s", v.str, o.Name)
		}
		e.word(uint32(o.Size))
		e.buf.Write(b)
	default:
		e.word(0)
	}
	if err := c.send(e); err != nil {
		return 0, value{}, err
	}
	for range 3 {
		d := c.dec
		status, info, typ, size := d.word(), d.word(), ValueType(d.word()), int(d.int())
		var got value
		n := d.count()
		switch typ {
		case TypeBool, TypeInt, TypeFixed:
			for i := 0; i < n && d.err == nil; i++ {
				got.words = append(got.words, d.int())
			}
		case TypeString:
			got.str = latin1(trimNUL(d.bytes(n)))
		}
		_ = size
		resource, _ := d.str()
		if err := c.readErr(); err != nil {
			return 0, value{}, err
		}
		if resource == "" {
			return info, got, check("control option "+o.Name, status)
		}
		if err := c.authorize(resource); err != nil {
			return 0, value{}, err
		}
	}
	return 0, value{}, fmt.Errorf("%w: authorization loop on control option", ErrProtocol)
}

func trimNUL(b []byte) []byte {
	if i := slices.Index(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

func find(opts []Option, name string) (Option, bool) {
	for _, o := range opts {
		if o.Name == name {
			return o, true
		}
	}
	return Option{}, false
}

// toFloat reads a word in the option's type: 16.16 fixed point or integer.
func toFloat(o Option, w int32) float64 {
	if o.Type == TypeFixed {
		return float64(w) / 65536
	}
	return float64(w)
}

func fromFloat(o Option, f float64) int32 {
	if o.Type == TypeFixed {
		return int32(math.Round(f * 65536))
	}
	return int32(math.Round(f))
}

// Words that name sources and modes across SANE backends.
func sourceKind(s string) (scanner.Source, bool) {
	l := strings.ToLower(s)
	switch {
	case strings.Contains(l, "adf"), strings.Contains(l, "feeder"), strings.Contains(l, "document"):
		return scanner.Feeder, true
	case strings.Contains(l, "flatbed"), strings.Contains(l, "platen"), strings.Contains(l, "normal"):
		return scanner.Platen, true
	}
	return "", false
}

// sourceSides says whether a feeder source scans both sides ("ADF
// Duplex"), or the back only ("ADF Back", which Autografo does not use).
func sourceSides(s string) (duplex, backOnly bool) {
	l := strings.ToLower(s)
	return strings.Contains(l, "duplex"), strings.Contains(l, "back")
}

// sourceMatches is the choice of the source option for a request.
func sourceMatches(req scanner.Request) func(string) bool {
	return func(s string) bool {
		k, ok := sourceKind(s)
		duplex, backOnly := sourceSides(s)
		return ok && k == req.Source && duplex == req.Duplex && !backOnly
	}
}

func modeKind(s string) (scanner.ColorMode, bool) {
	l := strings.ToLower(s)
	switch {
	case strings.Contains(l, "color"), strings.Contains(l, "colour"), l == "rgb":
		return scanner.Color, true
	case strings.Contains(l, "gray"), strings.Contains(l, "grey"):
		return scanner.Gray, true
	case strings.Contains(l, "lineart"), strings.Contains(l, "binary"), strings.Contains(l, "halftone"), strings.Contains(l, "black"):
		return scanner.BlackWhite, true
	}
	return "", false
}

var commonDPI = []int{75, 100, 150, 200, 240, 300, 400, 600, 1200}

// capsOf maps SANE's well-known options onto the device model.
func capsOf(opts []Option) scanner.Caps {
	caps := scanner.Caps{MediaTypes: []string{MediaType}}
	if o, ok := find(opts, "source"); ok {
		for _, s := range o.Strings {
			if k, ok := sourceKind(s); ok && !slices.Contains(caps.Sources, k) {
				caps.Sources = append(caps.Sources, k)
			}
		}
	}
	if len(caps.Sources) == 0 {
		caps.Sources = []scanner.Source{scanner.Platen}
	}
	if o, ok := find(opts, "mode"); ok {
		for _, s := range o.Strings {
			if k, ok := modeKind(s); ok && !slices.Contains(caps.ColorModes, k) {
				caps.ColorModes = append(caps.ColorModes, k)
			}
		}
	}
	if d, ok := find(opts, "depth"); ok && slices.Contains(d.Words, 1) &&
		slices.Contains(caps.ColorModes, scanner.Gray) && !slices.Contains(caps.ColorModes, scanner.BlackWhite) {
		caps.ColorModes = append(caps.ColorModes, scanner.BlackWhite) // gray at 1 bit is lineart
	}
	if len(caps.ColorModes) == 0 {
		caps.ColorModes = []scanner.ColorMode{scanner.Gray}
	}
	if o, ok := find(opts, "resolution"); ok {
		switch {
		case o.Range != nil:
			lo, hi, q := toFloat(o, o.Range.Min), toFloat(o, o.Range.Max), toFloat(o, o.Range.Quant)
			for _, d := range commonDPI {
				f := float64(d)
				if f >= lo && f <= hi && (q == 0 || math.Abs(math.Mod(f-lo, q)) < 1e-6) {
					caps.Resolutions = append(caps.Resolutions, d)
				}
			}
		default:
			for _, w := range o.Words {
				caps.Resolutions = append(caps.Resolutions, int(math.Round(toFloat(o, w))))
			}
			slices.Sort(caps.Resolutions)
		}
	}
	if o, ok := find(opts, "br-x"); ok && o.Range != nil {
		caps.MaxWidthMM = toFloat(o, o.Range.Max)
	}
	if o, ok := find(opts, "br-y"); ok && o.Range != nil {
		caps.MaxHeightMM = toFloat(o, o.Range.Max)
	}
	// Each source as an input. SANE's options are the device's, not the
	// source's: every input gets the same area and resolutions, as read
	// with the source the backend has now.
	modes := map[scanner.ColorMode][]int{}
	for _, m := range caps.ColorModes {
		modes[m] = caps.Resolutions
	}
	add := func(source scanner.Source, duplex bool) {
		if _, ok := caps.Input(source, duplex); !ok {
			caps.Inputs = append(caps.Inputs, scanner.Input{Source: source, Duplex: duplex,
				MaxWidthMM: caps.MaxWidthMM, MaxHeightMM: caps.MaxHeightMM, Modes: modes, MediaTypes: caps.MediaTypes})
		}
	}
	if o, ok := find(opts, "source"); ok {
		for _, s := range o.Strings {
			k, ok := sourceKind(s)
			duplex, backOnly := sourceSides(s)
			if ok && !backOnly {
				add(k, duplex)
			}
		}
	}
	if len(caps.Inputs) == 0 {
		add(scanner.Platen, false)
	}
	return caps
}
