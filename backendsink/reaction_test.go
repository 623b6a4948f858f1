package backendsink

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run the whole sink against the in-memory ingest transport
// inside a synctest bubble: backoff and Retry-After run on the bubble's
// clock. The tests that need a real socket are in socket_test.go.

// memOptions returns options for a sink talking to in, with millisecond
// backoff and no timer uploads.
func memOptions(in *sinktest.Ingest) Options {
	return Options{
		Client:         in.Client(),
		MaxBatch:       100, // the batch sizes below are written for it
		MaxInFlight:    1,   // and the order of requests
		BackoffInitial: time.Millisecond,
		BackoffMax:     5 * time.Millisecond,
		FlushInterval:  time.Hour,
	}
}

// flushUntil flushes until the store is empty, letting backoff pass on
// the bubble's clock.
func flushUntil(t *testing.T, s *Sink, st store) {
	t.Helper()
	for range 1000 {
		_ = s.Flush(t.Context())
		if st.Pending() == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
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
	synctest.Test(t, func(t *testing.T) {
		in := sinktest.NewIngest()
		in.Respond = func([]map[string]any, http.Header) (int, http.Header) { return http.StatusAccepted, nil }
		st := newMemStore()
		s, _ := newTestSink(t, memOptions(in), st)
		writeN(t, s, 150, func(i int) string { return fmt.Sprint("m", i) })
		require.NoError(t, s.Flush(t.Context()))
		assert.Zero(t, st.Pending())
		assert.Len(t, in.Messages(), 150)
		stats := s.Stats()
		assert.EqualValues(t, 150, stats.Confirmed)
		assert.EqualValues(t, 2, stats.Requests)
		assert.False(t, stats.LastSuccess.IsZero())
		require.NoError(t, s.Close(t.Context()))
	})
}

func TestReactionAuthPausesUntilTokenChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := sinktest.NewIngest()
		in.Respond = func(_ []map[string]any, h http.Header) (int, http.Header) {
			if h.Get("Authorization") != "Bearer good" {
				return http.StatusUnauthorized, nil
			}
			return 0, nil
		}
		var token atomic.Pointer[string]
		bad := "bad-secret"
		token.Store(&bad)
		opts := memOptions(in)
		opts.TokenProvider = func(context.Context) (string, error) { return *token.Load(), nil }
		st := newMemStore()
		s, reported := newTestSink(t, opts, st)
		writeN(t, s, 3, func(i int) string { return fmt.Sprint("m", i) })

		err := s.Flush(t.Context())
		assert.ErrorIs(t, err, ErrPaused)
		var se *StatusError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, 401, se.Code)
		assert.Equal(t, PausedAuth, s.Stats().Paused)
		requests := in.Requests()
		assert.ErrorIs(t, s.Flush(t.Context()), ErrPaused)
		assert.Equal(t, requests, in.Requests(), "paused: no request with the same token")
		assert.Equal(t, 3, st.Pending())

		good := "good"
		token.Store(&good)
		require.NoError(t, s.Flush(t.Context()))
		assert.Empty(t, s.Stats().Paused)
		assert.Len(t, in.Messages(), 3)
		require.NoError(t, s.Close(t.Context()))
		assert.Empty(t, reported.All(), "Flush returned the pause: it is not reported as well")
		assert.NotContains(t, s.Stats().LastError, "bad-secret")
	})
}

func TestReactionForbiddenAlsoPauses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := sinktest.NewIngest()
		in.Respond = func([]map[string]any, http.Header) (int, http.Header) { return http.StatusForbidden, nil }
		opts := memOptions(in)
		opts.TokenProvider = func(context.Context) (string, error) { return "t", nil }
		s, _ := newTestSink(t, opts, newMemStore())
		writeN(t, s, 1, func(int) string { return "x" })
		assert.ErrorIs(t, s.Flush(t.Context()), ErrPaused)
		require.NoError(t, s.Close(t.Context()))
	})
}

