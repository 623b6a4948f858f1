package sanitizer_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sanitizer"
	"github.com/soliplex/fieldlog/sink"
)

// About 100 bytes each.
var (
	cleanMsg = "Request sent to /api/v1/chat/completions with 3 messages; model reply streamed in 182 ms (HTTP 200)"
	pairsMsg = "GET /api/v1/chat status=200 took=182ms retry=0 region=eu-west-1 cache: hit, size: 4 KB, id=u_1029"
	piiMsg   = "Request from alice@example.com at 203.0.113.7 to /api/v1/chat/completions streamed in 182 ms (200)"
	// stack is a 4 KB Go stack of a service built in CI.
	stack = goStack(
		"github.com/acme/billing/internal/pay.(*Client).Charge(0xc000123456, {0x7f0e2c, 0x5})\n"+
			"\t/home/runner/work/billing/billing/internal/pay/client.go:88 +0x1d4\n",
		"net/http.(*conn).serve(0xc0001b4000, {0x9c1e40, 0xc0002f4000})\n\t/usr/local/go/src/net/http/server.go:3137 +0x5c\n")
	// modStack is a 4 KB Go stack whose frames sit in the module cache:
	// every path holds "@" and a version.
	modStack = goStack(
		"go.etcd.io/bbolt.(*DB).Update(0xc0001a2000, 0xc00012fd48)\n"+
			"\t/root/go/pkg/mod/go.etcd.io/bbolt@v1.4.3/db.go:918 +0x10d\n",
		"github.com/cenkalti/backoff/v4.RetryNotifyWithTimer(0xc0002b6000, {0x9c1e40, 0xc0002f4000}, 0x0, {0x0, 0x0})\n"+
			"\t/root/go/pkg/mod/github.com/cenkalti/backoff/v4@v4.3.0/retry.go:98 +0x1e5\n",
		"github.com/google/uuid.NewRandom()\n\t/root/go/pkg/mod/github.com/google/uuid@v1.6.0/version4.go:30 +0x2a\n")
	// homeStack is a 4 KB Go stack built in developers' home directories,
	// module cache included.
	homeStack = goStack(
		"main.(*server).handle(0xc000148000, {0x9c1e40, 0xc0002f4000})\n\t/home/alice/src/fieldapp/server.go:142 +0x3a5\n",
		"go.etcd.io/bbolt.(*Tx).Commit(0xc0001a2000)\n\t/Users/bob.smith/go/pkg/mod/go.etcd.io/bbolt@v1.4.3/tx.go:201 +0x6b\n",
		"github.com/acme/fieldapp/store.(*Store).Put(0xc0000b2000, {0xc0000a4000, 0x10})\n"+
			"\tC:/Users/Carol Jones/src/fieldapp/store/store.go:77 +0x1c4\n")
)

// goStack repeats frames into a 4 KB stack trace.
func goStack(frames ...string) string {
	var b strings.Builder
	b.WriteString("goroutine 7 [running]:\n")
	for b.Len() < 4096 {
		for _, f := range frames {
			b.WriteString(f)
		}
	}
	return b.String()[:4096]
}

// benchRecord is a log call's record: a message and three attributes.
func benchRecord(msg string) logrecord.Record {
	return logrecord.New(time.Now(), logrecord.LevelInfo, "Http", msg,
		slog.String("url", "/api/v1/chat"), slog.Int("status", 200), slog.Duration("elapsed", 182*time.Millisecond))
}

func BenchmarkSanitize(b *testing.B) {
	s := sanitizer.Default()
	withStack := func(st string) logrecord.Record {
		r := benchRecord("Request failed")
		r.StackTrace = st
		return r
	}
	for _, bb := range []struct {
		name string
		r    logrecord.Record
	}{
		{"clean", benchRecord(cleanMsg)},
		{"cleanWithPairs", benchRecord(pairsMsg)},
		{"emailAndIP", benchRecord(piiMsg)},
		{"stack4KB", withStack(stack)},
		{"stack4KBModuleCache", withStack(modStack)},
		{"stack4KBHomePaths", withStack(homeStack)},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = s.Sanitize(bb.r)
			}
		})
	}
}

func BenchmarkSanitizeParallel(b *testing.B) {
	s := sanitizer.Default()
	r := benchRecord(cleanMsg)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = s.Sanitize(r)
		}
	})
}

// BenchmarkLogCall measures a whole log call through the Manager, clean
// record, with and without the sanitizer, beside slog's JSON handler.
func BenchmarkLogCall(b *testing.B) {
	for _, bb := range []struct {
		name string
		opts []sink.Option
	}{
		{"manager", nil},
		{"managerSanitized", []sink.Option{sink.WithSanitizer(sanitizer.Default())}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			l := sink.NewManager([]sink.Sink{sinktest.Discard{}}, bb.opts...).Logger("Http")
			b.ReportAllocs()
			for b.Loop() {
				l.Info(cleanMsg, "url", "/api/v1/chat", "status", 200, "elapsed", 182*time.Millisecond)
			}
		})
	}
	b.Run("slogJSON", func(b *testing.B) {
		l := slog.New(slog.NewJSONHandler(io.Discard, nil))
		b.ReportAllocs()
		for b.Loop() {
			l.Info(cleanMsg, "url", "/api/v1/chat", "status", 200, "elapsed", 182*time.Millisecond)
		}
	})
}
