package rum

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
)

// Defaults of Options.
const (
	DefaultSlowRequest     = time.Second
	DefaultSlowCall        = time.Second
	DefaultSlowOperation   = time.Second
	DefaultSlowStart       = 10 * time.Second
	DefaultSummaryInterval = time.Minute
	DefaultWarnings        = 10
	DefaultMaxSeries       = 200
	DefaultStallThreshold  = 16 * time.Millisecond
	DefaultSampleInterval  = 5 * time.Second
)

// Options configures a Monitor. A zero field means its default.
type Options struct {
	SlowRequest   time.Duration // a served request this long or longer is logged at warning; default 1s
	SlowCall      time.Duration // an outgoing HTTP call this long or longer is logged at warning; default 1s
	SlowOperation time.Duration // an operation timed with Time this long or longer is logged at warning; default 1s
	SlowStart     time.Duration // a cold start this long or longer is logged at warning; default 10s

	// SummaryInterval is how often the per-route, per-host and
	// per-operation summaries are logged, and the window of the runtime
	// summary; default 1 minute.
	SummaryInterval time.Duration
	// Warnings is how many individual warning records (slow or failed)
	// one route, host or operation may produce per summary window; the
	// rest are counted in the summary as suppressed. Default 10.
	Warnings int
	// MaxSeries bounds the routes, the hosts and the operations tracked,
	// each; past it, new names are counted under "(other)". Default 200.
	MaxSeries int

	// StallThreshold: when the p99 of GC pauses or of scheduling latency
	// between two samples reaches it, the sampler logs a runtime stall at
	// warning, at most once per SummaryInterval; default 16ms (a frame at
	// 60 Hz).
	StallThreshold time.Duration
	SampleInterval time.Duration // how often the sampler reads runtime/metrics; default 5s
}

// withDefaults validates o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	durations := []struct {
		name string
		p    *time.Duration
		def  time.Duration
	}{
		{"SlowRequest", &o.SlowRequest, DefaultSlowRequest},
		{"SlowCall", &o.SlowCall, DefaultSlowCall},
		{"SlowOperation", &o.SlowOperation, DefaultSlowOperation},
		{"SlowStart", &o.SlowStart, DefaultSlowStart},
		{"SummaryInterval", &o.SummaryInterval, DefaultSummaryInterval},
		{"StallThreshold", &o.StallThreshold, DefaultStallThreshold},
		{"SampleInterval", &o.SampleInterval, DefaultSampleInterval},
	}
	for _, d := range durations {
		switch {
		case *d.p < 0:
			return o, fmt.Errorf("rum: Options.%s is negative: %v", d.name, *d.p)
		case *d.p == 0:
			*d.p = d.def
		}
	}
	switch {
	case o.Warnings < 0:
		return o, fmt.Errorf("rum: Options.Warnings is negative: %d", o.Warnings)
	case o.Warnings == 0:
		o.Warnings = DefaultWarnings
	}
	switch {
	case o.MaxSeries < 0:
		return o, fmt.Errorf("rum: Options.MaxSeries is negative: %d", o.MaxSeries)
	case o.MaxSeries == 0:
		o.MaxSeries = DefaultMaxSeries
	}
	return o, nil
}

// ErrNilLogger is returned by New when it is given no logger.
var ErrNilLogger = errors.New("rum: nil logger")

// A Monitor measures what users of a service feel and logs it through a
// Logger: the cold start, served requests, outgoing HTTP calls, timed
// operations and runtime stalls. It is safe for concurrent use.
//
// New starts one goroutine, which logs the summaries; StartSampler starts
// a second. Close stops both. After Close, the middleware and transports
// pass requests through unmeasured and Time and Ready do nothing.
//
// A nil *Monitor is valid and measures nothing: its Middleware returns the
// handler as it is, its Transport the base transport, and its other
// methods do nothing. Code can so be written once for a Monitor that
// configuration may leave off.
type Monitor struct {
	opts Options

	serverLog, clientLog, opLog, startLog, runtimeLog *sink.Logger

	routes, hosts, ops *registry

	start     startInfo
	startOnce *atomic.Bool // set when the cold start is logged
	phaseMu   sync.Mutex
	phases    []phase

	closed atomic.Bool
	stop   chan struct{} // closed by Close
	abort  atomic.Bool   // Close's ctx ended: skip the final summaries
	wg     sync.WaitGroup

	samplerMu      sync.Mutex
	samplerStarted bool
	readRuntime    func(*reading) // the runtime/metrics source; a seam for tests
}

// deps are the process-level inputs a test replaces.
type deps struct {
	start       func() startInfo
	startOnce   *atomic.Bool
	readRuntime func(*reading)
}

// New returns a Monitor that logs through log and its children
// ("http.server", "http.client", "op", "start", "runtime"), and starts its
// summary goroutine.
func New(log *sink.Logger, opts Options) (*Monitor, error) {
	return newMonitor(log, opts, deps{})
}

