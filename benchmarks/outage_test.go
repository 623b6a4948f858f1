package benchmarks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soliplex/fieldlog"
	"github.com/soliplex/fieldlog/backendsink"
)

// BenchmarkBurstOutage is a burst with the receiver answering 503 while
// the first half is logged, then up again: how many records arrive in the
// end, what fieldlog keeps on disk for the next run, and the peak memory
// while records wait. Run one peer per process.
func BenchmarkBurstOutage(b *testing.B) {
	// fieldlog with the queue the one-call setup gives a service
	// (256 MB): the burst fits under it. The backend sink's own default
	// (10 MB, for field devices) keeps only the newest records of a
	// burst this size, and counts the rest as dropped at the cap.
	outagePeers := []peer{
		{"fieldlog", func(b testing.TB, endpoint string, _ int) pipeline {
			return openFieldlogWith(b, endpoint, func(o *backendsink.Options) { o.QueueMaxBytes = fieldlog.DefaultQueueMaxBytes })
		}},
		{"fieldlog-10MB-queue", openFieldlog},
	}
	for _, p := range append(outagePeers, peers[2:]...) {
		b.Run(p.name, func(b *testing.B) {
			inner, delivered := receiver(b)
			var down atomic.Bool
			down.Store(true)
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if down.Load() {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				inner.Config.Handler.ServeHTTP(w, r)
			}))
			b.Cleanup(front.Close)

			resetPeakRSS()
			pl := p.open(b, front.URL, b.N)
			b.ResetTimer()
			for i := range b.N {
				if i == b.N/2 {
					down.Store(false)
				}
				pl.log(i)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			pl.close(ctx)
			cancel()
			b.StopTimer()
			got := delivered.Load()
			b.ReportMetric(100*float64(got)/float64(b.N), "%delivered")
			if k, ok := pl.(keeper); ok {
				// Kept on disk by close, for the next run to deliver.
				b.ReportMetric(100*float64(k.keptAtClose())/float64(b.N), "%stored")
			}
			b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
			if d := pl.dropped(); d != "" {
				b.Logf("%s: %d of %d delivered; dropped %s", p.name, got, b.N, d)
			}
		})
	}
}

// keeper is a pipeline that keeps on disk, for the next run, what its
// close could not deliver.
type keeper interface {
	keptAtClose() int
}

func (p *fieldlogPipeline) keptAtClose() int { return p.sink.Stats().PendingAtClose }
