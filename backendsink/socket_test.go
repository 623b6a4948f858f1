package backendsink

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run the sink against real HTTP servers on 127.0.0.1, with
// real time and millisecond backoff: for what a socket does that the
// in-memory transport cannot (refused, reset and stalled connections,
// redirects through the HTTP client, real gzip negotiation).

func startIngest(t *testing.T, respond func(entries []map[string]any, h http.Header) (int, http.Header)) (*sinktest.Ingest, *httptest.Server) {
	t.Helper()
	in := sinktest.NewIngest()
	in.Respond = respond
	srv := httptest.NewServer(in)
	t.Cleanup(srv.Close)
	return in, srv
}

func fastOptions(srv *httptest.Server) Options {
	return Options{
		Endpoint:       srv.URL + "/api/v1/logs",
		Client:         srv.Client(),
		BackoffInitial: time.Millisecond,
		BackoffMax:     5 * time.Millisecond,
		FlushInterval:  time.Hour,
	}
}

// flushSockets flushes until the store is empty or the bound runs out.
func flushSockets(t *testing.T, s *Sink, st store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for st.Pending() > 0 && time.Now().Before(deadline) {
		_ = s.Flush(t.Context())
		time.Sleep(time.Millisecond) // let a millisecond backoff pass
	}
	require.Zero(t, st.Pending(), "queue did not drain")
}

// TestRedirectsAreNeverFollowed: an endpoint that answers a redirect
// pauses export like a 404, reporting where it points; nothing is
// confirmed, nothing reaches the target, least of all the token.
func TestRedirectsAreNeverFollowed(t *testing.T) {
	for _, code := range []int{301, 302, 303, 307, 308} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			var targetHits atomic.Int32
			target, _ := startIngest(t, nil)
			targetSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				targetHits.Add(1)
				target.ServeHTTP(w, r)
			}))
			t.Cleanup(targetSrv.Close)
			moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, targetSrv.URL+"/api/v1/logs", code)
			}))
			t.Cleanup(moved.Close)

			opts := fastOptions(moved)
			opts.FlushInterval = 5 * time.Millisecond
			opts.TokenProvider = func(context.Context) (string, error) { return "s3cret-token", nil }
			st := newMemStore()
			s, reported := newTestSink(t, opts, st)
			writeN(t, s, 3, func(i int) string { return fmt.Sprint("m", i) })

			require.Eventually(t, func() bool { return len(reported.All()) > 0 }, 10*time.Second, time.Millisecond,
				"the timer upload reports the pause")
			assert.ErrorIs(t, s.Flush(t.Context()), ErrPaused)
			assert.Equal(t, PausedEndpoint, s.Stats().Paused)
			assert.Equal(t, 3, st.Pending(), "nothing confirmed")
			assert.Zero(t, s.Stats().Confirmed)
			assert.Zero(t, targetHits.Load(), "the redirect is not followed")
			require.Len(t, reported.All(), 1, "reported once")
			assert.ErrorIs(t, reported.All()[0], ErrPaused)
			assert.Contains(t, reported.Text(), "moved to "+targetSrv.URL+"/api/v1/logs", "the operator learns where it points")

			require.NoError(t, s.SetEndpoint(targetSrv.URL+"/api/v1/logs"))
			flushSockets(t, s, st)
			assert.Len(t, target.Messages(), 3)
			for _, h := range target.Headers() {
				assert.Equal(t, "Bearer s3cret-token", h.Get("Authorization"), "the token goes to the configured endpoint")
			}
			require.NoError(t, s.Close(t.Context()))
		})
	}
}

// TestRedirectNeverCarriesTheToken: even a client configured to follow
// redirects sends nothing to another origin.
func TestRedirectNeverCarriesTheToken(t *testing.T) {
	var leaked atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Add(1)
	}))
	t.Cleanup(elsewhere.Close)
	moved := httptest.NewServer(http.RedirectHandler(elsewhere.URL+"/api/v1/logs", http.StatusTemporaryRedirect))
	t.Cleanup(moved.Close)
	opts := fastOptions(moved)
	opts.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
	opts.TokenProvider = func(context.Context) (string, error) { return "s3cret-token", nil }
	s, _ := newTestSink(t, opts, newMemStore())
	writeN(t, s, 1, func(int) string { return "x" })
	assert.ErrorIs(t, s.Flush(t.Context()), ErrPaused)
	assert.Zero(t, leaked.Load())
	require.NoError(t, s.Close(t.Context()))
}

