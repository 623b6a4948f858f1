package rum

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serve sends one request through h and returns the response.
func serve(h http.Handler, method, target string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, target, nil))
	return w
}

func TestMiddlewareLogsSlowRequestByPattern(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Options{SlowRequest: time.Second}, deps{})
		mux := http.NewServeMux()
		mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(1500 * time.Millisecond)
			io.WriteString(w, "user "+r.PathValue("id"))
		})
		resp := serve(h.Middleware(mux), "GET", "/users/42")
		require.Equal(t, "user 42", resp.Body.String(), "the response passes through")

		r := h.one(t, metricServerRequest)
		assert.Equal(t, logrecord.LevelWarning, r.Level)
		assert.Equal(t, "rum.http.server", r.Logger)
		assert.Equal(t, "slow request", r.Message)
		assert.Equal(t, map[string]any{
			"metric": metricServerRequest, "ms": 1500.0, "route": "GET /users/{id}", "method": "GET",
			"status": int64(200), "bytes": int64(7), "breadcrumb_category": "network",
		}, attrs(r))
		assert.Equal(t, logrecord.CategoryNetwork, r.Category())

		h.close(t)
		for _, r := range h.rec.Records() {
			for a := range r.Attrs {
				assert.NotContains(t, a.Value.String(), "/users/42", "a raw path in %s", r.Message)
			}
		}
	})
}

func TestMiddlewareSlowThreshold(t *testing.T) {
	tests := []struct {
		name string
		took time.Duration
		slow bool
	}{
		{"just under", time.Second - time.Microsecond, false},
		{"at the threshold", time.Second, true},
		{"over", 3 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, Options{SlowRequest: time.Second}, deps{})
				mux := http.NewServeMux()
				mux.HandleFunc("/work", func(http.ResponseWriter, *http.Request) { time.Sleep(tt.took) })
				serve(h.Middleware(mux), "GET", "/work")
				assert.Equal(t, tt.slow, len(h.records(metricServerRequest)) == 1)
				h.close(t)
				sum := attrs(h.one(t, metricServerSummary))
				assert.Equal(t, uint64(1), sum["count"])
				assert.Equal(t, map[bool]uint64{true: 1, false: 0}[tt.slow], sum["slow"])
			})
		})
	}
}

func TestMiddlewareSummary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Options{SummaryInterval: time.Minute}, deps{})
		mux := http.NewServeMux()
		mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
			d, _ := time.ParseDuration(r.URL.Query().Get("d"))
			time.Sleep(d)
			switch r.PathValue("id") {
			case "missing":
				http.NotFound(w, r)
			case "broken":
				w.WriteHeader(http.StatusBadGateway)
			default:
				io.WriteString(w, "ok")
			}
		})
		mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusCreated)
		})
		handler := h.Middleware(mux)
		for _, target := range []string{"/users/1?d=10ms", "/users/2?d=20ms", "/users/missing?d=30ms", "/users/broken?d=40ms"} {
			serve(handler, "GET", target)
		}
		serve(handler, "POST", "/orders")
		serve(handler, "GET", "/nowhere")
		require.Empty(t, h.rec.Records(), "fast requests are only counted")

		time.Sleep(time.Minute)
		synctest.Wait()
		sums := h.records(metricServerSummary)
		require.Len(t, sums, 3)
		byRoute := map[string]map[string]any{}
		for _, r := range sums {
			assert.Equal(t, logrecord.LevelInfo, r.Level)
			assert.Equal(t, "route summary", r.Message)
			a := attrs(r)
			byRoute[a["route"].(string)] = a
		}
		// p50 is the upper bound of the bucket holding 20ms (buckets are at
		// most 12.5% wide); p95 and p99 are capped by the exact maximum.
		assert.Equal(t, map[string]any{
			"metric": metricServerSummary, "route": "GET /users/{id}", "method": "GET",
			"count": uint64(4), "ms": 25.0,
			"p50_ms": 20.48, "p95_ms": 40.0, "p99_ms": 40.0, "max_ms": 40.0,
			"bytes": uint64(4 + len("404 page not found\n")), "status_4xx": uint64(1), "status_5xx": uint64(1),
			"slow": uint64(0), "suppressed": uint64(0), "window_ms": 60000.0,
			"breadcrumb_category": "network",
		}, byRoute["GET /users/{id}"])
		assert.Equal(t, uint64(1), byRoute["POST /orders"]["count"])
		assert.Equal(t, "POST", byRoute["POST /orders"]["method"])
		assert.Equal(t, uint64(1), byRoute[noRoute]["status_4xx"], "an unmatched request is counted under (none)")

		// The next window starts empty.
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Len(t, h.records(metricServerSummary), 3)
		h.close(t)
	})
}

func TestMiddlewareStatus(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int64
		panicked   bool
	}{
		{"nothing written", func(http.ResponseWriter, *http.Request) {}, 200, false},
		{"body only", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "x") }, 200, false},
		{"explicit", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }, 418, false},
		{"informational first", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusCreated)
		}, 201, false},
		{"second WriteHeader ignored", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			w.WriteHeader(http.StatusInternalServerError)
		}, 202, false},
		{"panic", func(http.ResponseWriter, *http.Request) { panic("boom") }, 500, true},
		{"panic after header", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			panic("boom")
		}, 202, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, Options{}, deps{})
				h.mgr.SetLevel(logrecord.LevelDebug)
				func() {
					defer func() { assert.Equal(t, tt.panicked, recover() != nil, "the panic goes on") }()
					serve(h.Middleware(tt.handler), "GET", "/")
				}()
				r := h.one(t, metricServerRequest)
				assert.Equal(t, logrecord.LevelDebug, r.Level, "every request at debug when enabled")
				a := attrs(r)
				assert.Equal(t, tt.wantStatus, a["status"])
				assert.Equal(t, noRoute, a["route"])
				if tt.panicked {
					assert.Equal(t, true, a["panicked"])
				} else {
					assert.NotContains(t, a, "panicked")
				}
				h.close(t)
			})
		})
	}
}

func TestMiddlewareWarningsPerWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Options{SlowRequest: time.Second, Warnings: 3}, deps{})
		mux := http.NewServeMux()
		mux.HandleFunc("/slow", func(http.ResponseWriter, *http.Request) { time.Sleep(2 * time.Second) })
		handler := h.Middleware(mux)
		for range 5 {
			serve(handler, "GET", "/slow")
		}
		assert.Len(t, h.records(metricServerRequest), 3)
		time.Sleep(DefaultSummaryInterval)
		synctest.Wait()
		sum := attrs(h.one(t, metricServerSummary))
		assert.Equal(t, uint64(5), sum["slow"])
		assert.Equal(t, uint64(2), sum["suppressed"])

		// A new window, a new budget.
		serve(handler, "GET", "/slow")
		assert.Len(t, h.records(metricServerRequest), 4)
		h.close(t)
	})
}

func TestMiddlewareBoundsSeries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Options{MaxSeries: 2}, deps{})
		mux := http.NewServeMux()
		for _, p := range []string{"/a", "/b", "/c", "/d"} {
			mux.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
		}
		handler := h.Middleware(mux)
		for _, target := range []string{"/a", "/b", "/c", "/d", "/a"} {
			serve(handler, "GET", target)
		}
		for _, m := range []string{"BREW", "PROPFIND", "X"} {
			serve(handler, m, "/a")
		}
		h.close(t)
		counts := map[string]uint64{}
		for _, r := range h.records(metricServerSummary) {
			a := attrs(r)
			counts[a["method"].(string)+" "+a["route"].(string)] = a["count"].(uint64)
		}
		assert.Equal(t, map[string]uint64{"GET /a": 2, "GET /b": 1, " " + otherName: 5}, counts)
	})
}

func TestTimeInRequestNamesRoute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Options{SlowOperation: time.Second}, deps{})
		mux := http.NewServeMux()
		mux.HandleFunc("POST /checkout/{cart}", func(w http.ResponseWriter, r *http.Request) {
			defer Time(r.Context(), "charge")()
			time.Sleep(1200 * time.Millisecond)
		})
		serve(h.Middleware(mux), "POST", "/checkout/77")
		r := h.one(t, metricOp)
		assert.Equal(t, logrecord.LevelWarning, r.Level)
		assert.Equal(t, map[string]any{
			"metric": metricOp, "ms": 1200.0, "op": "charge", "route": "POST /checkout/{cart}",
		}, attrs(r))
		h.close(t)
	})
}

// TestMiddlewareWriterFeatures runs a real server, so the writer the
// handler gets wraps net/http's own.
func TestMiddlewareWriterFeatures(t *testing.T) {
	h := newHarness(t, Options{}, deps{})
	defer h.close(t)
	h.mgr.SetLevel(logrecord.LevelDebug)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		_, isFlusher := w.(http.Flusher)
		assert.True(t, isFlusher)
		io.WriteString(w, "a")
		require.NoError(t, http.NewResponseController(w).Flush())
		io.Copy(w, strings.NewReader("bcd")) // through ReadFrom
	})
	mux.HandleFunc("GET /raw", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		require.NoError(t, err)
		defer conn.Close()
		buf.WriteString("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
		buf.Flush()
	})
	srv := httptest.NewServer(h.Middleware(mux))
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL + "/stream")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "abcd", string(body))

	resp, err = srv.Client().Get(srv.URL + "/raw")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)

	// The server logs after the handler returns, which may be after the
	// client has its answer.
	require.Eventually(t, func() bool { return len(h.records(metricServerRequest)) == 2 }, 5*time.Second, time.Millisecond)
	byRoute := map[string]map[string]any{}
	for _, r := range h.records(metricServerRequest) {
		a := attrs(r)
		byRoute[a["route"].(string)] = a
	}
	assert.Equal(t, int64(4), byRoute["GET /stream"]["bytes"])
	assert.Equal(t, int64(200), byRoute["GET /stream"]["status"])
	assert.Equal(t, int64(101), byRoute["GET /raw"]["status"], "a hijacked connection")
}

func TestResponseWriterWithoutOptionalInterfaces(t *testing.T) {
	var inner struct{ http.ResponseWriter } // hides the recorder's Flush
	inner.ResponseWriter = httptest.NewRecorder()
	w := &responseWriter{ResponseWriter: inner}
	w.Flush() // does nothing, does not panic
	_, _, err := w.Hijack()
	assert.ErrorIs(t, err, http.ErrNotSupported)
	n, err := w.ReadFrom(strings.NewReader("hello"))
	require.NoError(t, err)
	assert.Equal(t, int64(5), n)
	assert.Equal(t, int64(5), w.bytes)
	assert.Equal(t, 200, w.status)
}

func TestMiddlewareAfterClosePassesThrough(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Options{SlowRequest: time.Nanosecond}, deps{})
		h.close(t)
		n := h.rec.Len()
		called := false
		resp := serve(h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			called = true
			assert.Nil(t, FromContext(r.Context()))
			w.WriteHeader(http.StatusAccepted)
		})), "GET", "/")
		assert.True(t, called)
		assert.Equal(t, http.StatusAccepted, resp.Code)
		assert.Equal(t, n, h.rec.Len())
	})
}
