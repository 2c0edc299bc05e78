// Package sim is a simulated scanner that prints and "scans" Italian
// civil-status acts: text pages, a signature block with one labelled box per
// signer, handwritten signatures (or empty boxes when asked), and the flaws
// of a real scanner: skew, quarter turns, gray paper, noise, blur, a dark
// border. It is deterministic from a seed, injects faults on request, and
// reports the ground truth of every page so that tests can check the real
// pipeline against it. It is Autografo's demo scanner.
package sim

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"image"
	"image/jpeg"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/autografo/autografo/scanner"
)

// Role is what a signer is to the act.
type Role string

const (
	Sposo       Role = "sposo"
	Sposa       Role = "sposa"
	Testimone1  Role = "testimone1"
	Testimone2  Role = "testimone2"
	Testimone3  Role = "testimone3"
	Testimone4  Role = "testimone4"
	Interprete  Role = "interprete"
	Ufficiale   Role = "ufficiale"
	Dichiarante Role = "dichiarante"
)

// Signer is one person who signs the act.
type Signer struct {
	Role Role
	Name string
}

func (s Signer) label() string {
	l := map[Role]string{
		Sposo: "Lo sposo", Sposa: "La sposa",
		Testimone1: "Il testimone", Testimone2: "Il testimone", Testimone3: "Il testimone", Testimone4: "Il testimone",
		Interprete: "L'interprete", Ufficiale: "L'Ufficiale dello Stato Civile", Dichiarante: "Il dichiarante",
	}[s.Role]
	if l == "" {
		l = string(s.Role)
	}
	if s.Name != "" && s.Role != Ufficiale {
		l += ": " + s.Name
	}
	return l
}

// Act is what is printed on the pages.
type Act struct {
	Comune  string
	Title   string
	Number  string
	Signers []Signer
}

// DefaultAct is a marriage with two witnesses, as most are.
func DefaultAct() Act {
	return Act{
		Comune: "Borgo Sereno",
		Title:  "Atto di matrimonio",
		Number: "12 P. I S. A",
		Signers: []Signer{
			{Sposo, "Marco Bianchi"}, {Sposa, "Giulia Esposito"},
			{Testimone1, "Luca Romano"}, {Testimone2, "Chiara Colombo"},
			{Ufficiale, "Anna Ricci"},
		},
	}
}

// FaultKind is a failure the simulator can be told to produce.
type FaultKind string

const (
	FaultBusy   FaultKind = "busy"   // the scan is refused: the device is in use
	FaultJam    FaultKind = "jam"    // the feeder jams after AfterPage pages
	FaultNoDocs FaultKind = "nodocs" // the feeder is empty
	FaultGone   FaultKind = "gone"   // the device disappears in the middle of page AfterPage+1
)

// Fault is applied to one scan job.
type Fault struct {
	Kind      FaultKind
	AfterPage int
}

// ParseFaults reads a comma-separated list such as "jam@2,busy,gone@1".
// Each fault applies to one scan job, in order.
func ParseFaults(s string) ([]Fault, error) {
	var out []Fault
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		kind, after, _ := strings.Cut(f, "@")
		ft := Fault{Kind: FaultKind(kind)}
		switch ft.Kind {
		case FaultBusy, FaultJam, FaultNoDocs, FaultGone:
		default:
			return nil, fmt.Errorf("sim: unknown fault %q (want busy, jam@N, nodocs, gone@N)", kind)
		}
		if after != "" {
			n, err := strconv.Atoi(after)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("sim: bad page count in fault %q", f)
			}
			ft.AfterPage = n
		}
		out = append(out, ft)
	}
	return out, nil
}

