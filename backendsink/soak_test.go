package backendsink

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileServer fails 30% of requests with 500, drops 10% of connections,
// rate-limits bursts with 429 and answers 500 to every batch holding the
// poison record; everything else is accepted. Its randomness is seeded,
// so a failure can be replayed.
type hostileServer struct {
	ingest *sinktest.Ingest

	mu     sync.Mutex
	rng    *rand.Rand
	tokens float64
	last   time.Time
	counts map[string]int
}

func newHostileServer(seed uint64) *hostileServer {
	h := &hostileServer{ingest: sinktest.NewIngest(), rng: rand.New(rand.NewPCG(seed, seed)), tokens: 20, counts: map[string]int{}}
	h.ingest.Respond = h.respond
	return h
}

func (h *hostileServer) roll() float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rng.Float64()
}

func (h *hostileServer) count(what string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[what]++
}

func (h *hostileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.roll() < 0.10 {
		h.count("dropped connection")
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			_ = conn.(*net.TCPConn).SetLinger(0)
			_ = conn.Close()
		}
		return
	}
	h.ingest.ServeHTTP(w, r)
}

func (h *hostileServer) respond(entries []map[string]any, _ http.Header) (int, http.Header) {
	if containsMessage(entries, "poison") {
		h.count("poison 500")
		return http.StatusInternalServerError, nil
	}
	h.mu.Lock()
	now := time.Now()
	if !h.last.IsZero() {
		h.tokens = min(20, h.tokens+now.Sub(h.last).Seconds()*2000)
	}
	h.last = now
	limited := h.tokens < 1
	if !limited {
		h.tokens--
	}
	h.mu.Unlock()
	if limited {
		h.count("429")
		return http.StatusTooManyRequests, nil
	}
	if h.roll() < 0.30 {
		h.count("random 500")
		return http.StatusInternalServerError, nil
	}
	return 0, nil
}

// TestSoakHostileServer ships 20,000 records through the real disk queue
// to the hostile server: every record but the poison one arrives, the
// poison one is reported, no goroutine outlives the sink.
func TestSoakHostileServer(t *testing.T) {
	records := 20000
	if testing.Short() {
		records = 5000
	}
	baseline := runtime.NumGoroutine()
	hs := newHostileServer(uint64(time.Now().UnixNano()))
	srv := httptest.NewServer(hs)
	q, err := diskqueue.Open(filepath.Join(t.TempDir(), "q"), &diskqueue.Options{OnError: func(error) {}})
	require.NoError(t, err)
	st := diskStore{q}
	opts := fastOptions(srv)
	opts.FlushInterval = 5 * time.Millisecond
	opts.BufferSize = records + 10
	s, reported := newTestSink(t, opts, st)

	poison := records / 3
	for i := range records {
		msg := fmt.Sprintf("rec-%06d", i)
		if i == poison {
			msg = "poison record"
		}
		require.NoError(t, s.Write(context.Background(), logrecord.New(time.Now(), logrecord.LevelInfo, "Soak", msg)))
	}
	start := time.Now()
	require.Eventually(t, func() bool { return st.Pending() == 0 && len(s.in) == 0 }, 60*time.Second, 10*time.Millisecond,
		"undelivered: %d; server: %v", st.Pending(), hs.counts)
	t.Logf("delivered in %s", time.Since(start))
	require.NoError(t, s.Close(t.Context()))
	require.NoError(t, q.Close(t.Context()))
	srv.Close()

	seen := map[string]int{}
	for _, m := range hs.ingest.Messages() {
		seen[m]++
	}
	for i := range records {
		if i != poison {
			require.Positive(t, seen[fmt.Sprintf("rec-%06d", i)], "record %d lost", i)
		}
	}
	assert.Zero(t, seen["poison record"])
	stats := s.Stats()
	assert.Equal(t, map[string]int64{DropPoison: 1}, stats.Dropped, "only the poison record is dropped")
	assert.Contains(t, reported.Text(), "(poison)")
	dups := 0
	for m, n := range seen {
		if strings.HasPrefix(m, "rec-") && n > 1 {
			dups += n - 1
		}
	}
	t.Logf("server: %v; requests %d, duplicates %d (at-least-once), retries %d", hs.counts, hs.ingest.Requests(), dups, stats.Retries)
	assert.Positive(t, hs.counts["random 500"])
	assert.Positive(t, hs.counts["dropped connection"])

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	assert.Less(t, ms.HeapInuse, uint64(64<<20), "memory stays bounded")
	// Poll by hand: require.Eventually runs its condition on goroutines of
	// its own.
	for end := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > baseline && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), baseline, "goroutines leaked")
}
