package crash_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/soliplex/fieldlog/crash"
	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/sink"
)

// BenchmarkRecover measures what a deferred Recover costs a job that does
// not panic, beside a bare deferred recover.
func BenchmarkRecover(b *testing.B) {
	g, err := crash.Install(crash.Options{Dir: b.TempDir(), SessionID: uuid.NewString()})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close(context.Background())
	g.Start(sink.NewManager([]sink.Sink{sinktest.Discard{}}))
	pool := g.Swallowing()
	b.Run("guard", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			func() {
				defer pool.Recover()
			}()
		}
	})
	b.Run("bare_recover_peer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			func() {
				defer func() { _ = recover() }()
			}()
		}
	})
}
