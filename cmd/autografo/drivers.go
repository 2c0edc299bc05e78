package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/autografo/autografo/agent/document"
	"github.com/autografo/autografo/drivers/escl"
	"github.com/autografo/autografo/drivers/ippusb"
	"github.com/autografo/autografo/drivers/saned"
	"github.com/autografo/autografo/drivers/sim"
	"github.com/autografo/autografo/scanner"
	"github.com/autografo/autografo/scanner/manager"
	"github.com/autografo/autografo/scanner/sheet"
)

// driverFlags are the flags that choose and configure the scanner drivers,
// shared by serve, devices and scan. This file is the one place that knows
// which drivers exist.
type driverFlags struct {
	sim         bool
	simSeed     uint64
	simPages    int
	simFaults   string
	simUnsigned string
	simPageTime time.Duration
	simSkew     float64
	simRotation int
	simTurns    string
	simInterp   bool
	simFaint    bool
	simStrayDot bool
	simPaper    string
	simPaperLay string
	// simDriver is the simulator built, when --sim.
	simDriver *sim.Driver

	usb               bool
	usbTrace          string
	usbQuirks         stringList
	mdns              bool
	esclURLs          stringList
	sanedAddr         string
	sanedUser         string
	sanedPasswordFile string
}

func (f *driverFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.sim, "sim", false, "offer the simulated scanner (for demos and tests)")
	fs.Uint64Var(&f.simSeed, "sim-seed", 1, "seed of the simulated scanner")
	fs.IntVar(&f.simPages, "sim-pages", 3, "pages in the simulated feeder")
	fs.StringVar(&f.simFaults, "sim-faults", "", "faults for successive simulated jobs: busy, jam@N, nodocs, gone@N (comma-separated)")
	fs.StringVar(&f.simUnsigned, "sim-unsigned", "", "roles whose box the simulator leaves unsigned (comma-separated)")
	fs.DurationVar(&f.simPageTime, "sim-page-time", 700*time.Millisecond, "simulated mechanical time per page")
	fs.Float64Var(&f.simSkew, "sim-skew", math.NaN(), "skew of every simulated page in degrees, -10..10 (default: random within ±4)")
	fs.IntVar(&f.simRotation, "sim-rotation", 0, "quarter turn of every simulated page: 0, 90, 180 or 270")
	fs.StringVar(&f.simTurns, "sim-turn", "", "quarter turns of single simulated pages, PAGE:DEGREES (comma-separated), e.g. 2:180 for a page fed upside down")
	fs.BoolVar(&f.simInterp, "sim-interpreter", false, "add an interpreter to the simulated act (six signers)")
	fs.BoolVar(&f.simFaint, "sim-faint", false, "the simulated signers use a faint pen")
	fs.BoolVar(&f.simStrayDot, "sim-stray-dot", false, "a pen dot in each box the simulator leaves unsigned (the analysis leaves it to the officer)")
	fs.StringVar(&f.simPaper, "sim-paper", "", "PNG images of printed pages (comma-separated) for the simulated feeder, instead of its own act")
	fs.StringVar(&f.simPaperLay, "sim-paper-layout", "", "layout (JSON, as autografo sheet new writes it) of --sim-paper: the signers sign in its boxes")
	fs.BoolVar(&f.usb, "usb", true, "drive eSCL scanners plugged in by USB (IPP over USB)")
	fs.Var(&f.usbQuirks, "usb-quirk", `quirks for a USB scanner model: "PRODUCT=interfaces=N,hard-reset,soft-reset" (repeatable)`)
	fs.StringVar(&f.usbTrace, "usb-trace", "", "record every HTTP exchange with USB scanners in this directory (for a regression test; scan test sheets only)")
	fs.BoolVar(&f.mdns, "mdns", true, "find network eSCL scanners that announce themselves by mDNS (_uscan._tcp)")
	fs.Var(&f.esclURLs, "escl", "eSCL root URL of a network scanner, e.g. http://192.0.2.10/eSCL (repeatable)")
	fs.StringVar(&f.sanedAddr, "saned", saned.DefaultAddr, "host:port of a SANE network daemon to use (empty: none)")
	fs.StringVar(&f.sanedUser, "saned-user", "autografo", "user name for saned")
	fs.StringVar(&f.sanedPasswordFile, "saned-password-file", "", "file holding the saned password, for devices that need authorization")
}

