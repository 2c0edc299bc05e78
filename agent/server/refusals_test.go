package server

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestRefusalsAreLoggedOncePerWindowWithACount(t *testing.T) {
	var buf bytes.Buffer
	r := newRefusalLog(slog.New(slog.NewTextHandler(&buf, nil)), 10*time.Second)
	now := time.Unix(1_800_000_000, 0)
	r.now = func() time.Time { return now }
	for range 100 {
		r.warn("refused request: bad Host header", "host", "evil.example")
	}
	r.warn("refused websocket", "origin", "https://evil.example")
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Fatalf("%d lines for 100 refusals of one kind and one of another:\n%s", n, buf.String())
	}
	now = now.Add(11 * time.Second)
	r.warn("refused request: bad Host header", "host", "evil.example")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "bad Host header") || !strings.Contains(last, "also_refused_since_last_line=99") {
		t.Errorf("the line after the window: %s", last)
	}
	r.warn("refused request: bad Host header", "host", "evil.example")
	r.flush()
	if last := strings.TrimSpace(buf.String())[strings.LastIndex(strings.TrimSpace(buf.String()), "\n")+1:]; !strings.Contains(last, "(summary)") || !strings.Contains(last, "also_refused_since_last_line=1") {
		t.Errorf("the summary at shutdown: %s", last)
	}
}
