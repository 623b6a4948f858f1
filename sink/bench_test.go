package sink_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
)

// The benchmarks log a message with three attributes. The peer is
// slog.NewJSONHandler(io.Discard), measured in the same run.

func benchManager() *sink.Manager {
	return sink.NewManager([]sink.Sink{sinktest.Discard{}}, sink.WithOnError(func(error) {}))
}

var errBench = errors.New("HttpException: 500")

func BenchmarkLog(b *testing.B) {
	ctx := context.Background()
	b.Run("peer=slogJSON", func(b *testing.B) {
		l := slog.New(slog.NewJSONHandler(io.Discard, nil))
		b.ReportAllocs()
		for b.Loop() {
			l.Info("Request sent", "url", "/api/v1/chat", "status", 200, "attempt", 2)
		}
	})
	b.Run("facade", func(b *testing.B) {
		l := benchManager().Logger("Http")
		b.ReportAllocs()
		for b.Loop() {
			l.Info("Request sent", "url", "/api/v1/chat", "status", 200, "attempt", 2)
		}
	})
	b.Run("slogHandler", func(b *testing.B) {
		l := slog.New(benchManager().Handler("Http"))
		b.ReportAllocs()
		for b.Loop() {
			l.Info("Request sent", "url", "/api/v1/chat", "status", 200, "attempt", 2)
		}
	})
	b.Run("manager", func(b *testing.B) {
		m := benchManager()
		b.ReportAllocs()
		for b.Loop() {
			m.Log(ctx, logrecord.New(time.Now(), logrecord.LevelInfo, "Http", "Request sent",
				slog.String("url", "/api/v1/chat"), slog.Int("status", 200), slog.Int("attempt", 2)))
		}
	})
	b.Run("peer=slogJSON/disabled", func(b *testing.B) {
		l := slog.New(slog.NewJSONHandler(io.Discard, nil))
		b.ReportAllocs()
		for b.Loop() {
			l.Debug("Request sent", "url", "/api/v1/chat", "status", 200, "attempt", 2)
		}
	})
	b.Run("facade/disabled", func(b *testing.B) {
		l := benchManager().Logger("Http")
		b.ReportAllocs()
		for b.Loop() {
			l.Debug("Request sent", "url", "/api/v1/chat", "status", 200, "attempt", 2)
		}
	})
	b.Run("facade/disabled/noAttrs", func(b *testing.B) {
		l := benchManager().Logger("Http")
		b.ReportAllocs()
		for b.Loop() {
			l.Debug("Request sent")
		}
	})
	b.Run("slogHandler/disabled", func(b *testing.B) {
		l := slog.New(benchManager().Handler("Http"))
		b.ReportAllocs()
		for b.Loop() {
			l.Debug("Request sent", "url", "/api/v1/chat", "status", 200, "attempt", 2)
		}
	})
	b.Run("facade/error", func(b *testing.B) {
		l := benchManager().Logger("Http")
		b.ReportAllocs()
		for b.Loop() {
			l.Error("Request failed", errBench, "url", "/api/v1/chat", "status", 500, "attempt", 2)
		}
	})
}

func BenchmarkLogParallel(b *testing.B) {
	b.Run("peer=slogJSON", func(b *testing.B) {
		l := slog.New(slog.NewJSONHandler(io.Discard, nil))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Info("Request sent", "url", "/api/v1/chat", "status", 200, "attempt", 2)
			}
		})
	})
	b.Run("facade", func(b *testing.B) {
		l := benchManager().Logger("Http")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Info("Request sent", "url", "/api/v1/chat", "status", 200, "attempt", 2)
			}
		})
	})
	b.Run("slogHandler", func(b *testing.B) {
		l := slog.New(benchManager().Handler("Http"))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Info("Request sent", "url", "/api/v1/chat", "status", 200, "attempt", 2)
			}
		})
	})
	b.Run("facade/disabled", func(b *testing.B) {
		l := benchManager().Logger("Http")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Debug("Request sent", "url", "/api/v1/chat", "status", 200, "attempt", 2)
			}
		})
	})
}

func TestAllocationBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	l := benchManager().Logger("Http")
	h := slog.New(benchManager().Handler("Http"))
	tests := []struct {
		name string
		call func()
		max  float64
	}{
		{"facade", func() { l.Info("Request sent", "url", "/api/v1/chat", "status", 200, "attempt", 2) }, 2},
		{"facade disabled", func() { l.Debug("Request sent", "url", "/api/v1/chat", "status", 200, "attempt", 2) }, 0},
		{"slog handler", func() { h.Info("Request sent", "url", "/api/v1/chat", "status", 200, "attempt", 2) }, 2},
		{"slog handler disabled", func() { h.Debug("Request sent", "url", "/api/v1/chat", "status", 200, "attempt", 2) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := testing.AllocsPerRun(1000, tt.call)
			if got > tt.max {
				t.Errorf("%s: %.1f allocations per call, budget %.0f", tt.name, got, tt.max)
			}
		})
	}
}