func TestReactionNotFoundPausesUntilEndpointChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := sinktest.NewIngest()
		in.Path = "/api/v1/logs"
		opts := memOptions(in)
		opts.Endpoint = "http://ingest.test/wrong/path"
		st := newMemStore()
		s, reported := newTestSink(t, opts, st)
		writeN(t, s, 2, func(i int) string { return fmt.Sprint("m", i) })
		assert.ErrorIs(t, s.Flush(t.Context()), ErrPaused)
		assert.Equal(t, PausedEndpoint, s.Stats().Paused)
		assert.Error(t, s.SetEndpoint("ftp://nope"))
		assert.Error(t, s.SetEndpoint(""))
		require.NoError(t, s.SetEndpoint("http://ingest.test/api/v1/logs"))
		require.NoError(t, s.Flush(t.Context()))
		assert.Len(t, in.Messages(), 2)
		require.NoError(t, s.Close(t.Context()))
		assert.Empty(t, reported.All())
	})
}

// TestReactionPauseIsReportedOnce: a pause found by a timer upload is
// reported, once, however many uploads it stops.
func TestReactionPauseIsReportedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := sinktest.NewIngest()
		in.Respond = func([]map[string]any, http.Header) (int, http.Header) { return http.StatusUnauthorized, nil }
		opts := memOptions(in)
		opts.FlushInterval = time.Second
		opts.TokenProvider = func(context.Context) (string, error) { return "token-123", nil }
		s, reported := newTestSink(t, opts, newMemStore())
		writeN(t, s, 1, func(int) string { return "x" })
		time.Sleep(time.Minute)
		synctest.Wait()
		require.Len(t, reported.All(), 1)
		assert.ErrorIs(t, reported.All()[0], ErrPaused)
		assert.Equal(t, "backendsink: export paused until the token changes: ingest answered 401 Unauthorized: "+
			`{"detail":"Unauthorized"}`, reported.All()[0].Error(), "one prefix")
		require.NoError(t, s.Close(t.Context()))
	})
}

func TestReaction413SplitsAndDropsSingleTooLarge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := sinktest.NewIngest()
		in.Respond = func(entries []map[string]any, _ http.Header) (int, http.Header) {
			if len(entries) > 10 || containsMessage(entries, "huge") {
				return http.StatusRequestEntityTooLarge, nil
			}
			return 0, nil
		}
		st := newMemStore()
		s, reported := newTestSink(t, memOptions(in), st)
		writeN(t, s, 60, func(i int) string {
			if i == 33 {
				return "huge record"
			}
			return fmt.Sprint("m", i)
		})
		require.NoError(t, s.Flush(t.Context()))
		assert.Zero(t, st.Pending())
		msgs := in.Messages()
		assert.Len(t, msgs, 59+1, "all but the huge one, plus the loss report")
		assert.NotContains(t, msgs, "huge record")
		assert.EqualValues(t, 1, s.Stats().Dropped[DropTooLarge])
		assert.Contains(t, reported.Text(), "too_large")
		require.NoError(t, s.Close(t.Context()))
	})
}

func TestReaction4xxBisectsToRejectedRecords(t *testing.T) {
	for _, code := range []int{http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusConflict} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				in := sinktest.NewIngest()
				in.Respond = func(entries []map[string]any, _ http.Header) (int, http.Header) {
					if containsMessage(entries, "bad") {
						return code, nil
					}
					return 0, nil
				}
				st := newMemStore()
				s, reported := newTestSink(t, memOptions(in), st)
				writeN(t, s, 100, func(i int) string {
					if i == 7 || i == 71 {
						return fmt.Sprint("bad ", i)
					}
					return fmt.Sprint("m", i)
				})
				require.NoError(t, s.Flush(t.Context()))
				assert.Zero(t, st.Pending())
				assert.Len(t, in.Messages(), 98+1)
				assert.EqualValues(t, 2, s.Stats().Dropped[DropRejected])
				assert.Equal(t, 2, strings.Count(reported.Text(), "(rejected)"), "each rejected record is reported")
				assert.Equal(t, 2, strings.Count(reported.Text(), "backendsink: "), "with one prefix")
				assert.LessOrEqual(t, in.Requests(), 40, "bisection, not one request per record")
				require.NoError(t, s.Close(t.Context()))
			})
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
			synctest.Test(t, func(t *testing.T) {
				var limited atomic.Bool
				limited.Store(true)
				in := sinktest.NewIngest()
				in.Respond = func([]map[string]any, http.Header) (int, http.Header) {
					if limited.Load() {
						return http.StatusTooManyRequests, http.Header{"Retry-After": {tt.value()}}
					}
					return 0, nil
				}
				st := newMemStore()
				s, _ := newTestSink(t, memOptions(in), st)
				writeN(t, s, 1, func(int) string { return "x" })
				err := s.Flush(t.Context())
				assert.ErrorIs(t, err, ErrBackoff)
				var se *StatusError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, 429, se.Code)
				assert.Equal(t, tt.want, se.RetryAfter)
				assert.Equal(t, tt.want, time.Until(s.Stats().BackoffTill), "the next attempt waits for Retry-After, not the millisecond backoff")
				limited.Store(false)
				require.ErrorIs(t, s.Flush(t.Context()), ErrBackoff, "still backing off")
				assert.Equal(t, 1, st.Pending())
				time.Sleep(tt.want)
				require.NoError(t, s.Flush(t.Context()), "Retry-After has passed")
				assert.Zero(t, st.Pending())
				require.NoError(t, s.Close(t.Context()))
			})
		})
	}
}

