package backendsink

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/soliplex/fieldlog/internal/ownreq"
	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestSink(t *testing.T, opts Options, st store) (*Sink, *sinktest.Errors) {
	t.Helper()
	reported := &sinktest.Errors{}
	if opts.Endpoint == "" {
		opts.Endpoint = "http://ingest.test/api/v1/logs"
	}
	if opts.OnError == nil {
		opts.OnError = reported.Add
	}
	if opts.InstallID == "" {
		opts.InstallID = "install-1"
		opts.SessionID = "session-1"
	}
	s, err := newSink(opts, st)
	require.NoError(t, err)
	return s, reported
}

func rec(level logrecord.Level, msg string) logrecord.Record {
	return logrecord.New(time.Now(), level, "App", msg)
}

func TestUploadWaitsForFlushInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ingest := sinktest.NewIngest()
		st := newMemStore()
		s, _ := newTestSink(t, Options{FlushInterval: 5 * time.Second, Client: ingest.Client()}, st)
		require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, "hello")))
		time.Sleep(5*time.Second - time.Nanosecond)
		synctest.Wait()
		assert.Zero(t, ingest.Requests())
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, 1, ingest.Requests())
		assert.Equal(t, []string{"hello"}, ingest.Messages())
		assert.Zero(t, st.Pending())
		require.NoError(t, s.Close(t.Context()))
	})
}

func TestErrorUploadsAtOnceWithBreadcrumbs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ingest := sinktest.NewIngest()
		crumbs := breadcrumbSourceFunc(func(r logrecord.Record, n int) []logrecord.Record {
			return []logrecord.Record{logrecord.New(r.Time.Add(-time.Second), logrecord.LevelInfo, "Router", "Navigated to /chat")}
		})
		s, _ := newTestSink(t, Options{Client: ingest.Client(), Breadcrumbs: crumbs}, newMemStore())
		require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, "before")))
		require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelError, "failed")))
		synctest.Wait()
		require.Equal(t, 1, ingest.Requests(), "an error starts an upload without waiting for the interval")
		entries := ingest.Entries()
		require.Len(t, entries, 2)
		assert.Equal(t, "failed", entries[0]["message"], "the high class goes first")
		assert.Equal(t, []any{map[string]any{"timestamp": entries[0]["breadcrumbs"].([]any)[0].(map[string]any)["timestamp"], "level": "info", "logger": "Router", "message": "Navigated to /chat", "category": "ui"}}, entries[0]["breadcrumbs"])
		assert.NotContains(t, entries[1], "breadcrumbs", "only error and fatal records carry breadcrumbs")
		require.NoError(t, s.Close(t.Context()))
	})
}

type breadcrumbSourceFunc func(r logrecord.Record, n int) []logrecord.Record

func (f breadcrumbSourceFunc) Before(r logrecord.Record, n int) []logrecord.Record { return f(r, n) }

func TestBatchesRespectCountAndBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ingest := sinktest.NewIngest()
		var sizes []int
		var mu sync.Mutex
		ingest.Respond = func(entries []map[string]any, _ http.Header) (int, http.Header) {
			mu.Lock()
			sizes = append(sizes, len(entries))
			mu.Unlock()
			return 0, nil
		}
		st := newMemStore()
		s, _ := newTestSink(t, Options{Client: ingest.Client(), MaxBatch: 100, MaxInFlight: 1}, st)
		for i := range 250 {
			require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, fmt.Sprint("m", i))))
		}
		require.NoError(t, s.Flush(t.Context()))
		assert.Equal(t, []int{100, 100, 50}, sizes)
		msgs := ingest.Messages()
		require.Len(t, msgs, 250)
		for i, m := range msgs {
			require.Equal(t, fmt.Sprint("m", i), m, "FIFO order")
		}

		sizes = nil
		big := strings.Repeat("x", 60<<10)
		for range 40 {
			require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, big)))
		}
		require.NoError(t, s.Flush(t.Context()))
		for _, n := range sizes {
			assert.LessOrEqual(t, n*60<<10, DefaultMaxBatchBytes, "a batch stays under 900 KB")
		}
		assert.Len(t, ingest.Messages(), 290)
		require.NoError(t, s.Close(t.Context()))
	})
}

