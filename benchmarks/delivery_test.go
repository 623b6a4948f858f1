package benchmarks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// A short burst, delivered in full: the end-to-end promise of the
// published figures, small enough for every test run.
func TestBurstDeliversAll(t *testing.T) {
	const records = 2000
	srv, delivered := receiver(t)
	p := openFieldlog(t, srv.URL, records).(*fieldlogPipeline)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < records; i += 4 {
				p.log(i)
			}
		})
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p.close(ctx)
	st := p.sink.Stats()
	if got := delivered.Load(); got != records {
		t.Fatalf("delivered %d of %d records; stats %+v", got, records, st)
	}
	if st.PendingAtClose != 0 || sum(st.Dropped) != 0 {
		t.Fatalf("pending %d, dropped %v after a full delivery", st.PendingAtClose, st.Dropped)
	}
}

// The outage scenario, short: the receiver refuses everything while the
// first half is logged, then comes back; every record is delivered by
// Close or kept on disk for the next run, none is dropped.
func TestOutageDeliversAll(t *testing.T) {
	const records = 2000
	inner, delivered := receiver(t)
	var mu sync.RWMutex
	down := true
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.RLock()
		d := down
		mu.RUnlock()
		if d {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		inner.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)

	p := openFieldlog(t, front.URL, records).(*fieldlogPipeline)
	for i := range records / 2 {
		p.log(i)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	for i := records / 2; i < records; i++ {
		p.log(i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p.close(ctx)
	st := p.sink.Stats()
	got := delivered.Load()
	if got+int64(st.PendingAtClose) != records || sum(st.Dropped) != 0 {
		t.Fatalf("delivered %d and kept %d of %d records after the outage; stats %+v", got, st.PendingAtClose, records, st)
	}
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
