package escl

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/mdns"
)

// Announced is a scanner found by mDNS: where its eSCL root is, and what
// its announcement says about it.
type Announced struct {
	URL   string // e.g. http://192.0.2.10:80/eSCL
	Model string // the ty= field
	UUID  string
	seen  time.Time
}

// BrowseOptions tune the mDNS browser.
type BrowseOptions struct {
	// Interval between queries (default 30 s); a scanner not heard from in
	// three intervals is forgotten.
	Interval time.Duration
	// Timeout of one query round (default 2 s).
	Timeout time.Duration
	// Interface to query on; nil lets the system choose.
	Interface *net.Interface
	Logger    *slog.Logger
}

// Browser finds eSCL scanners that announce _uscan._tcp by mDNS (RFC 6762,
// DNS-SD), the way AirScan clients do. It queries in the background, so
// that discovery polls only read what it found.
type Browser struct {
	opts  BrowseOptions
	mu    sync.Mutex
	found map[string]Announced // by UUID, or URL when there is none
}

// NewBrowser returns a browser; call Run to start it.
func NewBrowser(o BrowseOptions) *Browser {
	if o.Interval <= 0 {
		o.Interval = 30 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Browser{opts: o, found: map[string]Announced{}}
}

// Run queries until ctx ends.
func (b *Browser) Run(ctx context.Context) {
	for {
		if err := b.Browse(ctx); err != nil && ctx.Err() == nil {
			b.opts.Logger.Debug("mDNS query failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(b.opts.Interval):
		}
	}
}

// Browse runs one query round and updates what the browser knows.
func (b *Browser) Browse(ctx context.Context) error {
	entries := make(chan *mdns.ServiceEntry, 32)
	var got []*mdns.ServiceEntry
	done := make(chan struct{})
	now := time.Now()
	go func() {
		defer close(done)
		// Only collect: the library goes on filling in an entry after
		// sending it, so its fields are read once the query is over.
		for e := range entries {
			got = append(got, e)
		}
	}()
	err := mdns.QueryContext(ctx, &mdns.QueryParam{
		Service: "_uscan._tcp", Domain: "local", Timeout: b.opts.Timeout, Interface: b.opts.Interface,
		Entries: entries, Logger: log.New(io.Discard, "", 0), // its errors come back as our error
	})
	close(entries)
	<-done
	for _, e := range got {
		a, ok := parseEntry(e.InfoFields, e.AddrV4, e.AddrV6, e.Port)
		if !ok {
			b.opts.Logger.Debug("mDNS announcement without a usable address", "name", e.Name)
			continue
		}
		a.seen = now
		key := a.UUID
		if key == "" {
			key = a.URL
		}
		b.mu.Lock()
		// The same scanner answers on every address it has: keep the IPv4
		// one.
		if old, ok := b.found[key]; ok && !strings.HasPrefix(old.URL, "http://[") && strings.HasPrefix(a.URL, "http://[") {
			old.seen = now
			b.found[key] = old
		} else {
			b.found[key] = a
		}
		b.mu.Unlock()
	}
	b.mu.Lock()
	for k, a := range b.found {
		if now.Sub(a.seen) > 3*b.opts.Interval {
			delete(b.found, k)
		}
	}
	b.mu.Unlock()
	if err != nil {
		return fmt.Errorf("escl: mDNS: %w", err)
	}
	return nil
}

// Found lists the scanners heard from recently.
func (b *Browser) Found() []Announced {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Announced, 0, len(b.found))
	for _, a := range b.found {
		out = append(out, a)
	}
	return out
}

// parseEntry makes the eSCL root URL from an announcement: the address,
// the port, and the TXT record's rs= (the resource path, "eSCL" by
// default). Anything else in the record is informative.
func parseEntry(txt []string, v4, v6 net.IP, port int) (Announced, bool) {
	if port <= 0 || port > 65535 {
		return Announced{}, false
	}
	fields := map[string]string{}
	for _, f := range txt {
		k, v, _ := strings.Cut(f, "=")
		fields[strings.ToLower(k)] = v
	}
	rs := strings.Trim(fields["rs"], "/")
	if _, ok := fields["rs"]; !ok {
		rs = "eSCL"
	}
	// The path comes from the network: it may not smuggle a query, a
	// fragment or another host into the URL.
	if strings.ContainsAny(rs, "?#@\\ \t\r\n") || strings.Contains(rs, "..") {
		return Announced{}, false
	}
	var host string
	switch {
	case v4 != nil && v4.To4() != nil && !v4.IsUnspecified():
		host = v4.String()
	case v6 != nil && v6.To16() != nil && !v6.IsUnspecified() && !v6.IsLinkLocalUnicast():
		host = "[" + v6.String() + "]"
	default:
		return Announced{}, false
	}
	u := "http://" + host + ":" + strconv.Itoa(port)
	if rs != "" {
		u += "/" + rs
	}
	if _, err := url.Parse(u); err != nil {
		return Announced{}, false
	}
	return Announced{URL: u, Model: fields["ty"], UUID: strings.ToLower(fields["uuid"])}, true
}
