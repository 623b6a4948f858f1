package benchmarks

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/soliplex/fieldlog"
)

// The cost of one log call on the caller's goroutine: a message and three
// attributes, from one goroutine and from GOMAXPROCS goroutines. What a
// library does after the call returns (encoding on another goroutine,
// writing to disk, uploading) is not counted here; the burst benchmarks
// measure it.

// caller is one library's log call, ready to be called b.N times.
type caller struct {
	name string
	open func(b *testing.B) (logf func(i int), closef func())
}

var callers = []caller{
	{"fieldlog", openFieldlogClient},
	{"fieldlog-manager", openFieldlogManager},
	{"slog-json-discard", func(b *testing.B) (func(int), func()) {
		return slogCall(slog.New(slog.NewJSONHandler(io.Discard, nil))), func() {}
	}},
	{"slog-json-file", openSlogFile},
	{"zap-production-discard", func(b *testing.B) (func(int), func()) {
		return zapCall(zapProduction(zapcore.AddSync(io.Discard))), func() {}
	}},
	{"zap-production-file", openZapFile},
	{"otel-sdk", openOTelCall},
	{"jsonl-fsync", openJSONLCall},
}

func BenchmarkLogCall(b *testing.B) {
	for _, c := range callers {
		b.Run(c.name+"/single", func(b *testing.B) {
			logf, closef := c.open(b)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				logf(i)
			}
			b.StopTimer()
			closef()
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			logf, closef := c.open(b)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					logf(i)
					i++
				}
			})
			b.StopTimer()
			closef()
		})
	}
}

// openFieldlogClient is the one-call setup shipping to a local receiver:
// redaction, breadcrumbs, the disk queue and the backend sink.
func openFieldlogClient(b *testing.B) (func(int), func()) {
	c, logf := newBenchClient(b)
	return logf, func() {
		ctx, cancel := context.WithTimeout(context.Background(), perCallClose)
		defer cancel()
		_ = c.Close(ctx)
	}
}

// newBenchClient starts a receiver and a client shipping to it, and
// returns the client and its log call.
func newBenchClient(b *testing.B) (*fieldlog.Client, func(int)) {
	srv, _ := receiver(b)
	c, err := fieldlog.New(fieldlog.Options{
		Service:  "bench",
		Endpoint: srv.URL + "/api/v1/logs",
		Dir:      b.TempDir(),
		Console:  io.Discard,
		OnError:  func(error) {},
	})
	if err != nil {
		b.Fatal(err)
	}
	log := c.Logger("Http")
	return c, func(i int) {
		log.Info("Request sent", "url", "/api/v1/chat", "status", 200, "attempt", i)
	}
}

// openFieldlogManager is the Manager facade over the backend sink alone,
// without redaction or breadcrumbs.
func openFieldlogManager(b *testing.B) (func(int), func()) {
	srv, _ := receiver(b)
	p := openFieldlog(b, srv.URL, b.N).(*fieldlogPipeline)
	return p.log, func() {
		ctx, cancel := context.WithTimeout(context.Background(), perCallClose)
		defer cancel()
		p.close(ctx)
	}
}

func slogCall(l *slog.Logger) func(int) {
	return func(i int) {
		l.Info("Request sent", "url", "/api/v1/chat", "status", 200, "attempt", i)
	}
}

// openSlogFile writes JSON lines to a file through a 64 KiB buffer; the
// handler serializes its writes, so the buffer needs no lock of its own.
func openSlogFile(b *testing.B) (func(int), func()) {
	f, err := os.Create(filepath.Join(b.TempDir(), "app.log"))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 64<<10)
	return slogCall(slog.New(slog.NewJSONHandler(w, nil))), func() {
		_ = w.Flush()
		_ = f.Close()
	}
}

// zapProduction is zap.NewProduction's logger (JSON encoder, info level,
// caller, stack traces on errors) writing to ws, with sampling off so that
// every call produces a record, as with the other libraries.
func zapProduction(ws zapcore.WriteSyncer) *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, ws, zap.InfoLevel), zap.AddCaller(), zap.AddStacktrace(zap.ErrorLevel))
}

func zapCall(l *zap.Logger) func(int) {
	return func(i int) {
		l.Info("Request sent", zap.String("url", "/api/v1/chat"), zap.Int("status", 200), zap.Int("attempt", i))
	}
}

// openZapFile writes to a file through zap's own buffered write syncer.
func openZapFile(b *testing.B) (func(int), func()) {
	f, err := os.Create(filepath.Join(b.TempDir(), "app.log"))
	if err != nil {
		b.Fatal(err)
	}
	ws := &zapcore.BufferedWriteSyncer{WS: f, Size: 64 << 10}
	return zapCall(zapProduction(ws)), func() {
		_ = ws.Stop()
		_ = f.Close()
	}
}

// openOTelCall is the logs SDK with its default batch processor, exporting
// over OTLP/HTTP to a local receiver.
func openOTelCall(b *testing.B) (func(int), func()) {
	srv, _ := receiver(b)
	p := openOTel(b, srv.URL, 0)
	return p.log, func() {
		ctx, cancel := context.WithTimeout(context.Background(), perCallClose)
		defer cancel()
		p.close(ctx)
	}
}

// openJSONLCall appends a line and fsyncs it per call; its batcher POSTs
// to a local receiver.
func openJSONLCall(b *testing.B) (func(int), func()) {
	srv, _ := receiver(b)
	p := openJSONL(b, srv.URL, b.N)
	return p.log, func() {
		ctx, cancel := context.WithTimeout(context.Background(), perCallClose)
		defer cancel()
		p.close(ctx)
	}
}

// perCallClose bounds the Close after a per-call benchmark: the backlog
// that calls back to back leave is not what the benchmark measures, so
// what a pipeline cannot deliver by then stays on disk (fieldlog) or is
// dropped, and the next benchmark starts sooner.
const perCallClose = 3 * time.Second
