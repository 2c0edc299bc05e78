// Package manager owns the scanners: it polls every driver for devices (gousb
// has no hotplug, so polling is the one discovery model that fits all
// drivers), keeps the current device list, tells subscribers when it changes,
// and lets one job at a time run on each device.
package manager

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/autografo/autografo/scanner"
)

// Options tune a Manager; the zero value is usable.
type Options struct {
	// PollInterval between discovery rounds; default 2s.
	PollInterval time.Duration
	Logger       *slog.Logger
}

// Manager polls drivers and arbitrates device use. Create it with New and
// start discovery with Run.
type Manager struct {
	drivers  []scanner.Driver
	interval time.Duration
	log      *slog.Logger

	mu      sync.Mutex
	devices []scanner.Info
	busy    map[scanner.ID]bool
	subs    map[*subscription]struct{}
	polled  chan struct{} // closed after the first discovery round
	didPoll bool
}

type subscription struct {
	ch chan []scanner.Info
}

// New returns a Manager over the given drivers.
func New(drivers []scanner.Driver, opts Options) *Manager {
	if opts.PollInterval <= 0 {
		opts.PollInterval = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Manager{
		drivers:  drivers,
		interval: opts.PollInterval,
		log:      opts.Logger,
		busy:     make(map[scanner.ID]bool),
		subs:     make(map[*subscription]struct{}),
		polled:   make(chan struct{}),
	}
}

// Run polls the drivers until ctx is cancelled. It is the only goroutine that
// writes the device list.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		m.Poll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Poll runs one discovery round now. A driver that fails keeps its devices
// out of the list for this round and is logged; the others are unaffected.
func (m *Manager) Poll(ctx context.Context) {
	var found []scanner.Info
	for _, d := range m.drivers {
		infos, err := d.Discover(ctx)
		if err != nil {
			if ctx.Err() == nil {
				m.log.Warn("discovery failed", "driver", d.Name(), "err", err)
			}
			continue
		}
		for _, in := range infos {
			if in.Driver == "" {
				in.Driver = d.Name()
			}
			found = append(found, in)
		}
	}
	slices.SortFunc(found, func(a, b scanner.Info) int { return strings.Compare(string(a.ID), string(b.ID)) })

	m.mu.Lock()
	changed := !slices.Equal(found, m.devices)
	m.devices = found
	if !m.didPoll {
		m.didPoll = true
		close(m.polled)
	}
	if changed {
		for s := range m.subs {
			// Each subscriber holds at most the newest list: a slow reader
			// sees fewer intermediate states, never a stale one, and never
			// blocks discovery.
			select {
			case <-s.ch:
			default:
			}
			s.ch <- slices.Clone(found)
		}
	}
	m.mu.Unlock()
	if changed {
		m.log.Info("device list changed", "devices", len(found))
	}
}

// Ready is closed after the first discovery round.
func (m *Manager) Ready() <-chan struct{} { return m.polled }

// Devices returns the current device list.
func (m *Manager) Devices() []scanner.Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.devices)
}

// Subscribe returns a channel that receives the whole device list after each
// change, and a function that ends the subscription.
func (m *Manager) Subscribe() (<-chan []scanner.Info, func()) {
	s := &subscription{ch: make(chan []scanner.Info, 1)}
	m.mu.Lock()
	m.subs[s] = struct{}{}
	m.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			m.mu.Lock()
			delete(m.subs, s)
			m.mu.Unlock()
		})
	}
}

// lookup finds the driver of a device: from the last discovery round, or,
// for a device not listed yet (a scanner named on the command line before
// any round), the driver whose name prefixes the ID; its Open then says
// whether the device exists.
func (m *Manager) lookup(id scanner.ID) (scanner.Driver, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, in := range m.devices {
		if in.ID == id {
			for _, d := range m.drivers {
				if d.Name() == in.Driver {
					return d, true
				}
			}
		}
	}
	for _, d := range m.drivers {
		if strings.HasPrefix(string(id), d.Name()+":") {
			return d, true
		}
	}
	return nil, false
}

