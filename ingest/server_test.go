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
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/assert"
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

func TestPostLogsStatusCodes(t *testing.T) {
	f := newFixture(t, ingest.ServerOptions{})
	tests := []struct {
		name     string
		method   string
		body     io.Reader
		header   map[string]string
		want     int
		wantBody string
	}{
		{"accepted", "POST", bytes.NewReader(body(entry(1, "info", "s1"), errEntry(2, "HttpException: 500"))), nil, 200, `{"accepted":2}`},
		{"empty batch", "POST", strings.NewReader(`{"logs":[]}`), nil, 200, `{"accepted":0}`},
		{"gzip", "POST", gzipped(t, body(entry(3, "info", "s1"))), map[string]string{"Content-Encoding": "gzip"}, 200, `{"accepted":1}`},
		{"no token", "POST", bytes.NewReader(body(entry(4, "info", "s1"))), map[string]string{"Authorization": ""}, 401, "unauthorized"},
		{"wrong token", "POST", bytes.NewReader(body(entry(4, "info", "s1"))), map[string]string{"Authorization": "Bearer nope"}, 401, "unauthorized"},
		{"not bearer", "POST", bytes.NewReader(body(entry(4, "info", "s1"))), map[string]string{"Authorization": "secret"}, 401, "unauthorized"},
		{"contract violation", "POST", strings.NewReader(`{"logs":[{"level":"loud"}]}`), nil, 422, `"path":"logs[0].level"`},
		{"malformed", "POST", strings.NewReader(`{"logs":[`), nil, 400, "malformed"},
		{"bad gzip", "POST", strings.NewReader("this is not gzip at all"), map[string]string{"Content-Encoding": "gzip"}, 400, "gzip"},
		{"brotli", "POST", strings.NewReader("{}"), map[string]string{"Content-Encoding": "br"}, 415, "not supported"},
		{"too large", "POST", bytes.NewReader(body(bigEntries(1100)...)), nil, 413, "larger than"},
		{"wrong method", "GET", nil, nil, 405, ""},
		{"unknown path", "POST", strings.NewReader("{}"), nil, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ingest.LogsPath
			if tt.want == 404 {
				path = "/api/v2/logs"
			}
			resp, got := f.do(t, tt.method, path, tt.body, tt.header)
			assert.Equal(t, tt.want, resp.StatusCode, got)
			assert.Contains(t, got, tt.wantBody)
		})
	}
	stored := f.exp.Entries()
	require.Len(t, stored, 3)
	assert.Equal(t, "2026-02-06T12:00:00.000Z", stored[0].Attributes[ingest.ReceivedAtKey])
	assert.NotContains(t, stored[0].Attributes, ingest.FingerprintKey, "info entries are not fingerprinted")
	assert.Equal(t, ingest.Fingerprint("HttpException: 500", ""), stored[1].Attributes[ingest.FingerprintKey])
	assert.Equal(t, "billing", stored[0].Resource["service.name"])
	assert.Equal(t, json.Number("1"), stored[0].Attributes["i"])
}

