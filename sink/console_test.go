package sink_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConsoleFormat(t *testing.T) {
	ts := time.Date(2026, 2, 6, 12, 0, 0, 123e6, time.UTC)
	tests := []struct {
		name string
		give logrecord.Record
		want string
	}{
		{
			name: "attributes and error",
			give: func() logrecord.Record {
				r := logrecord.New(ts, logrecord.LevelError, "Http", "Request failed: 500",
					slog.String("url", "/api/v1/chat"), slog.Int("status", 500), slog.Group("retry", slog.Int("n", 2)))
				r.Error = "HttpException: 500"
				return r
			}(),
			want: `2026-02-06T12:00:00.123Z ERROR Http: Request failed: 500 url=/api/v1/chat status=500 retry.n=2 error="HttpException: 500"` + "\n",
		},
		{
			name: "quoting and ids",
			give: func() logrecord.Record {
				r := logrecord.New(ts, logrecord.LevelInfo, "", "hi", slog.String("q", "a b"), slog.String("e", ""),
					slog.Any("err", errors.New("x=y")), slog.Time("at", ts), slog.String("bad", "\xff"))
				r.TraceID, r.SpanID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
				return r
			}(),
			want: `2026-02-06T12:00:00.123Z INFO hi q="a b" e="" err="x=y" at=2026-02-06T12:00:00.123Z bad="\xff" trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7` + "\n",
		},
		{
			name: "stack indented, no time",
			give: func() logrecord.Record {
				r := logrecord.New(time.Time{}, logrecord.LevelFatal, "App", "crash")
				r.StackTrace = "goroutine 1 [running]:\nmain.main()\n\t/src/main.go:10 +0x1d"
				return r
			}(),
			want: "FATAL App: crash\n    goroutine 1 [running]:\n    main.main()\n    \t/src/main.go:10 +0x1d\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			c := sink.NewConsole(&b, nil)
			require.NoError(t, c.Write(t.Context(), tt.give))
			assert.Equal(t, tt.want, b.String())
		})
	}
}

func TestConsoleOptionsAndClose(t *testing.T) {
	var b strings.Builder
	c := sink.NewConsole(&b, &sink.ConsoleOptions{TimeFormat: time.Kitchen, NoStack: true})
	r := logrecord.New(time.Date(2026, 2, 6, 15, 4, 0, 0, time.UTC), logrecord.LevelError, "App", "x")
	r.StackTrace = "goroutine 1 [running]:"
	require.NoError(t, c.Write(t.Context(), r))
	assert.Equal(t, "3:04PM ERROR App: x\n", b.String())
	require.NoError(t, c.Flush(t.Context()))
	require.NoError(t, c.Close(t.Context()))
	assert.ErrorIs(t, c.Write(t.Context(), r), sink.ErrClosed)
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestConsoleReportsWriterError(t *testing.T) {
	c := sink.NewConsole(failingWriter{}, nil)
	assert.ErrorContains(t, c.Write(t.Context(), logrecord.Record{}), "broken pipe")
}
