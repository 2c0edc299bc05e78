package ippusb

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
)

// Recorder writes every HTTP exchange with a device to a directory, as
// NNNN-request.http and NNNN-response.http in wire format, so that a real
// device's behaviour can be replayed in a regression test
// (ippusbtest.Replay). The files hold the scanned pages: record test
// sheets, not acts.
type Recorder struct {
	Dir  string
	Next http.RoundTripper
	n    atomic.Int64
}

func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	n := r.n.Add(1)
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	var dump bytes.Buffer
	w := req.Clone(req.Context())
	w.Body = io.NopCloser(bytes.NewReader(body))
	if err := w.Write(&dump); err == nil {
		_ = os.WriteFile(filepath.Join(r.Dir, fmt.Sprintf("%04d-request.http", n)), dump.Bytes(), 0o600)
	}
	resp, err := r.Next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if err != nil {
		return resp, err
	}
	f, ferr := os.OpenFile(filepath.Join(r.Dir, fmt.Sprintf("%04d-response.http", n)), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if ferr == nil {
		bw := bufio.NewWriter(f)
		saved := *resp
		saved.Body = io.NopCloser(bytes.NewReader(data))
		saved.ContentLength = int64(len(data))
		saved.TransferEncoding = nil
		_ = saved.Write(bw)
		_ = bw.Flush()
		f.Close()
	}
	return resp, nil
}