func TestUnprocessableListsEveryViolation(t *testing.T) {
	f := newFixture(t, ingest.ServerOptions{})
	resp, got := f.post(t, readFile(t, "testdata/invalid/types.json"))
	require.Equal(t, 422, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var out struct {
		Detail []ingest.Violation `json:"detail"`
	}
	require.NoError(t, json.Unmarshal([]byte(got), &out))
	assert.Len(t, out.Detail, 10)
	assert.Equal(t, ingest.Violation{Path: "logs[0].logger", Message: "must be a string, got a number"}, out.Detail[0])
	assert.Empty(t, f.exp.Entries(), "nothing of a rejected batch is kept")
}

func TestExporterFailureAnswers503(t *testing.T) {
	f := newFixture(t, ingest.ServerOptions{Exporter: failingExporter{}})
	resp, got := f.post(t, body(entry(1, "info", "s1")))
	assert.Equal(t, 503, resp.StatusCode, got)
	assert.Equal(t, "5", resp.Header.Get("Retry-After"))
	require.Len(t, f.reported(), 1)
	assert.ErrorContains(t, f.reported()[0], "disk full")
}

func TestAuthCanBeDisabledExplicitly(t *testing.T) {
	f := newFixture(t, ingest.ServerOptions{AllowAnonymous: true})
	resp, got := f.do(t, http.MethodPost, ingest.LogsPath, bytes.NewReader(body(entry(1, "info", "s1"))), map[string]string{"Authorization": ""})
	assert.Equal(t, 200, resp.StatusCode, got)
}

// A panic, which no input should cause, becomes a 500 and is reported.
func TestPanicBecomes500(t *testing.T) {
	f := newFixture(t, ingest.ServerOptions{Verifier: func(*http.Request) error { panic("verifier bug") }})
	resp, _ := f.post(t, body(entry(1, "info", "s1")))
	assert.Equal(t, 500, resp.StatusCode)
	require.Len(t, f.reported(), 1)
	assert.ErrorContains(t, f.reported()[0], "verifier bug")
}

// A chunked body has no Content-Length: the limit holds while reading,
// for plain bodies and for gzip bodies that inflate past it.
func TestBodyLimitWithoutContentLength(t *testing.T) {
	f := newFixture(t, ingest.ServerOptions{MaxBodyBytes: 64 << 10})
	var lengths []int64
	var mu sync.Mutex
	inner := f.srv.Config.Handler
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		lengths = append(lengths, r.ContentLength)
		mu.Unlock()
		inner.ServeHTTP(w, r)
	})
	big := body(bigEntries(100)...)
	require.Greater(t, len(big), 64<<10)
	chunked := func(b []byte) io.Reader {
		pr, pw := io.Pipe()
		go func() { // owned by the request: it ends when the body is read or closed
			for i := 0; i < len(b); i += 4096 {
				if _, err := pw.Write(b[i:min(i+4096, len(b))]); err != nil {
					return
				}
			}
			_ = pw.Close()
		}()
		return pr
	}
	tests := []struct {
		name   string
		body   io.Reader
		header map[string]string
	}{
		{"plain", chunked(big), nil},
		{"gzip inflating past the limit", chunked(gzipped(t, big).Bytes()), map[string]string{"Content-Encoding": "gzip"}},
		{"gzip bomb", chunked(gzipped(t, bytes.Repeat([]byte(" "), 4<<20)).Bytes()), map[string]string{"Content-Encoding": "gzip"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, got := f.do(t, http.MethodPost, ingest.LogsPath, tt.body, tt.header)
			assert.Equal(t, 413, resp.StatusCode, got)
		})
	}
	assert.Less(t, gzipped(t, big).Len(), 64<<10, "compressed it fits")
	mu.Lock()
	assert.Equal(t, []int64{-1, -1, -1}, lengths, "no Content-Length was sent")
	mu.Unlock()
	assert.Empty(t, f.exp.Entries())
}