// Caps opens the device briefly and reads its capabilities. It refuses with
// ErrBusy while a job runs on the device.
func (m *Manager) Caps(ctx context.Context, id scanner.ID) (scanner.Caps, error) {
	dev, release, err := m.acquire(ctx, id)
	if err != nil {
		return scanner.Caps{}, err
	}
	defer release()
	caps, err := dev.Caps(ctx)
	if err != nil {
		return scanner.Caps{}, wrap("caps", id, err)
	}
	return caps, nil
}

// acquire marks the device busy and opens it. The returned release closes the
// device and frees it for the next job.
func (m *Manager) acquire(ctx context.Context, id scanner.ID) (scanner.Device, func(), error) {
	drv, ok := m.lookup(id)
	if !ok {
		return nil, nil, &scanner.OpError{Op: "open", Dev: id, Err: scanner.ErrNotFound}
	}
	m.mu.Lock()
	if m.busy[id] {
		m.mu.Unlock()
		return nil, nil, &scanner.OpError{Op: "open", Dev: id, Err: scanner.ErrBusy}
	}
	m.busy[id] = true
	m.mu.Unlock()
	free := func() {
		m.mu.Lock()
		delete(m.busy, id)
		m.mu.Unlock()
	}
	dev, err := drv.Open(ctx, id)
	if err != nil {
		free()
		return nil, nil, wrap("open", id, err)
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			if err := dev.Close(); err != nil {
				m.log.Warn("closing device failed", "device", id, "err", err)
			}
			free()
		})
	}
	return dev, release, nil
}

// Scan starts a job on the device. A device already running a job refuses at
// once with ErrBusy. The caller must Close the returned Job, which cancels it
// if it is still running and frees the device.
func (m *Manager) Scan(ctx context.Context, id scanner.ID, req scanner.Request) (*Job, error) {
	dev, release, err := m.acquire(ctx, id)
	if err != nil {
		return nil, err
	}
	caps, err := dev.Caps(ctx)
	if err != nil {
		release()
		return nil, wrap("caps", id, err)
	}
	if err := caps.Supports(req); err != nil {
		release()
		return nil, wrap("scan", id, err)
	}
	job, err := dev.Scan(ctx, req)
	if err != nil {
		release()
		return nil, wrap("scan", id, err)
	}
	return &Job{dev: id, job: job, release: release, caps: caps, req: req}, nil
}

// Job is a running job on a device owned by the Manager.
type Job struct {
	dev     scanner.ID
	job     scanner.Job
	release func()
	caps    scanner.Caps
	req     scanner.Request
	mu      sync.Mutex
	ended   bool
}

// Device is the device the job runs on.
func (j *Job) Device() scanner.ID { return j.dev }

// CheckPage says whether a page of the job has the pixels its request asks
// for, and at what resolution they were made.
func (j *Job) CheckPage(width, height int) scanner.PageCheck {
	return j.caps.CheckPage(j.req, width, height)
}

// NextPage returns the next page, io.EOF after the last one.
func (j *Job) NextPage(ctx context.Context) (scanner.Page, error) {
	p, err := j.job.NextPage(ctx)
	if err != nil {
		if errors.Is(err, io.EOF) {
			j.markEnded()
			return p, io.EOF
		}
		return p, wrap("page", j.dev, err)
	}
	return p, nil
}

func (j *Job) markEnded() {
	j.mu.Lock()
	j.ended = true
	j.mu.Unlock()
}

// Cancel asks the device to stop the job.
func (j *Job) Cancel(ctx context.Context) error {
	return wrap("cancel", j.dev, j.job.Cancel(ctx))
}

// Close ends the job: a job that did not reach its last page is cancelled,
// then the device is closed and freed. Cancel gets its own short deadline so
// that a shutdown (whose context is already done) still tells the device.
func (j *Job) Close() error {
	j.mu.Lock()
	ended := j.ended
	j.ended = true
	j.mu.Unlock()
	var err error
	if !ended {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = j.Cancel(ctx)
		cancel()
	}
	j.release()
	return err
}

// wrap keeps an existing *OpError as the driver built it and wraps anything
// else, so callers always get one layer of OpError with the device named.
func wrap(op string, id scanner.ID, err error) error {
	if err == nil {
		return nil
	}
	var oe *scanner.OpError
	if errors.As(err, &oe) {
		return err
	}
	return &scanner.OpError{Op: op, Dev: id, Err: err}
}