func newMonitor(log *sink.Logger, opts Options, d deps) (*Monitor, error) {
	if log == nil {
		return nil, ErrNilLogger
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if d.start == nil {
		d.start = processStartInfo
	}
	if d.startOnce == nil {
		d.startOnce = &coldStartLogged
	}
	if d.readRuntime == nil {
		d.readRuntime = newMetricsReader()
	}
	m := &Monitor{
		opts:        opts,
		serverLog:   log.Named("http.server"),
		clientLog:   log.Named("http.client"),
		opLog:       log.Named("op"),
		startLog:    log.Named("start"),
		runtimeLog:  log.Named("runtime"),
		routes:      newRegistry(opts.MaxSeries),
		hosts:       newRegistry(opts.MaxSeries),
		ops:         newRegistry(opts.MaxSeries),
		start:       d.start(),
		startOnce:   d.startOnce,
		stop:        make(chan struct{}),
		readRuntime: d.readRuntime,
	}
	m.wg.Add(1)
	go m.summarize()
	return m, nil
}

// Close stops the Monitor's goroutines, logging the summaries of the
// current window first. When ctx ends first, the summaries not yet written
// are skipped and Close returns ctx's error as soon as the record in hand
// has reached the sinks (which, by the sink contract, do not block). No
// goroutine of the Monitor outlives Close. A second Close returns nil.
func (m *Monitor) Close(ctx context.Context) error {
	if m == nil {
		return nil
	}
	m.samplerMu.Lock() // no sampler starts once closed is set
	wasClosed := m.closed.Swap(true)
	m.samplerMu.Unlock()
	if wasClosed {
		return nil
	}
	close(m.stop)
	done := make(chan struct{})
	go func() {
		m.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		m.abort.Store(true)
		<-done // bounded: the goroutines only log, and check abort between records
		return ctx.Err()
	}
}

// summarize owns the summary ticker.
func (m *Monitor) summarize() {
	defer m.wg.Done()
	t := time.NewTicker(m.opts.SummaryInterval)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case now := <-t.C:
			m.logSummaries(now.Sub(last))
			last = now
		case <-m.stop:
			m.logSummaries(time.Since(last))
			return
		}
	}
}

// logSummaries logs one record per route, host and operation that saw
// anything in the window.
func (m *Monitor) logSummaries(span time.Duration) {
	var w window
	for _, s := range m.routes.all() {
		if s.take(&w); !m.abort.Load() && (w.count > 0 || w.suppressed > 0) {
			m.serverLog.Info("route summary", summaryArgs(metricServerSummary, &w, span,
				[]any{"route", w.key.name, "method", w.key.method},
				"bytes", w.bytes, "status_4xx", w.status4xx, "status_5xx", w.status5xx,
				logrecord.CategoryKey, logrecord.CategoryNetwork)...)
		}
	}
	for _, s := range m.hosts.all() {
		if s.take(&w); !m.abort.Load() && (w.count > 0 || w.suppressed > 0) {
			m.clientLog.Info("host summary", summaryArgs(metricClientSummary, &w, span,
				[]any{"host", w.key.name, "method", w.key.method},
				"status_5xx", w.status5xx, classCounts(&w),
				logrecord.CategoryKey, logrecord.CategoryNetwork)...)
		}
	}
	for _, s := range m.ops.all() {
		if s.take(&w); !m.abort.Load() && (w.count > 0 || w.suppressed > 0) {
			m.opLog.Info("operation summary", summaryArgs(metricOpSummary, &w, span, []any{"op", w.key.name})...)
		}
	}
}

// summaryArgs returns a summary's attributes: the metric, what the series
// is (id), what every summary reports, then extra. ms is the mean, so that
// summaries of several windows or replicas combine exactly as ms × count.
func summaryArgs(metric string, w *window, span time.Duration, id []any, extra ...any) []any {
	args := make([]any, 0, 2+len(id)+20+len(extra))
	args = append(args, "metric", metric)
	args = append(args, id...)
	args = append(args,
		"ms", millis(w.mean()),
		"count", w.count,
		"p50_ms", millis(w.quantile(0.50)),
		"p95_ms", millis(w.quantile(0.95)),
		"p99_ms", millis(w.quantile(0.99)),
		"max_ms", millis(w.max),
		"slow", w.slow,
		"suppressed", w.suppressed,
		"window_ms", millis(span),
	)
	return append(args, extra...)
}

// classCounts returns the non-zero error-class counts as a group.
func classCounts(w *window) slog.Attr {
	var attrs []any
	for c := classNone + 1; c < numClasses; c++ {
		if n := w.classes[c]; n > 0 {
			attrs = append(attrs, slog.Uint64(classNames[c], n))
		}
	}
	return slog.Group("errors", attrs...)
}

// Metric names: the value of every record's "metric" attribute.
const (
	metricColdStart     = "cold_start"
	metricServerRequest = "http.server.request"
	metricServerSummary = "http.server.summary"
	metricClientRequest = "http.client.request"
	metricClientSummary = "http.client.summary"
	metricOp            = "op"
	metricOpSummary     = "op.summary"
	metricStall         = "runtime.stall"
	metricRuntime       = "runtime.summary"
)

type monitorKey struct{}

// NewContext returns a copy of ctx that carries m, for Time. The
// middleware does this for every request it serves.
func NewContext(ctx context.Context, m *Monitor) context.Context {
	return context.WithValue(ctx, monitorKey{}, m)
}

// FromContext returns the Monitor ctx carries, or nil.
func FromContext(ctx context.Context) *Monitor {
	if ctx == nil {
		return nil
	}
	m, _ := ctx.Value(monitorKey{}).(*Monitor)
	return m
}