func (f *driverFlags) build(log *slog.Logger) ([]scanner.Driver, error) {
	var drivers []scanner.Driver
	if f.sim {
		faults, err := sim.ParseFaults(f.simFaults)
		if err != nil {
			return nil, err
		}
		var unsigned []sim.Role
		for _, r := range strings.Split(f.simUnsigned, ",") {
			if r = strings.TrimSpace(r); r != "" {
				unsigned = append(unsigned, sim.Role(r))
			}
		}
		opts := sim.Options{Seed: f.simSeed, FeederPages: f.simPages, Faults: faults,
			Unsigned: unsigned, PageTime: f.simPageTime, Rotation: f.simRotation, StrayDot: f.simStrayDot && len(unsigned) > 0}
		if f.simTurns != "" {
			opts.Turns = map[int]int{}
			for _, pt := range strings.Split(f.simTurns, ",") {
				page, deg, ok := strings.Cut(strings.TrimSpace(pt), ":")
				p, err1 := strconv.Atoi(page)
				d, err2 := strconv.Atoi(deg)
				if !ok || err1 != nil || err2 != nil || p < 1 {
					return nil, fmt.Errorf("--sim-turn %q: want PAGE:DEGREES", pt)
				}
				opts.Turns[p] = d
			}
		}
		if !math.IsNaN(f.simSkew) {
			opts.SkewDeg = &f.simSkew
		}
		if f.simInterp {
			opts.Act = sim.DefaultAct()
			opts.Act.Signers = append(opts.Act.Signers[:4:4], sim.Signer{Role: sim.Interprete, Name: "Sara Conti"}, opts.Act.Signers[4])
		}
		if f.simFaint {
			opts.PenInk = 165
		}
		if f.simPaper != "" {
			if err := loadPaper(&opts, f.simPaper, f.simPaperLay); err != nil {
				return nil, err
			}
		}
		d, err := sim.New(opts)
		if err != nil {
			return nil, err
		}
		f.simDriver = d
		drivers = append(drivers, d)
	}
	if f.usb {
		var quirks []ippusb.QuirkRule
		for _, q := range f.usbQuirks {
			r, err := ippusb.ParseQuirkRule(q)
			if err != nil {
				return nil, err
			}
			quirks = append(quirks, r)
		}
		d, err := ippusb.New(ippusb.Options{Logger: log, TraceDir: f.usbTrace, Quirks: quirks})
		switch {
		case errors.Is(err, ippusb.ErrNoUSB):
			// A container or a machine without usbfs: the other drivers
			// still work.
			log.Warn("USB scanners unavailable", "err", err)
		case err != nil:
			return nil, err
		default:
			drivers = append(drivers, d)
		}
	}
	if len(f.esclURLs) > 0 || f.mdns {
		opts := escl.Options{URLs: f.esclURLs, Logger: log}
		if f.mdns {
			opts.Browse = &escl.BrowseOptions{}
		}
		d, err := escl.New(opts)
		if err != nil {
			return nil, err
		}
		drivers = append(drivers, d)
	}
	if f.sanedAddr != "" {
		var creds saned.Credentials
		if f.sanedPasswordFile != "" {
			pw, err := os.ReadFile(f.sanedPasswordFile)
			if err != nil {
				return nil, fmt.Errorf("saned password: %w", err)
			}
			user, password := f.sanedUser, strings.TrimSpace(string(pw))
			creds = func(string) (string, string, bool) { return user, password, true }
		}
		drivers = append(drivers, saned.New(saned.Options{Addr: f.sanedAddr, User: f.sanedUser, Credentials: creds, Logger: log}))
	}
	return drivers, nil
}

// quiet builds the drivers for a one-off command, logging only warnings;
// a configuration error is reported and gives false.
func (f *driverFlags) quiet(stderr io.Writer) ([]scanner.Driver, bool) {
	drivers, err := f.build(quietLogger(stderr))
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return nil, false
	}
	return drivers, true
}

// closeDrivers ends the drivers that hold resources (libusb's context).
func closeDrivers(drivers []scanner.Driver) {
	for _, d := range drivers {
		if c, ok := d.(io.Closer); ok {
			c.Close()
		}
	}
}

func quietLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// devicesCmd lists the scanners the drivers find now.
func devicesCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("devices", flag.ContinueOnError)
	fs.SetOutput(stderr)
	caps := fs.Bool("caps", true, "open each device and print what it can do")
	var df driverFlags
	df.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	drivers, ok := df.quiet(stderr)
	if !ok {
		return 2
	}
	defer closeDrivers(drivers)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	found := 0
	for _, d := range drivers {
		infos, err := d.Discover(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "autografo: %s: %v\n", d.Name(), err)
			continue
		}
		// Opening a device tells its make and model (a USB device's are
		// in string descriptors): list again after opening them.
		described := map[scanner.ID]string{}
		if *caps {
			for _, in := range infos {
				var b strings.Builder
				printCaps(ctx, &b, d, in.ID)
				described[in.ID] = b.String()
			}
			if again, err := d.Discover(ctx); err == nil {
				infos = again
			}
		}
		for _, in := range infos {
			fmt.Fprintf(stdout, "%s\t%s\n%s", in.ID, strings.TrimSpace(in.Make+" "+in.Model), described[in.ID])
			found++
		}
	}
	if found == 0 {
		fmt.Fprintln(stderr, "no scanners found")
		return 1
	}
	return 0
}

// scanCmd runs one capture from the command line and writes each page to a
// file: for trying a scanner, and for measuring a driver.
func scanCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var df driverFlags
	df.register(fs)
	device := fs.String("device", "", "device ID as `autografo devices` prints it (default: the first found)")
	source := fs.String("source", "platen", "platen or feeder")
	dpi := fs.Int("dpi", 300, "resolution")
	color := fs.String("color", "gray", "color, gray or bw")
	out := fs.String("out", "page", "output path prefix: pages go to PREFIX-1.EXT, PREFIX-2.EXT, ...")
	width := fs.Float64("width", 0, "scan area width in mm (0: the whole area)")
	height := fs.Float64("height", 0, "scan area height in mm (0: the whole area)")
	pdf := fs.String("pdf", "", "write every page into this one PDF/A document, as Autografo hands ANSC, instead of a file per page")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	drivers, ok := df.quiet(stderr)
	if !ok {
		return 2
	}
	defer closeDrivers(drivers)
	// Stopped (Ctrl-C, SIGTERM) mid-page, the page's transfer ends, its
	// partial file is removed and the job is deleted on the device, which
	// would otherwise keep it and answer the next job busy.
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	stopped := func(err error) int {
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "autografo: stopped: the job is cancelled on the scanner; a page not received whole is not kept")
			return 1
		}
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	req := scanner.Request{Source: scanner.Source(*source), DPI: *dpi, Color: scanner.ColorMode(*color),
		Region: scanner.Region{Width: *width, Height: *height}}
	mgr := manager.New(drivers, manager.Options{Logger: quietLogger(stderr)})
	id := scanner.ID(*device)
	if id == "" {
		// A named device needs no discovery round: the manager asks its
		// driver directly.
		mgr.Poll(ctx)
		list := mgr.Devices()
		if len(list) == 0 {
			fmt.Fprintln(stderr, "autografo: no scanners found")
			return 1
		}
		id = list[0].ID
	}
	job, err := mgr.Scan(ctx, id, req)
	if err != nil {
		return stopped(err)
	}
	defer job.Close()
	bar := newProgress(stderr)
	var inputs []document.Input
	for n := 1; ; n++ {
		bar.page(n)
		pg, err := job.NextPage(ctx)
		if errors.Is(err, io.EOF) {
			bar.done()
			if *pdf != "" {
				return writePDF(*pdf, inputs, stdout, stderr)
			}
			return 0
		}
		if err != nil {
			bar.done()
			return stopped(err)
		}
		pg.Body = bar.reader(pg.Body, pg.Size)
		if *pdf != "" {
			data, err := io.ReadAll(pg.Body)
			pg.Body.Close()
			if err != nil {
				bar.done()
				return stopped(err)
			}
			inputs = append(inputs, document.Input{Data: data, MediaType: pg.MediaType, DPI: pg.DPI})
			continue
		}
		ext := map[string]string{"image/jpeg": "jpg", "image/png": "png", saned.MediaType: "pnm"}[pg.MediaType]
		if ext == "" {
			ext = "bin"
		}
		path := fmt.Sprintf("%s-%d.%s", *out, n, ext)
		if *out == "-" {
			_, err = io.Copy(stdout, pg.Body)
		} else {
			err = writeFile(path, pg.Body)
		}
		pg.Body.Close()
		if err != nil {
			return stopped(err)
		}
		if *out != "-" {
			fmt.Fprintln(stdout, path)
			// The simulator knows where the boxes are: keep them beside
			// the page, for autografo analyse --boxes.
			if boxes := layoutBoxes(pg); boxes != nil {
				b, _ := json.MarshalIndent(boxes, "", "  ")
				if err := os.WriteFile(strings.TrimSuffix(path, filepath.Ext(path))+".boxes.json", b, 0o644); err != nil {
					fmt.Fprintln(stderr, "autografo:", err)
					return 1
				}
			}
		}
	}
}

