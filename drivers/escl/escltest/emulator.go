// Package escltest is the device side of eSCL: an http.Handler that behaves
// like a multifunction printer's scanner, with the faults tests need. It
// serves the network tests here, and the USB emulation behind IPP-over-USB.
package escltest

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/autografo/autografo/scanner"
	"github.com/autografo/autografo/scanner/scannertest"
)

// Emulator is an eSCL scanner with a platen and a feeder.
type Emulator struct {
	mu sync.Mutex
	// FeederPages is how many sheets are in the feeder.
	FeederPages int
	// BusyFor answers 503 to that many ScanJobs requests.
	BusyFor int
	// JamAfter jams the feeder after that many pages of a job (-1: never).
	JamAfter int
	// PullAfter breaks the connection in the middle of the page after that
	// many pages (-1: never): the cable pulled out.
	PullAfter int
	// StallAfter sends half of the page after that many pages (-1: never)
	// and then holds the connection until the client goes: a page
	// mid-transfer when the client is stopped. Stalled is closed then.
	StallAfter int
	Stalled    chan struct{}
	// LocationStyle: "" (a path), "slash" (trailing slash), "urn" (Kyocera's
	// urn:uuid) or "wronghost" (an absolute URL naming another host).
	LocationStyle string
	// ColorResolutions and GrayResolutions, when set, are listed apart, each
	// SupportedResolutions naming its ColorMode (as Xerox and Lexmark
	// devices do); unset, one list of 150, 300 and 600 serves both modes.
	ColorResolutions, GrayResolutions []int
	// Duplex offers the feeder's both sides (AdfDuplexInputCaps): a duplex
	// job gives each sheet's front, then its back.
	Duplex bool
	// Backs, when set, is each sheet's back in a duplex job, by sheet
	// (1-based); else a back is a page like the front.
	Backs func(sheet int) []byte
	// MadeAtDPI, when set, is the resolution pages are made at whatever
	// was asked: a device that lists a resolution it does not scan at.
	MadeAtDPI int
	// CropTo, when set, is the size in pixels of every page whatever was
	// asked: a device that crops or pads on its own.
	CropTo [2]int

	// Refused counts the jobs answered 409 because their settings were not
	// offered: what a real device does, with no word of why.
	Refused int

	adf    string // ScannerAdfLoaded, ScannerAdfEmpty, ScannerAdfJam
	jobs   map[string]*job
	nextID int
	// Hosts and Requests seen, and the ScanSettings of each job, for tests.
	Hosts    []string
	Requests []string
	Settings []string
}

type job struct {
	id      string
	created int
	source  string
	dpi     int
	color   string
	duplex  bool
	// width and height asked, in 1/300 inch
	width, height int
	pages         int
	sheets        int  // sheets taken from the feeder
	back          bool // the next document is the back of the last sheet
	deleted       bool
	// state is the job as the device's log would record it: Processing,
	// then Completed once it said it had no more documents, or Canceled
	// when deleted before that.
	state string
}

// New returns an emulator with a loaded feeder of n sheets.
func New(n int) *Emulator {
	return &Emulator{FeederPages: n, JamAfter: -1, PullAfter: -1, StallAfter: -1, Stalled: make(chan struct{}), jobs: map[string]*job{}}
}

// Areas in 1/300 inch: a letter-wide platen of A4 length, and a feeder
// that takes legal paper (as the devices the corpus holds).
const (
	minSide                 = 300
	maxWidth                = 2550
	platenHeight, adfHeight = 3508, 4200
	inputCaps               = `<scan:MinWidth>%d</scan:MinWidth><scan:MaxWidth>%d</scan:MaxWidth><scan:MinHeight>%d</scan:MinHeight><scan:MaxHeight>%d</scan:MaxHeight>%s`
	capabilitiesHead        = `<?xml version="1.0" encoding="UTF-8"?>
<scan:ScannerCapabilities xmlns:scan="http://schemas.hp.com/imaging/escl/2011/05/03" xmlns:pwg="http://www.pwg.org/schemas/2010/12/sm">
<pwg:Version>2.63</pwg:Version><pwg:MakeAndModel>Autografo eSCL Emulator</pwg:MakeAndModel><pwg:SerialNumber>EMU0001</pwg:SerialNumber>
`
)

