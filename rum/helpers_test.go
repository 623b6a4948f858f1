package rum

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/require"
)

// harness is a Monitor logging to a recorder, with its process-level
// inputs replaced: the process started when the harness was made, and the
// cold start has not been logged.
type harness struct {
	*Monitor
	rec *sinktest.Recorder
	mgr *sink.Manager
}

func newHarness(t testing.TB, opts Options, d deps) *harness {
	t.Helper()
	rec := sinktest.NewRecorder()
	mgr := sink.NewManager([]sink.Sink{rec}, sink.WithLevel(logrecord.LevelInfo))
	if d.start == nil {
		at := time.Now()
		d.start = func() startInfo { return startInfo{at: at, source: "test"} }
	}
	if d.startOnce == nil {
		d.startOnce = new(atomic.Bool)
	}
	if d.readRuntime == nil {
		d.readRuntime = func(*reading) {}
	}
	m, err := newMonitor(mgr.Logger("rum"), opts, d)
	require.NoError(t, err)
	return &harness{Monitor: m, rec: rec, mgr: mgr}
}

// close closes the Monitor, so its final summaries are recorded.
func (h *harness) close(t testing.TB) {
	t.Helper()
	require.NoError(t, h.Close(context.Background()))
}

// records returns the records whose metric attribute is metric.
func (h *harness) records(metric string) []logrecord.Record {
	var out []logrecord.Record
	for _, r := range h.rec.Records() {
		if v, ok := r.Attr("metric"); ok && v.String() == metric {
			out = append(out, r)
		}
	}
	return out
}

// one returns the only record with the given metric.
func (h *harness) one(t testing.TB, metric string) logrecord.Record {
	t.Helper()
	rs := h.records(metric)
	require.Len(t, rs, 1, "records with metric %s", metric)
	return rs[0]
}

// attrs returns a record's top-level attributes as plain values; groups
// become map[string]any.
func attrs(r logrecord.Record) map[string]any {
	out := map[string]any{}
	for a := range r.Attrs {
		out[a.Key] = plain(a.Value)
	}
	return out
}

func plain(v slog.Value) any {
	if v.Kind() != slog.KindGroup {
		return v.Any()
	}
	g := map[string]any{}
	for _, a := range v.Group() {
		g[a.Key] = plain(a.Value)
	}
	return g
}