func TestReaction5xxIsolatesPoisonPill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := sinktest.NewIngest()
		in.Respond = func(entries []map[string]any, _ http.Header) (int, http.Header) {
			if containsMessage(entries, "poison") {
				return http.StatusInternalServerError, nil
			}
			return 0, nil
		}
		st := newMemStore()
		s, reported := newTestSink(t, memOptions(in), st)
		writeN(t, s, 100, func(i int) string {
			if i == 42 {
				return "poison pill"
			}
			return fmt.Sprint("m", i)
		})
		flushUntil(t, s, st)
		msgs := in.Messages()
		assert.NotContains(t, msgs, "poison pill")
		assert.Len(t, slices.DeleteFunc(msgs, func(m string) bool { return strings.HasPrefix(m, "dropped") }), 99)
		assert.EqualValues(t, 1, s.Stats().Dropped[DropPoison])
		assert.Contains(t, reported.Text(), "(poison)")
		require.NoError(t, s.Close(t.Context()))
	})
}

func TestReaction5xxEverywhereNeverDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := sinktest.NewIngest()
		in.Respond = func([]map[string]any, http.Header) (int, http.Header) { return http.StatusInternalServerError, nil }
		st := newMemStore()
		s, reported := newTestSink(t, memOptions(in), st)
		writeN(t, s, 20, func(i int) string { return fmt.Sprint("m", i) })
		for range 60 {
			_ = s.Flush(t.Context())
			time.Sleep(10 * time.Millisecond)
		}
		assert.Equal(t, 20, st.Pending(), "a server failing in general never costs a record")
		assert.Empty(t, s.Stats().Dropped)
		assert.Greater(t, s.Stats().Retries, int64(10))
		require.NoError(t, s.Close(t.Context()))
		assert.Empty(t, reported.All())
	})
}

func TestReactionGatewayErrorsNeverDrop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		in := sinktest.NewIngest()
		in.Respond = func([]map[string]any, http.Header) (int, http.Header) {
			return []int{502, 503, 504}[n.Add(1)%3], nil
		}
		st := newMemStore()
		s, _ := newTestSink(t, memOptions(in), st)
		writeN(t, s, 5, func(i int) string { return fmt.Sprint("m", i) })
		for range 8 {
			assert.ErrorIs(t, s.Flush(t.Context()), ErrBackoff)
			time.Sleep(10 * time.Millisecond)
		}
		assert.Equal(t, 5, st.Pending())
		assert.Empty(t, s.Stats().Dropped)
		assert.NotEmpty(t, s.Stats().LastError)
		require.NoError(t, s.Close(t.Context()))
		assert.Equal(t, 5, s.Stats().PendingAtClose)
	})
}

func TestGzipBodies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var encodings []string
		in := sinktest.NewIngest()
		in.Respond = func(_ []map[string]any, h http.Header) (int, http.Header) {
			mu.Lock()
			encodings = append(encodings, h.Get("Content-Encoding"))
			mu.Unlock()
			return 0, nil
		}
		opts := memOptions(in)
		opts.Gzip = true
		s, _ := newTestSink(t, opts, newMemStore())
		writeN(t, s, 3, func(i int) string { return fmt.Sprint("m", i) })
		require.NoError(t, s.Flush(t.Context()))
		assert.Equal(t, []string{"gzip"}, encodings)
		assert.Len(t, in.Messages(), 3)
		require.NoError(t, s.Close(t.Context()))
	})
}
