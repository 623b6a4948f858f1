package backendsink

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run the sink against a real HTTP server on 127.0.0.1, with
// real time and millisecond backoff.

func startIngest(t *testing.T, respond func(entries []map[string]any, h http.Header) (int, http.Header)) (*sinktest.Ingest, *httptest.Server) {
	t.Helper()
	ingest := sinktest.NewIngest()
	ingest.Respond = respond
	srv := httptest.NewServer(ingest)
	t.Cleanup(srv.Close)
	return ingest, srv
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

// flushUntil flushes until the store is empty or the bound runs out.
func flushUntil(t *testing.T, s *Sink, st store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_ = s.Flush(t.Context())
		if st.Pending() == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond) // let a millisecond backoff pass
	}
	require.Zero(t, st.Pending(), "queue did not drain")
}

func containsMessage(entries []map[string]any, prefix string) bool {
	return slices.ContainsFunc(entries, func(e map[string]any) bool {
		m, _ := e["message"].(string)
		return strings.HasPrefix(m, prefix)
	})
}

func writeN(t *testing.T, s *Sink, n int, name func(int) string) {
	t.Helper()
	for i := range n {
		require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, name(i))))
	}
}

func TestReaction2xxConfirms(t *testing.T) {
	ingest, srv := startIngest(t, func([]map[string]any, http.Header) (int, http.Header) { return http.StatusAccepted, nil })
	st := newMemStore()
	s, _ := newTestSink(t, fastOptions(srv), st)
	writeN(t, s, 150, func(i int) string { return fmt.Sprint("m", i) })
	require.NoError(t, s.Flush(t.Context()))
	assert.Zero(t, st.Pending())
	assert.Len(t, ingest.Messages(), 150)
	stats := s.Stats()
	assert.EqualValues(t, 150, stats.Confirmed)
	assert.EqualValues(t, 2, stats.Requests)
	assert.False(t, stats.LastSuccess.IsZero())
	require.NoError(t, s.Close(t.Context()))
}

func TestReactionAuthPausesUntilTokenChanges(t *testing.T) {
	ingest, srv := startIngest(t, func(_ []map[string]any, h http.Header) (int, http.Header) {
		if h.Get("Authorization") != "Bearer good" {
			return http.StatusUnauthorized, nil
		}
		return 0, nil
	})
	var token atomic.Pointer[string]
	bad := "bad-secret"
	token.Store(&bad)
	opts := fastOptions(srv)
	opts.TokenProvider = func(context.Context) (string, error) { return *token.Load(), nil }
	st := newMemStore()
	s, reported := newTestSink(t, opts, st)
	writeN(t, s, 3, func(i int) string { return fmt.Sprint("m", i) })

	assert.ErrorIs(t, s.Flush(t.Context()), ErrPaused)
	assert.Equal(t, PausedAuth, s.Stats().Paused)
	requests := ingest.Requests()
	assert.ErrorIs(t, s.Flush(t.Context()), ErrPaused)
	assert.Equal(t, requests, ingest.Requests(), "paused: no request with the same token")
	assert.Equal(t, 3, st.Pending())

	good := "good"
	token.Store(&good)
	require.NoError(t, s.Flush(t.Context()))
	assert.Empty(t, s.Stats().Paused)
	assert.Len(t, ingest.Messages(), 3)
	require.NoError(t, s.Close(t.Context()))
	assert.NotContains(t, reported.Text(), "bad-secret", "the token never appears in error text")
	assert.NotContains(t, s.Stats().LastError, "bad-secret")
}

func TestReactionForbiddenAlsoPauses(t *testing.T) {
	_, srv := startIngest(t, func([]map[string]any, http.Header) (int, http.Header) { return http.StatusForbidden, nil })
	opts := fastOptions(srv)
	opts.TokenProvider = func(context.Context) (string, error) { return "t", nil }
	s, _ := newTestSink(t, opts, newMemStore())
	writeN(t, s, 1, func(int) string { return "x" })
	assert.ErrorIs(t, s.Flush(t.Context()), ErrPaused)
	require.NoError(t, s.Close(t.Context()))
}

