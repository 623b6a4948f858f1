package backendsink

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/internal/wire"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sanitizer"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logPath is one way a caller's values reach the Manager.
type logPath struct {
	name string
	log  func(ctx context.Context, m *sink.Manager, level logrecord.Level, msg string, attrs []slog.Attr)
}

var logPaths = []logPath{
	{"facade", func(ctx context.Context, m *sink.Manager, level logrecord.Level, msg string, attrs []slog.Attr) {
		args := make([]any, len(attrs))
		for i, a := range attrs {
			args[i] = a
		}
		m.Logger("Hostile").Log(ctx, level, msg, nil, args...)
	}},
	{"slog handler", func(ctx context.Context, m *sink.Manager, level logrecord.Level, msg string, attrs []slog.Attr) {
		slog.New(m.Handler("Hostile")).LogAttrs(ctx, level.Slog(), msg, attrs...)
	}},
	{"Manager.Log", func(ctx context.Context, m *sink.Manager, level logrecord.Level, msg string, attrs []slog.Attr) {
		m.Log(ctx, logrecord.New(time.Now(), level, "Hostile", msg, attrs...))
	}},
}

// TestHostileValues logs each hostile case through the facade, a
// slog.Logger on the handler and Manager.Log, with and without the
// sanitizer, and reads what the sink sends with the reference server's
// strict decoder: every record is accepted, with its message and level
// and the attribute shapes each case expects, and nothing crashes.
func TestHostileValues(t *testing.T) {
	levels := []logrecord.Level{logrecord.LevelInfo, logrecord.LevelWarning, logrecord.LevelError, logrecord.LevelFatal}
	for _, path := range logPaths {
		for _, sanitized := range []bool{false, true} {
			name := path.name
			if sanitized {
				name += " sanitized"
			}
			t.Run(name, func(t *testing.T) {
				in := sinktest.NewIngest()
				s, reported := newTestSink(t, Options{Client: in.Client(), FlushInterval: time.Hour}, newMemStore())
				failures := &sinktest.Errors{}
				opts := []sink.Option{sink.WithLevel(logrecord.LevelTrace), sink.WithOnError(failures.Add)}
				if sanitized {
					opts = append(opts, sink.WithSanitizer(sanitizer.Default()))
				}
				m := sink.NewManager([]sink.Sink{s}, opts...)
				for i, c := range sinktest.HostileCases() {
					t.Run(c.Name, func(t *testing.T) {
						level, msg := levels[i%len(levels)], "hostile: "+c.Name
						before := len(in.Bodies())
						require.NotPanics(t, func() { path.log(t.Context(), m, level, msg, c.Attrs()) })
						require.NoError(t, s.Flush(t.Context()))
						bodies := in.Bodies()[before:]
						require.Len(t, bodies, 1)
						_, err := sinktest.CheckJSON(bodies[0])
						require.NoError(t, err)
						p, err := ingest.Decoder{Mode: ingest.Strict}.DecodeBytes(bodies[0])
						require.NoError(t, err, "the strict server refuses the batch")
						require.Len(t, p.Logs, 1)
						e := p.Logs[0]
						assert.Equal(t, msg, e.Message)
						assert.Equal(t, wire.LevelName(level), e.Level)
						c.Check(t, e.Attributes, sanitized)
					})
				}
				require.NoError(t, m.Close(t.Context()))
				assert.Empty(t, failures.All(), "no sink or sanitizer failed")
				assert.Empty(t, reported.All(), "the sink reported nothing")
			})
		}
	}
}

// TestHostileRecordFields covers what only a record built by hand can
// carry: times the wire cannot carry and ids that are not hex, on the
// record and on its breadcrumbs. The sink repairs them and says so.
func TestHostileRecordFields(t *testing.T) {
	in := sinktest.NewIngest()
	crumbs := breadcrumbSourceFunc(func(r logrecord.Record, n int) []logrecord.Record {
		return []logrecord.Record{
			logrecord.New(time.Time{}, logrecord.LevelInfo, "Router", "zero time"),
			logrecord.New(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), logrecord.LevelInfo, "Router", "year 10000"),
			logrecord.New(r.Time, logrecord.LevelInfo, "Router", "fine"),
		}
	})
	s, _ := newTestSink(t, Options{Client: in.Client(), FlushInterval: time.Hour, Breadcrumbs: crumbs}, newMemStore())
	m := sink.NewManager([]sink.Sink{s})
	tests := []struct {
		name            string
		when            time.Time
		trace, span     string
		wantOrigTime    string
		wantTrace, want string
	}{
		{name: "zero time", when: time.Time{}, wantOrigTime: "0001-01-01T00:00:00Z"},
		{name: "year 0", when: time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC), wantOrigTime: "0000-06-01T00:00:00Z"},
		{name: "year 10000", when: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), wantOrigTime: "10000-01-01T00:00:00Z"},
		{name: "upper-case trace id", when: t0, trace: "4BF92F3577B34DA6A3CE929D0E0E4736", span: "00f067aa0ba902b7"},
		{name: "short span id", when: t0, trace: "4bf92f3577b34da6a3ce929d0e0e4736", span: "00f0"},
		{name: "text as ids", when: t0, trace: "not an id \xff", span: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(in.Bodies())
			r := logrecord.New(tt.when, logrecord.LevelError, "Http", tt.name)
			r.TraceID, r.SpanID = tt.trace, tt.span
			start := time.Now()
			m.Log(t.Context(), r)
			require.NoError(t, s.Flush(t.Context()))
			bodies := in.Bodies()[before:]
			require.Len(t, bodies, 1)
			p, err := ingest.Decoder{Mode: ingest.Strict}.DecodeBytes(bodies[0])
			require.NoError(t, err, "the record and its breadcrumbs are accepted")
			e := p.Logs[0]
			assert.Equal(t, tt.name, e.Message)
			require.Len(t, e.Breadcrumbs, 3, "a breadcrumb never makes its record invalid")
			assert.Contains(t, e.Attributes[invalidBreadcrumbsKey], map[string]any{"index": jsonNum(0), "timestamp": "0001-01-01T00:00:00Z"})
			if tt.wantOrigTime != "" {
				assert.Equal(t, tt.wantOrigTime, e.Attributes[invalidTimestampKey])
				got, ok := ingest.ParseTimestamp(e.Timestamp)
				require.True(t, ok)
				assert.WithinDuration(t, start, got, time.Minute, "the hand-over time")
			} else {
				assert.Equal(t, t0.Format(wire.TimestampLayout), e.Timestamp)
				assert.NotContains(t, e.Attributes, invalidTimestampKey)
			}
			checkID := func(got *string, orig, key string, valid func(string) bool) {
				if orig == "" {
					assert.Nil(t, got)
					assert.NotContains(t, e.Attributes, key)
					return
				}
				if valid(orig) {
					require.NotNil(t, got)
					assert.Equal(t, orig, *got)
					assert.NotContains(t, e.Attributes, key)
					return
				}
				assert.Nil(t, got, "sent as null")
				assert.Equal(t, strings.ToValidUTF8(orig, "\uFFFD"), e.Attributes[key], "the original is kept")
			}
			checkID(e.TraceID, tt.trace, invalidTraceIDKey, wire.ValidTraceID)
			checkID(e.SpanID, tt.span, invalidSpanIDKey, wire.ValidSpanID)
		})
	}
	require.NoError(t, m.Close(t.Context()))
}

func jsonNum(n int) any { return json.Number(strconv.Itoa(n)) }
