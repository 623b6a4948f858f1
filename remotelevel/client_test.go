package remotelevel_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/remotelevel"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const interval = 10 * time.Minute

// noJitter makes the fetches exactly Interval apart.
var noJitter = remotelevel.Options{Jitter: -1}

var (
	all       = []string{"trace", "debug", "info", "warning", "error", "fatal"}
	fromDebug = all[1:]
	fromInfo  = all[2:]
	fromWarn  = all[3:]
	fromError = all[4:]
)

func TestAppliedAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(`{"min_level":"debug","modules":{"Http":"trace"}}`)
		f := newFixture(t, srv, remotelevel.Options{}, nil)
		synctest.Wait()

		assert.Equal(t, all, f.logged("Http.Client"), "the override for Http covers Http.Client")
		assert.Equal(t, fromDebug, f.logged("App"))
		assert.Equal(t, []string{"config: local -> min_level=debug http=trace"}, f.changes())
		reqs := srv.requests()
		require.Len(t, reqs, 1)
		assert.Empty(t, reqs[0].header.Get("If-None-Match"), "nothing to revalidate at start")
		assert.True(t, reqs[0].own, "the request is marked as fieldlog's own")
		assert.Empty(t, f.errors.All())

		st := f.c.Status()
		assert.Equal(t, logrecord.LevelDebug, st.Level)
		assert.Equal(t, map[string]logrecord.Level{"http": logrecord.LevelTrace}, st.Loggers)
		require.NotNil(t, st.Remote)
		assert.Equal(t, logrecord.LevelDebug, st.Remote.MinLevel)
		assert.Equal(t, etagOf(srv.config), st.ETag)
		assert.Equal(t, time.Now(), st.Fetched)
	})
}

func TestPeriodicRefreshFollowsChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(`{"min_level":"error"}`)
		f := newFixture(t, srv, noJitter, nil)
		synctest.Wait()
		assert.Equal(t, fromError, f.logged("App"), "debug records are dropped")

		srv.set(func(s *configServer) { s.config = `{"min_level":"trace"}` })
		time.Sleep(interval - time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, fromError, f.logged("App"), "not before the interval")
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, all, f.logged("App"), "trace records pass")

		// An unchanged configuration costs a 304 and changes nothing.
		time.Sleep(interval)
		synctest.Wait()
		assert.Equal(t, []int{200, 200, 304}, srv.answers())
		assert.Equal(t, etagOf(srv.config), srv.requests()[2].header.Get("If-None-Match"))
		assert.Equal(t, all, f.logged("App"))
		assert.Equal(t, []string{
			"config: local -> min_level=error",
			"config: min_level=error -> min_level=trace",
		}, f.changes(), "each change is logged once")
	})
}

func TestChangeToFewerDetailIsLoggedBeforeItApplies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// log_level_changed is an info record: it is written while info
		// still passes, so a support engineer sees why the records stop.
		srv := newServer(`{"min_level":"error","modules":{"fieldlog":"error"}}`)
		f := newFixture(t, srv, noJitter, nil)
		synctest.Wait()
		assert.Equal(t, []string{"config: local -> min_level=error fieldlog=error"}, f.changes())

		// And from error back to more detail, after it applies.
		srv.set(func(s *configServer) { s.config = `{"min_level":"debug"}` })
		time.Sleep(interval)
		synctest.Wait()
		assert.Len(t, f.changes(), 2)
	})
}

func TestRemovedOverrideRestoresLocalLevel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(`{"min_level":"info","modules":{"Db":"trace","Http":"debug"}}`)
		f := newFixture(t, srv, noJitter, func(m *sink.Manager) { m.SetLoggerLevel("Db", logrecord.LevelWarning) })
		synctest.Wait()
		assert.Equal(t, all, f.logged("Db"))
		assert.Equal(t, fromDebug, f.logged("Http"))

		srv.set(func(s *configServer) { s.config = `{"min_level":"info","modules":{"Http":"debug"}}` })
		time.Sleep(interval)
		synctest.Wait()
		assert.Equal(t, fromWarn, f.logged("Db"), "the local level is back")
		assert.Equal(t, fromDebug, f.logged("Http"))
		assert.Equal(t, map[string]logrecord.Level{"db": logrecord.LevelWarning, "http": logrecord.LevelDebug}, f.m.LoggerLevels())

		srv.set(func(s *configServer) { s.config = `{"min_level":"info","modules":{}}` })
		time.Sleep(interval)
		synctest.Wait()
		assert.Equal(t, fromInfo, f.logged("Http"))
		assert.Equal(t, map[string]logrecord.Level{"db": logrecord.LevelWarning}, f.m.LoggerLevels())
		assert.Len(t, f.changes(), 3)
	})
}

