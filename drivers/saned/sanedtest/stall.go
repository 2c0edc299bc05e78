package sanedtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// groupProgress is what a process group has done so far: the CPU time its
// processes used and whether any of them is runnable. A group that used no
// CPU, wrote nothing and had no runnable process between two looks is
// blocked on itself; a group that is merely slow, on a busy machine, is
// runnable or has used CPU time in between.
type groupProgress struct {
	cpuTicks uint64
	runnable bool
	alive    bool
}

func readGroupProgress(pgid int) groupProgress {
	var p groupProgress
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // ended in between
		}
		// The command name, in parentheses, may hold spaces: fields
		// are counted after its closing parenthesis.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		// f[0] state, f[2] pgrp, f[11] utime, f[12] stime.
		if g, _ := strconv.Atoi(f[2]); g != pgid {
			continue
		}
		p.alive = true
		if f[0] == "R" || f[0] == "D" {
			p.runnable = true
		}
		u, _ := strconv.ParseUint(f[11], 10, 64)
		s, _ := strconv.ParseUint(f[12], 10, 64)
		p.cpuTicks += u + s
	}
	return p
}

// watchForStall calls stalled once when the process group pgid makes no
// progress (no CPU time, no output, nothing runnable) for looks successive
// looks, every interval apart. It returns when done is closed. This is not
// a bound on how long the work may take: work that progresses, however
// slowly, is never called stalled.
func watchForStall(pgid int, output func() int, interval time.Duration, looks int, done <-chan struct{}, stalled func()) {
	last := readGroupProgress(pgid)
	lastOut := output()
	still := 0
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		now := readGroupProgress(pgid)
		out := output()
		if now.alive && !now.runnable && now.cpuTicks == last.cpuTicks && out == lastOut {
			still++
		} else {
			still = 0
		}
		last, lastOut = now, out
		if still >= looks {
			stalled()
			return
		}
	}
}