func TestPreLoginBuffering(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ingest := sinktest.NewIngest()
		var token atomic.Pointer[string]
		empty := ""
		token.Store(&empty)
		st := newMemStore()
		s, _ := newTestSink(t, Options{Client: ingest.Client(), TokenProvider: func(context.Context) (string, error) {
			return *token.Load(), nil
		}}, st)
		for i := range 5 {
			require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelError, fmt.Sprint("e", i))))
		}
		assert.ErrorIs(t, s.Flush(t.Context()), ErrNoToken)
		time.Sleep(2 * DefaultFlushInterval)
		synctest.Wait()
		assert.Zero(t, ingest.Requests(), "nothing is sent before login")
		assert.Equal(t, 5, st.Pending())

		tok := "secret-token"
		token.Store(&tok)
		require.NoError(t, s.Flush(t.Context()))
		assert.Len(t, ingest.Messages(), 5)
		assert.Equal(t, "Bearer secret-token", ingest.Headers()[0].Get("Authorization"))
		require.NoError(t, s.Close(t.Context()))
	})
}

func TestNetworkTransitionsAreLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ingest := sinktest.NewIngest()
		mem := sink.NewMemory(100)
		m := sink.NewManager([]sink.Sink{mem})
		var online atomic.Bool
		st := newMemStore()
		s, _ := newTestSink(t, Options{
			Client: ingest.Client(),
			Events: m.Logger("Connectivity"),
			Network: func(context.Context) (bool, string) {
				return online.Load(), map[bool]string{true: "wifi", false: "none"}[online.Load()]
			},
		}, st)
		m.AddSink(s)
		log := m.Logger("App")
		log.Info("offline 1")
		assert.ErrorIs(t, s.Flush(t.Context()), ErrOffline)
		assert.ErrorIs(t, s.Flush(t.Context()), ErrOffline, "a second check with no change logs nothing")
		assert.Zero(t, ingest.Requests())

		online.Store(true)
		require.NoError(t, s.Flush(t.Context()))
		online.Store(false)
		log.Info("offline 2")
		assert.ErrorIs(t, s.Flush(t.Context()), ErrOffline)
		online.Store(true)
		require.NoError(t, s.Flush(t.Context()))

		var changes []string
		for _, r := range mem.Records() {
			if r.Message == "network_changed" {
				on, _ := r.Attr("online")
				kind, _ := r.Attr("type")
				changes = append(changes, fmt.Sprint(on, "/", kind))
			}
		}
		assert.Equal(t, []string{"false/none", "true/wifi", "false/none", "true/wifi"}, changes)
		assert.Contains(t, ingest.Messages(), "offline 1")
		assert.Contains(t, ingest.Messages(), "offline 2")
		assert.Contains(t, ingest.Messages(), "network_changed", "connectivity history is shipped")
		require.NoError(t, m.Close(t.Context()))
	})
}

func TestFlushGateAndSafetyValve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ingest := sinktest.NewIngest()
		s, _ := newTestSink(t, Options{
			Client:        ingest.Client(),
			FlushInterval: time.Minute,
			Gate:          func() bool { return false },
			MaxHold:       5 * time.Minute,
		}, newMemStore())
		require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, "held")))
		time.Sleep(4*time.Minute + time.Second)
		synctest.Wait()
		assert.Zero(t, ingest.Requests(), "the gate holds timer uploads")

		require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelError, "urgent")))
		synctest.Wait()
		assert.Equal(t, 1, ingest.Requests(), "an error bypasses the gate")

		require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, "held again")))
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		assert.Equal(t, 1, ingest.Requests())
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, 2, ingest.Requests(), "the hold never lasts longer than MaxHold")
		assert.Equal(t, []string{"held", "urgent", "held again"}, sortedByIngest(ingest.Messages()))
		require.NoError(t, s.Close(t.Context()))
	})
}

// sortedByIngest keeps the arrival order; named for readability.
func sortedByIngest(m []string) []string {
	out := append([]string(nil), m...)
	if len(out) >= 2 && out[0] == "urgent" {
		out[0], out[1] = out[1], out[0]
	}
	return out
}

func TestCloseDrainsWhileBackedOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ingest := sinktest.NewIngest()
		var fail atomic.Bool
		fail.Store(true)
		ingest.Respond = func([]map[string]any, http.Header) (int, http.Header) {
			if fail.Load() {
				return http.StatusServiceUnavailable, nil
			}
			return 0, nil
		}
		st := newMemStore()
		s, _ := newTestSink(t, Options{Client: ingest.Client(), BackoffInitial: time.Minute, BackoffMax: time.Hour}, st)
		for i := range 3 {
			require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, fmt.Sprint(i))))
		}
		var se *StatusError
		require.ErrorAs(t, s.Flush(t.Context()), &se)
		assert.Equal(t, 503, se.Code)
		assert.True(t, s.Stats().BackoffTill.After(time.Now()))

		fail.Store(false)
		require.NoError(t, s.Close(t.Context()))
		stats := s.Stats()
		assert.EqualValues(t, 3, stats.DeliveredDuringClose)
		assert.Zero(t, stats.PendingAtClose)
		assert.Len(t, ingest.Messages(), 3)
		assert.ErrorIs(t, s.Write(t.Context(), rec(logrecord.LevelInfo, "late")), sink.ErrClosed)
		assert.NoError(t, s.Close(t.Context()), "a second Close returns nil")
	})
}

func TestCloseHonoursDeadlineAndKeepsRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		st := newMemStore()
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			select {
			case <-r.Context().Done():
				return nil, r.Context().Err()
			case <-release:
				return nil, errors.New("unexpected")
			}
		})}
		s, _ := newTestSink(t, Options{Client: client}, st)
		require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, "stays on disk")))
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		start := time.Now()
		assert.ErrorIs(t, s.Close(ctx), context.DeadlineExceeded)
		assert.Equal(t, 3*time.Second, time.Since(start))
		assert.Equal(t, 1, s.Stats().PendingAtClose, "Close never confirms what was not delivered")
		close(release)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestFatalIsDurableWhenWriteReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		s, _ := newTestSink(t, Options{Client: sinktest.NewIngest().Client(), FlushInterval: time.Hour}, st)
		require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, "before")))
		require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelFatal, "crash")))
		st.mu.Lock()
		syncs := st.syncs
		st.mu.Unlock()
		assert.Equal(t, 1, syncs)
		require.NoError(t, s.Close(t.Context()))
	})
}

func TestOwnRequestsAreNotShipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ingest := sinktest.NewIngest()
		var sawOwn atomic.Bool
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sawOwn.Store(IsOwnRequest(r.Context()))
			return ingest.RoundTrip(r)
		})}
		st := newMemStore()
		s, _ := newTestSink(t, Options{Client: client}, st)
		ownCtx := ownreq.With(t.Context())
		require.NoError(t, s.Write(ownCtx, rec(logrecord.LevelInfo, "POST /api/v1/logs 200")))
		require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, "app record")))
		require.NoError(t, s.Flush(t.Context()))
		assert.Equal(t, []string{"app record"}, ingest.Messages())
		assert.True(t, sawOwn.Load(), "the sink marks its requests")
		assert.False(t, IsOwnRequest(t.Context()))
		require.NoError(t, s.Close(t.Context()))
	})
}

func TestFlushStormSendsNoDuplicates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ingest := sinktest.NewIngest()
		s, _ := newTestSink(t, Options{Client: ingest.Client()}, newMemStore())
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range 50 {
					_ = s.Write(context.Background(), rec(logrecord.LevelInfo, fmt.Sprintf("w%d-%d", w, i)))
					if i%5 == 0 {
						_ = s.Flush(context.Background())
					}
				}
			})
		}
		wg.Wait()
		require.NoError(t, s.Flush(t.Context()))
		seen := map[string]int{}
		for _, m := range ingest.Messages() {
			seen[m]++
		}
		assert.Len(t, seen, 400)
		for m, n := range seen {
			require.Equal(t, 1, n, "duplicate %s", m)
		}
		require.NoError(t, s.Close(t.Context()))
	})
}

func TestBufferFullDropsAndReports(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ingest := sinktest.NewIngest()
		block := make(chan struct{})
		st := newMemStore()
		st.appendFn = func([]byte) error { <-block; return nil }
		s, _ := newTestSink(t, Options{Client: ingest.Client(), BufferSize: 4}, st)
		require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, "0")))
		synctest.Wait() // the encoder holds record 0, blocked in Append
		for i := 1; i < 10; i++ {
			require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, fmt.Sprint(i))))
		}
		close(block)
		st.mu.Lock()
		st.appendFn = nil
		st.mu.Unlock()
		require.NoError(t, s.Flush(t.Context()))
		stats := s.Stats()
		assert.EqualValues(t, 5, stats.Dropped[DropBufferFull], "one in the encoder, four buffered, five dropped")
		msgs := ingest.Messages()
		require.Len(t, msgs, 6)
		assert.Equal(t, "dropped 5 records before delivery", msgs[0], "the next batch says what was lost")
		require.NoError(t, s.Flush(t.Context()))
		assert.Len(t, ingest.Messages(), 6, "the loss is reported once")
		require.NoError(t, s.Close(t.Context()))
	})
}

func TestSyncMakesWrittenRecordsDurable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		s, _ := newTestSink(t, Options{Client: sinktest.NewIngest().Client(), FlushInterval: time.Hour}, st)
		for i := range 10 {
			require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, fmt.Sprint(i))))
		}
		require.NoError(t, s.Sync(t.Context()))
		assert.Equal(t, 10, st.Pending(), "every record written before Sync is in the store")
		require.NoError(t, s.Close(t.Context()))
		assert.ErrorIs(t, s.Sync(t.Context()), sink.ErrClosed)
	})
}
