package rum

import (
	"math"
	"runtime/metrics"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
)

// The runtime/metrics the sampler reads.
const (
	metricGCPauses     = "/sched/pauses/total/gc:seconds"
	metricSchedLatency = "/sched/latencies:seconds"
	metricGoroutines   = "/sched/goroutines:goroutines"
	metricHeapBytes    = "/memory/classes/heap/objects:bytes"
	metricGCCycles     = "/gc/cycles/total:gc-cycles"
)

// A histogram is a cumulative runtime/metrics histogram: counts[i] values
// fell in [buckets[i], buckets[i+1]), in seconds.
type histogram struct {
	counts  []uint64
	buckets []float64
}

// A reading is one sample of the runtime.
type reading struct {
	gcPauses   histogram // stop-the-world pauses for GC
	schedLat   histogram // time goroutines waited to run
	goroutines uint64
	heapBytes  uint64
	gcCycles   uint64
}

// copyFrom makes r a copy of src that shares no counts with it.
func (r *reading) copyFrom(src *reading) {
	gc, sched := r.gcPauses.counts, r.schedLat.counts
	*r = *src
	r.gcPauses.counts = append(gc[:0], src.gcPauses.counts...)
	r.schedLat.counts = append(sched[:0], src.schedLat.counts...)
}

// newMetricsReader returns a reader of runtime/metrics. Each reader owns
// its samples; it is used by one goroutine.
func newMetricsReader() func(*reading) {
	var samples []metrics.Sample
	return func(r *reading) {
		if samples == nil {
			for _, name := range []string{metricGCPauses, metricSchedLatency, metricGoroutines, metricHeapBytes, metricGCCycles} {
				samples = append(samples, metrics.Sample{Name: name})
			}
		}
		metrics.Read(samples)
		r.gcPauses = histogramOf(samples[0].Value, r.gcPauses)
		r.schedLat = histogramOf(samples[1].Value, r.schedLat)
		r.goroutines = uint64Of(samples[2].Value)
		r.heapBytes = uint64Of(samples[3].Value)
		r.gcCycles = uint64Of(samples[4].Value)
	}
}

// histogramOf copies v into dst's counts; a metric this runtime lacks
// reads as empty.
func histogramOf(v metrics.Value, dst histogram) histogram {
	if v.Kind() != metrics.KindFloat64Histogram {
		return histogram{counts: dst.counts[:0]}
	}
	h := v.Float64Histogram()
	return histogram{counts: append(dst.counts[:0], h.Counts...), buckets: h.Buckets}
}

func uint64Of(v metrics.Value) uint64 {
	if v.Kind() != metrics.KindUint64 {
		return 0
	}
	return v.Uint64()
}

// delta returns cur minus prev in dst. A histogram whose shape changed, or
// whose counts went down, counts from zero.
func delta(dst []uint64, cur, prev histogram) []uint64 {
	dst = append(dst[:0], cur.counts...)
	if len(prev.counts) != len(cur.counts) {
		return dst
	}
	for i, n := range prev.counts {
		if n > dst[i] {
			return append(dst[:0], cur.counts...)
		}
		dst[i] -= n
	}
	return dst
}

// quantile returns the q-quantile of counts over buckets: the upper bound
// of the bucket that holds it (its lower bound when the upper one is
// infinite). q = 1 gives the maximum. An empty histogram gives 0.
func quantile(counts []uint64, buckets []float64, q float64) time.Duration {
	var total uint64
	for _, n := range counts {
		total += n
	}
	if total == 0 || len(buckets) != len(counts)+1 {
		return 0
	}
	rank := max(uint64(math.Ceil(q*float64(total))), 1)
	var seen uint64
	for i, n := range counts {
		if seen += n; seen >= rank {
			b := buckets[i+1]
			if math.IsInf(b, 1) {
				b = buckets[i]
			}
			if math.IsInf(b, 0) || math.IsNaN(b) || b < 0 {
				return 0
			}
			return time.Duration(b * float64(time.Second))
		}
	}
	return 0
}

// StartSampler starts the runtime sampler: every SampleInterval it reads
// the runtime's GC pause and scheduling latency histograms, goroutine
// count and heap size from runtime/metrics. When the p99 of GC pauses or
// of scheduling latency since the previous sample is StallThreshold or
// more, it logs a runtime stall at warning (metric runtime.stall), at most
// once per SummaryInterval; each SummaryInterval it logs a summary at
// debug (metric runtime.summary). The sampler is the service counterpart
// of an app's slow frames: a stall delays every request in flight.
//
// A second call does nothing, as does a call after Close; Close stops the
// sampler.
func (m *Monitor) StartSampler() {
	if m == nil {
		return
	}
	m.samplerMu.Lock()
	defer m.samplerMu.Unlock()
	if m.samplerStarted || m.closed.Load() {
		return
	}
	m.samplerStarted = true
	s := &sampler{m: m, read: m.readRuntime}
	s.read(&s.prev)
	s.win.copyFrom(&s.prev)
	s.winBegan = time.Now()
	m.wg.Add(1)
	go s.run()
}

