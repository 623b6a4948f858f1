package rum

import (
	"math"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeRuntime is a synthetic runtime/metrics source: cumulative
// histograms the test adds to.
type fakeRuntime struct {
	mu sync.Mutex
	r  reading
}

// fakeBuckets are the histogram bounds, in seconds: 0, 1ms, 2ms … 64ms, +Inf.
var fakeBuckets = []float64{0, .001, .002, .004, .008, .016, .032, .064, math.Inf(1)}

func newFakeRuntime() *fakeRuntime {
	f := &fakeRuntime{}
	f.r.gcPauses = histogram{counts: make([]uint64, len(fakeBuckets)-1), buckets: fakeBuckets}
	f.r.schedLat = histogram{counts: make([]uint64, len(fakeBuckets)-1), buckets: fakeBuckets}
	f.r.goroutines, f.r.heapBytes = 42, 1<<20
	return f
}

func (f *fakeRuntime) read(dst *reading) {
	f.mu.Lock()
	defer f.mu.Unlock()
	dst.copyFrom(&f.r)
}

// add records n values of d in h, and one GC cycle per GC pause batch.
func (f *fakeRuntime) add(gc bool, d time.Duration, n uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := &f.r.schedLat
	if gc {
		h = &f.r.gcPauses
		f.r.gcCycles++
	}
	s := d.Seconds()
	for i := range h.counts {
		if fakeBuckets[i] <= s && s < fakeBuckets[i+1] {
			h.counts[i] += n
			return
		}
	}
}

const gcPause, schedLatency = true, false

func TestSamplerStallWarnings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRuntime()
		h := newHarness(t, Options{SampleInterval: 5 * time.Second, SummaryInterval: time.Minute}, deps{readRuntime: rt.read})
		h.StartSampler()
		h.StartSampler() // a second call does nothing
		tick := func() {
			time.Sleep(5 * time.Second)
			synctest.Wait()
		}

		rt.add(schedLatency, time.Millisecond, 100)
		rt.add(schedLatency, 10*time.Millisecond, 1) // p99 is 1ms: no stall
		tick()                                       // t=5s
		assert.Empty(t, h.records(metricStall))

		rt.add(gcPause, 20*time.Millisecond, 3)
		rt.add(schedLatency, 3*time.Millisecond, 10)
		tick() // t=10s
		r := h.one(t, metricStall)
		assert.Equal(t, logrecord.LevelWarning, r.Level)
		assert.Equal(t, "rum.runtime", r.Logger)
		assert.Equal(t, "runtime stall", r.Message)
		assert.Equal(t, map[string]any{
			"metric": metricStall, "ms": 32.0, "cause": "gc_pause",
			"gc_pause_p99_ms": 32.0, "gc_pause_max_ms": 32.0,
			"sched_latency_p99_ms": 4.0, "sched_latency_max_ms": 4.0,
			"goroutines": uint64(42), "heap_bytes": uint64(1 << 20),
			"suppressed": uint64(0), "window_ms": 5000.0, "breadcrumb_category": "system",
		}, attrs(r))

		rt.add(schedLatency, 40*time.Millisecond, 5)
		tick() // t=15s: a stall within the minute, not logged
		assert.Len(t, h.records(metricStall), 1)

		for range 10 {
			tick() // to t=65s
		}
		rt.add(schedLatency, 50*time.Millisecond, 1)
		tick() // t=70s: a minute after the last warning
		stalls := h.records(metricStall)
		require.Len(t, stalls, 2)
		a := attrs(stalls[1])
		assert.Equal(t, "sched_latency", a["cause"])
		assert.Equal(t, 64.0, a["ms"])
		assert.Equal(t, uint64(1), a["suppressed"])
		assert.Empty(t, h.records(metricRuntime), "the summary is at debug, which is off")
		h.close(t)
	})
}