func TestUntilRevertsToLocalLevels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		until := time.Now().Add(25 * time.Minute).UTC().Format(time.RFC3339)
		srv := newServer(`{"min_level":"trace","until":"` + until + `"}`)
		f := newFixture(t, srv, noJitter, func(m *sink.Manager) { m.SetLevel(logrecord.LevelWarning) })
		synctest.Wait()
		assert.Equal(t, all, f.logged("App"))

		time.Sleep(25*time.Minute - time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, all, f.logged("App"), "until has not passed")
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, fromWarn, f.logged("App"), "local levels return at until, between fetches")
		assert.True(t, f.c.Status().Expired)
		assert.Nil(t, f.c.Status().Remote)

		// The server still serves the expired configuration: it stays
		// expired, and nothing more is logged.
		time.Sleep(interval)
		synctest.Wait()
		assert.Equal(t, fromWarn, f.logged("App"))
		assert.Equal(t, []string{
			"config: local -> min_level=trace",
			"expired: min_level=trace -> local",
		}, f.changes())
		r := f.rec.Records()[0]
		v, ok := r.Attr("until")
		require.True(t, ok)
		assert.Equal(t, until, v.String())

		// A new until applies again.
		later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		srv.set(func(s *configServer) { s.config = `{"min_level":"trace","until":"` + later + `"}` })
		time.Sleep(interval)
		synctest.Wait()
		assert.Equal(t, all, f.logged("App"))
	})
}

func TestUntilInThePastIsNeverApplied(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
		srv := newServer(`{"min_level":"trace","modules":{"Http":"trace"},"until":"` + past + `"}`)
		f := newFixture(t, srv, noJitter, nil)
		synctest.Wait()
		assert.Equal(t, fromInfo, f.logged("Http"))
		assert.Empty(t, f.changes())
		assert.True(t, f.c.Status().Expired)
		assert.Empty(t, f.errors.All(), "an expired configuration is no failure")
	})
}

func TestPinnedLevelsAreNotOverridden(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(`{"min_level":"trace","modules":{"Audit":"trace","Audit.Db":"trace","Http":"debug"}}`)
		f := newFixture(t, srv, noJitter, func(m *sink.Manager) {
			m.PinLevel(logrecord.LevelInfo)
			m.PinLoggerLevel("Audit", logrecord.LevelWarning)
		})
		synctest.Wait()
		assert.Equal(t, fromInfo, f.logged("App"), "the pinned global level")
		assert.Equal(t, fromWarn, f.logged("Audit"), "the pinned logger level")
		assert.Equal(t, fromWarn, f.logged("Audit.Db"), "a pin covers its descendants")
		assert.Equal(t, fromDebug, f.logged("Http.Client"), "what is not pinned follows the server")
	})
}

func TestFailuresKeepLocalLevels(t *testing.T) {
	tests := []struct {
		name   string
		server func(s *configServer)
		want   error
	}{
		{"unreachable", func(s *configServer) { s.fail = errors.New("connection refused") }, nil},
		{"500", func(s *configServer) { s.status, s.body = 500, `{"detail":"boom"}` }, nil},
		{"404", func(s *configServer) { s.status = 404 }, nil},
		{"redirect", func(s *configServer) {
			s.status, s.header = 302, http.Header{"Location": {"https://elsewhere.example/"}}
		}, nil},
		{"garbage", func(s *configServer) { s.config = `<html>captive portal</html>` }, remotelevel.ErrInvalid},
		{"truncated", func(s *configServer) { s.config = `{"min_level":"tr` }, remotelevel.ErrInvalid},
		{"unknown level", func(s *configServer) { s.config = `{"min_level":"verbose"}` }, remotelevel.ErrInvalid},
		{"unknown module level", func(s *configServer) { s.config = `{"min_level":"info","modules":{"Http":"TRACE"}}` }, remotelevel.ErrInvalid},
		{"no min_level", func(s *configServer) { s.config = `{"modules":{"Http":"trace"}}` }, remotelevel.ErrInvalid},
		{"not an object", func(s *configServer) { s.config = `["trace"]` }, remotelevel.ErrInvalid},
		{"bad until", func(s *configServer) { s.config = `{"min_level":"trace","until":"tomorrow"}` }, remotelevel.ErrInvalid},
		{"too long", func(s *configServer) {
			s.config = `{"min_level":"trace","pad":"` + string(make([]byte, remotelevel.MaxConfigBytes)) + `"}`
		}, remotelevel.ErrInvalid},
		{"204", func(s *configServer) { s.status = 204 }, remotelevel.ErrInvalid},
		{"304 unasked", func(s *configServer) { s.status = 304 }, remotelevel.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newServer("")
				tt.server(srv)
				f := newFixture(t, srv, remotelevel.Options{BackoffInitial: time.Second}, nil)
				time.Sleep(time.Hour)
				synctest.Wait()

				assert.Equal(t, fromInfo, f.logged("App"), "local levels")
				assert.Empty(t, f.changes())
				errs := f.errors.All()
				require.Len(t, errs, 1, "reported once, however often it failed")
				if tt.want != nil {
					assert.ErrorIs(t, errs[0], tt.want)
				}
				assert.NotEmpty(t, f.c.Status().Error)
				// Backing off: 1 s doubling to the interval, not a request a second.
				n := len(srv.requests())
				assert.Greater(t, n, 5)
				assert.Less(t, n, 30)
			})
		})
	}
}

