package sanitizer_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sanitizer"
	"github.com/soliplex/fieldlog/sink"
)

var (
	cleanMsg = "Request sent to /api/v1/chat/completions with 3 messages; model reply streamed in 182 ms OK"
	piiMsg   = "Request from alice@example.com at 203.0.113.7 to /api/v1/chat/completions streamed in 182 ms"
	stack    = func() string {
		var b strings.Builder
		b.WriteString("goroutine 7 [running]:\n")
		for b.Len() < 4096 {
			b.WriteString("github.com/acme/billing/internal/pay.(*Client).Charge(0xc000123456, {0x7f0e2c, 0x5})\n\t/build/src/billing/internal/pay/client.go:88 +0x1d4\n")
		}
		return b.String()
	}()
)

func benchRecord(msg string) logrecord.Record {
	return logrecord.New(time.Now(), logrecord.LevelInfo, "Http", msg,
		slog.String("url", "/api/v1/chat"), slog.Int("status", 200), slog.Duration("elapsed", 182*time.Millisecond))
}

func BenchmarkSanitize(b *testing.B) {
	s := sanitizer.Default()
	b.Run("clean", func(b *testing.B) {
		r := benchRecord(cleanMsg)
		b.ReportAllocs()
		for b.Loop() {
			_ = s.Sanitize(r)
		}
	})
	b.Run("emailAndIP", func(b *testing.B) {
		r := benchRecord(piiMsg)
		b.ReportAllocs()
		for b.Loop() {
			_ = s.Sanitize(r)
		}
	})
	b.Run("stack4KB", func(b *testing.B) {
		r := benchRecord("Request failed")
		r.StackTrace = stack
		b.ReportAllocs()
		for b.Loop() {
			_ = s.Sanitize(r)
		}
	})
}

// BenchmarkLogCall measures what the sanitizer adds to a whole log call
// through the Manager, clean record, beside the same call without it.
func BenchmarkLogCall(b *testing.B) {
	for _, tt := range []struct {
		name string
		opts []sink.Option
	}{
		{"without", nil},
		{"withSanitizer", []sink.Option{sink.WithSanitizer(sanitizer.Default())}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			l := sink.NewManager([]sink.Sink{sinktest.Discard{}}, tt.opts...).Logger("Http")
			b.ReportAllocs()
			for b.Loop() {
				l.Info(cleanMsg, "url", "/api/v1/chat", "status", 200, "elapsed", 182*time.Millisecond)
			}
		})
	}
}
