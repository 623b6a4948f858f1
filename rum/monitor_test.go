package rum

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewValidates(t *testing.T) {
	log := sink.NewManager(nil).Logger("rum")
	tests := []struct {
		name  string
		opts  Options
		field string
	}{
		{"SlowRequest", Options{SlowRequest: -1}, "Options.SlowRequest"},
		{"SlowCall", Options{SlowCall: -1}, "Options.SlowCall"},
		{"SlowOperation", Options{SlowOperation: -1}, "Options.SlowOperation"},
		{"SlowStart", Options{SlowStart: -1}, "Options.SlowStart"},
		{"SummaryInterval", Options{SummaryInterval: -time.Second}, "Options.SummaryInterval"},
		{"StallThreshold", Options{StallThreshold: -1}, "Options.StallThreshold"},
		{"SampleInterval", Options{SampleInterval: -1}, "Options.SampleInterval"},
		{"Warnings", Options{Warnings: -1}, "Options.Warnings"},
		{"MaxSeries", Options{MaxSeries: -1}, "Options.MaxSeries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(log, tt.opts)
			require.Error(t, err)
			assert.Nil(t, m)
			assert.Contains(t, err.Error(), tt.field)
		})
	}
	_, err := New(nil, Options{})
	assert.ErrorIs(t, err, ErrNilLogger)
}

func TestOptionsDefaults(t *testing.T) {
	o, err := Options{}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, Options{
		SlowRequest: DefaultSlowRequest, SlowCall: DefaultSlowCall, SlowOperation: DefaultSlowOperation,
		SlowStart: DefaultSlowStart, SummaryInterval: DefaultSummaryInterval, Warnings: DefaultWarnings,
		MaxSeries: DefaultMaxSeries, StallThreshold: DefaultStallThreshold, SampleInterval: DefaultSampleInterval,
	}, o)
	assert.Equal(t, 16*time.Millisecond, o.StallThreshold)
}

// TestCloseStopsEverything relies on synctest, which fails the test if a
// goroutine the Monitor started is still running when the bubble ends.
func TestCloseStopsEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Options{}, deps{})
		h.StartSampler()
		require.NoError(t, h.Close(t.Context()))
		require.NoError(t, h.Close(t.Context()), "a second Close returns nil")
	})
}

func TestCloseWithEndedContextSkipsFinalSummaries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		block := make(chan struct{})
		h := newHarness(t, Options{}, deps{})
		h.mgr.AddSink(blockingSink{block})
		h.Time(t.Context(), "op")()
		h.Time(t.Context(), "other")()

		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		errc := make(chan error)
		go func() { errc <- h.Close(ctx) }()
		synctest.Wait() // the summary goroutine is stuck in the first summary
		time.Sleep(time.Second)
		synctest.Wait()
		close(block)
		assert.ErrorIs(t, <-errc, context.DeadlineExceeded)
		assert.Len(t, h.records(metricOpSummary), 1, "summaries after the deadline are skipped")
	})
}

// blockingSink holds every Write until its channel is closed.
type blockingSink struct{ c chan struct{} }

func (s blockingSink) Write(context.Context, logrecord.Record) error { <-s.c; return nil }
func (s blockingSink) Flush(context.Context) error                   { return nil }
func (s blockingSink) Close(context.Context) error                   { return nil }

// TestNoGoroutineLeft looks, outside a bubble and with the real
// runtime/metrics reader, for goroutines running this package's code
// after Close.
func TestNoGoroutineLeft(t *testing.T) {
	for range 5 {
		m, err := New(sink.NewManager(nil).Logger("rum"), Options{SampleInterval: time.Millisecond, SummaryInterval: time.Millisecond})
		require.NoError(t, err)
		m.StartSampler()
		require.Contains(t, allStacks(), "created by github.com/soliplex/fieldlog/rum.(*Monitor).StartSampler")
		require.NoError(t, m.Close(t.Context()))
	}
	// A goroutine that has signalled its owner may take a moment to exit.
	require.Eventually(t, func() bool { return !strings.Contains(allStacks(), "created by github.com/soliplex/fieldlog/rum.") }, 5*time.Second, time.Millisecond,
		"goroutines left:\n%s", allStacks())
}

func allStacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

func TestTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Options{SlowOperation: time.Second}, deps{})
		ctx := NewContext(t.Context(), h.Monitor)
		require.Same(t, h.Monitor, FromContext(ctx))

		func() {
			defer Time(ctx, "checkout")()
			time.Sleep(1500 * time.Millisecond)
		}()
		r := h.one(t, metricOp)
		assert.Equal(t, logrecord.LevelWarning, r.Level)
		assert.Equal(t, "rum.op", r.Logger)
		assert.Equal(t, "slow operation", r.Message)
		assert.Equal(t, map[string]any{"metric": metricOp, "ms": 1500.0, "op": "checkout"}, attrs(r))

		func() {
			defer Time(ctx, "checkout")()
			time.Sleep(500 * time.Millisecond)
		}()
		assert.Len(t, h.records(metricOp), 1, "fast runs are only counted")

		h.mgr.SetLoggerLevel("rum.op", logrecord.LevelDebug)
		h.Time(ctx, "checkout")()
		assert.Len(t, h.records(metricOp), 2, "every run at debug when enabled")

		h.close(t)
		sum := attrs(h.one(t, metricOpSummary))
		assert.Equal(t, map[string]any{
			"metric": metricOpSummary, "op": "checkout", "count": uint64(3), "ms": 666.666,
			"p50_ms": 524.288, "p95_ms": 1500.0, "p99_ms": 1500.0, "max_ms": 1500.0,
			"slow": uint64(1), "suppressed": uint64(0), "window_ms": 2000.0,
		}, sum)
	})
}

func TestNilMonitorMeasuresNothing(t *testing.T) {
	var m *Monitor
	h := http.NotFoundHandler()
	assert.Equal(t, fmt.Sprint(h), fmt.Sprint(m.Middleware(h)), "the handler as it is")
	assert.Same(t, http.DefaultTransport, m.Transport(nil))
	m.Phase("config")
	m.Ready()
	m.StartSampler()
	m.Time(context.Background(), "op")()
	assert.NoError(t, m.Close(context.Background()))
}

func TestTimeWithoutMonitor(t *testing.T) {
	assert.Nil(t, FromContext(context.Background()))
	//lint:ignore SA1012 a nil context is tolerated
	assert.Nil(t, FromContext(nil))
	Time(context.Background(), "nothing")()
	var m *Monitor
	m.Time(context.Background(), "nothing")()
}
