package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
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

// clock is a settable time source for the rate limiter and windows.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

type fixture struct {
	srv   *httptest.Server
	exp   *ingest.MemoryExporter
	s     *ingest.Server
	clock *clock
}

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
	s, err := ingest.NewServer(opts)
	require.NoError(t, err)
	f.s = s
	f.srv = httptest.NewServer(s)
	t.Cleanup(f.srv.Close)
	return f
}

func entry(i int, level, session string) map[string]any {
	return map[string]any{
		"timestamp": "2026-02-06T12:00:00.123Z", "level": level, "logger": "Http",
		"message": fmt.Sprintf("message %d", i), "attributes": map[string]any{"i": i},
		"error": nil, "stack_trace": nil, "span_id": nil, "trace_id": nil,
		"install_id": "install-1", "session_id": session, "user_id": nil, "active_run": nil,
	}
}

func body(entries ...map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"logs": entries, "resource": map[string]string{"service.name": "billing"}})
	return b
}

func (f *fixture) post(t *testing.T, path string, b io.Reader, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+path, b)
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
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

func TestPostLogsStatusCodes(t *testing.T) {
	f := newFixture(t, ingest.ServerOptions{})
	gz := func(b []byte) io.Reader {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(b)
		_ = zw.Close()
		return &buf
	}
	tests := []struct {
		name     string
		body     io.Reader
		header   map[string]string
		want     int
		wantBody string
	}{
		{"accepted", bytes.NewReader(body(entry(1, "info", "s1"), entry(2, "error", "s1"))), nil, 200, `{"accepted":2}`},
		{"gzip", gz(body(entry(3, "info", "s1"))), map[string]string{"Content-Encoding": "gzip"}, 200, `{"accepted":1}`},
		{"no token", bytes.NewReader(body(entry(4, "info", "s1"))), map[string]string{"Authorization": ""}, 401, "unauthorized"},
		{"bad token", bytes.NewReader(body(entry(4, "info", "s1"))), map[string]string{"Authorization": "Bearer nope"}, 401, "unauthorized"},
		{"contract violation", strings.NewReader(`{"logs":[{"level":"loud"}]}`), nil, 422, `logs[0].level`},
		{"malformed", strings.NewReader(`{"logs":[`), nil, 400, "malformed"},
		{"bad gzip", strings.NewReader("not gzip"), map[string]string{"Content-Encoding": "gzip"}, 400, "gzip"},
		{"too large", bytes.NewReader(body(bigEntries(1200)...)), nil, 413, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, got := f.post(t, ingest.LogsPath, tt.body, tt.header)
			assert.Equal(t, tt.want, resp.StatusCode, got)
			assert.Contains(t, got, tt.wantBody)
		})
	}
	stored := f.exp.Entries()
	require.Len(t, stored, 3)
	assert.Equal(t, "2026-02-06T12:00:00.000Z", stored[0].Attributes[ingest.ReceivedAtKey])
	assert.NotContains(t, stored[0].Attributes, ingest.FingerprintKey)
	assert.True(t, strings.HasPrefix(stored[1].Attributes[ingest.FingerprintKey].(string), "fp1:"), "error entries are fingerprinted")
	assert.Equal(t, "billing", stored[0].Resource["service.name"])
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

// A chunked body has no Content-Length: the limit holds while reading,
// for plain and gzip bodies (a small gzip body can inflate past it).
func TestBodyLimitWithoutContentLength(t *testing.T) {
	f := newFixture(t, ingest.ServerOptions{MaxBodyBytes: 64 << 10})
	big := body(bigEntries(100)...)
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < len(big); i += 4096 {
			_, _ = pw.Write(big[i:min(i+4096, len(big))])
		}
		_ = pw.Close()
	}()
	resp, got := f.post(t, ingest.LogsPath, pr, nil)
	assert.Equal(t, 413, resp.StatusCode, got)

	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(big)
	_ = zw.Close()
	require.Less(t, buf.Len(), 64<<10, "compressed it fits")
	resp, got = f.post(t, ingest.LogsPath, &buf, map[string]string{"Content-Encoding": "gzip"})
	assert.Equal(t, 413, resp.StatusCode, got)
	assert.Empty(t, f.exp.Entries())
}