func writeFile(path string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(path) // a partial page is not a page
		return err
	}
	return f.Close()
}

// printCaps opens a device and prints its sources, resolutions, colour
// modes, formats and largest area, or why it could not.
func printCaps(ctx context.Context, w io.Writer, d scanner.Driver, id scanner.ID) {
	dev, err := d.Open(ctx, id)
	if err != nil {
		fmt.Fprintf(w, "\tcannot open: %v\n", err)
		return
	}
	defer dev.Close()
	c, err := dev.Caps(ctx)
	if err != nil {
		fmt.Fprintf(w, "\tno capabilities: %v\n", err)
		return
	}
	fmt.Fprint(w, describeCaps(c))
}

// describeCaps writes capabilities as `devices` prints them: each source
// with its area and its resolutions per colour mode, when the driver tells
// them apart, else the union.
func describeCaps(c scanner.Caps) string {
	join := func(v any) string { return strings.Trim(fmt.Sprint(v), "[]") }
	var b strings.Builder
	if len(c.Inputs) == 0 {
		fmt.Fprintf(&b, "\tsources: %s\n\tresolutions: %s dpi\n\tcolour: %s\n\tformats: %s\n\tlargest area: %.0f x %.0f mm\n",
			join(c.Sources), join(c.Resolutions), join(c.ColorModes), join(c.MediaTypes), c.MaxWidthMM, c.MaxHeightMM)
		return b.String()
	}
	for _, in := range c.Inputs {
		name := string(in.Source)
		if in.Duplex {
			name += " (both sides)"
		}
		fmt.Fprintf(&b, "\t%s: %.1f-%.1f x %.1f-%.1f mm\n", name, in.MinWidthMM, in.MaxWidthMM, in.MinHeightMM, in.MaxHeightMM)
		for _, m := range in.ColorModesOffered() {
			fmt.Fprintf(&b, "\t\t%s: %s dpi\n", m, join(in.Modes[m]))
		}
	}
	fmt.Fprintf(&b, "\tformats: %s\n", join(c.MediaTypes))
	return b.String()
}

// loadPaper puts printed pages in the simulator's feeder, with the boxes
// of their layout (PDF points, from the lower left) as millimetres from the
// top left, where the simulated signers sign.
// simPrinted is what the agent tells of every act's pages to print, when
// the simulator runs without paper of its own (--sim-paper): its feeder
// then holds those pages, signed by the act's signers in their boxes, so
// that a demonstration runs the real loop: print, sign, scan, check. Each
// page is drawn with pdftoppm when first scanned.
func (f *driverFlags) simPrinted(ctx context.Context, log *slog.Logger) func([]byte, sheet.Layout) {
	if f.simDriver == nil || f.simPaper != "" {
		return nil
	}
	return func(pdf []byte, layout sheet.Layout) {
		err := f.simDriver.LoadPaper(sim.Printed{
			Pages: len(layout.Pages),
			Boxes: paperBoxes(layout),
			Draw: func(page int) (image.Image, error) {
				return sheet.Render(ctx, pdf, page, sheet.RenderDPI, "")
			},
		})
		if err != nil {
			log.Warn("the simulated scanner cannot take the printed pages", "err", err)
			return
		}
		log.Info("the simulated scanner's feeder holds the printed pages", "pages", len(layout.Pages))
	}
}