var defaultResolutions = []int{150, 300, 600}

func resolutionList(mode string, dpis []int) string {
	var b strings.Builder
	b.WriteString(`<scan:SupportedResolutions>`)
	if mode != "" {
		b.WriteString(`<scan:ColorMode>` + mode + `</scan:ColorMode>`)
	}
	b.WriteString(`<scan:DiscreteResolutions>`)
	for _, d := range dpis {
		fmt.Fprintf(&b, `<scan:DiscreteResolution><scan:XResolution>%d</scan:XResolution><scan:YResolution>%d</scan:YResolution></scan:DiscreteResolution>`, d, d)
	}
	b.WriteString(`</scan:DiscreteResolutions></scan:SupportedResolutions>`)
	return b.String()
}

// ResolutionsFor are the resolutions offered in the device model's mode.
func (e *Emulator) ResolutionsFor(mode scanner.ColorMode) []int {
	return e.resolutions(map[scanner.ColorMode]string{scanner.Color: "RGB24", scanner.Gray: "Grayscale8"}[mode])
}

// resolutions are the ones offered in the mode.
func (e *Emulator) resolutions(mode string) []int {
	switch {
	case e.ColorResolutions == nil && e.GrayResolutions == nil:
		return defaultResolutions
	case mode == "RGB24":
		return e.ColorResolutions
	case mode == "Grayscale8":
		return e.GrayResolutions
	}
	return nil
}

func (e *Emulator) capabilities() string {
	lists := resolutionList("", defaultResolutions)
	if e.ColorResolutions != nil || e.GrayResolutions != nil {
		lists = resolutionList("RGB24", e.ColorResolutions) + resolutionList("Grayscale8", e.GrayResolutions)
	}
	profile := `<scan:SettingProfiles><scan:SettingProfile><scan:ColorModes><scan:ColorMode>RGB24</scan:ColorMode><scan:ColorMode>Grayscale8</scan:ColorMode></scan:ColorModes>
<scan:DocumentFormats><pwg:DocumentFormat>image/jpeg</pwg:DocumentFormat><pwg:DocumentFormat>application/pdf</pwg:DocumentFormat></scan:DocumentFormats>
` + lists + `</scan:SettingProfile></scan:SettingProfiles>`
	adf := fmt.Sprintf(inputCaps, minSide, maxWidth, minSide, adfHeight, profile)
	doc := capabilitiesHead +
		`<scan:Platen><scan:PlatenInputCaps>` + fmt.Sprintf(inputCaps, minSide, maxWidth, minSide, platenHeight, profile) + `</scan:PlatenInputCaps></scan:Platen>
<scan:Adf><scan:AdfSimplexInputCaps>` + adf + `</scan:AdfSimplexInputCaps>`
	if e.Duplex {
		doc += `<scan:AdfDuplexInputCaps>` + adf + `</scan:AdfDuplexInputCaps><scan:AdfOptions><scan:AdfOption>Duplex</scan:AdfOption></scan:AdfOptions>`
	}
	return doc + `</scan:Adf>
</scan:ScannerCapabilities>`
}

// offered says whether the device can do the job's settings as a real one
// would check them: the source, the duplex, the mode's resolutions, the
// region within the source's area.
func (e *Emulator) offered(j *job, width, height int) bool {
	if j.source != "Platen" && j.source != "Feeder" || j.duplex && (j.source != "Feeder" || !e.Duplex) {
		return false
	}
	if !slices.Contains(e.resolutions(j.color), j.dpi) {
		return false
	}
	maxHeight := platenHeight
	if j.source == "Feeder" {
		maxHeight = adfHeight
	}
	return width == 0 && height == 0 || width >= minSide && width <= maxWidth && height >= minSide && height <= maxHeight
}

