package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/require"
)

// clock is a settable time source for the rate limiter and the windows.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// failingExporter fails every Export.
type failingExporter struct{}

func (failingExporter) Export(context.Context, []ingest.StoredEntry) error {
	return errors.New("disk full")
}
func (failingExporter) Close(context.Context) error { return nil }

type fixture struct {
	srv    *httptest.Server
	exp    *ingest.MemoryExporter
	s      *ingest.Server
	clock  *clock
	mu     sync.Mutex
	errors []error // reported through OnError
}

// newFixture serves a Server on a real 127.0.0.1 listener, with a memory
// exporter, token "secret" and a settable clock unless opts says otherwise.
func newFixture(t *testing.T, opts ingest.ServerOptions) *fixture {
	t.Helper()
	f := &fixture{exp: &ingest.MemoryExporter{}, clock: newClock()}
	if opts.Exporter == nil {
		opts.Exporter = f.exp
	}
	if opts.Verifier == nil && !opts.AllowAnonymous {
		opts.Verifier = ingest.BearerToken("secret")
	}
	opts.Now = f.clock.Now
	opts.OnError = func(err error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.errors = append(f.errors, err)
	}
	s, err := ingest.NewServer(opts)
	require.NoError(t, err)
	f.s = s
	f.srv = httptest.NewServer(s)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) reported() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.errors...)
}

func entry(i int, level, session string) map[string]any {
	return map[string]any{
		"timestamp": "2026-02-06T12:00:00.123Z", "level": level, "logger": "Http",
		"message": fmt.Sprintf("message %d", i), "attributes": map[string]any{"i": i, "url": "/api/v1/chat"},
		"error": nil, "stack_trace": nil, "span_id": nil, "trace_id": nil,
		"install_id": "install-1", "session_id": session, "user_id": nil, "active_run": nil,
	}
}

func errEntry(i int, errText string) map[string]any {
	e := entry(i, "error", "s1")
	e["error"] = errText
	return e
}

func body(entries ...map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"logs": entries, "resource": map[string]string{"service.name": "billing"}})
	if err != nil {
		panic(err)
	}
	return b
}

func gzipped(t testing.TB, b []byte) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return &buf
}

func (f *fixture) do(t *testing.T, method, path string, b io.Reader, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, b)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer secret")
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := f.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(out)
}

func (f *fixture) post(t *testing.T, b []byte) (*http.Response, string) {
	t.Helper()
	return f.do(t, http.MethodPost, ingest.LogsPath, bytes.NewReader(b), nil)
}

func bigEntries(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		e := entry(i, "info", "s")
		e["message"] = strings.Repeat("x", 1000)
		out[i] = e
	}
	return out
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
