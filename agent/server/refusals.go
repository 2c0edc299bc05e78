package server

import (
	"log/slog"
	"sync"
	"time"
)

// refusalLog keeps refusals from flooding the log: a page or program
// hammering the agent would otherwise write a line per attempt. The first
// refusal of a kind in each window is logged whole; the others in that
// window are counted, and the count goes on the next line of that kind (or
// on shutdown).
type refusalLog struct {
	log    *slog.Logger
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	kinds map[string]*refusalCount
}

type refusalCount struct {
	since      time.Time
	suppressed int
}

func newRefusalLog(log *slog.Logger, window time.Duration) *refusalLog {
	return &refusalLog{log: log, window: window, now: time.Now, kinds: map[string]*refusalCount{}}
}

// warn logs the refusal msg (its kind) with args, unless one of its kind
// was logged less than a window ago.
func (r *refusalLog) warn(msg string, args ...any) {
	r.mu.Lock()
	now := r.now()
	k := r.kinds[msg]
	if k != nil && now.Sub(k.since) < r.window {
		k.suppressed++
		r.mu.Unlock()
		return
	}
	suppressed := 0
	if k != nil {
		suppressed = k.suppressed
	}
	r.kinds[msg] = &refusalCount{since: now}
	r.mu.Unlock()
	if suppressed > 0 {
		args = append(args, "also_refused_since_last_line", suppressed)
	}
	r.log.Warn(msg, args...)
}

// flush logs the counts not yet logged.
func (r *refusalLog) flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for msg, k := range r.kinds {
		if k.suppressed > 0 {
			r.log.Warn(msg+" (summary)", "also_refused_since_last_line", k.suppressed)
			k.suppressed = 0
		}
	}
}
