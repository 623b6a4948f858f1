package backendsink

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// concurrencyServer serves the ingest contract on 127.0.0.1, holding each
// request a little so that requests overlap, and records the most it saw
// at once. gate, when set, decides each answer's status (0: accept).
type concurrencyServer struct {
	ingest   *sinktest.Ingest
	now, max atomic.Int64
	gate     func(r *http.Request) int
}

func (c *concurrencyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := c.now.Add(1)
	defer c.now.Add(-1)
	for {
		m := c.max.Load()
		if n <= m || c.max.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(2 * time.Millisecond)
	if c.gate != nil {
		if code := c.gate(r); code != 0 {
			w.WriteHeader(code)
			return
		}
	}
	c.ingest.ServeHTTP(w, r)
}

func inFlightSink(t *testing.T, srv *httptest.Server, opts Options) (*Sink, diskStore) {
	q, err := diskqueue.Open(filepath.Join(t.TempDir(), "q"), &diskqueue.Options{OnError: func(error) {}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close(context.Background()) })
	st := diskStore{q}
	opts.MaxBatch = 100
	s, _ := newTestSink(t, opts, st)
	return s, st
}

func writeBacklog(t *testing.T, s *Sink, n int) {
	for i := range n {
		require.NoError(t, s.Write(t.Context(), logrecord.New(time.Now(), logrecord.LevelInfo, "App", fmt.Sprintf("rec-%05d", i))))
	}
	require.NoError(t, s.Sync(t.Context()))
}

// TestSeveralRequestsInFlight: a backlog is sent several batches at a
// time, never more than MaxInFlight, and every record arrives.
func TestSeveralRequestsInFlight(t *testing.T) {
	cs := &concurrencyServer{ingest: sinktest.NewIngest()}
	srv := httptest.NewServer(cs)
	defer srv.Close()
	opts := fastOptions(srv)
	opts.MaxInFlight = 3
	s, st := inFlightSink(t, srv, opts)
	writeBacklog(t, s, 3000)
	flushSockets(t, s, st)
	require.NoError(t, s.Close(t.Context()))
	assert.Zero(t, st.Pending())
	seen := map[string]bool{}
	for _, m := range cs.ingest.Messages() {
		seen[m] = true
	}
	for i := range 3000 {
		require.True(t, seen[fmt.Sprintf("rec-%05d", i)], "record %d", i)
	}
	assert.Greater(t, cs.max.Load(), int64(1), "requests overlapped")
	assert.LessOrEqual(t, cs.max.Load(), int64(3), "never more than MaxInFlight")
}

// TestInFlightStopsAtAPause: a 401 in the middle of a pipelined backlog
// pauses every upload; nothing is dropped, and a new token delivers all.
func TestInFlightStopsAtAPause(t *testing.T) {
	var token atomic.Value
	token.Store("old")
	var mu sync.Mutex
	accepted := 0
	cs := &concurrencyServer{ingest: sinktest.NewIngest()}
	cs.gate = func(r *http.Request) int {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") == "Bearer old" {
			if accepted >= 5 {
				return http.StatusUnauthorized
			}
			accepted++
		}
		return 0
	}
	srv := httptest.NewServer(cs)
	defer srv.Close()
	opts := fastOptions(srv)
	opts.TokenProvider = func(context.Context) (string, error) { return token.Load().(string), nil }
	s, st := inFlightSink(t, srv, opts)
	writeBacklog(t, s, 2000)
	err := s.Flush(t.Context())
	require.ErrorIs(t, err, ErrPaused)
	assert.Equal(t, PausedAuth, s.Stats().Paused)
	assert.Empty(t, s.Stats().Dropped)
	before := len(cs.ingest.Messages())
	assert.Less(t, before, 2000)
	assert.Equal(t, 2000-before, st.Pending(), "what was not confirmed is still queued")

	token.Store("new")
	flushSockets(t, s, st)
	require.NoError(t, s.Close(t.Context()))
	seen := map[string]bool{}
	for _, m := range cs.ingest.Messages() {
		seen[m] = true
	}
	assert.Len(t, seen, 2000, "every record, once the token changed")
}

// TestInFlightHonoursRetryAfter: a 429 in a pipelined backlog stops every
// request until its Retry-After: no request is sent after it but those
// already in flight, and the backoff lasts at least what the server asked.
func TestInFlightHonoursRetryAfter(t *testing.T) {
	var requests atomic.Int64
	var once sync.Once
	cs := &concurrencyServer{ingest: sinktest.NewIngest()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		limit := false
		once.Do(func() { limit = true })
		if limit {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		cs.ServeHTTP(w, r)
	}))
	defer srv.Close()
	s, st := inFlightSink(t, srv, fastOptions(srv))
	writeBacklog(t, s, 1000)
	require.ErrorIs(t, s.Flush(t.Context()), ErrBackoff)
	assert.LessOrEqual(t, requests.Load(), int64(DefaultMaxInFlight), "nothing sent after the 429 but what was in flight")
	assert.Greater(t, time.Until(s.Stats().BackoffTill), 25*time.Second, "Retry-After honoured")
	assert.Equal(t, 1000-len(cs.ingest.Messages()), st.Pending(), "nothing dropped")
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_ = s.Close(ctx)
}