func TestRateLimitPerInstallAndSession(t *testing.T) {
	f := newFixture(t, ingest.ServerOptions{RatePerSecond: 1, RateBurst: 2})
	send := func(session string) (*http.Response, string) {
		return f.post(t, ingest.LogsPath, bytes.NewReader(body(entry(0, "info", session))), nil)
	}
	for range 2 {
		resp, _ := send("s1")
		require.Equal(t, 200, resp.StatusCode)
	}
	resp, _ := send("s1")
	assert.Equal(t, 429, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	resp, _ = send("s2")
	assert.Equal(t, 429, resp.StatusCode, "the install's bucket is empty too")
	f.clock.Advance(time.Second)
	resp, _ = send("s2")
	assert.Equal(t, 200, resp.StatusCode, "a token refilled")
}

func TestConfigETag(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logging.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"min_level":"warning","modules":{"http":"trace"}}`), 0o600))
	f := newFixture(t, ingest.ServerOptions{ConfigFile: path})
	get := func(etag string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+ingest.ConfigPath, nil)
		req.Header.Set("Authorization", "Bearer secret")
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := f.srv.Client().Do(req)
		require.NoError(t, err)
		return resp
	}
	resp := get("")
	require.Equal(t, 200, resp.StatusCode)
	var cfg struct {
		MinLevel string            `json:"min_level"`
		Modules  map[string]string `json:"modules"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&cfg))
	resp.Body.Close()
	assert.Equal(t, "warning", cfg.MinLevel)
	assert.Equal(t, map[string]string{"http": "trace"}, cfg.Modules)
	etag := resp.Header.Get("ETag")
	require.NotEmpty(t, etag)

	resp = get(etag)
	assert.Equal(t, 304, resp.StatusCode)
	resp.Body.Close()

	require.NoError(t, os.WriteFile(path, []byte(`{"min_level":"debug","modules":{}}`), 0o600))
	require.NoError(t, os.Chtimes(path, time.Now().Add(time.Minute), time.Now().Add(time.Minute)))
	resp = get(etag)
	assert.Equal(t, 200, resp.StatusCode, "the file changed while running")
	assert.NotEqual(t, etag, resp.Header.Get("ETag"))
	resp.Body.Close()
}

func TestTopErrorsAndAlert(t *testing.T) {
	var alerts []ingest.Alert
	var mu sync.Mutex
	f := newFixture(t, ingest.ServerOptions{AlertThreshold: 3, RateBurst: 100, OnAlert: func(a ingest.Alert) {
		mu.Lock()
		alerts = append(alerts, a)
		mu.Unlock()
	}})
	errEntry := func(i int, errText string) map[string]any {
		e := entry(i, "error", "s1")
		e["error"] = errText
		return e
	}
	for i := range 4 {
		resp, _ := f.post(t, ingest.LogsPath, bytes.NewReader(body(errEntry(i, "HttpException: 500"))), nil)
		require.Equal(t, 200, resp.StatusCode)
	}
	resp, _ := f.post(t, ingest.LogsPath, bytes.NewReader(body(errEntry(9, "TimeoutException: read"))), nil)
	require.Equal(t, 200, resp.StatusCode)

	mu.Lock()
	require.Len(t, alerts, 1, "one alert when the threshold is crossed")
	assert.Equal(t, 3, alerts[0].Count)
	mu.Unlock()

	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+ingest.ErrorsTopPath+"?window=1h", nil)
	req.Header.Set("Authorization", "Bearer secret")
	r, err := f.srv.Client().Do(req)
	require.NoError(t, err)
	defer r.Body.Close()
	var top struct {
		Errors []ingest.TopError `json:"errors"`
	}
	require.NoError(t, json.NewDecoder(r.Body).Decode(&top))
	require.Len(t, top.Errors, 2)
	assert.Equal(t, 4, top.Errors[0].Count)
	assert.Equal(t, "message 0", top.Errors[0].Sample)

	f.clock.Advance(2 * time.Hour)
	assert.Empty(t, f.s.Top(time.Hour, 10), "nothing seen in the last hour")
}

