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
	Sample      string    // the message of the first occurrence
	Error       string    // the error text of the first occurrence
}

// TopError is one row of the top-errors report.
type TopError struct {
	Fingerprint string    `json:"fingerprint"`
	Count       int       `json:"count"` // occurrences within the requested window
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	Sample      string    `json:"sample_message"`
	Error       string    `json:"sample_error,omitempty"`
}

// Limits of the fingerprint counts.
const (
	countBuckets    = 1440   // history kept per fingerprint: 24 windows of 60 buckets
	maxFingerprints = 10_000 // fingerprints tracked; the longest unseen go first
)

// counts keeps, per fingerprint, occurrences in buckets one sixtieth of
// the alert window wide (one minute for an hour), for 24 windows.
type counts struct {
	window    time.Duration
	width     time.Duration
	threshold int
	onAlert   func(Alert)

	mu  sync.Mutex
	fps map[string]*fpStats
}

type fpStats struct {
	first, last time.Time
	sample, err string
	buckets     []bucketCount // ascending, only buckets with occurrences
	alertedAt   time.Time     // zero: never
}

type bucketCount struct {
	index int64 // time / width
	n     int
}

func newCounts(window time.Duration, threshold int, onAlert func(Alert)) *counts {
	return &counts{
		window: window, width: max(window/60, time.Millisecond),
		threshold: threshold, onAlert: onAlert, fps: map[string]*fpStats{},
	}
}

// retention is how far back Top can look.
func (c *counts) retention() time.Duration { return countBuckets * c.width }

// add counts one occurrence and calls onAlert, outside the lock, when the
// threshold is reached.
func (c *counts) add(now time.Time, fp, msg, errText string) {
	idx := now.UnixNano() / int64(c.width)
	c.mu.Lock()
	s := c.fps[fp]
	if s == nil {
		if len(c.fps) >= maxFingerprints {
			c.evictLocked()
		}
		s = &fpStats{first: now, sample: msg, err: errText}
		c.fps[fp] = s
	}
	if now.After(s.last) {
		s.last = now
	}
	switch n := len(s.buckets); {
	case n > 0 && s.buckets[n-1].index >= idx: // same bucket, or a clock step back
		s.buckets[n-1].n++
	default:
		s.buckets = append(s.buckets, bucketCount{index: idx, n: 1})
	}
	if drop := dropBefore(s.buckets, idx-countBuckets+1); drop > 0 {
		s.buckets = slices.Delete(s.buckets, 0, drop)
	}
	var alert *Alert
	if c.threshold > 0 && c.onAlert != nil && (s.alertedAt.IsZero() || now.Sub(s.alertedAt) >= c.window) {
		if n := sumSince(s.buckets, idx-59); n >= c.threshold {
			s.alertedAt = now
			alert = &Alert{Fingerprint: fp, Count: n, Window: c.window, At: now, Sample: s.sample, Error: s.err}
		}
	}
	c.mu.Unlock()
	if alert != nil {
		c.onAlert(*alert)
	}
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

func dropBefore(b []bucketCount, index int64) int {
	i := 0
	for i < len(b) && b[i].index < index {
		i++
	}
	return i
}

func sumSince(b []bucketCount, index int64) int {
	n := 0
	for i := len(b) - 1; i >= 0 && b[i].index >= index; i-- {
		n += b[i].n
	}
	return n
}

// top returns the fingerprints seen within window before now, most
// frequent first, at most limit of them (limit ≤ 0: all). Counts are exact
// to one bucket width. It also forgets fingerprints older than the
// retention.
func (c *counts) top(now time.Time, window time.Duration, limit int) []TopError {
	idx := now.UnixNano() / int64(c.width)
	since := idx - int64((window+c.width-1)/c.width) + 1
	c.mu.Lock()
	var out []TopError
	for fp, s := range c.fps {
		if now.Sub(s.last) > c.retention() {
			delete(c.fps, fp)
			continue
		}
		if n := sumSince(s.buckets, since); n > 0 {
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