func TestReactionNotFoundPausesUntilEndpointChanges(t *testing.T) {
	ingest, srv := startIngest(t, nil)
	opts := fastOptions(srv)
	opts.Endpoint = srv.URL + "/wrong/path"
	mux := http.NewServeMux()
	mux.Handle("/api/v1/logs", ingest)
	srv.Config.Handler = mux
	st := newMemStore()
	s, _ := newTestSink(t, opts, st)
	writeN(t, s, 2, func(i int) string { return fmt.Sprint("m", i) })
	assert.ErrorIs(t, s.Flush(t.Context()), ErrPaused)
	assert.Equal(t, PausedEndpoint, s.Stats().Paused)
	assert.Error(t, s.SetEndpoint("ftp://nope"))
	require.NoError(t, s.SetEndpoint(srv.URL+"/api/v1/logs"))
	require.NoError(t, s.Flush(t.Context()))
	assert.Len(t, ingest.Messages(), 2)
	require.NoError(t, s.Close(t.Context()))
}

func TestReaction413SplitsAndDropsSingleTooLarge(t *testing.T) {
	ingest, srv := startIngest(t, func(entries []map[string]any, _ http.Header) (int, http.Header) {
		if len(entries) > 10 || containsMessage(entries, "huge") {
			return http.StatusRequestEntityTooLarge, nil
		}
		return 0, nil
	})
	st := newMemStore()
	s, reported := newTestSink(t, fastOptions(srv), st)
	writeN(t, s, 60, func(i int) string {
		if i == 33 {
			return "huge record"
		}
		return fmt.Sprint("m", i)
	})
	require.NoError(t, s.Flush(t.Context()))
	assert.Zero(t, st.Pending())
	msgs := ingest.Messages()
	assert.Len(t, msgs, 59+1, "all but the huge one, plus the loss report")
	assert.NotContains(t, msgs, "huge record")
	assert.EqualValues(t, 1, s.Stats().Dropped[DropTooLarge])
	assert.Contains(t, reported.Text(), "too_large")
	require.NoError(t, s.Close(t.Context()))
}

func TestReaction4xxBisectsToRejectedRecords(t *testing.T) {
	for _, code := range []int{http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusConflict} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			ingest, srv := startIngest(t, func(entries []map[string]any, _ http.Header) (int, http.Header) {
				if containsMessage(entries, "bad") {
					return code, nil
				}
				return 0, nil
			})
			st := newMemStore()
			s, reported := newTestSink(t, fastOptions(srv), st)
			writeN(t, s, 100, func(i int) string {
				if i == 7 || i == 71 {
					return fmt.Sprint("bad ", i)
				}
				return fmt.Sprint("m", i)
			})
			require.NoError(t, s.Flush(t.Context()))
			assert.Zero(t, st.Pending())
			msgs := ingest.Messages()
			assert.Len(t, msgs, 98+1)
			assert.EqualValues(t, 2, s.Stats().Dropped[DropRejected])
			assert.Equal(t, 2, strings.Count(reported.Text(), "(rejected)"), "each rejected record is reported")
			assert.LessOrEqual(t, ingest.Requests(), 40, "bisection, not one request per record")
			require.NoError(t, s.Close(t.Context()))
		})
	}
}

func TestReaction429HonoursRetryAfter(t *testing.T) {
	tests := []struct {
		name  string
		value func() string
		want  time.Duration
	}{
		{"seconds", func() string { return "7" }, 7 * time.Second},
		{"http date", func() string { return time.Now().Add(20 * time.Second).UTC().Format(http.TimeFormat) }, 20 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var limited atomic.Bool
			limited.Store(true)
			_, srv := startIngest(t, func([]map[string]any, http.Header) (int, http.Header) {
				if limited.Load() {
					return http.StatusTooManyRequests, http.Header{"Retry-After": {tt.value()}}
				}
				return 0, nil
			})
			st := newMemStore()
			s, _ := newTestSink(t, fastOptions(srv), st)
			writeN(t, s, 1, func(int) string { return "x" })
			var se *StatusError
			require.ErrorAs(t, s.Flush(t.Context()), &se)
			assert.Equal(t, 429, se.Code)
			assert.InDelta(t, tt.want.Seconds(), se.RetryAfter.Seconds(), 1.5)
			wait := time.Until(s.Stats().BackoffTill)
			assert.InDelta(t, tt.want.Seconds(), wait.Seconds(), 1.5, "the next attempt waits for Retry-After, not the millisecond backoff")
			limited.Store(false)
			var again *StatusError
			require.ErrorAs(t, s.Flush(t.Context()), &again, "still backing off")
			assert.Equal(t, 1, st.Pending())
			require.NoError(t, s.Close(t.Context()), "Close's drain ignores the backoff")
			assert.Zero(t, st.Pending())
		})
	}
}