func TestFailuresKeepLastGoodConfig(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(`{"min_level":"debug","modules":{"Http":"trace"}}`)
		f := newFixture(t, srv, noJitter, nil)
		synctest.Wait()

		srv.set(func(s *configServer) { s.config = `{"min_level":"trace","modules":{"Http":"nonsense"}}` })
		time.Sleep(interval)
		synctest.Wait()
		assert.Equal(t, all, f.logged("Http"), "the last good configuration stays")
		assert.Equal(t, fromDebug, f.logged("App"))
		srv.set(func(s *configServer) { s.config, s.status = `{"min_level":"debug","modules":{"Http":"trace"}}`, 503 })
		time.Sleep(interval)
		synctest.Wait()
		assert.Equal(t, all, f.logged("Http"))

		// When the server recovers, its configuration applies at once
		// (the backoff is short) and unchanged costs nothing.
		srv.set(func(s *configServer) { s.status = 0 })
		time.Sleep(interval)
		synctest.Wait()
		assert.Equal(t, all, f.logged("Http"))
		assert.Len(t, f.changes(), 1)
		require.Len(t, f.errors.All(), 2, "invalid, then 503: one report each")
		assert.ErrorIs(t, f.errors.All()[0], remotelevel.ErrInvalid)
		var se *remotelevel.StatusError
		require.ErrorAs(t, f.errors.All()[1], &se)
		assert.Equal(t, 503, se.Code)
		assert.Empty(t, f.c.Status().Error)
	})
}

func TestBackoffGrowsToInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer("")
		srv.status = 500
		opts := noJitter
		opts.BackoffInitial = 5 * time.Second
		newFixture(t, srv, opts, nil)
		time.Sleep(3 * time.Hour)
		synctest.Wait()

		gaps := srv.gaps()
		require.Greater(t, len(gaps), 12)
		step := 5 * time.Second
		for i, g := range gaps {
			// Each wait is the current step ± half, never above the interval.
			assert.GreaterOrEqual(t, g, step/2, "gap %d", i)
			assert.LessOrEqual(t, g, min(step*3/2, interval), "gap %d", i)
			step = min(step*2, interval)
		}
		assert.Less(t, len(gaps), 12+3*60/5, "at the interval's pace once grown")
	})
}

func TestRetryAfterDelaysTheNextFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer("")
		srv.status, srv.header = 429, http.Header{"Retry-After": {"120"}}
		newFixture(t, srv, remotelevel.Options{BackoffInitial: time.Second}, nil)
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		for _, g := range srv.gaps() {
			assert.GreaterOrEqual(t, g, 120*time.Second)
		}
		assert.Len(t, srv.requests(), 3) // at 0, ~2 min, ~4 min
	})
}

func TestJitterWithinBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(`{"min_level":"info"}`)
		newFixture(t, srv, remotelevel.Options{Jitter: 0.2}, nil)
		time.Sleep(50 * interval)
		synctest.Wait()

		gaps := srv.gaps()
		require.Greater(t, len(gaps), 40)
		lo, hi := gaps[0], gaps[0]
		for _, g := range gaps {
			assert.GreaterOrEqual(t, g, interval*8/10)
			assert.LessOrEqual(t, g, interval*12/10)
			lo, hi = min(lo, g), max(hi, g)
		}
		assert.Greater(t, hi-lo, interval/10, "the waits are spread")
	})
}

func TestAuthFailurePausesUntilTheTokenChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(`{"min_level":"debug"}`)
		srv.status = 401
		token := "old"
		tokens := make(chan string, 1)
		opts := remotelevel.Options{Jitter: -1, BackoffInitial: time.Second, TokenProvider: func(context.Context) (string, error) {
			select {
			case token = <-tokens:
			default:
			}
			return token, nil
		}}
		f := newFixture(t, srv, opts, nil)
		time.Sleep(time.Hour)
		synctest.Wait()
		require.Len(t, srv.requests(), 1, "nothing is sent with the refused token")
		assert.Equal(t, "Bearer old", srv.requests()[0].header.Get("Authorization"))
		require.Len(t, f.errors.All(), 1)
		assert.ErrorIs(t, f.errors.All()[0], remotelevel.ErrPaused)
		assert.True(t, f.c.Status().Paused)
		assert.ErrorIs(t, f.c.Refresh(t.Context()), remotelevel.ErrPaused)

		srv.set(func(s *configServer) { s.status = 0 })
		tokens <- "new"
		time.Sleep(interval) // the next look at the token is at most an interval away
		synctest.Wait()
		require.Len(t, srv.requests(), 2)
		assert.Equal(t, "Bearer new", srv.requests()[1].header.Get("Authorization"))
		assert.Equal(t, fromDebug, f.logged("App"))
		assert.False(t, f.c.Status().Paused)
	})
}

func TestNoTokenFetchesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(`{"min_level":"debug"}`)
		f := newFixture(t, srv, remotelevel.Options{TokenProvider: func(context.Context) (string, error) { return "", nil }}, nil)
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Empty(t, srv.requests())
		assert.Empty(t, f.errors.All(), "waiting for a login is no failure")
		assert.ErrorIs(t, f.c.Refresh(t.Context()), remotelevel.ErrNoToken)
	})
}

func TestTokenProviderFailureIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(`{"min_level":"debug"}`)
		f := newFixture(t, srv, remotelevel.Options{TokenProvider: func(context.Context) (string, error) { panic("no keychain") }}, nil)
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Empty(t, srv.requests())
		require.Len(t, f.errors.All(), 1)
		assert.Contains(t, f.errors.All()[0].Error(), "no keychain")
	})
}

func TestRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(`{"min_level":"info"}`)
		f := newFixture(t, srv, noJitter, nil)
		synctest.Wait()

		srv.set(func(s *configServer) { s.config = `{"min_level":"debug"}` })
		require.NoError(t, f.c.Refresh(t.Context()))
		assert.Equal(t, fromDebug, f.logged("App"), "applied before Refresh returns")

		srv.set(func(s *configServer) { s.status = 500 })
		var se *remotelevel.StatusError
		require.ErrorAs(t, f.c.Refresh(t.Context()), &se)
		assert.Equal(t, 500, se.Code)
		assert.Empty(t, f.errors.All(), "returned, not reported too")

		// A hanging server holds Refresh until its deadline, no longer.
		srv.set(func(s *configServer) { s.hang = true })
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		start := time.Now()
		assert.ErrorIs(t, f.c.Refresh(ctx), context.DeadlineExceeded)
		assert.Equal(t, 3*time.Second, time.Since(start))
	})
}

func TestCloseStopsAndRestoresLocalLevels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(`{"min_level":"trace"}`)
		f := newFixture(t, srv, noJitter, nil)
		synctest.Wait()
		assert.Equal(t, all, f.logged("App"))

		srv.set(func(s *configServer) { s.hang = true })
		time.Sleep(interval) // a fetch hangs
		synctest.Wait()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		require.NoError(t, f.c.Close(ctx))
		assert.Zero(t, time.Since(start), "the fetch in flight is aborted")
		assert.Equal(t, fromInfo, f.logged("App"))
		assert.Equal(t, "closed: min_level=trace -> local", f.changes()[len(f.changes())-1])
		assert.ErrorIs(t, f.c.Refresh(t.Context()), remotelevel.ErrClosed)
		assert.NoError(t, f.c.Close(t.Context()), "a second Close")

		n := len(srv.requests())
		time.Sleep(10 * interval)
		synctest.Wait()
		assert.Len(t, srv.requests(), n, "no fetch after Close")
		// synctest.Test fails if any goroutine is left behind.
	})
}

func TestEventsLogger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(`{"min_level":"trace"}`)
		rec := newFixture(t, srv, noJitter, nil).rec
		synctest.Wait()
		require.NotEmpty(t, rec.Records())
		assert.Equal(t, "fieldlog", rec.Records()[0].Logger, "the default Events logger")
		assert.Equal(t, logrecord.LevelInfo, rec.Records()[0].Level)
	})
}
