package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sync"
	"time"
)

// maxBuckets bounds the limiter's memory: past it, buckets that have
// refilled are forgotten at once, then any.
const maxBuckets = 100_000

// limiter is a token bucket per install id, per session id and per
// authenticated user.
type limiter struct {
	ids, users bucketClass

	mu        sync.Mutex
	buckets   map[string]*tokenBucket
	lastPrune time.Time
}

// bucketClass is the rate and burst of one kind of bucket; a zero rate
// means no limit.
type bucketClass struct{ rate, burst float64 }

type tokenBucket struct {
	class  *bucketClass
	tokens float64
	last   time.Time
}

func newLimiter(o ServerOptions) *limiter {
	l := &limiter{
		ids:     bucketClass{rate: o.RatePerSecond, burst: float64(o.RateBurst)},
		buckets: map[string]*tokenBucket{},
	}
	if o.UserRatePerSecond > 0 {
		l.users = bucketClass{rate: o.UserRatePerSecond, burst: float64(o.UserRateBurst)}
	}
	return l
}

// take charges one request to the install and the session of every entry
// in the batch, and to the user when there is one, and returns zero, or,
// charging nothing, how long to wait until every one of those buckets has
// a token.
func (l *limiter) take(now time.Time, user string, logs []Entry) time.Duration {
	keys := bucketKeys(logs)
	if user != "" && l.users.rate > 0 {
		keys = append(keys, bucketKey("u:", user))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		b := l.buckets[k]
		if b == nil {
			class := &l.ids
			if k[0] == 'u' {
				class = &l.users
			}
			b = &tokenBucket{class: class, tokens: class.burst, last: now}
			l.buckets[k] = b
		}
		c := b.class
		if now.After(b.last) {
			b.tokens = min(c.burst, b.tokens+now.Sub(b.last).Seconds()*c.rate)
			b.last = now
		}
		if b.tokens < 1 {
			wait = max(wait, time.Duration((1-b.tokens)/c.rate*float64(time.Second)))
		}
	}
	if wait == 0 {
		for _, k := range keys {
			l.buckets[k].tokens--
		}
	}
	if now.Sub(l.lastPrune) > time.Minute || len(l.buckets) > maxBuckets {
		l.pruneLocked(now)
	}
	return wait
}

// pruneLocked forgets buckets that have refilled and, if there are still
// too many, any.
func (l *limiter) pruneLocked(now time.Time) {
	l.lastPrune = now
	for k, b := range l.buckets {
		if full := time.Duration(b.class.burst / b.class.rate * float64(time.Second)); now.Sub(b.last) > full {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) <= maxBuckets {
			break
		}
		delete(l.buckets, k)
	}
}

// bucketKeys returns the distinct buckets a batch charges.
func bucketKeys(logs []Entry) []string {
	keys := make([]string, 0, 2)
	var seen map[string]bool // once there are many
	add := func(k string) {
		switch {
		case seen != nil:
			if seen[k] {
				return
			}
			seen[k] = true
		case slices.Contains(keys, k):
			return
		case len(keys) == 8:
			seen = make(map[string]bool, 16)
			for _, have := range keys {
				seen[have] = true
			}
			seen[k] = true
		}
		keys = append(keys, k)
	}
	for i := range logs {
		if i > 0 && logs[i].InstallID == logs[i-1].InstallID && logs[i].SessionID == logs[i-1].SessionID {
			continue // batches usually come from one session
		}
		add(bucketKey("i:", logs[i].InstallID))
		add(bucketKey("s:", logs[i].SessionID))
	}
	return keys
}

// bucketKey keeps keys short whatever the ids a client sends.
func bucketKey(kind, id string) string {
	if len(id) <= 64 {
		return kind + id
	}
	sum := sha256.Sum256([]byte(id))
	return kind + "#" + hex.EncodeToString(sum[:16])
}
