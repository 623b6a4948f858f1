package sink_test

import (
	"errors"
	"log/slog"
	"testing"
	"testing/slogtest"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHandlerConformance(t *testing.T) {
	var m *sink.Manager
	var mem *sink.Memory
	slogtest.Run(t,
		func(t *testing.T) slog.Handler {
			mem = sink.NewMemory(10)
			m = sink.NewManager([]sink.Sink{mem}, sink.WithLevel(logrecord.LevelTrace))
			return m.Handler("Slog")
		},
		func(t *testing.T) map[string]any {
			rs := mem.Records()
			require.Len(t, rs, 1)
			r := rs[0]
			out := attrMap(r)
			if !r.Time.IsZero() {
				out[slog.TimeKey] = r.Time
			}
			out[slog.LevelKey] = r.Level.Slog()
			out[slog.MessageKey] = r.Message
			return out
		})
}

func TestHandlerGroupsAndAttrs(t *testing.T) {
	m, rec := newRecording(t)
	h := m.Handler("Http")
	base := slog.New(h).With("service", "billing")
	req := base.WithGroup("request").With("method", "GET")
	a := req.With("id", 1)
	b := req.With("id", 2) // must not share a backing array with a
	a.Info("a", "status", 200)
	b.Info("b", slog.Group("retry", "n", 2))
	req.WithGroup("empty").Info("c")
	base.Info("d", slog.Group("", "inline", true), slog.Group("nothing"))

	rs := rec.Records()
	require.Len(t, rs, 4)
	assert.Equal(t, map[string]any{"service": "billing", "request": map[string]any{"method": "GET", "id": int64(1), "status": int64(200)}}, attrMap(rs[0]))
	assert.Equal(t, map[string]any{"service": "billing", "request": map[string]any{"method": "GET", "id": int64(2), "retry": map[string]any{"n": int64(2)}}}, attrMap(rs[1]))
	assert.Equal(t, map[string]any{"service": "billing", "request": map[string]any{"method": "GET"}}, attrMap(rs[2]))
	assert.Equal(t, map[string]any{"service": "billing", "inline": true}, attrMap(rs[3]))
	for _, r := range rs {
		assert.Equal(t, "Http", r.Logger)
	}
}

func TestHandlerLevelsAndErrors(t *testing.T) {
	m, rec := newRecording(t)
	l := slog.New(m.Handler("App"))
	l.Log(t.Context(), slog.Level(-8), "trace")
	l.Warn("warn")
	l.Error("failed", "err", errors.New("HttpException: 500"), "url", "/x")
	l.Log(t.Context(), slog.Level(12), "fatal", "error", errors.New("crash"))

	rs := rec.Records()
	require.Len(t, rs, 4)
	assert.Equal(t, logrecord.LevelTrace, rs[0].Level)
	assert.Equal(t, logrecord.LevelWarning, rs[1].Level)
	assert.Equal(t, logrecord.LevelError, rs[2].Level)
	assert.Equal(t, "HttpException: 500", rs[2].Error)
	assert.Equal(t, map[string]any{"url": "/x"}, attrMap(rs[2]), "the error moves to the error field")
	assert.NotEmpty(t, rs[2].StackTrace)
	assert.Equal(t, logrecord.LevelFatal, rs[3].Level)
	assert.Equal(t, "crash", rs[3].Error)
}

func TestHandlerEnabledFollowsManager(t *testing.T) {
	m, _ := newRecording(t)
	h := m.Handler("Http.Client")
	m.SetLevel(logrecord.LevelWarning)
	assert.False(t, h.Enabled(t.Context(), slog.LevelInfo))
	assert.False(t, h.Enabled(t.Context(), slog.LevelWarn-1))
	assert.True(t, h.Enabled(t.Context(), slog.LevelWarn))
	m.SetLoggerLevel("Http", logrecord.LevelDebug)
	assert.True(t, h.Enabled(t.Context(), slog.LevelDebug))
}

type panicValuer struct{}

func (panicValuer) LogValue() slog.Value { panic("no value") }

func TestHandlerSurvivesPanickingLogValuer(t *testing.T) {
	m, rec := newRecording(t)
	l := slog.New(m.Handler("App"))
	require.NotPanics(t, func() { l.Info("msg", "v", panicValuer{}) })
	require.NotPanics(t, func() { l.With("w", panicValuer{}).Info("msg") })
	rs := rec.Records()
	require.Len(t, rs, 2)
	v, ok := rs[0].Attr("v")
	require.True(t, ok)
	assert.Contains(t, v.String(), "no value")
}

func TestHandlerDirectHandleBelowLevel(t *testing.T) {
	m, rec := newRecording(t)
	m.SetLevel(logrecord.LevelError)
	h := m.Handler("App")
	require.NoError(t, h.Handle(t.Context(), slog.NewRecord(time.Now(), slog.LevelInfo, "ignored", 0)))
	assert.Zero(t, rec.Len())
}
