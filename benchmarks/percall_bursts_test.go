package benchmarks

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
)

// BenchmarkLogCallBursts is the cost of one log call when the calls come
// in bursts of callBurst with the pipeline given time to catch up between
// them, as a service's requests log: the same message and three
// attributes as BenchmarkLogCall. Between bursts the timer stops and the
// library ships what it holds (fieldlog: Client.Flush, the OpenTelemetry
// SDK: ForceFlush; nothing to do for the synchronous ones). Work a
// library's own goroutines do during a burst competes with the caller for
// the CPUs and is charged; what is left for after it is not.
// BenchmarkLogCall, by contrast, calls without pause, so a library that
// delivers everything is charged its whole pipeline's speed.
func BenchmarkLogCallBursts(b *testing.B) {
	for _, c := range burstCallers {
		b.Run(c.name, func(b *testing.B) {
			logf, idle, closef := c.open(b)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				logf(i)
				if (i+1)%callBurst == 0 {
					b.StopTimer()
					idle()
					b.StartTimer()
				}
			}
			b.StopTimer()
			closef()
		})
	}
}

// callBurst is how many calls a burst has.
const callBurst = 1000

// burstCaller is one library's log call and what it does between bursts.
type burstCaller struct {
	name string
	open func(b *testing.B) (logf func(int), idle func(), closef func())
}

var burstCallers = []burstCaller{
	{"fieldlog", openFieldlogBursts},
	{"slog-json-discard", func(b *testing.B) (func(int), func(), func()) {
		return slogCall(slog.New(slog.NewJSONHandler(io.Discard, nil))), func() {}, func() {}
	}},
	{"zap-production-discard", func(b *testing.B) (func(int), func(), func()) {
		return zapCall(zapProduction(zapcore.AddSync(io.Discard))), func() {}, func() {}
	}},
	{"otel-sdk", openOTelBursts},
}

// openFieldlogBursts is the one-call setup of BenchmarkLogCall; between
// bursts it delivers everything (Flush returns once the queue is empty).
func openFieldlogBursts(b *testing.B) (func(int), func(), func()) {
	c, logf := newBenchClient(b)
	return logf, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := c.Flush(ctx); err != nil {
				b.Fatalf("flush: %v", err)
			}
		}, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = c.Close(ctx)
		}
}

// openOTelBursts is the logs SDK with its default batch processor; between
// bursts it exports what it holds.
func openOTelBursts(b *testing.B) (func(int), func(), func()) {
	srv, _ := receiver(b)
	p := openOTel(b, srv.URL, 0).(*otelPipeline)
	return p.log, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = p.provider.ForceFlush(ctx)
		}, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			p.close(ctx)
		}
}
