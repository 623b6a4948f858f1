package rum

import (
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestColdStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		began := time.Now()
		time.Sleep(300 * time.Millisecond) // the process ran before the Monitor existed
		h := newHarness(t, Options{}, deps{start: func() startInfo { return startInfo{at: began, source: "proc"} }})
		time.Sleep(700 * time.Millisecond)
		h.Phase("config")
		time.Sleep(2 * time.Second)
		h.Phase("db")
		time.Sleep(500 * time.Millisecond)
		h.Ready()

		r := h.one(t, metricColdStart)
		assert.Equal(t, logrecord.LevelInfo, r.Level)
		assert.Equal(t, "rum.start", r.Logger)
		assert.Equal(t, "cold start", r.Message)
		assert.Equal(t, map[string]any{
			"metric": metricColdStart, "ms": 3500.0, "start_source": "proc",
			"phases":              map[string]any{"config": 1000.0, "db": 2000.0},
			"breadcrumb_category": "system",
		}, attrs(r))

		h.Phase("late") // after Ready: ignored
		h.Ready()       // once
		assert.Len(t, h.records(metricColdStart), 1)
		h.close(t)
	})
}

func TestColdStartSlowIsWarning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Options{SlowStart: 5 * time.Second}, deps{})
		time.Sleep(5 * time.Second)
		h.Ready()
		r := h.one(t, metricColdStart)
		assert.Equal(t, logrecord.LevelWarning, r.Level)
		assert.Equal(t, 5000.0, attrs(r)["ms"])
		assert.NotContains(t, attrs(r), "phases", "no phases marked, no group")
		h.close(t)
	})
}

func TestColdStartOncePerProcess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		once := new(atomic.Bool) // stands for the process
		a := newHarness(t, Options{}, deps{startOnce: once})
		b := newHarness(t, Options{}, deps{startOnce: once})
		b.Ready()
		a.Ready()
		b.Ready()
		assert.Len(t, b.records(metricColdStart), 1)
		assert.Empty(t, a.records(metricColdStart))
		a.close(t)
		b.close(t)
	})
}

func TestColdStartBoundsPhases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Options{}, deps{})
		for range maxPhases + 5 {
			h.Phase("step")
		}
		h.phaseMu.Lock()
		assert.Len(t, h.phases, maxPhases)
		h.phaseMu.Unlock()
		h.close(t)
	})
}

func TestProcessAge(t *testing.T) {
	const tail = " S 1 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 %s 1000 10 18446744073709551615"
	stat := func(comm, ticks string) []byte {
		return []byte("4242 (" + comm + ")" + strings.Replace(tail, "%s", ticks, 1))
	}
	tests := []struct {
		name   string
		stat   []byte
		uptime string
		want   time.Duration
		ok     bool
	}{
		{"plain", stat("svc", "12345"), "200.00 400.00\n", 200*time.Second - 123450*time.Millisecond, true},
		{"command with spaces and parens", stat("my (odd) svc", "100"), "1.50 3.00", 500 * time.Millisecond, true},
		{"younger than the rounding", stat("svc", "151"), "1.50 3.00", 0, true},
		{"no parenthesis", []byte("4242 svc S 1"), "1.5 3", 0, false},
		{"too few fields", []byte("4242 (svc) S 1 1"), "1.5 3", 0, false},
		{"ticks not a number", stat("svc", "x"), "1.5 3", 0, false},
		{"uptime not a number", stat("svc", "1"), "soon", 0, false},
		{"empty", nil, "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := processAge(tt.stat, []byte(tt.uptime))
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestProcessStartFromOS(t *testing.T) {
	info := processStartInfo()
	assert.False(t, info.at.After(time.Now()))
	assert.False(t, info.at.After(initTime), "the process started before this package was initialised")
	if runtime.GOOS != "linux" {
		assert.Equal(t, "init", info.source)
		return
	}
	require.Equal(t, "proc", info.source)
	// A test binary starts its tests within moments; an hour is generous.
	assert.Less(t, time.Since(info.at), time.Hour)
}
