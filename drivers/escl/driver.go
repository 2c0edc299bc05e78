package escl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/autografo/autografo/scanner"
)

// Options configure the network driver.
type Options struct {
	// URLs of scanners' eSCL roots, e.g. http://192.0.2.10/eSCL.
	URLs      []string
	Transport http.RoundTripper // default http.DefaultTransport
	Client    ClientOptions
	Logger    *slog.Logger
	// Browse, when set, also offers the scanners that announce themselves
	// by mDNS on the local network.
	Browse *BrowseOptions
}

// Driver offers the configured network eSCL scanners.
type Driver struct {
	opts    Options
	mu      sync.Mutex
	clients map[scanner.ID]*Client
	caps    map[scanner.ID]Capabilities // read once per device while it answers

	browser *Browser
	stop    context.CancelFunc
	stopped chan struct{}
}

var _ scanner.Driver = (*Driver)(nil)

// New returns a driver for the scanners at opts.URLs.
func New(opts Options) (*Driver, error) {
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	d := &Driver{opts: opts, clients: map[scanner.ID]*Client{}, caps: map[scanner.ID]Capabilities{}}
	for _, u := range opts.URLs {
		c, err := NewClient(u, opts.Transport, opts.Client)
		if err != nil {
			return nil, err
		}
		d.clients[scanner.ID("escl:"+u)] = c
	}
	if opts.Browse != nil {
		bo := *opts.Browse
		if bo.Logger == nil {
			bo.Logger = opts.Logger
		}
		d.browser = NewBrowser(bo)
		ctx, cancel := context.WithCancel(context.Background())
		d.stop, d.stopped = cancel, make(chan struct{})
		go func() {
			defer close(d.stopped)
			d.browser.Run(ctx)
		}()
	}
	return d, nil
}

// Close stops browsing for scanners.
func (d *Driver) Close() error {
	if d.stop != nil {
		d.stop()
		<-d.stopped
	}
	return nil
}

// announced adds a client for every scanner mDNS found.
func (d *Driver) announced() map[scanner.ID]string {
	models := map[scanner.ID]string{}
	if d.browser == nil {
		return models
	}
	for _, a := range d.browser.Found() {
		id := scanner.ID("escl:" + a.URL)
		models[id] = a.Model
		d.mu.Lock()
		if _, ok := d.clients[id]; !ok {
			if c, err := NewClient(a.URL, d.opts.Transport, d.opts.Client); err == nil {
				d.clients[id] = c
			}
		}
		d.mu.Unlock()
	}
	return models
}

func (d *Driver) Name() string { return "escl" }

