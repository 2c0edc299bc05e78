package escl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/autografo/autografo/scanner"
)

// Settings are a scan job's ScanSettings.
type Settings struct {
	Source     string // "Platen" or "Feeder"
	Duplex     bool   // both sides of each sheet, from the feeder
	ColorMode  string // "RGB24", "Grayscale8", "BlackAndWhite1"
	Resolution int
	Format     string // MIME type
	// Region in 1/300 inch; zero means the whole area given by Width/Height.
	Width, Height int
}

// XML renders ScanSettings on one line (HP DeskJet 2540 wants it so).
func (s Settings) XML() []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	b.WriteString(`<scan:ScanSettings xmlns:scan="` + nsESCL + `" xmlns:pwg="` + nsPWG + `">`)
	b.WriteString(`<pwg:Version>2.0</pwg:Version>`)
	if s.Width > 0 && s.Height > 0 {
		fmt.Fprintf(&b, `<pwg:ScanRegions><pwg:ScanRegion><pwg:XOffset>0</pwg:XOffset><pwg:YOffset>0</pwg:YOffset>`+
			`<pwg:Width>%d</pwg:Width><pwg:Height>%d</pwg:Height><pwg:ContentRegionUnits>escl:ThreeHundredthsOfInches</pwg:ContentRegionUnits>`+
			`</pwg:ScanRegion></pwg:ScanRegions>`, s.Width, s.Height)
	}
	fmt.Fprintf(&b, `<pwg:InputSource>%s</pwg:InputSource><scan:ColorMode>%s</scan:ColorMode>`, s.Source, s.ColorMode)
	if s.Duplex {
		b.WriteString(`<scan:Duplex>true</scan:Duplex>`)
	}
	fmt.Fprintf(&b, `<scan:XResolution>%d</scan:XResolution><scan:YResolution>%d</scan:YResolution>`, s.Resolution, s.Resolution)
	fmt.Fprintf(&b, `<pwg:DocumentFormat>%s</pwg:DocumentFormat><scan:DocumentFormatExt>%s</scan:DocumentFormatExt>`, s.Format, s.Format)
	b.WriteString(`</scan:ScanSettings>`)
	return b.Bytes()
}

// Client speaks eSCL to one scanner.
type Client struct {
	base  *url.URL
	http  *http.Client
	host  string // Host header: "localhost" over USB, the URL's host on a network
	retry time.Duration
	tries int
}

// ClientOptions tune a Client.
type ClientOptions struct {
	// Host overrides the Host header (IPP-over-USB devices want "localhost").
	Host string
	// RetryDelay between attempts when the device answers 503 (default 1s),
	// and Retries how many (default 10).
	RetryDelay time.Duration
	Retries    int
}

// NewClient returns a client for the scanner whose eSCL root is base
// (e.g. http://192.0.2.10/eSCL), over rt.
func NewClient(base string, rt http.RoundTripper, o ClientOptions) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("escl: bad scanner URL %q", base)
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Second
	}
	if o.Retries <= 0 {
		o.Retries = 10
	}
	return &Client{base: u, http: &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // a scanner has no business redirecting us
	}}, host: o.Host, retry: o.RetryDelay, tries: o.Retries}, nil
}

// HTTPError is an unexpected HTTP status from the device.
type HTTPError struct {
	Op     string
	Status int
}

func (e *HTTPError) Error() string { return fmt.Sprintf("escl %s: HTTP %d", e.Op, e.Status) }

func (c *Client) url(path string) string {
	u := *c.base
	if strings.HasPrefix(path, "/") {
		u.Path = path
	} else {
		u.Path = c.base.Path + "/" + path
	}
	return u.String()
}

func (c *Client) do(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		var r io.Reader
		if body != nil {
			r = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, c.url(path), r)
		if err != nil {
			return nil, err
		}
		if c.host != "" {
			req.Host = c.host
		}
		if body != nil {
			req.Header.Set("Content-Type", "text/xml")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("%w: %w", scanner.ErrGone, err)
		}
		if resp.StatusCode != http.StatusServiceUnavailable || attempt+1 >= c.tries {
			return resp, nil
		}
		// 503: the device is busy (warming up, another job); wait and retry.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(c.retry):
		}
	}
}

func (c *Client) get(ctx context.Context, path string, parse func(io.Reader) error) error {
	resp, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusServiceUnavailable:
		return fmt.Errorf("%w: %w", scanner.ErrBusy, &HTTPError{Op: "GET " + path, Status: resp.StatusCode})
	case resp.StatusCode != http.StatusOK:
		return &HTTPError{Op: "GET " + path, Status: resp.StatusCode}
	}
	return parse(resp.Body)
}

// Capabilities reads ScannerCapabilities.
func (c *Client) Capabilities(ctx context.Context) (Capabilities, error) {
	var caps Capabilities
	err := c.get(ctx, "ScannerCapabilities", func(r io.Reader) (err error) { caps, err = ParseCapabilities(r); return })
	return caps, err
}

// Status reads ScannerStatus.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.get(ctx, "ScannerStatus", func(r io.Reader) (err error) { st, err = ParseStatus(r); return })
	return st, err
}

// CreateJob posts ScanSettings and returns the job's path. Only the path of
// the Location is kept: some devices put a wrong host in it (HP DeskJet 3520
// over USB), and a device's answer must not send us elsewhere.
func (c *Client) CreateJob(ctx context.Context, s Settings) (string, error) {
	resp, err := c.do(ctx, http.MethodPost, "ScanJobs", s.XML())
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch resp.StatusCode {
	case http.StatusCreated:
	case http.StatusServiceUnavailable:
		return "", fmt.Errorf("%w: %w", scanner.ErrBusy, &HTTPError{Op: "POST ScanJobs", Status: resp.StatusCode})
	case http.StatusConflict:
		return "", fmt.Errorf("%w: %w", ErrConflict, &HTTPError{Op: "POST ScanJobs", Status: resp.StatusCode})
	default:
		return "", &HTTPError{Op: "POST ScanJobs", Status: resp.StatusCode}
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Path == "" {
		return "", fmt.Errorf("%w: job Location %q", ErrDocument, resp.Header.Get("Location"))
	}
	p := strings.TrimSuffix(loc.Path, "/")
	if !strings.Contains(p, "/ScanJobs/") {
		return "", fmt.Errorf("%w: job Location %q is not a scan job", ErrDocument, p)
	}
	return p, nil
}

// ErrConflict is a 409: settings the device will not take now.
var ErrConflict = errors.New("escl: device refused the settings")

// NextDocument asks for the job's next image. It returns io.EOF when the
// device has no more (404).
func (c *Client) NextDocument(ctx context.Context, job string) (*http.Response, error) {
	resp, err := c.do(ctx, http.MethodGet, job+"/NextDocument", nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotFound:
		return nil, io.EOF
	case http.StatusGone:
		return nil, context.Canceled
	case http.StatusServiceUnavailable:
		return nil, fmt.Errorf("%w: %w", scanner.ErrBusy, &HTTPError{Op: "NextDocument", Status: resp.StatusCode})
	}
	return nil, &HTTPError{Op: "NextDocument", Status: resp.StatusCode}
}

// DeleteJob cancels or cleans up a job.
func (c *Client) DeleteJob(ctx context.Context, job string) error {
	resp, err := c.do(ctx, http.MethodDelete, job, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusGone {
		return &HTTPError{Op: "DELETE job", Status: resp.StatusCode}
	}
	return nil
}