// Options configure the simulated scanner. The zero value gives one scanner
// with a 3-page marriage act in its feeder.
type Options struct {
	Seed uint64
	Act  Act // zero: DefaultAct
	// Unsigned lists the signers whose box is left empty.
	Unsigned []Role
	// StrayDot puts a small pen dot (about 1 mm) in each unsigned box: the
	// mark a pen leaves when a signer hesitates.
	StrayDot bool
	// PenInk is the gray level of the signatures' ink (default 45, a black
	// ballpoint; 150 and above is a faint pen).
	PenInk uint8
	// Paper, when set, is what the feeder holds instead of the act the
	// simulator prints: images of printed pages (A4, any resolution), one
	// per page, scanned with the same effects. PaperBoxes, page by page,
	// are boxes on them (mm from the top left) where the signers sign.
	Paper      []image.Image
	PaperBoxes [][]PaperBox
	// FeederPages is how many pages a feeder scan returns (default 3).
	FeederPages int
	// MaxSkewDeg bounds the random skew of each page (default 4, at most 10).
	MaxSkewDeg float64
	// SkewDeg, when set, is the skew of every page instead.
	SkewDeg *float64
	// Rotation turns every page clockwise by 0, 90, 180 or 270 degrees;
	// Turns, page by page (from 1), the pages put in the wrong way round.
	Rotation int
	Turns    map[int]int
	Effects  *Effects // nil: DefaultEffects
	// PageTime is how long the mechanism takes per page, to make the demo feel
	// like a scanner.
	PageTime time.Duration
	// GoneFor is how long the device stays unplugged after a FaultGone
	// (default 3s).
	GoneFor time.Duration
	Faults  []Fault
}

// Driver is the simulator's scanner.Driver. It offers one device, "sim:0".
type Driver struct {
	opts Options

	mu        sync.Mutex
	faults    []Fault
	goneUntil time.Time
	jobs      uint64
	// feederNext is the act page on top of the feeder. After a jam or an
	// unplugged cable the rest of the act is still there, so the operator's
	// retry continues the act instead of starting it again.
	feederNext int
	// loaded is paper put in the feeder while running (LoadPaper).
	loaded *loadedPaper
	// unsignedPages are the pages scanned with a box left empty: the
	// officer has the signer sign, and puts the page on the glass. The
	// next platen scan is the first of them, signed.
	unsignedPages []int
	now           func() time.Time
}

// Printed is paper put in the feeder while the simulator runs: Pages
// pages, page i (from 1) drawn by Draw, signed in its Boxes.
type Printed struct {
	Pages int
	Draw  func(page int) (image.Image, error)
	Boxes [][]PaperBox
}

// loadedPaper draws each page of a Printed once, when first scanned.
type loadedPaper struct {
	Printed
	mu    sync.Mutex
	drawn map[int]image.Image
}

func (l *loadedPaper) page(i int) (image.Image, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if img, ok := l.drawn[i]; ok {
		return img, nil
	}
	img, err := l.Draw(i)
	if err != nil {
		return nil, fmt.Errorf("sim: drawing printed page %d: %w", i, err)
	}
	l.drawn[i] = img
	return img, nil
}

// LoadPaper puts printed paper in the feeder and on the platen, in place
// of the simulator's own act, from the next job on: the pages an act was
// printed with, so that the simulated office signs and scans what it
// printed. The signers the options leave unsigned still leave their box
// empty.
func (d *Driver) LoadPaper(p Printed) error {
	if p.Pages < 1 || p.Pages > 100 || p.Draw == nil {
		return fmt.Errorf("sim: printed paper of %d pages", p.Pages)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.loaded = &loadedPaper{Printed: p, drawn: map[int]image.Image{}}
	d.feederNext = 1
	return nil
}

var _ scanner.Driver = (*Driver)(nil)

// New returns a simulator configured by opts.
func New(opts Options) (*Driver, error) {
	if opts.Act.Title == "" {
		opts.Act = DefaultAct()
	}
	if opts.FeederPages == 0 {
		opts.FeederPages = 3
	}
	if opts.FeederPages < 1 || opts.FeederPages > 100 {
		return nil, fmt.Errorf("sim: feeder pages %d out of 1..100", opts.FeederPages)
	}
	if opts.MaxSkewDeg == 0 {
		opts.MaxSkewDeg = 4
	}
	if opts.MaxSkewDeg < 0 || opts.MaxSkewDeg > 10 {
		return nil, fmt.Errorf("sim: max skew %.1f out of 0..10 degrees", opts.MaxSkewDeg)
	}
	if opts.SkewDeg != nil && math.Abs(*opts.SkewDeg) > 10 {
		return nil, fmt.Errorf("sim: skew %.1f out of -10..10 degrees", *opts.SkewDeg)
	}
	for _, r := range append([]int{opts.Rotation}, slices.Collect(maps.Values(opts.Turns))...) {
		switch r {
		case 0, 90, 180, 270:
		default:
			return nil, fmt.Errorf("sim: rotation %d is not 0, 90, 180 or 270", r)
		}
	}
	if opts.Effects == nil {
		e := DefaultEffects()
		opts.Effects = &e
	}
	if opts.GoneFor == 0 {
		opts.GoneFor = 3 * time.Second
	}
	return &Driver{opts: opts, faults: append([]Fault(nil), opts.Faults...), now: time.Now, feederNext: 1}, nil
}

// Inject queues a fault for the next scan job.
func (d *Driver) Inject(f Fault) {
	d.mu.Lock()
	d.faults = append(d.faults, f)
	d.mu.Unlock()
}

const deviceID scanner.ID = "sim:0"

func (d *Driver) Name() string { return "sim" }

func (d *Driver) present() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.now().Before(d.goneUntil)
}

