// Package escl is a client of eSCL ("AirScan"), the scan protocol of most
// multifunction printers since about 2015, over any http.RoundTripper: the
// network, or IPP-over-USB.
package escl

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Namespaces, matched by URI: devices choose their own prefixes.
const (
	nsESCL   = "http://schemas.hp.com/imaging/escl/2011/05/03"
	nsESCL10 = "http://schemas.hp.com/imaging/escl/2011/02/08" // eSCL 1.0 (HP OfficeJet 6600, M476dw, M521dn)
	nsPWG    = "http://www.pwg.org/schemas/2010/12/sm"
)

func known(space string) bool { return space == nsESCL || space == nsESCL10 || space == nsPWG }

// Limits on a document from a device.
const (
	maxDocument = 1 << 20
	maxElements = 20000
	maxDepth    = 32
)

// ErrDocument is a capabilities or status document that cannot be read.
var ErrDocument = errors.New("escl: malformed document")

// node is an element of a parsed document.
type node struct {
	space, local string
	text         string
	kids         []*node
}

// parse reads a whole document into a tree, bounded in size, depth and
// element count.
func parse(r io.Reader) (*node, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxDocument+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxDocument {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrDocument, maxDocument)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false // some devices send stray entities or undeclared prefixes
	var stack []*node
	var root *node
	count := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDocument, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			count++
			if count > maxElements || len(stack) >= maxDepth {
				return nil, fmt.Errorf("%w: too many or too deeply nested elements", ErrDocument)
			}
			n := &node{space: t.Name.Space, local: t.Name.Local}
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("%w: two root elements", ErrDocument)
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, fmt.Errorf("%w: unbalanced", ErrDocument)
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				n := stack[len(stack)-1]
				if len(n.text) < 4096 {
					n.text += string(t)
				}
			}
		}
	}
	if root == nil || len(stack) != 0 {
		return nil, fmt.Errorf("%w: no complete root element", ErrDocument)
	}
	return root, nil
}

// child returns the first child with the local name in a known namespace.
func (n *node) child(local string) *node {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.local == local && known(k.space) {
			return k
		}
	}
	return nil
}

func (n *node) children(local string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, k := range n.kids {
		if k.local == local && known(k.space) {
			out = append(out, k)
		}
	}
	return out
}

// path follows children by local name.
func (n *node) path(locals ...string) *node {
	for _, l := range locals {
		n = n.child(l)
	}
	return n
}

func (n *node) str() string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.text)
}

func (n *node) int() int {
	v, err := strconv.Atoi(n.str())
	if err != nil || v < 0 || v > 1<<20 {
		return 0
	}
	return v
}

// Capabilities is what ScannerCapabilities says.
type Capabilities struct {
	Version      string
	MakeAndModel string
	Serial       string
	UUID         string
	Platen       *InputCaps
	ADFSimplex   *InputCaps
	// ADFDuplex is the feeder scanning both sides: its own caps, or the
	// simplex ones when the device only lists Duplex among its AdfOptions.
	ADFDuplex *InputCaps
}

// InputCaps are the capabilities of one input source. Lengths are in
// 1/300 inch, as eSCL gives them.
type InputCaps struct {
	MinWidth, MinHeight int
	MaxWidth, MaxHeight int
	ColorModes          []string // RGB24, Grayscale8, BlackAndWhite1, ...
	Formats             []string // MIME types (DocumentFormat and DocumentFormatExt)
	Resolutions         []int    // square resolutions offered in any mode, ascending
	// ModeResolutions are the resolutions of each colour mode, ascending:
	// a profile's SupportedResolutions may each name the modes they are
	// for (Xerox, Lexmark), or else serve every mode of the profile.
	ModeResolutions map[string][]int
}

// ParseCapabilities reads a ScannerCapabilities document.
func ParseCapabilities(r io.Reader) (Capabilities, error) {
	root, err := parse(r)
	if err != nil {
		return Capabilities{}, err
	}
	if root.local != "ScannerCapabilities" || !known(root.space) {
		return Capabilities{}, fmt.Errorf("%w: root is %s, not ScannerCapabilities", ErrDocument, root.local)
	}
	c := Capabilities{
		Version: root.child("Version").str(), MakeAndModel: root.child("MakeAndModel").str(),
		Serial: root.child("SerialNumber").str(), UUID: root.child("UUID").str(),
		Platen:     inputCaps(root.path("Platen", "PlatenInputCaps")),
		ADFSimplex: inputCaps(root.path("Adf", "AdfSimplexInputCaps")),
		ADFDuplex:  inputCaps(root.path("Adf", "AdfDuplexInputCaps")),
	}
	if c.ADFDuplex == nil && c.ADFSimplex != nil {
		for _, o := range root.path("Adf", "AdfOptions").children("AdfOption") {
			if o.str() == "Duplex" {
				c.ADFDuplex = c.ADFSimplex
			}
		}
	}
	if c.Platen == nil && c.ADFSimplex == nil {
		return c, fmt.Errorf("%w: no platen and no feeder", ErrDocument)
	}
	return c, nil
}

