package rum

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The benchmarks measure the fast path — a request that is neither slow
// nor failed, with debug off — beside the same handler or transport
// unwrapped, in the same run. The difference is what the Monitor adds.

func benchMonitor(tb testing.TB) *Monitor {
	tb.Helper()
	m, err := New(sink.NewManager([]sink.Sink{sinktest.Discard{}}).Logger("rum"), Options{})
	require.NoError(tb, err)
	tb.Cleanup(func() { m.Close(context.Background()) })
	return m
}

// discardWriter is a ResponseWriter that costs nothing, so the benchmark
// shows the middleware rather than the recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

var benchBody = []byte(`{"id":42,"name":"Ada"}`)

func benchMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.Write(benchBody)
	})
	return mux
}

func BenchmarkMiddleware(b *testing.B) {
	mux := benchMux()
	handlers := []struct {
		name string
		h    http.Handler
	}{
		{"handler=unwrapped", mux},
		{"handler=rum", benchMonitor(b).Middleware(mux)},
	}
	for _, hh := range handlers {
		b.Run(hh.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/users/42", nil)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				hh.h.ServeHTTP(w, req)
			}
		})
		b.Run(hh.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest("GET", "/users/42", nil)
				w := &discardWriter{h: http.Header{}}
				for pb.Next() {
					hh.h.ServeHTTP(w, req)
				}
			})
		})
	}
}

// cannedRoundTripper answers every request with the same response.
type cannedRoundTripper struct{ resp *http.Response }

func (c cannedRoundTripper) RoundTrip(*http.Request) (*http.Response, error) { return c.resp, nil }

func BenchmarkTransport(b *testing.B) {
	canned := cannedRoundTripper{&http.Response{StatusCode: http.StatusOK, Body: http.NoBody}}
	m := benchMonitor(b)
	transports := []struct {
		name string
		rt   http.RoundTripper
	}{
		{"transport=unwrapped", canned},
		{"transport=rum", m.Transport(canned)},
	}
	for _, tt := range transports {
		b.Run(tt.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "http://api.test/v1/items?page=2", nil)
			b.ReportAllocs()
			for b.Loop() {
				tt.rt.RoundTrip(req)
			}
		})
	}

	// The same over loopback: what a caller gets.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(benchBody) }))
	defer srv.Close()
	for _, tt := range []struct {
		name string
		wrap func(http.RoundTripper) http.RoundTripper
	}{
		{"transport=unwrapped/loopback", func(rt http.RoundTripper) http.RoundTripper { return rt }},
		{"transport=rum/loopback", m.Transport},
	} {
		b.Run(tt.name, func(b *testing.B) {
			base := &http.Transport{}
			defer base.CloseIdleConnections()
			client := &http.Client{Transport: tt.wrap(base)}
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Get(srv.URL + "/v1/items?page=2")
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

func BenchmarkTime(b *testing.B) {
	ctx := NewContext(context.Background(), benchMonitor(b))
	b.ReportAllocs()
	for b.Loop() {
		Time(ctx, "checkout")()
	}
}

// The allocation budgets of the fast path, as tests.

func TestMiddlewareAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	mux := benchMux()
	wrapped := benchMonitor(t).Middleware(mux)
	req := httptest.NewRequest("GET", "/users/42", nil)
	w := &discardWriter{h: http.Header{}}
	base := testing.AllocsPerRun(1000, func() { mux.ServeHTTP(w, req) })
	with := testing.AllocsPerRun(1000, func() { wrapped.ServeHTTP(w, req) })
	assert.LessOrEqual(t, with-base, 2.0, "allocations added per request: %v → %v", base, with)
}

func TestTransportAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	canned := cannedRoundTripper{&http.Response{StatusCode: http.StatusOK, Body: http.NoBody}}
	rt := benchMonitor(t).Transport(canned)
	req := httptest.NewRequest("GET", "http://api.test/v1/items?page=2", nil)
	allocs := testing.AllocsPerRun(1000, func() { rt.RoundTrip(req) })
	assert.Zero(t, allocs)
}
