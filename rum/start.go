package rum

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
)

// initTime is when this package was initialised: the process start where
// the operating system does not say.
var initTime = time.Now()

// coldStartLogged makes the cold start a once-per-process record, however
// many Monitors there are.
var coldStartLogged atomic.Bool

// maxPhases bounds the phases a cold start record carries.
const maxPhases = 32

// startInfo is when the process started and how that was learned.
type startInfo struct {
	at     time.Time
	source string // "proc" (from /proc/self/stat) or "init" (package initialisation)
}

type phase struct {
	name string
	at   time.Time
}

// processStartInfo reads the process start from the operating system,
// falling back to package initialisation.
func processStartInfo() startInfo {
	at, ok := procStart()
	if !ok || at.After(initTime) {
		return startInfo{at: initTime, source: "init"}
	}
	return startInfo{at: at, source: "proc"}
}

var procStart = sync.OnceValues(func() (time.Time, bool) {
	if runtime.GOOS != "linux" {
		return time.Time{}, false
	}
	now := time.Now()
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return time.Time{}, false
	}
	uptime, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return time.Time{}, false
	}
	age, ok := processAge(stat, uptime)
	if !ok {
		return time.Time{}, false
	}
	return now.Add(-age), true
})

// clockTicks is USER_HZ, the unit of /proc's start time: 100 on every
// architecture Go supports on Linux.
const clockTicks = 100

// processAge returns how long ago the process started, from the contents
// of /proc/self/stat (field 22: start time in clock ticks since boot) and
// /proc/uptime (seconds since boot).
func processAge(stat, uptime []byte) (time.Duration, bool) {
	// The command name (field 2) is in parentheses and may hold spaces
	// and parentheses itself; the fields after the last ')' start at 3.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	fields := bytes.Fields(stat[i+1:])
	if len(fields) < 20 {
		return 0, false
	}
	ticks, err := strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return 0, false
	}
	up, _, _ := bytes.Cut(bytes.TrimSpace(uptime), []byte(" "))
	secs, err := strconv.ParseFloat(string(up), 64)
	if err != nil || secs < 0 || secs > 1e9 {
		return 0, false
	}
	age := time.Duration(secs*float64(time.Second)) - time.Duration(ticks)*time.Second/clockTicks
	if age < 0 {
		// Both are rounded to 10ms: a process younger than that may
		// come out slightly negative.
		age = 0
	}
	return age, true
}

// Phase marks the end of a named phase of the cold start, such as
// "config" or "db": its duration runs from the previous mark (or the
// process start) to now. Phases marked after Ready are ignored, as are
// phases past the 32nd.
func (m *Monitor) Phase(name string) {
	if m == nil || m.startOnce.Load() {
		return
	}
	now := time.Now()
	m.phaseMu.Lock()
	defer m.phaseMu.Unlock()
	if len(m.phases) < maxPhases {
		m.phases = append(m.phases, phase{name: name, at: now})
	}
}

// Ready declares the process ready to serve and logs the cold start: the
// time from the process start to now (metric cold_start), with the phases
// marked so far. The process start comes from the operating system where
// it says (/proc on Linux; start_source "proc"), else from the
// initialisation of this package (start_source "init"). The record is
// logged at info, or at warning when the start took SlowStart or longer,
// and only once per process: later calls, from any Monitor, do nothing.
func (m *Monitor) Ready() {
	if m == nil || m.closed.Load() || !m.startOnce.CompareAndSwap(false, true) {
		return
	}
	now := time.Now()
	d := now.Sub(m.start.at)
	m.phaseMu.Lock()
	phases := make([]any, 0, len(m.phases))
	prev := m.start.at
	for _, p := range m.phases {
		phases = append(phases, slog.Float64(p.name, millis(p.at.Sub(prev))))
		prev = p.at
	}
	m.phaseMu.Unlock()
	level := logrecord.LevelInfo
	if d >= m.opts.SlowStart {
		level = logrecord.LevelWarning
	}
	m.startLog.Log(context.Background(), level, "cold start", nil,
		"metric", metricColdStart,
		"ms", millis(d),
		"start_source", m.start.source,
		slog.Group("phases", phases...),
		logrecord.CategoryKey, logrecord.CategorySystem)
}
