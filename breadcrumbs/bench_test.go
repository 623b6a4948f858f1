package breadcrumbs_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/soliplex/fieldlog/breadcrumbs"
	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sanitizer"
	"github.com/soliplex/fieldlog/sink"
)

// BenchmarkDebugCall measures what a debug call costs with export at
// info: nothing takes it (ring at info), the ring keeps it (the default),
// and slog's JSON handler writing it, as a peer.
func BenchmarkDebugCall(b *testing.B) {
	info := logrecord.LevelInfo
	for _, bc := range []struct {
		name string
		ring *breadcrumbs.Buffer
	}{
		{"ring_at_info", breadcrumbs.New(&breadcrumbs.Options{MinLevel: &info})},
		{"ring_at_debug", breadcrumbs.New(nil)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := sink.NewManager([]sink.Sink{bc.ring, sinktest.Discard{}}, sink.WithSanitizer(sanitizer.Default()))
			log := m.Logger("Http.Client")
			b.ReportAllocs()
			for b.Loop() {
				log.Debug("GET /api/v1/cart", "status", 200, "attempt", 1)
			}
		})
	}
	b.Run("slog_json_peer", func(b *testing.B) {
		log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
		b.ReportAllocs()
		for b.Loop() {
			log.Debug("GET /api/v1/cart", "status", 200, "attempt", 1)
		}
	})
}
