package server

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

func TestSlowTabIsCutOffNotBuffered(t *testing.T) {
	c := newConn(nil, 2, time.Minute, slog.New(slog.DiscardHandler))
	c.Send(map[string]int{"n": 1})
	c.Send(map[string]int{"n": 2})
	if c.ctx.Err() != nil {
		t.Fatal("cut off before the queue was full")
	}
	c.Send(map[string]int{"n": 3})
	if !errors.Is(context.Cause(c.ctx), errSlowClient) {
		t.Fatalf("cause %v, want errSlowClient", context.Cause(c.ctx))
	}
	if len(c.queue) != 2 {
		t.Fatalf("queue holds %d, want it bounded at 2", len(c.queue))
	}
	c.Send(map[string]int{"n": 4}) // after the cut, nothing more is queued
	if len(c.queue) != 2 {
		t.Fatal("queued after the cut")
	}
}

func TestTokenBucket(t *testing.T) {
	b := newTokenBucket(2, 4)
	now := testTime(0)
	n := 0
	for range 10 {
		if b.take(now) {
			n++
		}
	}
	if n != 4 {
		t.Fatalf("burst allowed %d, want 4", n)
	}
	if !b.take(testTime(500)) || b.take(testTime(500)) {
		t.Fatal("after 0.5 s at 2/s exactly one more message is allowed")
	}
}

var epoch = time.Unix(1_800_000_000, 0)

func testTime(ms int) time.Time { return epoch.Add(time.Duration(ms) * time.Millisecond) }
