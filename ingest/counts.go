package ingest

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"
)

// An Alert says that one fingerprint was seen Count times within Window,
// reaching the threshold. A fingerprint alerts at most once per Window.
type Alert struct {
	Fingerprint string
	Count       int
	Window      time.Duration
	At          time.Time // when the threshold was reached
	Sample      string    // the message of the first occurrence, cut to a short prefix
	Error       string    // the error text of the first occurrence, cut to a short prefix
}

// TopError is one row of the top-errors report.
type TopError struct {
	Fingerprint string    `json:"fingerprint"`
	Count       int       `json:"count"` // occurrences within the requested window
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	Sample      string    `json:"sample_message"`         // cut to MaxSampleBytes
	Error       string    `json:"sample_error,omitempty"` // cut to MaxSampleBytes
}

// MaxSampleBytes is how much of the first occurrence's message and error
// text a fingerprint keeps as its sample: enough to recognise the error,
// the rest is in the store.
const MaxSampleBytes = 256

// Limits of the fingerprint counts.
const (
	fineBuckets   = 60 // per alert window: counts exact to a sixtieth of it
	coarseBuckets = 24 // windows of history, counted per window
	maxTopLimit   = 1000
)

// counts keeps, per fingerprint, occurrences in buckets one sixtieth of
// the alert window wide for the last window, and one window wide for 24
// windows: at most 84 buckets each, however long it is seen.
type counts struct {
	window    time.Duration
	width     time.Duration
	threshold int
	maxFPs    int
	onAlert   func(Alert)

	mu  sync.Mutex
	fps map[string]*fpStats
}

type fpStats struct {
	first, last  time.Time
	sample, err  string
	fine, coarse []bucketCount // ascending, only buckets with occurrences
	alertedAt    time.Time     // zero: never
}

type bucketCount struct {
	index int64 // time / width
	n     int
}

func newCounts(window time.Duration, threshold, maxFPs int, onAlert func(Alert)) *counts {
	return &counts{
		window: window, width: max(window/fineBuckets, time.Millisecond),
		threshold: threshold, maxFPs: maxFPs, onAlert: onAlert, fps: map[string]*fpStats{},
	}
}

// retention is how far back Top can look.
func (c *counts) retention() time.Duration { return coarseBuckets * c.window }

// sample cuts a client's text to a short prefix.
func sample(s string) string {
	if p, cut := prefix(s, MaxSampleBytes); cut {
		return strings.Clone(p) + "…"
	}
	return s
}

// add counts one occurrence and calls onAlert, outside the lock, when the
// threshold is reached.
func (c *counts) add(now time.Time, fp, msg, errText string) {
	fine := now.UnixNano() / int64(c.width)
	coarse := now.UnixNano() / int64(c.window)
	c.mu.Lock()
	s := c.fps[fp]
	if s == nil {
		if len(c.fps) >= c.maxFPs {
			c.evictLocked()
		}
		s = &fpStats{first: now, sample: sample(msg), err: sample(errText)}
		c.fps[fp] = s
	}
	if now.After(s.last) {
		s.last = now
	}
	s.fine = count(s.fine, fine, fineBuckets)
	s.coarse = count(s.coarse, coarse, coarseBuckets)
	var alert *Alert
	if c.threshold > 0 && c.onAlert != nil && (s.alertedAt.IsZero() || now.Sub(s.alertedAt) >= c.window) {
		if n := sumSince(s.fine, fine-fineBuckets+1); n >= c.threshold {
			s.alertedAt = now
			alert = &Alert{Fingerprint: fp, Count: n, Window: c.window, At: now, Sample: s.sample, Error: s.err}
		}
	}
	c.mu.Unlock()
	if alert != nil {
		c.onAlert(*alert)
	}
}

// count adds one occurrence in bucket idx and drops buckets older than
// keep of them.
func count(b []bucketCount, idx int64, keep int64) []bucketCount {
	if n := len(b); n > 0 && b[n-1].index >= idx { // same bucket, or a clock step back
		b[n-1].n++
	} else {
		b = append(b, bucketCount{index: idx, n: 1})
	}
	i := 0
	for i < len(b) && b[i].index <= idx-keep {
		i++
	}
	return slices.Delete(b, 0, i)
}

// evictLocked forgets the tenth of the fingerprints seen longest ago.
func (c *counts) evictLocked() {
	lasts := make([]time.Time, 0, len(c.fps))
	for _, s := range c.fps {
		lasts = append(lasts, s.last)
	}
	slices.SortFunc(lasts, time.Time.Compare)
	cut := lasts[len(lasts)/10]
	for fp, s := range c.fps {
		if !s.last.After(cut) {
			delete(c.fps, fp)
		}
	}
}

func sumSince(b []bucketCount, index int64) int {
	n := 0
	for i := len(b) - 1; i >= 0 && b[i].index >= index; i-- {
		n += b[i].n
	}
	return n
}

// top returns the fingerprints seen within window before now, most
// frequent first, at most limit of them (limit ≤ 0: all). Counts are
// exact to a sixtieth of the alert window for windows up to it, and to
// one alert window beyond. It also forgets fingerprints older than the
// retention.
func (c *counts) top(now time.Time, window time.Duration, limit int) []TopError {
	buckets, width := func(s *fpStats) []bucketCount { return s.fine }, c.width
	if window > c.window {
		buckets, width = func(s *fpStats) []bucketCount { return s.coarse }, c.window
	}
	since := now.UnixNano()/int64(width) - int64((window+width-1)/width) + 1
	c.mu.Lock()
	var out []TopError
	for fp, s := range c.fps {
		if now.Sub(s.last) > c.retention() {
			delete(c.fps, fp)
			continue
		}
		if n := sumSince(buckets(s), since); n > 0 {
			out = append(out, TopError{Fingerprint: fp, Count: n, FirstSeen: s.first.UTC(), LastSeen: s.last.UTC(), Sample: s.sample, Error: s.err})
		}
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b TopError) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), b.LastSeen.Compare(a.LastSeen), strings.Compare(a.Fingerprint, b.Fingerprint))
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}