func TestRateLimitPerInstallAndSession(t *testing.T) {
	f := newFixture(t, ingest.ServerOptions{RatePerSecond: 0.5, RateBurst: 2})
	send := func(install, session string) *http.Response {
		e := entry(0, "info", session)
		e["install_id"] = install
		resp, _ := f.post(t, body(e))
		return resp
	}
	for range 2 {
		require.Equal(t, 200, send("i1", "s1").StatusCode)
	}
	resp := send("i1", "s1")
	assert.Equal(t, 429, resp.StatusCode)
	assert.Equal(t, "2", resp.Header.Get("Retry-After"), "one token takes 2 s at 0.5/s")
	assert.Equal(t, 429, send("i1", "s2").StatusCode, "the install's bucket is empty too")
	assert.Equal(t, 429, send("i2", "s1").StatusCode, "and so is the session's")
	assert.Equal(t, 200, send("i2", "s2").StatusCode, "another install and session are not affected")

	f.clock.Advance(1500 * time.Millisecond)
	resp = send("i1", "s1")
	assert.Equal(t, 429, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"), "rounded up to whole seconds")
	f.clock.Advance(500 * time.Millisecond)
	assert.Equal(t, 200, send("i1", "s3").StatusCode, "a token refilled")
	assert.Len(t, f.exp.Entries(), 4)
}

func TestConfigETag(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logging.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"min_level":"warning","modules":{"http":"trace"}}`), 0o600))
	f := newFixture(t, ingest.ServerOptions{ConfigFile: path})
	get := func(etag string) (*http.Response, string) {
		return f.do(t, http.MethodGet, ingest.ConfigPath, nil, map[string]string{"If-None-Match": etag})
	}
	resp, got := get("")
	require.Equal(t, 200, resp.StatusCode)
	assert.JSONEq(t, `{"min_level":"warning","modules":{"http":"trace"}}`, got)
	etag := resp.Header.Get("ETag")
	require.NotEmpty(t, etag)

	tests := []struct {
		name        string
		ifNoneMatch string
		want        int
	}{
		{"same", etag, 304},
		{"weak", "W/" + etag, 304},
		{"in a list", `"other", ` + etag, 304},
		{"star", "*", 304},
		{"other", `"other"`, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, got := get(tt.ifNoneMatch)
			assert.Equal(t, tt.want, resp.StatusCode)
			if tt.want == 304 {
				assert.Empty(t, got)
			}
		})
	}

	// The file changes while the server runs (same size, same second).
	require.NoError(t, os.WriteFile(path, []byte(`{"min_level":"debug","modules":{"http":"error"}}`), 0o600))
	resp, got = get(etag)
	assert.Equal(t, 200, resp.StatusCode, "the file changed while running")
	assert.JSONEq(t, `{"min_level":"debug","modules":{"http":"error"}}`, got)
	etag2 := resp.Header.Get("ETag")
	assert.NotEqual(t, etag, etag2)

	// A broken edit is reported and the last good configuration served.
	require.NoError(t, os.WriteFile(path, []byte(`{"min_level":"loud"}`), 0o600))
	resp, _ = get(etag2)
	assert.Equal(t, 304, resp.StatusCode)
	require.NotEmpty(t, f.reported())
	assert.ErrorContains(t, f.reported()[0], "min_level")
}

func TestDefaultConfig(t *testing.T) {
	f := newFixture(t, ingest.ServerOptions{})
	resp, got := f.do(t, http.MethodGet, ingest.ConfigPath, nil, nil)
	require.Equal(t, 200, resp.StatusCode)
	assert.JSONEq(t, `{"min_level":"info","modules":{}}`, got)
	resp, _ = f.do(t, http.MethodGet, ingest.ConfigPath, nil, map[string]string{"Authorization": ""})
	assert.Equal(t, 401, resp.StatusCode)
}

func TestTopErrorsAndAlert(t *testing.T) {
	var alerts []ingest.Alert
	var mu sync.Mutex
	f := newFixture(t, ingest.ServerOptions{AlertThreshold: 3, RateBurst: 100, OnAlert: func(a ingest.Alert) {
		mu.Lock()
		defer mu.Unlock()
		alerts = append(alerts, a)
	}})
	alertCount := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(alerts)
	}
	for i := range 4 {
		resp, _ := f.post(t, body(errEntry(i, fmt.Sprintf("HttpException: %d", 500+i))))
		require.Equal(t, 200, resp.StatusCode)
		f.clock.Advance(time.Minute)
	}
	resp, _ := f.post(t, body(errEntry(9, "TimeoutException: read")))
	require.Equal(t, 200, resp.StatusCode)

	require.Equal(t, 1, alertCount(), "one alert when the threshold is reached, not again within the window")
	mu.Lock()
	assert.Equal(t, 3, alerts[0].Count)
	assert.Equal(t, "message 0", alerts[0].Sample)
	assert.Equal(t, "HttpException: 500", alerts[0].Error)
	assert.Equal(t, time.Hour, alerts[0].Window)
	mu.Unlock()

	resp, got := f.do(t, http.MethodGet, ingest.ErrorsTopPath+"?window=1h", nil, nil)
	require.Equal(t, 200, resp.StatusCode, got)
	var top struct {
		Window string            `json:"window"`
		Errors []ingest.TopError `json:"errors"`
	}
	require.NoError(t, json.Unmarshal([]byte(got), &top))
	require.Len(t, top.Errors, 2)
	first := top.Errors[0]
	assert.Equal(t, 4, first.Count)
	assert.Equal(t, "message 0", first.Sample)
	assert.Equal(t, time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC), first.FirstSeen)
	assert.Equal(t, time.Date(2026, 2, 6, 12, 3, 0, 0, time.UTC), first.LastSeen)
	assert.Equal(t, 1, top.Errors[1].Count)

	recent := f.s.Top(2*time.Minute, 0)
	require.Len(t, recent, 2, "the last two minutes")
	assert.Equal(t, []int{1, 1}, []int{recent[0].Count, recent[1].Count}, "one of each in the last two minutes")

	f.clock.Advance(2 * time.Hour)
	assert.Empty(t, f.s.Top(time.Hour, 10), "nothing in the last hour")
	assert.Len(t, f.s.Top(3*time.Hour, 10), 2)

	for i := range 3 {
		_, _ = f.post(t, body(errEntry(i, "HttpException: 500")))
	}
	assert.Equal(t, 2, alertCount(), "a new window alerts again")

	tests := []struct {
		name, query string
		want        int
	}{
		{"default window", "", 200},
		{"limit", "?window=30m&limit=1", 200},
		{"bad window", "?window=soon", 400},
		{"window past the history", "?window=48h", 400},
		{"bad limit", "?limit=0", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, got := f.do(t, http.MethodGet, ingest.ErrorsTopPath+tt.query, nil, nil)
			assert.Equal(t, tt.want, resp.StatusCode, got)
		})
	}
}

func TestAttachmentsAndHealth(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "attachments")
	f := newFixture(t, ingest.ServerOptions{AttachmentsDir: dir, MaxAttachmentBytes: 1024})
	resp, got := f.do(t, http.MethodPost, ingest.AttachmentsPath, strings.NewReader("diagnostic blob"), nil)
	require.Equal(t, 201, resp.StatusCode, got)
	var out struct {
		ID    string `json:"id"`
		Bytes int    `json:"bytes"`
	}
	require.NoError(t, json.Unmarshal([]byte(got), &out))
	assert.Equal(t, 15, out.Bytes)
	stored, err := os.ReadFile(filepath.Join(dir, out.ID))
	require.NoError(t, err)
	assert.Equal(t, "diagnostic blob", string(stored))

	resp, _ = f.do(t, http.MethodPost, ingest.AttachmentsPath, strings.NewReader(strings.Repeat("x", 2000)), nil)
	assert.Equal(t, 413, resp.StatusCode)
	files, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, files, 1, "a rejected upload leaves nothing behind")

	resp, _ = f.do(t, http.MethodPost, ingest.AttachmentsPath, strings.NewReader("x"), map[string]string{"Authorization": ""})
	assert.Equal(t, 401, resp.StatusCode)

	resp, got = f.do(t, http.MethodGet, ingest.HealthPath, nil, map[string]string{"Authorization": ""})
	assert.Equal(t, 200, resp.StatusCode)
	assert.JSONEq(t, `{"status":"ok"}`, got)

	off := newFixture(t, ingest.ServerOptions{})
	resp, _ = off.do(t, http.MethodPost, ingest.AttachmentsPath, strings.NewReader("x"), nil)
	assert.Equal(t, 404, resp.StatusCode, "attachments are off without a directory")
}

func TestNewServerNamesTheBadField(t *testing.T) {
	mem := &ingest.MemoryExporter{}
	badConfig := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(badConfig, []byte(`{"min_level":"info","modules":{"http":"verbose"}}`), 0o600))
	tests := []struct {
		name string
		give ingest.ServerOptions
		want string
	}{
		{"no exporter", ingest.ServerOptions{}, "Exporter"},
		{"no verifier", ingest.ServerOptions{Exporter: mem}, "Verifier"},
		{"negative body", ingest.ServerOptions{Exporter: mem, AllowAnonymous: true, MaxBodyBytes: -1}, "MaxBodyBytes"},
		{"negative rate", ingest.ServerOptions{Exporter: mem, AllowAnonymous: true, RatePerSecond: -1}, "RatePerSecond"},
		{"negative burst", ingest.ServerOptions{Exporter: mem, AllowAnonymous: true, RateBurst: -1}, "RateBurst"},
		{"negative window", ingest.ServerOptions{Exporter: mem, AllowAnonymous: true, FingerprintWindow: -1}, "FingerprintWindow"},
		{"negative threshold", ingest.ServerOptions{Exporter: mem, AllowAnonymous: true, AlertThreshold: -1}, "AlertThreshold"},
		{"negative attachment", ingest.ServerOptions{Exporter: mem, AllowAnonymous: true, MaxAttachmentBytes: -1}, "MaxAttachmentBytes"},
		{"missing config", ingest.ServerOptions{Exporter: mem, AllowAnonymous: true, ConfigFile: filepath.Join(t.TempDir(), "none.json")}, "ConfigFile"},
		{"bad config", ingest.ServerOptions{Exporter: mem, AllowAnonymous: true, ConfigFile: badConfig}, "modules.http"},
		{"anonymous", ingest.ServerOptions{Exporter: mem, AllowAnonymous: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ingest.NewServer(tt.give)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

// Hostile bodies get a 4xx answer, never a panic or a 5xx.
func TestHostileBodies(t *testing.T) {
	f := newFixture(t, ingest.ServerOptions{RateBurst: 1000})
	tests := []struct {
		name string
		give string
		want int
	}{
		{"deep arrays", `{"logs":` + strings.Repeat("[", 200000) + strings.Repeat("]", 200000) + `}`, 400},
		{"deep attributes", `{"logs":[{"attributes":` + strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat("}", 5000) + `}]}`, 422},
		{"null", `null`, 422},
		{"string", `"logs"`, 422},
		{"nul bytes", "\x00\x00\x00", 400},
		{"invalid utf-8", "{\"logs\":[{\"message\":\"\xff\xfe\"}]}", 422},
		{"huge number", `{"logs":[{"attributes":{"n":1e999999}}]}`, 422},
		{"many entries", `{"logs":[` + strings.Repeat(`1,`, 100000) + `1]}`, 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, got := f.post(t, []byte(tt.give))
			assert.Equal(t, tt.want, resp.StatusCode, got)
		})
	}
	assert.Empty(t, f.reported(), "no panic was recovered")
}

// TestServerConcurrentSafe posts from many goroutines at once, to the
// JSONL store, with reads of the other endpoints in between.
func TestServerConcurrentSafe(t *testing.T) {
	store, err := ingest.NewJSONLStore(t.TempDir(), &ingest.JSONLOptions{MaxFileBytes: 16 << 10})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close(context.Background()) })
	f := newFixture(t, ingest.ServerOptions{Exporter: store, RateBurst: 1000, AlertThreshold: 10, OnAlert: func(ingest.Alert) {}})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 10 {
				resp, got := f.post(t, body(entry(w*100+i, "info", fmt.Sprint("s", w)), errEntry(w*100+i, "HttpException: 500")))
				assert.Equal(t, 200, resp.StatusCode, got)
				resp, _ = f.do(t, http.MethodGet, ingest.ErrorsTopPath, nil, nil)
				assert.Equal(t, 200, resp.StatusCode)
			}
		})
	}
	wg.Wait()
	n, err := store.Count(t.Context(), ingest.Filter{})
	require.NoError(t, err)
	assert.Equal(t, 160, n)
	n, err = store.Count(t.Context(), ingest.Filter{SessionID: "s3"})
	require.NoError(t, err)
	assert.Equal(t, 10, n)
	require.Len(t, f.s.Top(time.Hour, 0), 1)
	assert.Equal(t, 80, f.s.Top(time.Hour, 0)[0].Count)
}

func TestJSONLStoreRotatesAndQueries(t *testing.T) {
	dir := t.TempDir()
	store, err := ingest.NewJSONLStore(dir, &ingest.JSONLOptions{MaxFileBytes: 2048})
	require.NoError(t, err)
	f := newFixture(t, ingest.ServerOptions{Exporter: store, RateBurst: 1000})
	for i := range 30 {
		session := "s-even"
		if i%2 == 1 {
			session = "s-odd"
		}
		resp, _ := f.post(t, body(entry(i, "info", session)))
		require.Equal(t, 200, resp.StatusCode)
	}
	files, err := filepath.Glob(filepath.Join(dir, "logs-*.jsonl"))
	require.NoError(t, err)
	assert.Greater(t, len(files), 2, "rotated by size")
	for _, path := range files {
		info, err := os.Stat(path)
		require.NoError(t, err)
		assert.LessOrEqual(t, info.Size(), int64(2048))
	}

	var got []ingest.StoredEntry
	require.NoError(t, store.Query(t.Context(), ingest.Filter{SessionID: "s-odd"}, func(e ingest.StoredEntry) bool {
		got = append(got, e)
		return true
	}))
	require.Len(t, got, 15)
	assert.Equal(t, "message 1", got[0].Message, "oldest first")
	assert.Equal(t, "message 29", got[14].Message)
	assert.Equal(t, json.Number("29"), got[14].Attributes["i"], "numbers as on the wire")
	assert.Equal(t, "billing", got[14].Resource["service.name"])
	assert.Equal(t, "2026-02-06T12:00:00.000Z", got[14].Attributes[ingest.ReceivedAtKey])
	require.NoError(t, store.Close(context.Background()))
	require.NoError(t, store.Close(context.Background()), "a second Close is a no-op")
	assert.ErrorIs(t, store.Export(t.Context(), got[:1]), ingest.ErrClosed)

	reopened, err := ingest.NewJSONLStore(dir, &ingest.JSONLOptions{MaxFileBytes: 2048})
	require.NoError(t, err)
	defer reopened.Close(context.Background())
	require.NoError(t, reopened.Export(t.Context(), got[:1]))
	n := 0
	require.NoError(t, reopened.Query(t.Context(), ingest.Filter{}, func(ingest.StoredEntry) bool { n++; return n < 10 }))
	assert.Equal(t, 10, n, "returning false stops the query")
	total, err := reopened.Count(t.Context(), ingest.Filter{Contains: "message 1"})
	require.NoError(t, err)
	assert.Equal(t, 12, total, "message 1, 10..19 and the one appended after reopening")
}

// The JSONL line of an entry is the JSON encoding of its StoredEntry.
func TestJSONLStoreLinesAreStoredEntries(t *testing.T) {
	p, err := ingest.DecodeBytes(readFile(t, "testdata/valid/design_example.json"))
	require.NoError(t, err)
	p.Logs[1].Message = "tab\t nul\x00 quote\" \u2028 <html> & \xff"
	p.Logs[1].Attributes = map[string]any{"float": 1.5, "int": 7, "list": []any{"a", nil, true}}
	dir := t.TempDir()
	store, err := ingest.NewJSONLStore(dir, nil)
	require.NoError(t, err)
	entries := []ingest.StoredEntry{{Entry: p.Logs[0], Resource: p.Resource}, {Entry: p.Logs[1]}}
	require.NoError(t, store.Export(t.Context(), entries))
	require.NoError(t, store.Close(t.Context()))

	raw, err := os.ReadFile(filepath.Join(dir, "logs-000001.jsonl"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	require.Len(t, lines, 2)
	for i, line := range lines {
		want, err := json.Marshal(entries[i])
		require.NoError(t, err)
		assert.JSONEq(t, string(want), line)
	}
	assert.Contains(t, lines[1], "<html> &", "no HTML escaping: grep finds what was sent")
}

// BenchmarkPostLogs posts 100-entry batches through the handler into a
// JSONL store: plain info entries, and a batch where one entry in ten is
// an error with a Go panic stack to fingerprint.
func BenchmarkPostLogs(b *testing.B) {
	benchmarks := []struct {
		name       string
		errorEvery int
	}{
		{"info", 0},
		{"tenth_errors", 10},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			store, err := ingest.NewJSONLStore(b.TempDir(), nil)
			require.NoError(b, err)
			defer store.Close(context.Background())
			s, err := ingest.NewServer(ingest.ServerOptions{Exporter: store, AllowAnonymous: true, RatePerSecond: 1e9, RateBurst: 1e9})
			require.NoError(b, err)
			entries := make([]map[string]any, 100)
			for i := range entries {
				entries[i] = entry(i, "info", "s1")
				if bm.errorEvery > 0 && i%bm.errorEvery == 0 {
					entries[i] = errEntry(i, "HttpException: 500")
					entries[i]["stack_trace"] = goPanicA
				}
			}
			payload := body(entries...)
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, ingest.LogsPath, bytes.NewReader(payload))
				w := httptest.NewRecorder()
				s.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatal(w.Code, w.Body.String())
				}
			}
			b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