func loadPaper(opts *sim.Options, files, layoutFile string) error {
	for _, name := range strings.Split(files, ",") {
		f, err := os.Open(strings.TrimSpace(name))
		if err != nil {
			return fmt.Errorf("sim paper: %w", err)
		}
		img, _, err := image.Decode(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("sim paper %s: %w", name, err)
		}
		opts.Paper = append(opts.Paper, img)
	}
	opts.FeederPages = len(opts.Paper)
	if layoutFile == "" {
		return nil
	}
	b, err := os.ReadFile(layoutFile)
	if err != nil {
		return fmt.Errorf("sim paper layout: %w", err)
	}
	var layout sheet.Layout
	if err := json.Unmarshal(b, &layout); err != nil {
		return fmt.Errorf("sim paper layout: %w", err)
	}
	opts.PaperBoxes = paperBoxes(layout)
	return nil
}

// paperBoxes are a layout's boxes as the simulator takes them: millimetres
// from each page's top left corner, where the layout has PDF points from
// its lower left.
func paperBoxes(layout sheet.Layout) [][]sim.PaperBox {
	const ptmm = 25.4 / 72
	var out [][]sim.PaperBox
	for _, p := range layout.Pages {
		var boxes []sim.PaperBox
		for _, bx := range p.Boxes {
			r := bx.Rect
			boxes = append(boxes, sim.PaperBox{Role: sim.Role(bx.Role),
				Rect: sim.RectMM{X: r.X * ptmm, Y: (p.Height - r.Y - r.H) * ptmm, W: r.W * ptmm, H: r.H * ptmm}})
		}
		out = append(out, boxes)
	}
	return out
}

// writePDF builds the scanned pages into one PDF/A document, as the agent
// builds an act's, and writes it whole or not at all.
func writePDF(path string, inputs []document.Input, stdout, stderr io.Writer) int {
	res, err := document.Build(inputs, document.Meta{Title: "Scansione", Created: time.Now()}, document.Options{})
	if err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	if err := writeFile(path, bytes.NewReader(res.PDF)); err != nil {
		fmt.Fprintln(stderr, "autografo:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s (%d pages, %d bytes)\n", path, len(inputs), len(res.PDF))
	return 0
}

// progress shows, on a terminal, the page being scanned and how much of it
// has arrived; elsewhere (a log, a pipe) it says nothing.
type progress struct {
	w    io.Writer
	on   bool
	n    int
	last time.Time
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	on := false
	if ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			on = true
		}
	}
	return &progress{w: w, on: on}
}

func (p *progress) page(n int) {
	p.n = n
	if p.on {
		fmt.Fprintf(p.w, "\rpage %d: scanning...            ", n)
	}
}

// reader reports the page's bytes as they arrive, at most ten times a
// second, with a bar when the device said the page's size.
func (p *progress) reader(r io.ReadCloser, size int64) io.ReadCloser {
	if !p.on {
		return r
	}
	return &progressBody{ReadCloser: r, p: p, size: size}
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

type progressBody struct {
	io.ReadCloser
	p    *progress
	got  int64
	size int64
}

func (b *progressBody) Read(buf []byte) (int, error) {
	n, err := b.ReadCloser.Read(buf)
	b.got += int64(n)
	if now := time.Now(); now.Sub(b.p.last) >= 100*time.Millisecond || err == io.EOF {
		b.p.last = now
		fmt.Fprint(b.p.w, "\r"+progressLine(b.p.n, b.got, b.size))
	}
	return n, err
}

// progressLine is the line a terminal shows for a page: its number, a bar
// when its size is known, and what has arrived.
func progressLine(page int, got, size int64) string {
	mb := float64(got) / 1e6
	if size <= 0 {
		return fmt.Sprintf("page %d: %.1f MB received     ", page, mb)
	}
	const width = 30
	filled := int(min(got, size) * width / size)
	return fmt.Sprintf("page %d [%s%s] %3d%% %.1f MB ", page, strings.Repeat("#", filled), strings.Repeat(".", width-filled), min(got, size)*100/size, mb)
}