// Discover lists the simulated device unless it was "unplugged" by a fault.
func (d *Driver) Discover(ctx context.Context) ([]scanner.Info, error) {
	if !d.present() {
		return nil, nil
	}
	return []scanner.Info{{ID: deviceID, Driver: "sim", Make: "Autografo", Model: "Scanner simulato", Serial: "SIM0001"}}, nil
}

// Open opens the simulated device.
func (d *Driver) Open(ctx context.Context, id scanner.ID) (scanner.Device, error) {
	if id != deviceID || !d.present() {
		return nil, scanner.Wrap("open", id, scanner.ErrNotFound)
	}
	return &Device{drv: d}, nil
}

// Device is an opened simulator.
type Device struct {
	drv *Driver
}

var _ scanner.Device = (*Device)(nil)

// Caps of the simulator: both sources, colour and gray, 150 to 600 dpi.
func (v *Device) Caps(ctx context.Context) (scanner.Caps, error) {
	res := []int{150, 200, 300, 400, 600}
	caps := scanner.Caps{
		Sources:     []scanner.Source{scanner.Platen, scanner.Feeder},
		ColorModes:  []scanner.ColorMode{scanner.Color, scanner.Gray},
		Resolutions: res,
		MediaTypes:  []string{"image/jpeg"},
		MaxWidthMM:  pageWidthMM + 2*borderMM, MaxHeightMM: pageHeightMM + 2*borderMM,
	}
	// The glass, the feeder, and the feeder's both sides (the backs of the
	// act's sheets are blank).
	for _, in := range []scanner.Input{{Source: scanner.Platen}, {Source: scanner.Feeder}, {Source: scanner.Feeder, Duplex: true}} {
		in.MaxWidthMM, in.MaxHeightMM, in.MediaTypes = caps.MaxWidthMM, caps.MaxHeightMM, caps.MediaTypes
		in.Modes = map[scanner.ColorMode][]int{scanner.Color: res, scanner.Gray: res}
		caps.Inputs = append(caps.Inputs, in)
	}
	return caps, nil
}

// Scan starts a job, consuming the next queued fault.
func (v *Device) Scan(ctx context.Context, req scanner.Request) (scanner.Job, error) {
	d := v.drv
	if !d.present() {
		return nil, scanner.Wrap("scan", deviceID, scanner.ErrGone)
	}
	if req.DPI < 150 || req.DPI > 600 {
		return nil, scanner.Wrap("scan", deviceID, fmt.Errorf("%w: %d dpi", scanner.ErrUnsupported, req.DPI))
	}
	if req.MediaType != "" && req.MediaType != "image/jpeg" {
		return nil, scanner.Wrap("scan", deviceID, fmt.Errorf("%w: %s", scanner.ErrUnsupported, req.MediaType))
	}
	d.mu.Lock()
	var fault *Fault
	if len(d.faults) > 0 {
		f := d.faults[0]
		d.faults = d.faults[1:]
		fault = &f
	}
	d.jobs++
	jobNo := d.jobs
	start, pages := 1, 1
	signAll := false
	if req.Source == scanner.Platen && len(d.unsignedPages) > 0 {
		start, signAll = d.unsignedPages[0], true
		d.unsignedPages = d.unsignedPages[1:]
	}
	loaded := d.loaded
	if req.Source == scanner.Feeder {
		start, pages = d.feederNext, d.opts.FeederPages
		if loaded != nil {
			pages = loaded.Pages
		}
	}
	d.mu.Unlock()
	if fault != nil && fault.Kind == FaultBusy {
		return nil, scanner.Wrap("scan", deviceID, scanner.ErrBusy)
	}
	if signAll {
		pages = start // the one page on the glass
	}
	return &Job{drv: d, req: req, start: start, pages: pages, fault: fault, jobNo: jobNo, paper: loaded, signAll: signAll}, nil
}

