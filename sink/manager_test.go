package sink_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func messages(rs []logrecord.Record) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Message)
	}
	return out
}

func TestLoggerLevelOverrides(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]logrecord.Level
		logger    string
		level     logrecord.Level
		want      bool
	}{
		{"global info passes info", nil, "Http", logrecord.LevelInfo, true},
		{"global info stops debug", nil, "Http", logrecord.LevelDebug, false},
		{"exact override lowers", map[string]logrecord.Level{"Http": logrecord.LevelTrace}, "Http", logrecord.LevelTrace, true},
		{"prefix override applies to child", map[string]logrecord.Level{"Http": logrecord.LevelTrace}, "Http.Client", logrecord.LevelDebug, true},
		{"prefix override applies to grandchild", map[string]logrecord.Level{"Http": logrecord.LevelDebug}, "Http.Client.Retry", logrecord.LevelDebug, true},
		{"prefix is by dotted segment", map[string]logrecord.Level{"Http": logrecord.LevelTrace}, "HttpClient", logrecord.LevelDebug, false},
		{"child override wins over parent", map[string]logrecord.Level{"Http": logrecord.LevelTrace, "Http.Client": logrecord.LevelError}, "Http.Client", logrecord.LevelWarning, false},
		{"override raises above global", map[string]logrecord.Level{"Router": logrecord.LevelError}, "Router", logrecord.LevelWarning, false},
		{"names match case-insensitively", map[string]logrecord.Level{"http": logrecord.LevelTrace}, "Http.Client", logrecord.LevelTrace, true},
		{"other loggers keep global", map[string]logrecord.Level{"Http": logrecord.LevelTrace}, "Auth", logrecord.LevelDebug, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := sinktest.NewRecorder()
			m := sink.NewManager([]sink.Sink{rec})
			m.SetLoggerLevels(tt.overrides)
			l := m.Logger(tt.logger)
			assert.Equal(t, tt.want, l.Enabled(tt.level))
			assert.Equal(t, tt.want, m.Enabled(tt.logger, tt.level))
			l.Log(context.Background(), tt.level, "hello", nil)
			assert.Equal(t, map[bool]int{true: 1, false: 0}[tt.want], rec.Len())
		})
	}
}

func TestLevelChangesReachExistingLoggers(t *testing.T) {
	rec := sinktest.NewRecorder()
	m := sink.NewManager([]sink.Sink{rec})
	l := m.Logger("Http.Client")
	l.Debug("dropped 1")
	m.SetLoggerLevel("Http", logrecord.LevelDebug)
	l.Debug("kept 1")
	m.ClearLoggerLevel("HTTP")
	l.Debug("dropped 2")
	m.SetLevel(logrecord.LevelTrace)
	l.Trace("kept 2")
	m.SetLevel(logrecord.LevelError)
	l.Warn("dropped 3")
	assert.Equal(t, []string{"kept 1", "kept 2"}, messages(rec.Records()))
	assert.Equal(t, logrecord.LevelError, m.Level())
	assert.Empty(t, m.LoggerLevels())
}

func TestPerSinkLevels(t *testing.T) {
	all := sinktest.NewRecorder()
	errorsOnly := sinktest.NewRecorder()
	m := sink.NewManager([]sink.Sink{all, errorsOnly}, sink.WithLevel(logrecord.LevelDebug))
	require.True(t, m.SetSinkLevel(errorsOnly, logrecord.LevelError))
	require.False(t, m.SetSinkLevel(sinktest.NewRecorder(), logrecord.LevelError), "unknown sink")

	l := m.Logger("App")
	l.Debug("debug")
	l.Info("info")
	l.Error("error", errors.New("boom"))
	assert.Equal(t, []string{"debug", "info", "error"}, messages(all.Records()))
	assert.Equal(t, []string{"error"}, messages(errorsOnly.Records()))

	// With every sink above debug, a debug call is not even built.
	require.True(t, m.SetSinkLevel(all, logrecord.LevelWarning))
	assert.False(t, l.Enabled(logrecord.LevelInfo))
	assert.True(t, l.Enabled(logrecord.LevelWarning))
}