var (
	reSource = regexp.MustCompile(`InputSource>(\w+)<`)
	reDPI    = regexp.MustCompile(`XResolution>(\d+)<`)
	reColor  = regexp.MustCompile(`ColorMode>(\w+)<`)
	reDuplex = regexp.MustCompile(`Duplex>true<`)
	reWidth  = regexp.MustCompile(`<pwg:Width>(\d+)<`)
	reHeight = regexp.MustCompile(`<pwg:Height>(\d+)<`)
)

func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.Hosts = append(e.Hosts, r.Host)
	e.Requests = append(e.Requests, r.Method+" "+r.URL.Path)
	if e.adf == "" {
		e.adf = "ScannerAdfLoaded"
		if e.FeederPages == 0 {
			e.adf = "ScannerAdfEmpty"
		}
	}
	e.mu.Unlock()
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case r.Method == http.MethodGet && path == "/eSCL/ScannerCapabilities":
		w.Header().Set("Content-Type", "text/xml")
		e.mu.Lock()
		doc := e.capabilities()
		e.mu.Unlock()
		fmt.Fprint(w, doc)
	case r.Method == http.MethodGet && path == "/eSCL/ScannerStatus":
		e.mu.Lock()
		state := "Idle"
		for _, j := range e.jobs {
			if !j.deleted {
				state = "Processing"
			}
		}
		adf := e.adf
		e.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<?xml version="1.0"?><scan:ScannerStatus xmlns:scan="http://schemas.hp.com/imaging/escl/2011/05/03" xmlns:pwg="http://www.pwg.org/schemas/2010/12/sm"><pwg:Version>2.63</pwg:Version><pwg:State>%s</pwg:State><scan:AdfState>%s</scan:AdfState></scan:ScannerStatus>`, state, adf)
	case r.Method == http.MethodPost && path == "/eSCL/ScanJobs":
		body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		e.mu.Lock()
		e.Settings = append(e.Settings, string(body))
		if e.BusyFor > 0 {
			e.BusyFor--
			e.mu.Unlock()
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		j := &job{source: "Platen", dpi: 300, color: "RGB24", state: "Processing"}
		if m := reSource.FindSubmatch(body); m != nil {
			j.source = string(m[1])
		}
		if m := reDPI.FindSubmatch(body); m != nil {
			j.dpi, _ = strconv.Atoi(string(m[1]))
		}
		if m := reColor.FindSubmatch(body); m != nil {
			j.color = string(m[1])
		}
		j.duplex = reDuplex.Match(body)
		var width, height int
		if m := reWidth.FindSubmatch(body); m != nil {
			width, _ = strconv.Atoi(string(m[1]))
		}
		if m := reHeight.FindSubmatch(body); m != nil {
			height, _ = strconv.Atoi(string(m[1]))
		}
		j.width, j.height = width, height
		if !e.offered(j, width, height) {
			e.Refused++
			e.mu.Unlock()
			http.Error(w, "", http.StatusConflict)
			return
		}
		e.nextID++
		id := strconv.Itoa(e.nextID)
		switch e.LocationStyle {
		case "urn":
			id = "urn:uuid:4509a320-00a0-008f-00b6-00559a32" + fmt.Sprintf("%04d", e.nextID)
		}
		j.id, j.created = id, e.nextID
		e.jobs[id] = j
		e.mu.Unlock()
		loc := "/eSCL/ScanJobs/" + id
		switch e.LocationStyle {
		case "slash":
			loc += "/"
		case "wronghost":
			loc = "http://192.0.2.99:8080" + loc
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusCreated)
	case strings.HasPrefix(path, "/eSCL/ScanJobs/") && strings.HasSuffix(path, "/NextDocument") && r.Method == http.MethodGet:
		e.nextDocument(w, r, strings.TrimSuffix(strings.TrimPrefix(path, "/eSCL/ScanJobs/"), "/NextDocument"))
	case strings.HasPrefix(path, "/eSCL/ScanJobs/") && r.Method == http.MethodDelete:
		e.mu.Lock()
		j, ok := e.jobs[strings.TrimPrefix(path, "/eSCL/ScanJobs/")]
		if ok {
			j.deleted = true
			if j.state == "Processing" {
				j.state = "Canceled"
			}
		}
		e.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
		}
	default:
		http.NotFound(w, r)
	}
}

func (e *Emulator) nextDocument(w http.ResponseWriter, r *http.Request, id string) {
	e.mu.Lock()
	j, ok := e.jobs[id]
	if !ok || j.deleted {
		e.mu.Unlock()
		http.Error(w, "gone", http.StatusNotFound)
		return
	}
	if j.source == "Platen" && j.pages == 1 {
		j.state = "Completed"
		e.mu.Unlock()
		http.Error(w, "no more", http.StatusNotFound)
		return
	}
	if j.back {
		j.back = false
		j.pages++
		sheet := j.sheets
		data := e.page(j)
		e.mu.Unlock()
		if e.Backs != nil {
			data = e.Backs(sheet)
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(data)
		return
	}
	if j.source == "Feeder" {
		if e.JamAfter >= 0 && j.pages == e.JamAfter {
			e.adf = "ScannerAdfJam"
			e.mu.Unlock()
			http.Error(w, "jam", http.StatusConflict)
			return
		}
		if e.FeederPages == 0 {
			e.adf = "ScannerAdfEmpty"
			if j.pages > 0 {
				j.state = "Completed"
			}
			e.mu.Unlock()
			http.Error(w, "no more", http.StatusNotFound)
			return
		}
		e.FeederPages--
		j.sheets++
		j.back = j.duplex
	}
	pull := e.PullAfter >= 0 && j.pages == e.PullAfter
	stall := e.StallAfter >= 0 && j.pages == e.StallAfter
	j.pages++
	data := e.page(j)
	e.mu.Unlock()
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	if stall {
		w.WriteHeader(http.StatusOK)
		w.Write(data[:len(data)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		close(e.Stalled)
		<-r.Context().Done()
		return
	}
	if pull {
		w.WriteHeader(http.StatusOK)
		w.Write(data[:len(data)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
		return
	}
	w.Write(data)
}

// JobStates lists each job's state, in the order they were created, as
// the device's job log would: Processing, Completed or Canceled.
func (e *Emulator) JobStates() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	all := make([]*job, 0, len(e.jobs))
	for _, j := range e.jobs {
		all = append(all, j)
	}
	slices.SortFunc(all, func(a, b *job) int { return cmp.Compare(a.created, b.created) })
	out := make([]string, len(all))
	for i, j := range all {
		out[i] = j.state
	}
	return out
}

// Deleted reports how many jobs were deleted (cancelled or cleaned up).
func (e *Emulator) Deleted() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, j := range e.jobs {
		if j.deleted {
			n++
		}
	}
	return n
}

// sheetHeight is the length of the sheets in the feeder, in 1/300 inch: A4.
const sheetHeight = 3508

var (
	pagesMu sync.Mutex
	pages   = map[[2]int][]byte{}
)

// page is the image a document of the job is: the area asked at the
// resolution asked (or as the quirks set say), a sheet of A4 length from
// the feeder. The caller holds e.mu.
func (e *Emulator) page(j *job) []byte {
	width, height := j.width, j.height
	if width == 0 || height == 0 {
		width, height = maxWidth, platenHeight
	}
	if j.source == "Feeder" {
		height = min(height, sheetHeight)
	}
	dpi := j.dpi
	if e.MadeAtDPI > 0 {
		dpi = e.MadeAtDPI
	}
	size := [2]int{(width*dpi + 150) / 300, (height*dpi + 150) / 300}
	if e.CropTo != [2]int{} {
		size = e.CropTo
	}
	pagesMu.Lock()
	defer pagesMu.Unlock()
	if data, ok := pages[size]; ok {
		return data
	}
	data := scannertest.PaperJPEG(size[0], size[1])
	pages[size] = data
	return data
}
