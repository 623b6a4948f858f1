package sink_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newRecording(t *testing.T, opts ...sink.Option) (*sink.Manager, *sinktest.Recorder) {
	t.Helper()
	rec := sinktest.NewRecorder()
	m := sink.NewManager([]sink.Sink{rec}, append([]sink.Option{sink.WithLevel(logrecord.LevelTrace)}, opts...)...)
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m, rec
}

func attrMap(r logrecord.Record) map[string]any {
	out := map[string]any{}
	for a := range r.Attrs {
		out[a.Key] = attrValue(a.Value)
	}
	return out
}

func attrValue(v slog.Value) any {
	v = v.Resolve()
	if v.Kind() != slog.KindGroup {
		return v.Any()
	}
	m := map[string]any{}
	for _, a := range v.Group() {
		m[a.Key] = attrValue(a.Value)
	}
	return m
}

func TestLoggerArguments(t *testing.T) {
	tests := []struct {
		name string
		args []any
		want map[string]any
	}{
		{"pairs", []any{"url", "/api", "status", 500}, map[string]any{"url": "/api", "status": int64(500)}},
		{"attrs", []any{slog.Bool("ok", true), slog.Group("retry", "n", 2)}, map[string]any{"ok": true, "retry": map[string]any{"n": int64(2)}}},
		{"mixed", []any{"a", 1, slog.String("b", "x")}, map[string]any{"a": int64(1), "b": "x"}},
		{"dangling key", []any{"a", 1, "orphan"}, map[string]any{"a": int64(1), "!BADKEY": "orphan"}},
		{"value without key", []any{42}, map[string]any{"!BADKEY": int64(42)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, rec := newRecording(t)
			m.Logger("App").Info("msg", tt.args...)
			rs := rec.Records()
			require.Len(t, rs, 1)
			assert.Equal(t, tt.want, attrMap(rs[0]))
		})
	}
}

func TestLoggerLevelsAndFields(t *testing.T) {
	m, rec := newRecording(t)
	l := m.Logger("Http")
	ctx := t.Context()
	l.Trace("t")
	l.Debug("d")
	l.Info("i")
	l.Warn("w")
	l.Error("e", errors.New("HttpException: 500"))
	l.Fatal("f", nil)
	l.TraceContext(ctx, "tc")
	l.DebugContext(ctx, "dc")
	l.InfoContext(ctx, "ic")
	l.WarnContext(ctx, "wc")
	l.ErrorContext(ctx, "ec", nil)
	l.FatalContext(ctx, "fc", errors.New("out of memory"))
	l.Log(ctx, logrecord.Level(slog.LevelInfo+2), "between", nil)

	rs := rec.Records()
	require.Len(t, rs, 13)
	want := []logrecord.Level{
		logrecord.LevelTrace, logrecord.LevelDebug, logrecord.LevelInfo, logrecord.LevelWarning, logrecord.LevelError, logrecord.LevelFatal,
		logrecord.LevelTrace, logrecord.LevelDebug, logrecord.LevelInfo, logrecord.LevelWarning, logrecord.LevelError, logrecord.LevelFatal,
		logrecord.LevelInfo,
	}
	for i, r := range rs {
		assert.Equal(t, want[i], r.Level, r.Message)
		assert.Equal(t, "Http", r.Logger)
		assert.False(t, r.Time.IsZero())
		assert.Equal(t, r.Level >= logrecord.LevelError, r.StackTrace != "", "stack only at error and above: %s", r.Message)
	}
	assert.Equal(t, "HttpException: 500", rs[4].Error)
	assert.Empty(t, rs[5].Error)
	assert.Equal(t, "out of memory", rs[11].Error)
}

func TestErrorStackStartsAtCaller(t *testing.T) {
	m, rec := newRecording(t)
	m.Logger("App").Error("failed", errors.New("boom"))
	slog.New(m.Handler("Slog")).Error("failed via slog")

	for _, r := range rec.Records() {
		lines := strings.Split(r.StackTrace, "\n")
		require.GreaterOrEqual(t, len(lines), 3, r.StackTrace)
		assert.True(t, strings.HasPrefix(lines[0], "goroutine "), lines[0])
		assert.True(t, strings.HasPrefix(lines[1], "github.com/soliplex/fieldlog/sink_test.TestErrorStackStartsAtCaller"), "first frame is the caller, got %q", lines[1])
		assert.Contains(t, lines[2], "logger_test.go:")
		assert.NotContains(t, r.StackTrace, "fieldlog/sink.(*")
		assert.NotContains(t, r.StackTrace, "log/slog.")
	}
}

type nilPtrError struct{ msg string }

func (e *nilPtrError) Error() string { return e.msg }

func TestPanickingErrorMethod(t *testing.T) {
	m, rec := newRecording(t)
	var err *nilPtrError // non-nil error interface holding a nil pointer
	require.NotPanics(t, func() { m.Logger("App").Error("failed", err) })
	rs := rec.Records()
	require.Len(t, rs, 1)
	assert.Contains(t, rs[0].Error, "!PANIC")
}

func TestWithAndNamed(t *testing.T) {
	m, rec := newRecording(t)
	base := m.Logger("Http").With("service", "billing")
	a := base.With("req", 1)
	b := base.With("req", 2)
	child := a.Named("Client")
	a.Info("a")
	b.Info("b")
	child.Info("c")
	base.With().Info("d")

	rs := rec.Records()
	require.Len(t, rs, 4)
	assert.Equal(t, map[string]any{"service": "billing", "req": int64(1)}, attrMap(rs[0]))
	assert.Equal(t, map[string]any{"service": "billing", "req": int64(2)}, attrMap(rs[1]))
	assert.Equal(t, "Http.Client", rs[2].Logger)
	assert.Equal(t, "Http.Client", child.Name())
	assert.Equal(t, map[string]any{"service": "billing", "req": int64(1)}, attrMap(rs[2]))
	assert.Equal(t, map[string]any{"service": "billing"}, attrMap(rs[3]))
	assert.Equal(t, "Root", m.Logger("").Named("Root").Name())
}
