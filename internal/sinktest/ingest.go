package sinktest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
)

// An Ingest is an in-memory ingest endpoint: an http.RoundTripper that
// answers requests without a socket, so tests that use it can run inside
// a testing/synctest bubble. By default it accepts every batch; set Respond
// to answer otherwise.
type Ingest struct {
	mu       sync.Mutex
	requests int
	entries  []map[string]any
	headers  []http.Header
	bodies   [][]byte

	// Respond, when set, decides the answer to each request from its
	// decoded entries; returning 0 means 200. The entries of a 2xx answer
	// are recorded, and it carries {"accepted": N}.
	Respond func(entries []map[string]any, h http.Header) (status int, header http.Header)
	// RefuseGzip, when set, is the status a gzip body gets, as from the
	// production backend, which does not decode gzip (400).
	RefuseGzip int
	// Path, when set, is the only path served; others get 404.
	Path string
}

// NewIngest returns an Ingest that accepts everything.
func NewIngest() *Ingest { return &Ingest{} }

// Client returns an http.Client whose requests go to the Ingest.
func (g *Ingest) Client() *http.Client { return &http.Client{Transport: g} }

// RoundTrip implements http.RoundTripper.
func (g *Ingest) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// ServeHTTP lets an Ingest also serve a real listener.
func (g *Ingest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.Path != "" && r.URL.Path != g.Path {
		http.NotFound(w, r)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" && g.RefuseGzip != 0 {
		g.mu.Lock()
		g.requests++
		g.headers = append(g.headers, r.Header.Clone())
		g.mu.Unlock()
		http.Error(w, `{"detail":"unsupported content encoding"}`, g.RefuseGzip)
		return
	}
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var payload struct {
		Logs []map[string]any `json:"logs"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&payload); err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	g.mu.Lock()
	g.requests++
	g.headers = append(g.headers, r.Header.Clone())
	g.bodies = append(g.bodies, raw)
	respond := g.Respond
	g.mu.Unlock()
	status := http.StatusOK
	if respond != nil {
		var h http.Header
		if s, hdr := respond(payload.Logs, r.Header); s != 0 {
			status, h = s, hdr
		}
		for k, v := range h {
			w.Header()[k] = v
		}
	}
	if status >= 200 && status < 300 {
		g.mu.Lock()
		g.entries = append(g.entries, payload.Logs...)
		g.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"accepted":`+itoa(len(payload.Logs))+`}`)
		return
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"detail":"`+http.StatusText(status)+`"}`)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// Requests returns the number of requests received.
func (g *Ingest) Requests() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.requests
}

// Entries returns the entries of accepted requests, in arrival order.
func (g *Ingest) Entries() []map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]map[string]any(nil), g.entries...)
}

// Bodies returns the body of every request received and decoded, after
// gzip, in arrival order.
func (g *Ingest) Bodies() [][]byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([][]byte(nil), g.bodies...)
}

// Headers returns the headers of every request received.
func (g *Ingest) Headers() []http.Header {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]http.Header(nil), g.headers...)
}

// Messages returns the message of every accepted entry.
func (g *Ingest) Messages() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, 0, len(g.entries))
	for _, e := range g.entries {
		m, _ := e["message"].(string)
		out = append(out, m)
	}
	return out
}
