package rum

import (
	"math"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
)

// Durations are kept in a log-linear histogram of microseconds: eight
// buckets per power of two, so a bucket is at most 12.5% wide. Percentiles
// report a bucket's upper bound, capped by the exact maximum.
const (
	subBits    = 3
	subBuckets = 1 << subBits
	maxExp     = 33 // durations are capped at 2^33 µs (about 2.4 hours)
	numBuckets = (maxExp - subBits + 1) * subBuckets
)

// bucketOf returns the histogram bucket of d.
func bucketOf(d time.Duration) int {
	us := uint64(max(d, 0) / time.Microsecond)
	if us < subBuckets {
		return int(us)
	}
	e := bits.Len64(us) // > subBits
	if e > maxExp {
		return numBuckets - 1
	}
	shift := e - subBits - 1
	return (shift+1)<<subBits + int(us>>shift&(subBuckets-1))
}

// bucketUpper returns the exclusive upper bound of bucket i.
func bucketUpper(i int) time.Duration {
	if i < subBuckets {
		return time.Duration(i+1) * time.Microsecond
	}
	shift := i>>subBits - 1
	sub := uint64(i & (subBuckets - 1))
	return time.Duration((subBuckets+sub+1)<<shift) * time.Microsecond
}

// The error classes of an outgoing call, as counted in client summaries.
const (
	classNone = iota
	classTimeout
	classRefused
	classDNS
	classTLS
	classReset
	classCanceled
	classOther
	numClasses
)

var classNames = [numClasses]string{"", "timeout", "refused", "dns", "tls", "reset", "canceled", "other"}

// A seriesKey names one series: a route (method and pattern), a host
// (method and host) or an operation (name only).
type seriesKey struct{ method, name string }

// otherName is the series that takes everything once a registry is full.
const otherName = "(other)"

// A series accumulates the observations of one key for the current
// summary window. Observers only add, with atomics; the summary goroutine
// swaps the counters to zero when it reports the window, so an
// observation lands in exactly one window.
type series struct {
	key seriesKey

	buckets    [numBuckets]atomic.Uint64
	sumMicros  atomic.Uint64
	maxNanos   atomic.Int64
	bytes      atomic.Uint64
	status4xx  atomic.Uint64
	status5xx  atomic.Uint64
	classes    [numClasses]atomic.Uint64 // client calls by error class; classNone unused
	slow       atomic.Uint64
	warned     atomic.Int64 // warning records written this window
	suppressed atomic.Uint64
}

// observe adds one duration.
func (s *series) observe(d time.Duration) {
	s.buckets[bucketOf(d)].Add(1)
	s.sumMicros.Add(uint64(max(d, 0) / time.Microsecond))
	for {
		m := s.maxNanos.Load()
		if int64(d) <= m || s.maxNanos.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// levelFor says at which level one measurement is logged: warning when it
// is notable (slow, or failed) and the series' warning budget allows it,
// debug when it is not notable and log takes debug records; ok is false
// when it is not logged at all.
func (s *series) levelFor(notable bool, limit int, log *sink.Logger) (level logrecord.Level, ok bool) {
	if notable {
		return logrecord.LevelWarning, s.allowWarning(limit)
	}
	return logrecord.LevelDebug, log.Enabled(logrecord.LevelDebug)
}

// allowWarning reports whether one more warning record fits in this
// window's budget; if not, it counts the warning as suppressed.
func (s *series) allowWarning(limit int) bool {
	if s.warned.Add(1) <= int64(limit) {
		return true
	}
	s.suppressed.Add(1)
	return false
}

// A window is what a series saw in one summary window.
type window struct {
	key        seriesKey
	count      uint64
	buckets    [numBuckets]uint64
	sumMicros  uint64
	max        time.Duration
	bytes      uint64
	status4xx  uint64
	status5xx  uint64
	classes    [numClasses]uint64
	slow       uint64
	suppressed uint64
}

// take moves the counters of s into w and zeroes them.
func (s *series) take(w *window) {
	*w = window{key: s.key}
	for i := range s.buckets {
		n := s.buckets[i].Swap(0)
		w.buckets[i] = n
		w.count += n
	}
	w.sumMicros = s.sumMicros.Swap(0)
	w.max = time.Duration(s.maxNanos.Swap(0))
	w.bytes = s.bytes.Swap(0)
	w.status4xx = s.status4xx.Swap(0)
	w.status5xx = s.status5xx.Swap(0)
	for i := range s.classes {
		w.classes[i] = s.classes[i].Swap(0)
	}
	w.slow = s.slow.Swap(0)
	s.warned.Store(0)
	w.suppressed = s.suppressed.Swap(0)
}

// mean returns the mean duration, or 0 for an empty window.
func (w *window) mean() time.Duration {
	if w.count == 0 {
		return 0
	}
	return time.Duration(w.sumMicros/w.count) * time.Microsecond
}

// quantile returns the q-quantile (0 < q ≤ 1): the upper bound of the
// bucket holding it, never more than the window's maximum.
func (w *window) quantile(q float64) time.Duration {
	if w.count == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(w.count)))
	var seen uint64
	for i, n := range w.buckets {
		seen += n
		if seen >= rank {
			return min(bucketUpper(i), w.max)
		}
	}
	return w.max
}

// A registry maps keys to series. Lookups read an immutable map through
// one atomic load; a new key copies the map under a lock, which happens
// once per key. It holds at most limit keys; later keys share the series
// otherName, so neither hostile input nor a program with unbounded names
// can grow it without bound.
type registry struct {
	m     atomic.Pointer[map[seriesKey]*series]
	mu    sync.Mutex // serialises inserts
	limit int
}

func newRegistry(limit int) *registry {
	g := &registry{limit: limit}
	g.m.Store(&map[seriesKey]*series{})
	return g
}

// get returns the series of k, creating it if needed.
func (g *registry) get(k seriesKey) *series {
	if s, ok := (*g.m.Load())[k]; ok {
		return s
	}
	return g.insert(k)
}

func (g *registry) insert(k seriesKey) *series {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := *g.m.Load()
	if s, ok := old[k]; ok {
		return s
	}
	if len(old) >= g.limit {
		k = seriesKey{name: otherName}
		if s, ok := old[k]; ok {
			return s
		}
	}
	// Keys may come from request memory; keep copies of our own.
	k = seriesKey{method: strings.Clone(k.method), name: strings.Clone(k.name)}
	s := &series{key: k}
	m := make(map[seriesKey]*series, len(old)+1)
	for kk, v := range old {
		m[kk] = v
	}
	m[k] = s
	g.m.Store(&m)
	return s
}

// all returns every series, sorted by name and method.
func (g *registry) all() []*series {
	m := *g.m.Load()
	out := make([]*series, 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *series) int {
		if c := strings.Compare(a.key.name, b.key.name); c != 0 {
			return c
		}
		return strings.Compare(a.key.method, b.key.method)
	})
	return out
}

// millis returns d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 {
	return float64(d/time.Microsecond) / 1000
}