// TestUnexpectedAnswersAreRetried: a 2xx that does not acknowledge the
// records sent (a captive portal's HTML, an empty body, a wrong count)
// confirms nothing and drops nothing; the sink backs off, retries and
// reports it once.
func TestUnexpectedAnswersAreRetried(t *testing.T) {
	tests := []struct {
		name string
		body func(sent int) string
	}{
		{"200 with HTML", func(int) string { return "<html><body>Sign in to the guest Wi-Fi</body></html>" }},
		{"200 empty", func(int) string { return "" }},
		{"200 wrong count", func(sent int) string { return fmt.Sprintf(`{"accepted":%d}`, sent-1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := sinktest.NewIngest()
			var portal atomic.Int32
			portal.Store(5)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if portal.Add(-1) >= 0 {
					body, _ := io.ReadAll(r.Body)
					w.Header().Set("Content-Type", "text/html")
					_, _ = io.WriteString(w, tt.body(strings.Count(string(body), `"install_id":`)))
					return
				}
				in.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			opts := fastOptions(srv)
			opts.FlushInterval = 5 * time.Millisecond
			st := newMemStore()
			s, reported := newTestSink(t, opts, st)
			writeN(t, s, 4, func(i int) string { return fmt.Sprint("m", i) })
			require.NoError(t, s.Sync(t.Context()))
			require.Eventually(t, func() bool { return st.Pending() == 0 }, 10*time.Second, time.Millisecond)
			assert.ElementsMatch(t, []string{"m0", "m1", "m2", "m3"}, in.Messages())
			assert.Empty(t, s.Stats().Dropped, "never dropped")
			assert.GreaterOrEqual(t, s.Stats().Retries, int64(5))
			require.Len(t, reported.All(), 1, "reported once")
			assert.ErrorIs(t, reported.All()[0], ErrBackoff)
			assert.Contains(t, reported.Text(), "without acknowledging the records sent")
			require.NoError(t, s.Close(t.Context()))
		})
	}
}

// TestConfirmAny2xx is the option for servers that do not acknowledge.
func TestConfirmAny2xx(t *testing.T) {
	in := sinktest.NewIngest()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.ServeHTTP(httptest.NewRecorder(), r)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	opts := fastOptions(srv)
	opts.ConfirmAny2xx = true
	st := newMemStore()
	s, _ := newTestSink(t, opts, st)
	writeN(t, s, 2, func(i int) string { return fmt.Sprint("m", i) })
	require.NoError(t, s.Flush(t.Context()))
	assert.Zero(t, st.Pending())
	require.NoError(t, s.Close(t.Context()))
}

// TestGzipRefusedIsSentPlain: a backend that does not decode gzip (400,
// as production answers, or 415) gets the batch again uncompressed, and
// only uncompressed bodies after that; nothing is dropped.
func TestGzipRefusedIsSentPlain(t *testing.T) {
	for _, code := range []int{http.StatusBadRequest, http.StatusUnsupportedMediaType} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			in := sinktest.NewIngest()
			in.RefuseGzip = code
			srv := httptest.NewServer(in)
			t.Cleanup(srv.Close)
			opts := fastOptions(srv)
			opts.Gzip = true
			st := newMemStore()
			s, reported := newTestSink(t, opts, st)
			writeN(t, s, 3, func(i int) string { return fmt.Sprint("m", i) })
			require.NoError(t, s.Flush(t.Context()))
			writeN(t, s, 2, func(i int) string { return fmt.Sprint("n", i) })
			require.NoError(t, s.Flush(t.Context()))
			assert.Zero(t, st.Pending())
			assert.Equal(t, []string{"m0", "m1", "m2", "n0", "n1"}, in.Messages())
			var encodings []string
			for _, h := range in.Headers() {
				encodings = append(encodings, h.Get("Content-Encoding"))
			}
			assert.Equal(t, []string{"gzip", "", ""}, encodings, "one refusal, then plain bodies")
			assert.Empty(t, s.Stats().Dropped)
			require.Len(t, reported.All(), 1)
			assert.Contains(t, reported.Text(), "sending uncompressed bodies to "+opts.Endpoint)
			require.NoError(t, s.SetEndpoint(srv.URL+"/api/v1/logs?again"))
			writeN(t, s, 1, func(int) string { return "o" })
			require.NoError(t, s.Flush(t.Context()))
			assert.Equal(t, "gzip", in.Headers()[len(in.Headers())-2].Get("Content-Encoding"), "another endpoint is tried compressed again")
			require.NoError(t, s.Close(t.Context()))
		})
	}
}