func TestAttachmentsAndHealth(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, ingest.ServerOptions{AttachmentsDir: dir, MaxAttachmentBytes: 1024})
	resp, got := f.post(t, ingest.AttachmentsPath, strings.NewReader("diagnostic blob"), nil)
	require.Equal(t, 201, resp.StatusCode, got)
	var out struct {
		ID    string `json:"id"`
		Bytes int    `json:"bytes"`
	}
	require.NoError(t, json.Unmarshal([]byte(got), &out))
	stored, err := os.ReadFile(filepath.Join(dir, out.ID))
	require.NoError(t, err)
	assert.Equal(t, "diagnostic blob", string(stored))

	resp, _ = f.post(t, ingest.AttachmentsPath, strings.NewReader(strings.Repeat("x", 2000)), nil)
	assert.Equal(t, 413, resp.StatusCode)
	files, _ := os.ReadDir(dir)
	assert.Len(t, files, 1, "a rejected upload leaves nothing behind")

	h, err := f.srv.Client().Get(f.srv.URL + ingest.HealthPath)
	require.NoError(t, err)
	h.Body.Close()
	assert.Equal(t, 200, h.StatusCode)
}

func TestNewServerValidates(t *testing.T) {
	_, err := ingest.NewServer(ingest.ServerOptions{})
	assert.ErrorContains(t, err, "Exporter")
	_, err = ingest.NewServer(ingest.ServerOptions{Exporter: &ingest.MemoryExporter{}})
	assert.ErrorContains(t, err, "Verifier")
	_, err = ingest.NewServer(ingest.ServerOptions{Exporter: &ingest.MemoryExporter{}, AllowAnonymous: true})
	assert.NoError(t, err)
}

// TestServerConcurrentSafe posts from many goroutines at once.
func TestServerConcurrentSafe(t *testing.T) {
	f := newFixture(t, ingest.ServerOptions{RateBurst: 1000})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 10 {
				resp, _ := f.post(t, ingest.LogsPath, bytes.NewReader(body(entry(w*100+i, "error", fmt.Sprint("s", w)))), nil)
				assert.Equal(t, 200, resp.StatusCode)
			}
		})
	}
	wg.Wait()
	assert.Len(t, f.exp.Entries(), 80)
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
		resp, _ := f.post(t, ingest.LogsPath, bytes.NewReader(body(entry(i, "info", session))), nil)
		require.Equal(t, 200, resp.StatusCode)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "logs-*.jsonl"))
	assert.Greater(t, len(files), 2, "rotated by size")

	var got []string
	require.NoError(t, store.Query(t.Context(), ingest.Filter{SessionID: "s-odd"}, func(e ingest.StoredEntry) bool {
		got = append(got, e.Message)
		return true
	}))
	require.Len(t, got, 15)
	assert.Equal(t, "message 1", got[0], "oldest first")
	assert.Equal(t, "message 29", got[14])
	require.NoError(t, store.Close(context.Background()))

	reopened, err := ingest.NewJSONLStore(dir, &ingest.JSONLOptions{MaxFileBytes: 2048})
	require.NoError(t, err)
	defer reopened.Close(context.Background())
	n := 0
	require.NoError(t, reopened.Query(t.Context(), ingest.Filter{}, func(ingest.StoredEntry) bool { n++; return n < 10 }))
	assert.Equal(t, 10, n, "returning false stops the query")
}

func BenchmarkPostLogs(b *testing.B) {
	store, err := ingest.NewJSONLStore(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close(context.Background())
	s, err := ingest.NewServer(ingest.ServerOptions{Exporter: store, AllowAnonymous: true, RatePerSecond: 1e9, RateBurst: 1e9})
	if err != nil {
		b.Fatal(err)
	}
	entries := make([]map[string]any, 100)
	for i := range entries {
		entries[i] = entry(i, "info", "s1")
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
}