func TestFailingSinksAreIsolated(t *testing.T) {
	var reported sinktest.Errors
	before := sinktest.NewRecorder()
	panicking := sinktest.NewRecorder()
	panicking.Panic = "sink exploded"
	failing := sinktest.NewRecorder()
	failing.Err = errors.New("disk full")
	after := sinktest.NewRecorder()
	m := sink.NewManager([]sink.Sink{before, panicking, failing, after}, sink.WithOnError(reported.Add))

	require.NotPanics(t, func() { m.Logger("App").Info("still delivered") })

	assert.Equal(t, []string{"still delivered"}, messages(before.Records()))
	assert.Equal(t, []string{"still delivered"}, messages(after.Records()))
	errs := reported.All()
	require.Len(t, errs, 2, "each failure is reported once")
	var se *sink.SinkError
	require.ErrorAs(t, errs[0], &se)
	assert.Same(t, panicking, se.Sink)
	assert.Contains(t, errs[0].Error(), "sink exploded")
	require.ErrorAs(t, errs[1], &se)
	assert.Same(t, failing, se.Sink)
	assert.ErrorIs(t, errs[1], failing.Err)
}

func TestCloseThenWriteIgnored(t *testing.T) {
	var reported sinktest.Errors
	a, b := sinktest.NewRecorder(), sinktest.NewRecorder()
	m := sink.NewManager([]sink.Sink{a, b}, sink.WithOnError(reported.Add))
	l := m.Logger("App")
	l.Info("before")
	require.NoError(t, m.Close(t.Context()))
	require.NoError(t, m.Close(t.Context()), "second Close returns nil")
	l.Info("after")
	l.Error("after", errors.New("x"))
	m.Log(t.Context(), logrecord.New(time.Now(), logrecord.LevelError, "App", "after"))

	assert.Equal(t, []string{"before"}, messages(a.Records()))
	assert.Equal(t, 1, a.Closes())
	assert.Equal(t, 1, b.Closes())
	assert.False(t, m.Enabled("App", logrecord.LevelFatal))
	assert.Empty(t, reported.All())
}

// blockingSink blocks in Flush and Close until ctx is done, or forever if
// ignoreCtx is set.
type blockingSink struct {
	sinktest.Discard
	ignoreCtx bool
	release   chan struct{}
}

func (s *blockingSink) wait(ctx context.Context) error {
	if s.ignoreCtx {
		<-s.release
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

func (s *blockingSink) Flush(ctx context.Context) error { return s.wait(ctx) }
func (s *blockingSink) Close(ctx context.Context) error { return s.wait(ctx) }

func TestFlushAndCloseHonourDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fast := sinktest.NewRecorder()
		slow := &blockingSink{release: make(chan struct{})}
		stuck := &blockingSink{ignoreCtx: true, release: make(chan struct{})}
		m := sink.NewManager([]sink.Sink{fast, slow, stuck})

		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		start := time.Now()
		err := m.Flush(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 2*time.Second, time.Since(start))
		assert.Equal(t, 1, fast.Flushes())

		ctx2, cancel2 := context.WithTimeout(t.Context(), time.Second)
		defer cancel2()
		start = time.Now()
		assert.ErrorIs(t, m.Close(ctx2), context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start))
		assert.Equal(t, 1, fast.Closes())
		close(stuck.release) // let the contract-breaking sink's goroutines end
		synctest.Wait()
	})
}

func TestFlushJoinsErrors(t *testing.T) {
	bad := &flushErrSink{err: errors.New("flush failed")}
	good := sinktest.NewRecorder()
	m := sink.NewManager([]sink.Sink{bad, good})
	err := m.Flush(t.Context())
	assert.ErrorIs(t, err, bad.err)
	assert.Equal(t, 1, good.Flushes())
}

type flushErrSink struct {
	sinktest.Discard
	err error
}

func (s *flushErrSink) Flush(context.Context) error { return s.err }

func TestSanitizerRunsOnceBeforeEverySink(t *testing.T) {
	var calls atomic.Int32
	san := sink.SanitizerFunc(func(r logrecord.Record) logrecord.Record {
		calls.Add(1)
		r.Message = strings.ReplaceAll(r.Message, "hunter2", "[REDACTED]")
		return r
	})
	mem := sink.NewMemory(10)
	var console strings.Builder
	rec := sinktest.NewRecorder()
	m := sink.NewManager([]sink.Sink{mem, sink.NewConsole(&console, nil), rec}, sink.WithSanitizer(san))

	orig := logrecord.New(time.Now(), logrecord.LevelInfo, "Auth", "password is hunter2")
	m.Log(t.Context(), orig)

	assert.EqualValues(t, 1, calls.Load())
	assert.Equal(t, "password is hunter2", orig.Message, "caller's record untouched")
	assert.Equal(t, "password is [REDACTED]", mem.Records()[0].Message)
	assert.Equal(t, "password is [REDACTED]", rec.Records()[0].Message)
	assert.Contains(t, console.String(), "password is [REDACTED]")
	assert.NotContains(t, console.String(), "hunter2")
}