var commonDPI = []int{75, 100, 150, 200, 240, 300, 400, 600, 1200}

func inputCaps(n *node) *InputCaps {
	if n == nil {
		return nil
	}
	ic := &InputCaps{MinWidth: n.child("MinWidth").int(), MinHeight: n.child("MinHeight").int(),
		MaxWidth: n.child("MaxWidth").int(), MaxHeight: n.child("MaxHeight").int(), ModeResolutions: map[string][]int{}}
	profiles := n.path("SettingProfiles").children("SettingProfile")
	// eSCL 1.0 calls them colour profiles.
	profiles = append(profiles, n.path("ColorProfiles").children("ColorProfile")...)
	add := func(list *[]string, v string) {
		if v != "" && !slices.Contains(*list, v) {
			*list = append(*list, v)
		}
	}
	addRes := func(mode string, v int) {
		if v <= 0 {
			return
		}
		if !slices.Contains(ic.Resolutions, v) {
			ic.Resolutions = append(ic.Resolutions, v)
		}
		if !slices.Contains(ic.ModeResolutions[mode], v) {
			ic.ModeResolutions[mode] = append(ic.ModeResolutions[mode], v)
		}
	}
	for _, p := range profiles {
		var modes []string
		for _, m := range p.path("ColorModes").children("ColorMode") {
			add(&ic.ColorModes, m.str())
			add(&modes, m.str())
		}
		formats := p.path("DocumentFormats")
		for _, f := range append(formats.children("DocumentFormat"), formats.children("DocumentFormatExt")...) {
			add(&ic.Formats, strings.ToLower(f.str()))
		}
		for _, res := range p.children("SupportedResolutions") {
			var only []string
			for _, m := range res.children("ColorMode") {
				add(&only, m.str())
			}
			if len(only) == 0 {
				only = modes
			}
			for _, d := range resolutionsOf(res) {
				for _, m := range only {
					addRes(m, d)
				}
			}
		}
	}
	slices.Sort(ic.Resolutions)
	for _, list := range ic.ModeResolutions {
		slices.Sort(list)
	}
	return ic
}

// resolutionsOf lists the square resolutions of a SupportedResolutions:
// its discrete ones, and the common ones inside its range.
func resolutionsOf(res *node) []int {
	var out []int
	for _, d := range res.path("DiscreteResolutions").children("DiscreteResolution") {
		if x, y := d.child("XResolution").int(), d.child("YResolution").int(); x == y {
			out = append(out, x)
		}
	}
	if rr := res.child("ResolutionRange"); rr != nil {
		xr, yr := rr.child("XResolutionRange"), rr.child("YResolutionRange")
		lo := max(xr.child("Min").int(), yr.child("Min").int())
		hi := min(xr.child("Max").int(), yr.child("Max").int())
		step := max(1, xr.child("Step").int())
		for _, d := range commonDPI {
			if d >= lo && d <= hi && (d-lo)%step == 0 {
				out = append(out, d)
			}
		}
	}
	return out
}

// MM converts eSCL's 1/300 inch to millimetres.
func MM(units int) float64 { return math.Round(float64(units)*25.4/300*10) / 10 }

// Status is what ScannerStatus says.
type Status struct {
	State    string // Idle, Processing, Testing, Stopped, Down
	AdfState string // ScannerAdfLoaded, ScannerAdfEmpty, ScannerAdfJam, ...
	Jobs     []JobInfo
}

// JobInfo is a job listed in ScannerStatus.
type JobInfo struct {
	URI   string
	State string
}

// ParseStatus reads a ScannerStatus document.
func ParseStatus(r io.Reader) (Status, error) {
	root, err := parse(r)
	if err != nil {
		return Status{}, err
	}
	if root.local != "ScannerStatus" || !known(root.space) {
		return Status{}, fmt.Errorf("%w: root is %s, not ScannerStatus", ErrDocument, root.local)
	}
	s := Status{State: root.child("State").str(), AdfState: root.child("AdfState").str()}
	for _, j := range root.path("Jobs").children("JobInfo") {
		s.Jobs = append(s.Jobs, JobInfo{URI: j.child("JobUri").str(), State: j.child("JobState").str()})
	}
	if s.State == "" {
		return s, fmt.Errorf("%w: no State", ErrDocument)
	}
	return s, nil
}
