package rum

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuckets(t *testing.T) {
	prevUpper := time.Duration(0)
	for i := range numBuckets {
		upper := bucketUpper(i)
		require.Greater(t, upper, prevUpper, "bucket %d", i)
		if i >= subBuckets {
			lower := prevUpper
			assert.LessOrEqual(t, float64(upper-lower), 0.125*float64(lower), "bucket %d is at most 12.5%% wide", i)
		}
		// Every duration in the bucket maps to it.
		assert.Equal(t, i, bucketOf(prevUpper), "lower bound of %d", i)
		assert.Equal(t, i, bucketOf(upper-time.Microsecond), "last microsecond of %d", i)
		prevUpper = upper
	}
	assert.Equal(t, 0, bucketOf(-time.Second), "negative durations count as zero")
	assert.Equal(t, 0, bucketOf(999*time.Nanosecond))
	assert.Equal(t, numBuckets-1, bucketOf(1000*time.Hour), "beyond the range: the last bucket")
}

func TestWindowQuantiles(t *testing.T) {
	var s series
	for i := 1; i <= 100; i++ {
		s.observe(time.Duration(i) * time.Millisecond)
	}
	var w window
	s.take(&w)
	assert.Equal(t, uint64(100), w.count)
	assert.Equal(t, 50500*time.Microsecond, w.mean())
	assert.Equal(t, 100*time.Millisecond, w.max)
	for _, q := range []float64{0.5, 0.95, 0.99} {
		exact := time.Duration(q*100) * time.Millisecond
		got := w.quantile(q)
		assert.GreaterOrEqual(t, got, exact, "q=%v", q)
		assert.LessOrEqual(t, float64(got), 1.125*float64(exact), "q=%v", q)
	}
	assert.Equal(t, 100*time.Millisecond, w.quantile(1))

	s.take(&w)
	assert.Zero(t, w.count, "take empties the series")
	assert.Zero(t, w.quantile(0.5))
	assert.Zero(t, w.mean())
}

func TestRegistryConcurrentSafe(t *testing.T) {
	g := newRegistry(8)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				g.get(seriesKey{method: "GET", name: fmt.Sprint("/r", (w+i)%12)}).observe(time.Millisecond)
			}
		})
	}
	wg.Wait()
	all := g.all()
	require.Len(t, all, 9, "8 keys and (other)")
	var total uint64
	var win window
	for _, s := range all {
		s.take(&win)
		total += win.count
	}
	assert.Equal(t, uint64(8000), total)
}