func (v *Device) Close() error { return nil }

// Job is a running simulated scan.
type Job struct {
	drv      *Driver
	req      scanner.Request
	pages    int
	fault    *Fault
	jobNo    uint64
	start    int // act page the job began with
	next     int // pages delivered so far
	canceled bool
	failed   error
	paper    *loadedPaper // the paper loaded when the job began, if any
	signAll  bool         // a page brought back to be signed: every box signed now
	backDue  int          // in a duplex job, the sheet whose blank back comes next (0: none)
}

var _ scanner.Job = (*Job)(nil)

// NextPage renders and returns the next page, after the simulated scan time.
func (j *Job) NextPage(ctx context.Context) (scanner.Page, error) {
	if j.canceled {
		return scanner.Page{}, scanner.Wrap("page", deviceID, context.Canceled)
	}
	if j.failed != nil {
		return scanner.Page{}, j.failed
	}
	if f := j.fault; f != nil {
		switch {
		case f.Kind == FaultNoDocs && j.req.Source == scanner.Feeder:
			j.failed = scanner.Wrap("page", deviceID, scanner.ErrNoDocs)
			return scanner.Page{}, j.failed
		case f.Kind == FaultJam && j.next >= f.AfterPage && j.start+j.next <= j.pages:
			j.failed = scanner.Wrap("page", deviceID, scanner.ErrJammed)
			return scanner.Page{}, j.failed
		}
	}
	if j.backDue > 0 {
		return j.back()
	}
	if j.start+j.next > j.pages {
		if j.req.Source == scanner.Feeder {
			j.drv.setFeederNext(1) // the operator reloads the whole act
		}
		return scanner.Page{}, io.EOF
	}
	if t := j.drv.opts.PageTime; t > 0 {
		select {
		case <-ctx.Done():
			return scanner.Page{}, scanner.Wrap("page", deviceID, ctx.Err())
		case <-time.After(t):
		}
	}
	j.next++
	index := j.start + j.next - 1
	of := j.pages
	if j.signAll {
		// One page on the glass, numbered as in the act it came from.
		of = j.drv.opts.FeederPages
		if j.paper != nil {
			of = j.paper.Pages
		}
	}
	data, truth, err := j.drv.renderFrom(j.paper, j.jobNo, index, of, j.req, j.signAll)
	if err != nil {
		return scanner.Page{}, scanner.Wrap("page", deviceID, err)
	}
	if slices.ContainsFunc(truth.Boxes, func(b BoxTruth) bool { return !b.Signed }) {
		j.drv.mu.Lock()
		if !slices.Contains(j.drv.unsignedPages, index) {
			j.drv.unsignedPages = append(j.drv.unsignedPages, index)
		}
		j.drv.mu.Unlock()
	}
	if j.req.Source == scanner.Feeder {
		j.drv.setFeederNext(index + 1)
		if j.req.Duplex {
			j.backDue = index
		}
	}
	body := &PageBody{r: bytes.NewReader(data), truth: truth}
	if f := j.fault; f != nil && f.Kind == FaultGone && j.next == f.AfterPage+1 {
		if j.req.Source == scanner.Feeder {
			j.drv.setFeederNext(index) // the half-read page is fed again
		}
		// The cable is pulled halfway through the transfer.
		body.failAt = int64(len(data) / 2)
		j.failed = scanner.Wrap("page", deviceID, scanner.ErrGone)
		j.drv.mu.Lock()
		j.drv.goneUntil = j.drv.now().Add(j.drv.opts.GoneFor)
		j.drv.mu.Unlock()
	}
	return scanner.Page{
		MediaType: "image/jpeg", DPI: j.req.DPI,
		Width: truth.Width, Height: truth.Height,
		Size: int64(len(data)), Body: body,
	}, nil
}

