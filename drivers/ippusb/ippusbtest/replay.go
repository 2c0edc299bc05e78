package ippusbtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Replay answers requests with the responses a Recorder wrote: each
// request takes the first unused recorded exchange with the same method
// and path. A request the recording does not have gets a 404 that says so.
type Replay struct {
	mu        sync.Mutex
	exchanges []exchange
}

type exchange struct {
	method, path string
	response     []byte
	used         bool
}

// LoadReplay reads a recording directory.
func LoadReplay(dir string) (*Replay, error) {
	reqs, err := filepath.Glob(filepath.Join(dir, "*-request.http"))
	if err != nil {
		return nil, err
	}
	sort.Strings(reqs)
	r := &Replay{}
	for _, name := range reqs {
		raw, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return nil, fmt.Errorf("ippusbtest: %s: %w", name, err)
		}
		resp, err := os.ReadFile(strings.TrimSuffix(name, "-request.http") + "-response.http")
		if err != nil {
			return nil, err
		}
		r.exchanges = append(r.exchanges, exchange{method: req.Method, path: req.URL.Path, response: resp})
	}
	if len(r.exchanges) == 0 {
		return nil, fmt.Errorf("ippusbtest: no exchanges in %s", dir)
	}
	return r, nil
}

func (r *Replay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	var found *exchange
	for i := range r.exchanges {
		e := &r.exchanges[i]
		if !e.used && e.method == req.Method && e.path == req.URL.Path {
			e.used, found = true, e
			break
		}
	}
	r.mu.Unlock()
	if found == nil {
		http.Error(w, "not in the recording: "+req.Method+" "+req.URL.Path, http.StatusNotFound)
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(found.response)), req)
	if err != nil {
		http.Error(w, "bad recording: "+err.Error(), http.StatusInternalServerError)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}