// A sampler is the state of the sampler goroutine, owned by it.
type sampler struct {
	m    *Monitor
	read func(*reading)

	prev, cur, win reading // the last sample, this one, and the window's first
	scratch        []uint64
	winBegan       time.Time
	prevAt         time.Time
	lastWarn       time.Time
	stalls         uint64 // samples over the threshold in this window
	suppressed     uint64 // stall warnings not logged since the last one
}

func (s *sampler) run() {
	defer s.m.wg.Done()
	t := time.NewTicker(s.m.opts.SampleInterval)
	defer t.Stop()
	s.prevAt = s.winBegan
	for {
		select {
		case now := <-t.C:
			s.sample(now)
		case <-s.m.stop:
			if !s.m.abort.Load() {
				s.read(&s.cur)
				s.summary(time.Now(), &s.cur)
			}
			return
		}
	}
}

// stats are the percentiles of one histogram over a span.
type stats struct{ p50, p99, max time.Duration }

func (s *sampler) stats(cur, prev histogram) stats {
	s.scratch = delta(s.scratch, cur, prev)
	return stats{
		p50: quantile(s.scratch, cur.buckets, 0.50),
		p99: quantile(s.scratch, cur.buckets, 0.99),
		max: quantile(s.scratch, cur.buckets, 1),
	}
}

// sample reads the runtime and warns about a stall since the last sample.
func (s *sampler) sample(now time.Time) {
	s.read(&s.cur)
	gc := s.stats(s.cur.gcPauses, s.prev.gcPauses)
	sched := s.stats(s.cur.schedLat, s.prev.schedLat)
	if worst := max(gc.p99, sched.p99); worst >= s.m.opts.StallThreshold {
		s.stalls++
		if !s.lastWarn.IsZero() && now.Sub(s.lastWarn) < s.m.opts.SummaryInterval {
			s.suppressed++
		} else {
			cause := "sched_latency"
			if gc.p99 >= sched.p99 {
				cause = "gc_pause"
			}
			s.m.runtimeLog.Warn("runtime stall",
				"metric", metricStall,
				"ms", millis(worst),
				"cause", cause,
				"gc_pause_p99_ms", millis(gc.p99),
				"gc_pause_max_ms", millis(gc.max),
				"sched_latency_p99_ms", millis(sched.p99),
				"sched_latency_max_ms", millis(sched.max),
				"goroutines", s.cur.goroutines,
				"heap_bytes", s.cur.heapBytes,
				"suppressed", s.suppressed,
				"window_ms", millis(now.Sub(s.prevAt)),
				logrecord.CategoryKey, logrecord.CategorySystem)
			s.lastWarn = now
			s.suppressed = 0
		}
	}
	s.prev, s.cur = s.cur, s.prev
	s.prevAt = now
	if now.Sub(s.winBegan) >= s.m.opts.SummaryInterval {
		s.summary(now, &s.prev)
	}
}

// summary logs the window that ends with r at debug and starts the next.
func (s *sampler) summary(now time.Time, r *reading) {
	if s.m.runtimeLog.Enabled(logrecord.LevelDebug) {
		gc := s.stats(r.gcPauses, s.win.gcPauses)
		sched := s.stats(r.schedLat, s.win.schedLat)
		s.m.runtimeLog.Debug("runtime summary",
			"metric", metricRuntime,
			"ms", millis(max(gc.p99, sched.p99)),
			"gc_pause_p50_ms", millis(gc.p50),
			"gc_pause_p99_ms", millis(gc.p99),
			"gc_pause_max_ms", millis(gc.max),
			"sched_latency_p50_ms", millis(sched.p50),
			"sched_latency_p99_ms", millis(sched.p99),
			"sched_latency_max_ms", millis(sched.max),
			"gc_cycles", r.gcCycles-min(s.win.gcCycles, r.gcCycles),
			"goroutines", r.goroutines,
			"heap_bytes", r.heapBytes,
			"stalls", s.stalls,
			"window_ms", millis(now.Sub(s.winBegan)),
			logrecord.CategoryKey, logrecord.CategorySystem)
	}
	s.win.copyFrom(r)
	s.winBegan = now
	s.stalls = 0
}