// Discover lists the configured scanners that answer their status now; a
// device is asked for its capabilities once, when it first answers.
func (d *Driver) Discover(ctx context.Context) ([]scanner.Info, error) {
	announced := d.announced()
	d.mu.Lock()
	clients := make(map[scanner.ID]*Client, len(d.clients))
	for id, c := range d.clients {
		clients[id] = c
	}
	d.mu.Unlock()
	var out []scanner.Info
	for id, c := range clients {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err := c.Status(pctx)
		if err == nil {
			d.mu.Lock()
			_, have := d.caps[id]
			d.mu.Unlock()
			if !have {
				caps, err2 := c.Capabilities(pctx)
				err = err2
				if err == nil {
					d.mu.Lock()
					d.caps[id] = caps
					d.mu.Unlock()
				}
			}
		}
		cancel()
		if err != nil {
			d.mu.Lock()
			delete(d.caps, id) // re-read after it comes back: it may be another device
			d.mu.Unlock()
			d.opts.Logger.Debug("eSCL scanner not answering", "device", id, "err", err)
			continue
		}
		d.mu.Lock()
		caps := d.caps[id]
		d.mu.Unlock()
		model := caps.MakeAndModel
		if model == "" {
			model = announced[id]
		}
		out = append(out, scanner.Info{ID: id, Driver: "escl", Model: model, Serial: caps.Serial})
	}
	slices.SortFunc(out, func(a, b scanner.Info) int { return compare(string(a.ID), string(b.ID)) })
	return out, nil
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Open returns the device; eSCL needs no session.
func (d *Driver) Open(ctx context.Context, id scanner.ID) (scanner.Device, error) {
	d.mu.Lock()
	c, ok := d.clients[id]
	d.mu.Unlock()
	if !ok {
		return nil, scanner.Wrap("open", id, scanner.ErrNotFound)
	}
	return &Device{c: c, id: id, drv: d}, nil
}

// Device is an eSCL scanner.
type Device struct {
	c   *Client
	id  scanner.ID
	drv *Driver // the network driver's shared capabilities cache; nil for NewDevice

	mu     sync.Mutex
	caps   *Capabilities
	closer io.Closer
}

// NewDevice is an eSCL scanner reached through c, for drivers that own the
// transport (IPP over USB): Close closes closer.
func NewDevice(id scanner.ID, c *Client, closer io.Closer) *Device {
	return &Device{c: c, id: id, closer: closer}
}

var _ scanner.Device = (*Device)(nil)

func (v *Device) capabilities(ctx context.Context) (Capabilities, error) {
	if v.drv != nil {
		v.drv.mu.Lock()
		caps, ok := v.drv.caps[v.id]
		v.drv.mu.Unlock()
		if ok {
			return caps, nil
		}
		return v.c.Capabilities(ctx)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.caps == nil {
		caps, err := v.c.Capabilities(ctx)
		if err != nil {
			return Capabilities{}, err
		}
		v.caps = &caps
	}
	return *v.caps, nil
}

// Capabilities are the device's own, read once.
func (v *Device) Capabilities(ctx context.Context) (Capabilities, error) { return v.capabilities(ctx) }

// Caps maps the device's capabilities.
func (v *Device) Caps(ctx context.Context) (scanner.Caps, error) {
	c, err := v.capabilities(ctx)
	if err != nil {
		return scanner.Caps{}, scanner.Wrap("caps", v.id, err)
	}
	return ToCaps(c), nil
}

var colorModes = map[scanner.ColorMode]string{scanner.Color: "RGB24", scanner.Gray: "Grayscale8", scanner.BlackWhite: "BlackAndWhite1"}

// ToCaps maps eSCL capabilities onto the device model: each source with
// its own area, colour modes and resolutions per mode, and their union.
func ToCaps(c Capabilities) scanner.Caps {
	var caps scanner.Caps
	for _, src := range []struct {
		ic     *InputCaps
		source scanner.Source
		duplex bool
	}{{c.Platen, scanner.Platen, false}, {c.ADFSimplex, scanner.Feeder, false}, {c.ADFDuplex, scanner.Feeder, true}} {
		ic := src.ic
		if ic == nil {
			continue
		}
		in := scanner.Input{Source: src.source, Duplex: src.duplex,
			MinWidthMM: MM(ic.MinWidth), MinHeightMM: MM(ic.MinHeight), MaxWidthMM: MM(ic.MaxWidth), MaxHeightMM: MM(ic.MaxHeight),
			Modes: map[scanner.ColorMode][]int{}, MediaTypes: ic.Formats}
		for mode, name := range colorModes {
			if res := ic.ModeResolutions[name]; len(res) > 0 {
				in.Modes[mode] = res
			}
		}
		caps.Inputs = append(caps.Inputs, in)
		if src.duplex {
			continue // the same feeder: its sources and area are the simplex one's
		}
		caps.Sources = append(caps.Sources, src.source)
		for mode, res := range in.Modes {
			if !slices.Contains(caps.ColorModes, mode) {
				caps.ColorModes = append(caps.ColorModes, mode)
			}
			for _, r := range res {
				if !slices.Contains(caps.Resolutions, r) {
					caps.Resolutions = append(caps.Resolutions, r)
				}
			}
		}
		for _, f := range ic.Formats {
			if !slices.Contains(caps.MediaTypes, f) {
				caps.MediaTypes = append(caps.MediaTypes, f)
			}
		}
		if caps.MaxWidthMM == 0 { // the platen's, or the feeder's without one
			caps.MaxWidthMM, caps.MaxHeightMM = in.MaxWidthMM, in.MaxHeightMM
		}
	}
	slices.Sort(caps.Resolutions)
	slices.Sort(caps.ColorModes)
	return caps
}

// Scan creates the job on the device.
func (v *Device) Scan(ctx context.Context, req scanner.Request) (scanner.Job, error) {
	c, err := v.capabilities(ctx)
	if err != nil {
		return nil, scanner.Wrap("scan", v.id, err)
	}
	// Checked here, with what the device offers named, before anything
	// is sent: a device answers a request it cannot do with a bare 409.
	if err := ToCaps(c).Supports(req); err != nil {
		return nil, scanner.Wrap("scan", v.id, err)
	}
	ic, source := c.Platen, "Platen"
	switch {
	case req.Source == scanner.Feeder && req.Duplex:
		ic, source = c.ADFDuplex, "Feeder"
	case req.Source == scanner.Feeder:
		ic, source = c.ADFSimplex, "Feeder"
	}
	format := req.MediaType
	if format == "" || !slices.Contains(ic.Formats, format) {
		format = "image/jpeg"
	}
	s := Settings{Source: source, Duplex: req.Duplex, ColorMode: colorModes[req.Color], Resolution: req.DPI, Format: format,
		Width: ic.MaxWidth, Height: ic.MaxHeight}
	if r := req.Region; r.Width > 0 && r.Height > 0 {
		// Rounded, not truncated: 297 mm is 3507.87 three-hundredths of an
		// inch, and an A4 page is 3508 of them.
		s.Width, s.Height = int(math.Round(r.Width*300/25.4)), int(math.Round(r.Height*300/25.4))
	}
	job, err := v.c.CreateJob(ctx, s)
	if err != nil {
		return nil, scanner.Wrap("scan", v.id, v.explain(ctx, err))
	}
	return &Job{dev: v, path: job, feeder: req.Source == scanner.Feeder, duplex: req.Duplex, dpi: req.DPI, format: format}, nil
}

// explain turns a failed request into the cause the device's status gives:
// eSCL reports a jam or an empty feeder there, not in the failed response.
func (v *Device) explain(ctx context.Context, err error) error {
	if errors.Is(err, scanner.ErrGone) || errors.Is(err, scanner.ErrBusy) || errors.Is(err, context.Canceled) {
		return err
	}
	st, serr := v.c.Status(ctx)
	if serr != nil {
		return err
	}
	switch st.AdfState {
	case "ScannerAdfJam", "ScannerAdfDoorOpen", "ScannerAdfMispick":
		return fmt.Errorf("%w: %s: %w", scanner.ErrJammed, st.AdfState, err)
	case "ScannerAdfEmpty":
		return fmt.Errorf("%w: %w", scanner.ErrNoDocs, err)
	}
	return err
}

// Close releases the transport of a device from NewDevice; a network
// device holds nothing.
func (v *Device) Close() error {
	if v.closer == nil {
		return nil
	}
	return v.closer.Close()
}

// Job is a running eSCL job.
type Job struct {
	dev    *Device
	path   string
	feeder bool
	duplex bool
	dpi    int
	format string
	pages  int
	mu     sync.Mutex
	done   bool
}

var _ scanner.Job = (*Job)(nil)

// NextPage fetches the next document. A 404 ends the job; from the feeder
// before any page it means there was no paper.
func (j *Job) NextPage(ctx context.Context) (scanner.Page, error) {
	id := j.dev.id
	if j.isDone() {
		return scanner.Page{}, io.EOF
	}
	resp, err := j.dev.c.NextDocument(ctx, j.path)
	if err == io.EOF {
		if j.pages > 0 {
			// The device said it has no more: the job is complete, and
			// deleting it now would log it as cancelled by the user (and
			// some devices refuse the delete of a finished platen job).
			j.finish()
			return scanner.Page{}, io.EOF
		}
		j.cleanup()
		if j.feeder {
			return scanner.Page{}, scanner.Wrap("page", id, scanner.ErrNoDocs)
		}
		return scanner.Page{}, io.EOF
	}
	if err == nil && !j.feeder && j.pages == 1 {
		// A platen holds one sheet: a second image is none of ours.
		resp.Body.Close()
		j.cleanup()
		return scanner.Page{}, io.EOF
	}
	if err != nil {
		err = j.dev.explain(ctx, err)
		j.cleanup()
		return scanner.Page{}, scanner.Wrap("page", id, err)
	}
	j.pages++
	mt := resp.Header.Get("Content-Type")
	if mt == "" || mt == "application/octet-stream" {
		mt = j.format
	}
	return scanner.Page{MediaType: mt, DPI: j.dpi, Size: resp.ContentLength, Back: j.duplex && j.pages%2 == 0,
		Body: &body{rc: resp.Body, id: id}}, nil
}

// body turns a transfer that breaks mid-page into ErrGone.
type body struct {
	rc io.ReadCloser
	id scanner.ID
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = scanner.Wrap("page", b.id, fmt.Errorf("%w: %w", scanner.ErrGone, err))
	}
	return n, err
}

func (b *body) Close() error { return b.rc.Close() }

func (j *Job) isDone() bool { j.mu.Lock(); defer j.mu.Unlock(); return j.done }

// end marks the job done and tells whether it was already.
func (j *Job) end() (already bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	already, j.done = j.done, true
	return already
}

// finish marks a job the device ended itself: nothing to delete.
func (j *Job) finish() { j.end() }

// cleanup deletes a job that ended on our side (a fault, no paper).
func (j *Job) cleanup() {
	if !j.end() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = j.dev.c.DeleteJob(ctx, j.path)
	}
}

// Cancel deletes the job on the device.
func (j *Job) Cancel(ctx context.Context) error {
	if j.end() {
		return nil
	}
	return scanner.Wrap("cancel", j.dev.id, j.dev.c.DeleteJob(ctx, j.path))
}
