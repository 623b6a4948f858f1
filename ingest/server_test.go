package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
		{"empty batch", "POST", strings.NewReader(`{"logs":[],"resource":{}}`), nil, 200, `{"accepted":0}`},
		{"gzip", "POST", gzipped(t, body(entry(3, "info", "s1"))), map[string]string{"Content-Encoding": "gzip"}, 200, `{"accepted":1}`},
		{"no token", "POST", bytes.NewReader(body(entry(4, "info", "s1"))), map[string]string{"Authorization": ""}, 401, "unauthorized"},
		{"wrong token", "POST", bytes.NewReader(body(entry(4, "info", "s1"))), map[string]string{"Authorization": "Bearer nope"}, 401, "unauthorized"},
		{"not bearer", "POST", bytes.NewReader(body(entry(4, "info", "s1"))), map[string]string{"Authorization": "secret"}, 401, "unauthorized"},
		{"basic", "POST", bytes.NewReader(body(entry(4, "info", "s1"))), map[string]string{"Authorization": "Basic secret"}, 401, "unauthorized"},
		{"bearer without token", "POST", bytes.NewReader(body(entry(4, "info", "s1"))), map[string]string{"Authorization": "Bearer "}, 401, "unauthorized"},
		{"lower-case scheme", "POST", bytes.NewReader(body(entry(5, "info", "s1"))), map[string]string{"Authorization": "bearer secret"}, 200, `{"accepted":1}`},
		{"upper-case scheme, two spaces", "POST", bytes.NewReader(body(entry(6, "info", "s1"))), map[string]string{"Authorization": "BEARER  secret"}, 200, `{"accepted":1}`},
		{"contract violation", "POST", strings.NewReader(`{"logs":[{"level":"loud"}]}`), nil, 422, `"path":"logs[0].level"`},
		{"malformed", "POST", strings.NewReader(`{"logs":[`), nil, 422, "malformed"},
		{"not UTF-8", "POST", strings.NewReader("{\"logs\":[],\"resource\":{\"a\":\"\xff\"}}"), nil, 400, "UTF-8"},
		{"text/plain", "POST", bytes.NewReader(body(entry(4, "info", "s1"))), map[string]string{"Content-Type": "text/plain"}, 422, "Content-Type"},
		{"no Content-Type", "POST", bytes.NewReader(body(entry(7, "info", "s1"))), map[string]string{"Content-Type": ""}, 200, `{"accepted":1}`},
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
	require.Len(t, stored, 6)
	assert.Equal(t, "2026-02-06T12:00:00.000Z", stored[0].Attributes[ingest.ReceivedAtKey])
	assert.NotContains(t, stored[0].Attributes, ingest.FingerprintKey, "info entries are not fingerprinted")
	assert.Equal(t, ingest.Fingerprint("HttpException: 500", ""), stored[1].Attributes[ingest.FingerprintKey])
	assert.Equal(t, "billing", stored[0].Resource["service.name"])
	assert.Equal(t, json.Number("1"), stored[0].Attributes["i"])
}

func TestUnprocessableListsEveryViolation(t *testing.T) {
	f := newFixture(t, ingest.ServerOptions{})
	resp, got := f.post(t, readFile(t, "testdata/reject/types.json"))
	require.Equal(t, 422, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var out struct {
		Detail []ingest.Violation `json:"detail"`
	}
	require.NoError(t, json.Unmarshal([]byte(got), &out))
	assert.Len(t, out.Detail, 8, "compat mode moves the malformed error and stack_trace instead")
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
	f := newFixture(t, ingest.ServerOptions{Verifier: ingest.VerifierFunc(func(*http.Request) (string, error) { panic("verifier bug") })})
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
		{"deep attributes", `{"logs":[{"attributes":` + strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat("}", 5000) + `}]}`, 400},
		{"null", `null`, 422},
		{"string", `"logs"`, 422},
		{"nul bytes", "\x00\x00\x00", 422},
		{"invalid utf-8", "{\"logs\":[{\"message\":\"\xff\xfe\"}]}", 400},
		{"huge number", `{"logs":[{"attributes":{"n":1e999999}}]}`, 422},
		{"long integer", `{"logs":[{"attributes":{"n":` + strings.Repeat("7", 5000) + `}}]}`, 400},
		{"many entries", `{"logs":[` + strings.Repeat(`1,`, 100000) + `1]}`, 422},
		{"many empty entries", `{"logs":[` + strings.Repeat(`{},`, 100000) + `{}],"resource":{}}`, 422},
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