func TestSamplerSummary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRuntime()
		h := newHarness(t, Options{SampleInterval: 10 * time.Second, SummaryInterval: 30 * time.Second, StallThreshold: time.Second},
			deps{readRuntime: rt.read})
		h.mgr.SetLoggerLevel("rum.runtime", logrecord.LevelDebug)
		h.StartSampler()
		rt.add(gcPause, 500*time.Microsecond, 9)
		rt.add(gcPause, 5*time.Millisecond, 1)
		rt.add(schedLatency, 1500*time.Microsecond, 100)
		time.Sleep(30 * time.Second)
		synctest.Wait()
		r := h.one(t, metricRuntime)
		assert.Equal(t, logrecord.LevelDebug, r.Level)
		assert.Equal(t, map[string]any{
			"metric": metricRuntime, "ms": 8.0,
			"gc_pause_p50_ms": 1.0, "gc_pause_p99_ms": 8.0, "gc_pause_max_ms": 8.0,
			"sched_latency_p50_ms": 2.0, "sched_latency_p99_ms": 2.0, "sched_latency_max_ms": 2.0,
			"gc_cycles": uint64(2), "goroutines": uint64(42), "heap_bytes": uint64(1 << 20),
			"stalls": uint64(0), "window_ms": 30000.0, "breadcrumb_category": "system",
		}, attrs(r))

		// Close logs the partial window.
		time.Sleep(5 * time.Second)
		h.close(t)
		rs := h.records(metricRuntime)
		require.Len(t, rs, 2)
		assert.Equal(t, 5000.0, attrs(rs[1])["window_ms"])
		assert.Equal(t, uint64(0), attrs(rs[1])["gc_cycles"])
	})
}

// TestSamplerForcedGC runs the sampler on the real runtime/metrics with a
// threshold any GC pause crosses.
func TestSamplerForcedGC(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newHarness(t, Options{StallThreshold: time.Nanosecond, SampleInterval: time.Second}, deps{readRuntime: newMetricsReader()})
		rec.StartSampler()
		runtime.GC()
		time.Sleep(time.Second)
		synctest.Wait()
		r := rec.one(t, metricStall)
		a := attrs(r)
		assert.Greater(t, a["ms"], 0.0)
		assert.Greater(t, a["goroutines"], uint64(0))
		assert.Greater(t, a["heap_bytes"], uint64(0))
		rec.close(t)
	})
}

func TestMetricsReader(t *testing.T) {
	runtime.GC()
	var r reading
	newMetricsReader()(&r)
	assert.Positive(t, r.goroutines)
	assert.Positive(t, r.heapBytes)
	assert.Positive(t, r.gcCycles)
	for _, h := range []histogram{r.gcPauses, r.schedLat} {
		require.NotEmpty(t, h.counts)
		assert.Len(t, h.buckets, len(h.counts)+1)
	}
}

func TestQuantile(t *testing.T) {
	b := []float64{math.Inf(-1), 0.001, 0.010, math.Inf(1)}
	tests := []struct {
		name   string
		counts []uint64
		q      float64
		want   time.Duration
	}{
		{"empty", []uint64{0, 0, 0}, 0.99, 0},
		{"middle bucket", []uint64{0, 10, 0}, 0.5, 10 * time.Millisecond},
		{"last bucket is open: its lower bound", []uint64{0, 0, 1}, 0.99, 10 * time.Millisecond},
		{"first bucket is open below", []uint64{5, 0, 0}, 0.5, time.Millisecond},
		{"p99 of 100", append([]uint64{0}, 98, 2), 0.99, 10 * time.Millisecond},
		{"p98 of 100", append([]uint64{0}, 98, 2), 0.98, 10 * time.Millisecond},
		{"max", []uint64{1, 1, 0}, 1, 10 * time.Millisecond},
		{"shape mismatch", []uint64{1}, 0.5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, quantile(tt.counts, b, tt.q))
		})
	}
}

func TestDelta(t *testing.T) {
	h := func(c ...uint64) histogram { return histogram{counts: c} }
	assert.Equal(t, []uint64{1, 0, 2}, delta(nil, h(3, 4, 5), h(2, 4, 3)))
	assert.Equal(t, []uint64{3, 4, 5}, delta(nil, h(3, 4, 5), h(2, 5, 3)), "a count went down: from zero")
	assert.Equal(t, []uint64{3, 4}, delta(nil, h(3, 4), h(1, 1, 1)), "the shape changed: from zero")
}

func TestSamplerAfterCloseDoesNotStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Options{}, deps{})
		h.close(t)
		h.StartSampler()
		// synctest.Test would fail on a goroutine left running.
	})
}