// back is the blank back of the sheet just scanned, in a duplex job:
// paper with the scanner's effects and nothing printed or written on it.
func (j *Job) back() (scanner.Page, error) {
	sheet := j.backDue
	j.backDue = 0
	e := *j.drv.opts.Effects
	blank := image.NewGray(image.Rect(0, 0, 21, 30))
	for i := range blank.Pix {
		blank.Pix[i] = 255
	}
	rng, skew := j.drv.pageRandom(j.jobNo, 1000+sheet)
	data, truth, err := renderPage(pageSpec{index: sheet, count: j.pages, dpi: j.req.DPI, color: j.req.Color == scanner.Color,
		paper: blank, act: j.drv.opts.Act, skewDeg: skew, effects: e}, rng)
	if err != nil {
		return scanner.Page{}, scanner.Wrap("page", deviceID, err)
	}
	truth.Back = true
	return scanner.Page{MediaType: "image/jpeg", DPI: j.req.DPI, Width: truth.Width, Height: truth.Height,
		Size: int64(len(data)), Back: true, Body: &PageBody{r: bytes.NewReader(data), truth: truth}}, nil
}

func (d *Driver) setFeederNext(i int) {
	d.mu.Lock()
	d.feederNext = i
	d.mu.Unlock()
}

// Cancel stops the job.
func (j *Job) Cancel(ctx context.Context) error {
	j.canceled = true
	return nil
}

// PageBody is the byte stream of a simulated page; it also carries the
// page's ground truth for tests.
type PageBody struct {
	r      *bytes.Reader
	read   int64
	failAt int64 // 0: never
	truth  Truth
}

func (b *PageBody) Read(p []byte) (int, error) {
	if b.failAt > 0 {
		if b.read >= b.failAt {
			return 0, scanner.Wrap("page", deviceID, scanner.ErrGone)
		}
		p = p[:min(int64(len(p)), b.failAt-b.read)]
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	return n, err
}

func (b *PageBody) Close() error { return nil }

// Truth returns what the page really shows.
func (b *PageBody) Truth() Truth { return b.truth }

// TruthOf returns the ground truth of a page produced by the simulator.
func TruthOf(p scanner.Page) (Truth, bool) {
	b, ok := p.Body.(*PageBody)
	if !ok {
		return Truth{}, false
	}
	return b.truth, true
}

// Truth is what a simulated page really shows, in scan pixels.
type Truth struct {
	Page, Pages   int
	DPI           int
	Width, Height int     // of the scan, px
	SkewDeg       float64 // clockwise as seen, before the quarter turn
	Rotation      int     // clockwise quarter turn applied after the skew
	Boxes         []BoxTruth
	// Back: the blank back of sheet Page, in a duplex scan.
	Back bool
	tf   transform
}

// ToScan maps a point of the printed page (mm from its top-left corner) to
// the scan (px).
func (t Truth) ToScan(xmm, ymm float64) (x, y float64) { return t.tf.toScan(xmm, ymm) }

// BoxTruth is one signer's box.
type BoxTruth struct {
	Role   Role
	Name   string
	Label  string
	Signed bool
	// InkLeavesBox is set when a stroke of the signature crosses the box edge.
	InkLeavesBox bool
	RectMM       RectMM
	// Corners in scan px: the box's top-left, top-right, bottom-right and
	// bottom-left as printed (so after a half turn Corners[0] is lowest-right).
	Corners [4]image.Point
	// Bounds is the axis-aligned rectangle holding the box in the scan.
	Bounds image.Rectangle
}

func (d *Driver) pageSeed(jobNo uint64, page int) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%d/%d", d.opts.Seed, jobNo, page)
	return h.Sum64()
}