func TestPanickingSanitizerDropsRecord(t *testing.T) {
	var reported sinktest.Errors
	rec := sinktest.NewRecorder()
	san := sink.SanitizerFunc(func(r logrecord.Record) logrecord.Record {
		if strings.Contains(r.Message, "boom") {
			panic("rule failed")
		}
		return r
	})
	m := sink.NewManager([]sink.Sink{rec}, sink.WithSanitizer(san), sink.WithOnError(reported.Add))
	l := m.Logger("App")
	l.Info("boom secret")
	l.Info("fine")
	assert.Equal(t, []string{"fine"}, messages(rec.Records()))
	require.Len(t, reported.All(), 1)
	assert.Contains(t, reported.All()[0].Error(), "rule failed")
	assert.NotContains(t, reported.All()[0].Error(), "boom secret", "the report does not leak the record")
}

type ctxKey struct{}

func TestTraceExtractor(t *testing.T) {
	rec := sinktest.NewRecorder()
	m := sink.NewManager([]sink.Sink{rec}, sink.WithTraceExtractor(func(ctx context.Context) (string, string) {
		if v, ok := ctx.Value(ctxKey{}).([2]string); ok {
			return v[0], v[1]
		}
		return "", ""
	}))
	ctx := context.WithValue(t.Context(), ctxKey{}, [2]string{"4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"})
	l := m.Logger("Http")
	l.InfoContext(ctx, "with ids")
	l.Info("without ids")
	preset := logrecord.New(time.Now(), logrecord.LevelInfo, "Http", "preset")
	preset.TraceID = "0af7651916cd43dd8448eb211c80319c"
	m.Log(ctx, preset)

	rs := rec.Records()
	require.Len(t, rs, 3)
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", rs[0].TraceID)
	assert.Equal(t, "00f067aa0ba902b7", rs[0].SpanID)
	assert.Empty(t, rs[1].TraceID)
	assert.Equal(t, "0af7651916cd43dd8448eb211c80319c", rs[2].TraceID, "ids already on the record win")
}

func TestAddSink(t *testing.T) {
	first := sinktest.NewRecorder()
	m := sink.NewManager([]sink.Sink{first, nil})
	l := m.Logger("App")
	l.Info("one")
	second := sinktest.NewRecorder()
	m.AddSink(second)
	m.AddSink(nil)
	l.Info("two")
	assert.Equal(t, []string{"one", "two"}, messages(first.Records()))
	assert.Equal(t, []string{"two"}, messages(second.Records()))
}

// TestManagerConcurrentSafe logs from 8 goroutines while another goroutine
// keeps changing global, per-logger and per-sink levels. Run with -race.
func TestManagerConcurrentSafe(t *testing.T) {
	rec := sinktest.NewRecorder()
	mem := sink.NewMemory(100)
	m := sink.NewManager([]sink.Sink{rec, mem}, sink.WithOnError(func(err error) { t.Error(err) }))

	const workers, perWorker = 8, 500
	stop := make(chan struct{})
	var changer sync.WaitGroup
	changer.Go(func() {
		levels := logrecord.Levels()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			m.SetLevel(levels[i%len(levels)])
			m.SetLoggerLevel("Worker", levels[(i+2)%len(levels)])
			m.SetSinkLevel(mem, levels[(i+3)%len(levels)])
			if i%7 == 0 {
				m.SetLoggerLevels(map[string]logrecord.Level{"worker.3": logrecord.LevelTrace})
			}
		}
	})

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			l := m.Logger(fmt.Sprintf("Worker.%d", w))
			h := m.Handler("Slog")
			for i := range perWorker {
				l.Info("info", "i", i)
				l.Error("error", errors.New("e"), "i", i)
				_ = h.Enabled(t.Context(), 0)
			}
		})
	}
	wg.Wait()
	close(stop)
	changer.Wait()

	// Error records are above every level the changer sets except fatal, so
	// most get through; info records depend on timing. Every record that
	// got through is whole.
	rs := rec.Records()
	assert.NotEmpty(t, rs)
	for _, r := range rs {
		require.Contains(t, []string{"info", "error"}, r.Message)
		require.Equal(t, 1, r.NumAttrs())
	}
	require.NoError(t, m.Close(t.Context()))
}