func TestReaction5xxIsolatesPoisonPill(t *testing.T) {
	ingest, srv := startIngest(t, func(entries []map[string]any, _ http.Header) (int, http.Header) {
		if containsMessage(entries, "poison") {
			return http.StatusInternalServerError, nil
		}
		return 0, nil
	})
	st := newMemStore()
	s, reported := newTestSink(t, fastOptions(srv), st)
	writeN(t, s, 100, func(i int) string {
		if i == 42 {
			return "poison pill"
		}
		return fmt.Sprint("m", i)
	})
	flushUntil(t, s, st)
	msgs := ingest.Messages()
	assert.NotContains(t, msgs, "poison pill")
	assert.Len(t, slices.DeleteFunc(msgs, func(m string) bool { return strings.HasPrefix(m, "dropped") }), 99)
	assert.EqualValues(t, 1, s.Stats().Dropped[DropPoison])
	assert.Contains(t, reported.Text(), "(poison)")
	require.NoError(t, s.Close(t.Context()))
}

func TestReaction5xxEverywhereNeverDrops(t *testing.T) {
	_, srv := startIngest(t, func([]map[string]any, http.Header) (int, http.Header) {
		return http.StatusInternalServerError, nil
	})
	st := newMemStore()
	s, _ := newTestSink(t, fastOptions(srv), st)
	writeN(t, s, 20, func(i int) string { return fmt.Sprint("m", i) })
	for range 60 {
		_ = s.Flush(t.Context())
		time.Sleep(time.Millisecond)
	}
	assert.Equal(t, 20, st.Pending(), "a server failing in general never costs a record")
	assert.Empty(t, s.Stats().Dropped)
	assert.Greater(t, s.Stats().Retries, int64(10))
	require.NoError(t, s.Close(t.Context()))
}

func TestReactionUnreachableNeverDrops(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) string // returns the endpoint
	}{
		{"502 503 504", func(t *testing.T) string {
			var n atomic.Int32
			_, srv := startIngest(t, func([]map[string]any, http.Header) (int, http.Header) {
				return []int{502, 503, 504}[n.Add(1)%3], nil
			})
			return srv.URL
		}},
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
			s, _ := newTestSink(t, opts, st)
			writeN(t, s, 5, func(i int) string { return fmt.Sprint("m", i) })
			for range 8 {
				assert.Error(t, s.Flush(t.Context()))
				time.Sleep(3 * time.Millisecond)
			}
			assert.Equal(t, 5, st.Pending())
			assert.Empty(t, s.Stats().Dropped)
			assert.NotEmpty(t, s.Stats().LastError)
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			_ = s.Close(ctx)
			assert.Equal(t, 5, s.Stats().PendingAtClose)
		})
	}
}

func TestGzipBodies(t *testing.T) {
	var mu sync.Mutex
	var encodings []string
	ingest, srv := startIngest(t, func(_ []map[string]any, h http.Header) (int, http.Header) {
		mu.Lock()
		encodings = append(encodings, h.Get("Content-Encoding"))
		mu.Unlock()
		return 0, nil
	})
	opts := fastOptions(srv)
	opts.Gzip = true
	s, _ := newTestSink(t, opts, newMemStore())
	writeN(t, s, 3, func(i int) string { return fmt.Sprint("m", i) })
	require.NoError(t, s.Flush(t.Context()))
	assert.Equal(t, []string{"gzip"}, encodings)
	assert.Len(t, ingest.Messages(), 3)
	require.NoError(t, s.Close(t.Context()))
}