// pageRandom returns the random source of one page and the page's skew, its
// first draw.
func (d *Driver) pageRandom(jobNo uint64, page int) (*rand.Rand, float64) {
	seed := d.pageSeed(jobNo, page)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	skew := (rng.Float64()*2 - 1) * d.opts.MaxSkewDeg
	if d.opts.SkewDeg != nil {
		skew = *d.opts.SkewDeg
	}
	return rng, skew
}

// render draws page i of n and returns its JPEG bytes and ground truth.
func (d *Driver) render(jobNo uint64, i, n int, req scanner.Request) ([]byte, Truth, error) {
	return d.renderFrom(nil, jobNo, i, n, req, false)
}

// renderFrom draws page i of n of the paper loaded, or else of the
// options' paper or the simulator's own act; with signAll, every box is
// signed (the page came back after its signer signed).
func (d *Driver) renderFrom(loaded *loadedPaper, jobNo uint64, i, n int, req scanner.Request, signAll bool) ([]byte, Truth, error) {
	rng, skew := d.pageRandom(jobNo, i)
	unsigned := make(map[Role]bool)
	if !signAll {
		for _, r := range d.opts.Unsigned {
			unsigned[r] = true
		}
	}
	spec := pageSpec{
		index: i, count: n, dpi: req.DPI, color: req.Color == scanner.Color,
		paper: paperAt(d.opts.Paper, i), paperBoxes: paperBoxesAt(d.opts.PaperBoxes, i),
		act: d.opts.Act, unsigned: unsigned, strayDot: d.opts.StrayDot, penInk: d.opts.PenInk,
		skewDeg: skew, rotation: d.opts.Rotation, effects: *d.opts.Effects,
	}
	if r, ok := d.opts.Turns[i]; ok && !signAll {
		spec.rotation = r // a page brought back to the glass is put right
	}
	if loaded != nil {
		img, err := loaded.page(i)
		if err != nil {
			return nil, Truth{}, err
		}
		spec.paper, spec.paperBoxes = img, paperBoxesAt(loaded.Boxes, i)
	}
	return renderPage(spec, rng)
}

// renderPage is the whole simulated scan of one page.
func renderPage(spec pageSpec, rng *rand.Rand) ([]byte, Truth, error) {
	upright, boxes, err := renderUpright(spec, rng)
	if err != nil {
		return nil, Truth{}, err
	}
	tf := newTransform(spec.dpi, spec.skewDeg, spec.rotation)
	e := spec.effects
	img := onBed(upright, tf, e.Bed)
	upright = nil
	if e.Blur {
		blur(img)
	}
	noise(img, e.NoiseSigma, rng)
	img = quarterTurn(img, spec.rotation)

	for k := range boxes {
		r := boxes[k].RectMM
		pts := [4][2]float64{{r.X, r.Y}, {r.X + r.W, r.Y}, {r.X + r.W, r.Y + r.H}, {r.X, r.Y + r.H}}
		minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for c, p := range pts {
			x, y := tf.toScan(p[0], p[1])
			boxes[k].Corners[c] = image.Pt(int(math.Round(x)), int(math.Round(y)))
			minX, minY, maxX, maxY = math.Min(minX, x), math.Min(minY, y), math.Max(maxX, x), math.Max(maxY, y)
		}
		boxes[k].Bounds = image.Rect(int(math.Floor(minX)), int(math.Floor(minY)), int(math.Ceil(maxX)), int(math.Ceil(maxY)))
	}
	q := e.JPEGQuality
	if q == 0 {
		q = 85
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		return nil, Truth{}, fmt.Errorf("sim: encoding page: %w", err)
	}
	b := img.Bounds()
	return buf.Bytes(), Truth{
		Page: spec.index, Pages: spec.count, DPI: spec.dpi,
		Width: b.Dx(), Height: b.Dy(), SkewDeg: spec.skewDeg, Rotation: spec.rotation,
		Boxes: boxes, tf: tf,
	}, nil
}

// PaperBox is a box on a printed page where a signer signs.
type PaperBox struct {
	Role Role
	Rect RectMM
}

func paperAt(p []image.Image, i int) image.Image {
	if i < 1 || i > len(p) {
		return nil
	}
	return p[i-1]
}

func paperBoxesAt(p [][]PaperBox, i int) []PaperBox {
	if i < 1 || i > len(p) {
		return nil
	}
	return p[i-1]
}
