package sink_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHostileValuesThroughEveryPath: no caller value crashes the facade,
// the slog handler (with groups open, which add depth) or Manager.Log,
// and the console sink writes every record.
func TestHostileValuesThroughEveryPath(t *testing.T) {
	var console strings.Builder
	mem := sink.NewMemory(100)
	failures := &sinktest.Errors{}
	m := sink.NewManager([]sink.Sink{mem, sink.NewConsole(&console, &sink.ConsoleOptions{NoTime: true})},
		sink.WithLevel(logrecord.LevelTrace), sink.WithOnError(failures.Add))
	grouped := slog.New(m.Handler("Hostile")).WithGroup("a").With("bound", "x").WithGroup("b")
	ctx := context.Background()
	for _, c := range sinktest.HostileCases() {
		t.Run(c.Name, func(t *testing.T) {
			mem.Clear()
			console.Reset()
			args := make([]any, 0, len(c.Attrs()))
			for _, a := range c.Attrs() {
				args = append(args, a)
			}
			require.NotPanics(t, func() {
				m.Logger("Hostile").Warn("facade", args...)
				grouped.LogAttrs(ctx, slog.LevelWarn, "handler", c.Attrs()...)
				m.Log(ctx, logrecord.New(time.Now(), logrecord.LevelWarning, "Hostile", "manager", c.Attrs()...))
			})
			require.Equal(t, 3, mem.Len())
			for _, r := range mem.Records() {
				for a := range r.Attrs {
					assert.LessOrEqual(t, depth(a.Value), logrecord.MaxDepth, "%s: %s", r.Message, a.Key)
				}
			}
			assert.Equal(t, 3, strings.Count(console.String(), "WARN Hostile: "))
		})
	}
	require.NoError(t, m.Close(ctx))
	assert.Empty(t, failures.All())
}

// depth counts the groups and lists nested in a record's value.
func depth(v slog.Value) int {
	switch v.Kind() {
	case slog.KindGroup:
		d := 0
		for _, a := range v.Group() {
			d = max(d, depth(a.Value))
		}
		return d + 1
	case slog.KindAny:
		return sinktest.Depth(logrecord.Data(v))
	}
	return 0
}
