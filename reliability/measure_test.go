//go:build unix

package reliability_test

import (
	"bufio"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A memSampler records the peak of the heap in use, sampled every 20 ms
// on a goroutine of its own until stop.
type memSampler struct {
	stopc chan struct{}
	done  chan uint64
}

func startMemSampler() *memSampler {
	m := &memSampler{stopc: make(chan struct{}), done: make(chan uint64, 1)}
	go func() {
		var peak uint64
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-m.stopc:
				m.done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

// stop ends the sampling goroutine and returns the peak in bytes.
func (m *memSampler) stop() uint64 {
	close(m.stopc)
	return <-m.done
}

// vmHWM returns the process's peak resident set size in bytes (VmHWM in
// /proc/self/status), or 0 where /proc is missing.
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// goroutineTops returns, for every goroutine, the function at the top of
// its stack and its state, sorted.
func goroutineTops() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var tops []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		lines := strings.Split(g, "\n")
		if len(lines) < 2 {
			continue
		}
		fn := lines[1]
		if i := strings.LastIndex(fn, "("); i > 0 {
			fn = fn[:i]
		}
		state := lines[0]
		if a, b := strings.Index(state, "["), strings.LastIndex(state, "]"); a >= 0 && b > a {
			state = state[a+1 : b]
		}
		tops = append(tops, fn+" ["+state+"]")
	}
	slices.Sort(tops)
	return tops
}

// goroutinesLeft waits, up to within, for the number of goroutines to come
// down to that of baseline (goroutineTops taken before) and returns how
// many more there are, with the top frames of those not in baseline.
func goroutinesLeft(baseline []string, within time.Duration) (int, []string) {
	for end := time.Now().Add(within); runtime.NumGoroutine() > len(baseline) && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond) // bounded polling: goroutines end on their own schedule
	}
	n := runtime.NumGoroutine() - len(baseline)
	if n <= 0 {
		return 0, nil
	}
	before := map[string]int{}
	for _, s := range baseline {
		before[strings.SplitN(s, " [", 2)[0]]++
	}
	var extra []string
	for _, s := range goroutineTops() {
		fn := strings.SplitN(s, " [", 2)[0]
		if before[fn] > 0 {
			before[fn]--
			continue
		}
		extra = append(extra, s)
	}
	return n, extra
}