func TestReactionUnreachableNeverDrops(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) string // returns the endpoint
	}{
		{"connection refused", func(t *testing.T) string {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			addr := ln.Addr().String()
			require.NoError(t, ln.Close())
			return "http://" + addr
		}},
		{"connection reset", func(t *testing.T) string {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					_ = conn.(*net.TCPConn).SetLinger(0)
					_ = conn.Close()
				}
			}))
			t.Cleanup(srv.Close)
			return srv.URL
		}},
		{"stalled server times out", func(t *testing.T) string {
			stop := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-stop:
				}
			}))
			t.Cleanup(func() { close(stop); srv.Close() })
			return srv.URL
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newMemStore()
			opts := Options{
				Endpoint:       tt.setup(t) + "/api/v1/logs",
				Client:         &http.Client{Timeout: 50 * time.Millisecond},
				BackoffInitial: time.Millisecond,
				BackoffMax:     2 * time.Millisecond,
				FlushInterval:  time.Hour,
			}
			s, reported := newTestSink(t, opts, st)
			writeN(t, s, 5, func(i int) string { return fmt.Sprint("m", i) })
			for range 8 {
				assert.ErrorIs(t, s.Flush(t.Context()), ErrBackoff)
				time.Sleep(3 * time.Millisecond)
			}
			assert.Equal(t, 5, st.Pending())
			assert.Empty(t, s.Stats().Dropped)
			assert.NotEmpty(t, s.Stats().LastError)
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			_ = s.Close(ctx)
			assert.Equal(t, 5, s.Stats().PendingAtClose)
			assert.Empty(t, reported.All(), "an outage is not news: Stats and Flush tell it")
		})
	}
}

// TestFlushCarriesItsContextToTheUpload: a Flush whose deadline passes
// ends its request then, not at the client's timeout, and costs no
// backoff.
func TestFlushCarriesItsContextToTheUpload(t *testing.T) {
	var mu sync.Mutex
	var gone []time.Time
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then the server notices the client going away
		select {
		case <-r.Context().Done():
			mu.Lock()
			gone = append(gone, time.Now())
			mu.Unlock()
		case <-stop:
		}
	}))
	t.Cleanup(func() { close(stop); srv.Close() })
	opts := fastOptions(srv)
	opts.Client = &http.Client{Timeout: time.Minute}
	st := newMemStore()
	s, _ := newTestSink(t, opts, st)
	writeN(t, s, 1, func(int) string { return "x" })
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	assert.ErrorIs(t, s.Flush(ctx), context.DeadlineExceeded)
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(gone) == 1 }, 10*time.Second, time.Millisecond,
		"the server sees the request end")
	mu.Lock()
	assert.Less(t, gone[0].Sub(start), 20*time.Second, "ended with the Flush, long before the client's timeout")
	mu.Unlock()
	assert.Zero(t, s.Stats().Retries, "a canceled flush is no verdict on the server")
	assert.True(t, s.Stats().BackoffTill.IsZero())
	assert.Equal(t, 1, st.Pending())
	closeCtx, cancelClose := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancelClose()
	_ = s.Close(closeCtx)
}
