package breadcrumbs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/breadcrumbs"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC)

func rec(i int, logger string) logrecord.Record {
	return logrecord.New(t0.Add(time.Duration(i)*time.Second), logrecord.LevelInfo, logger, fmt.Sprint("m", i), slog.String("secret_detail", "x"))
}

func msgs(rs []logrecord.Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Message)
	}
	return out
}

func TestBeforeExcludesTheRecordItselfAndNewer(t *testing.T) {
	b := breadcrumbs.New(&breadcrumbs.Options{Capacity: 5})
	for i := range 8 {
		require.NoError(t, b.Write(t.Context(), rec(i, "Router")))
	}
	assert.Equal(t, 5, b.Len())
	tests := []struct {
		name   string
		before logrecord.Record
		n      int
		want   []string
	}{
		{"the newest is the error itself", rec(7, "Router"), 20, []string{"m3", "m4", "m5", "m6"}},
		{"n limits, keeping the most recent", rec(7, "Router"), 2, []string{"m5", "m6"}},
		{"an earlier record skips newer ones", rec(5, "Router"), 20, []string{"m3", "m4"}},
		{"a record not in the ring", rec(100, "Http"), 3, []string{"m5", "m6", "m7"}},
		{"zero n", rec(7, "Router"), 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, msgs(b.Before(tt.before, tt.n)))
		})
	}
}

func TestBreadcrumbsCarryCategoryOnly(t *testing.T) {
	b := breadcrumbs.New(nil)
	require.NoError(t, b.Write(t.Context(), rec(1, "Http.Client")))
	got := b.Before(rec(2, "App"), 20)
	require.Len(t, got, 1)
	assert.Equal(t, "network", got[0].Category())
	_, leaked := got[0].Attr("secret_detail")
	assert.False(t, leaked, "attributes are not kept")
}

func TestMinLevel(t *testing.T) {
	info := logrecord.LevelInfo
	b := breadcrumbs.New(&breadcrumbs.Options{MinLevel: &info})
	assert.Equal(t, logrecord.LevelInfo, b.MinLevel())
	d := rec(1, "App")
	d.Level = logrecord.LevelDebug
	require.NoError(t, b.Write(t.Context(), d))
	assert.Zero(t, b.Len())
	assert.Equal(t, logrecord.LevelDebug, breadcrumbs.New(nil).MinLevel(), "debug by default")
	require.NoError(t, b.Close(t.Context()))
	assert.ErrorIs(t, b.Write(t.Context(), rec(2, "App")), sink.ErrClosed)
}

// Through a Manager: an error's breadcrumbs are the records before it.
func TestThroughManager(t *testing.T) {
	b := breadcrumbs.New(nil)
	m := sink.NewManager([]sink.Sink{b})
	m.Logger("Router").Info("Navigated to /chat")
	m.Logger("Http").Info("POST /api/v1/chat")
	m.Logger("Http").Error("Request failed: 500", errors.New("HttpException: 500"))
	var errRec logrecord.Record
	m.AddSink(sinkFunc(func(r logrecord.Record) { errRec = r }))
	m.Logger("Http").Error("Request failed again", errors.New("HttpException: 500"))
	assert.Equal(t, []string{"Navigated to /chat", "POST /api/v1/chat", "Request failed: 500"}, msgs(b.Before(errRec, 20)))
}

type sinkFunc func(logrecord.Record)

func (f sinkFunc) Write(_ context.Context, r logrecord.Record) error { f(r); return nil }
func (sinkFunc) Flush(context.Context) error                         { return nil }
func (sinkFunc) Close(context.Context) error                         { return nil }

func TestBufferConcurrentSafe(t *testing.T) {
	b := breadcrumbs.New(&breadcrumbs.Options{Capacity: 10})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				_ = b.Write(context.Background(), rec(w*1000+i, "App"))
				_ = b.Before(rec(w*1000+i, "App"), 5)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 10, b.Len())
}

func ExampleBuffer_Before() {
	crumbs := breadcrumbs.New(nil)
	m := sink.NewManager([]sink.Sink{crumbs})
	m.Logger("Router").Info("Navigated to /chat")
	m.Logger("Auth").Info("Token refreshed")

	failure := logrecord.New(time.Now(), logrecord.LevelError, "Http", "Request failed: 500")
	for _, c := range crumbs.Before(failure, 20) {
		fmt.Println(c.Category(), c.Logger, c.Message)
	}
	// Output:
	// ui Router Navigated to /chat
	// user Auth Token refreshed
}
