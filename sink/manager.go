package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/soliplex/fieldlog/internal/report"
	"github.com/soliplex/fieldlog/logrecord"
)

// A Manager fans records out to its sinks. It owns the level configuration:
// a global minimum level, per-logger overrides and a minimum level per sink,
// all changeable at run time from any goroutine. The check that decides
// whether a call is logged at all is a lock-free read.
//
// Before any sink sees a record, the Manager fills its trace and span ids
// from the context (see [WithTraceExtractor]) and runs the sanitizer (see
// [WithSanitizer]) once. A sink that returns an error or panics does not stop
// the others; the failure goes to the error callback (see [WithOnError]),
// never back into the logging pipeline.
//
// After Close, records are ignored.
type Manager struct {
	state     atomic.Pointer[state]
	mu        sync.Mutex // serialises changes to state
	closed    atomic.Bool
	sanitizer Sanitizer
	extract   func(context.Context) (traceID, spanID string)
	onError   func(error)
}

// state is an immutable snapshot of the level configuration and the sinks.
// Every change builds a new one, so readers need no lock.
type state struct {
	global    logrecord.Level
	overrides map[string]logrecord.Level // keys lower-cased
	sinks     []sinkEntry
	minSink   logrecord.Level // lowest sink level; records below it reach no sink
}

type sinkEntry struct {
	sink Sink
	min  logrecord.Level
}

// An Option configures a Manager.
type Option interface{ apply(*Manager) }

type optionFunc func(*Manager)

func (f optionFunc) apply(m *Manager) { f(m) }

// WithSanitizer sets the sanitizer that derives the copy of each record the
// sinks receive. If it panics, the record is dropped (it cannot be proven
// clean) and the failure is reported.
func WithSanitizer(s Sanitizer) Option {
	return optionFunc(func(m *Manager) { m.sanitizer = s })
}

// WithOnError sets the callback for the Manager's own failures: a sink that
// returned an error or panicked, a sanitizer that panicked. The default
// writes to stderr, at most ten lines at once and then one a second. The
// callback must not log through the same Manager.
func WithOnError(f func(error)) Option {
	return optionFunc(func(m *Manager) { m.onError = f })
}

// WithLevel sets the initial global minimum level (default info).
func WithLevel(l logrecord.Level) Option {
	return optionFunc(func(m *Manager) {
		st := *m.state.Load()
		st.global = l
		m.state.Store(&st)
	})
}

// WithTraceExtractor sets a function that reads the trace and span id from
// a context, for example from an OpenTelemetry span. It runs for records
// that do not carry ids already. Ids must be lower-case hex (32 and 16
// digits) or empty.
func WithTraceExtractor(f func(ctx context.Context) (traceID, spanID string)) Option {
	return optionFunc(func(m *Manager) { m.extract = f })
}

// NewManager returns a Manager that writes to sinks, each with no minimum
// level of its own (see [Manager.SetSinkLevel]).
func NewManager(sinks []Sink, opts ...Option) *Manager {
	m := &Manager{}
	st := &state{global: logrecord.LevelInfo, minSink: logrecord.LevelTrace}
	for _, s := range sinks {
		if s != nil {
			st.sinks = append(st.sinks, sinkEntry{sink: s, min: logrecord.LevelTrace})
		}
	}
	m.state.Store(st)
	for _, o := range opts {
		o.apply(m)
	}
	if m.onError == nil {
		m.onError = report.NewLimited("fieldlog: ", nil).Report
	}
	return m
}

// update applies f to a copy of the current state and publishes it.
func (m *Manager) update(f func(*state)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := *m.state.Load()
	f(&st)
	st.minSink = logrecord.LevelFatal + 1
	if len(st.sinks) == 0 {
		st.minSink = logrecord.LevelTrace
	}
	for _, e := range st.sinks {
		st.minSink = min(st.minSink, e.min)
	}
	m.state.Store(&st)
}

// Level returns the global minimum level.
func (m *Manager) Level() logrecord.Level { return m.state.Load().global }

// SetLevel changes the global minimum level.
func (m *Manager) SetLevel(l logrecord.Level) {
	m.update(func(st *state) { st.global = l })
}

// SetLoggerLevel sets the minimum level of the logger called name and of
// its descendants in the dotted hierarchy: an override for "Http" applies to
// "Http.Client" unless "Http.Client" has one of its own. Names match
// case-insensitively.
func (m *Manager) SetLoggerLevel(name string, l logrecord.Level) {
	m.update(func(st *state) {
		o := make(map[string]logrecord.Level, len(st.overrides)+1)
		for k, v := range st.overrides {
			o[k] = v
		}
		o[strings.ToLower(name)] = l
		st.overrides = o
	})
}

// ClearLoggerLevel removes the override for name, if any.
func (m *Manager) ClearLoggerLevel(name string) {
	m.update(func(st *state) {
		o := make(map[string]logrecord.Level, len(st.overrides))
		for k, v := range st.overrides {
			if k != strings.ToLower(name) {
				o[k] = v
			}
		}
		st.overrides = o
	})
}

// SetLoggerLevels replaces every per-logger override with levels, as one
// change: a concurrent log call sees either the old set or the new one. It
// is how a remote configuration is applied.
func (m *Manager) SetLoggerLevels(levels map[string]logrecord.Level) {
	o := make(map[string]logrecord.Level, len(levels))
	for k, v := range levels {
		o[strings.ToLower(k)] = v
	}
	m.update(func(st *state) { st.overrides = o })
}

// LoggerLevels returns a copy of the per-logger overrides, keyed by
// lower-cased name.
func (m *Manager) LoggerLevels() map[string]logrecord.Level {
	st := m.state.Load()
	o := make(map[string]logrecord.Level, len(st.overrides))
	for k, v := range st.overrides {
		o[k] = v
	}
	return o
}

// SetSinkLevel sets the minimum level of records that s receives. It
// reports whether s is one of the Manager's sinks.
func (m *Manager) SetSinkLevel(s Sink, l logrecord.Level) bool {
	found := false
	m.update(func(st *state) {
		sinks := make([]sinkEntry, len(st.sinks))
		copy(sinks, st.sinks)
		for i := range sinks {
			if sameSink(sinks[i].sink, s) {
				sinks[i].min = l
				found = true
			}
		}
		st.sinks = sinks
	})
	return found
}

// AddSink adds s to the sinks that receive records, with no minimum level
// of its own.
func (m *Manager) AddSink(s Sink) {
	if s == nil {
		return
	}
	m.update(func(st *state) {
		st.sinks = append(st.sinks[:len(st.sinks):len(st.sinks)], sinkEntry{sink: s, min: logrecord.LevelTrace})
	})
}

// sameSink compares two sinks by identity; sinks whose dynamic type cannot
// be compared are never equal.
func sameSink(a, b Sink) (eq bool) {
	defer func() {
		if recover() != nil {
			eq = false
		}
	}()
	return a == b
}

// threshold returns the lowest level the logger called name logs.
func (st *state) threshold(name string) logrecord.Level {
	l := st.global
	if len(st.overrides) > 0 {
		key := strings.ToLower(name)
		for {
			if v, ok := st.overrides[key]; ok {
				l = v
				break
			}
			i := strings.LastIndexByte(key, '.')
			if i < 0 {
				break
			}
			key = key[:i]
		}
	}
	return max(l, st.minSink)
}

// levelCache remembers one logger's threshold for one state snapshot, so a
// disabled call costs two atomic loads and a comparison.
type levelCache struct {
	p atomic.Pointer[cachedLevel]
}

type cachedLevel struct {
	st  *state
	min logrecord.Level
}

func (m *Manager) threshold(name string, c *levelCache) (*state, logrecord.Level) {
	st := m.state.Load()
	if cl := c.p.Load(); cl != nil && cl.st == st {
		return st, cl.min
	}
	t := st.threshold(name)
	c.p.Store(&cachedLevel{st: st, min: t})
	return st, t
}

// Enabled reports whether a record of the given logger and level would
// reach at least one sink.
func (m *Manager) Enabled(logger string, l logrecord.Level) bool {
	return l >= m.state.Load().threshold(logger) && !m.closed.Load()
}

// Log sends r to the sinks if its logger and level are enabled. Loggers and
// the slog handler call it for you; use it to forward records built
// elsewhere (their attribute values were coerced when they were built).
func (m *Manager) Log(ctx context.Context, r logrecord.Record) {
	st := m.state.Load()
	if r.Level < st.threshold(r.Logger) {
		return
	}
	m.dispatch(ctx, st, r)
}

// dispatch sanitizes r once and writes it to every sink whose level it
// meets.
func (m *Manager) dispatch(ctx context.Context, st *state, r logrecord.Record) {
	if m.closed.Load() {
		return
	}
	if m.extract != nil && r.TraceID == "" && r.SpanID == "" {
		m.extractIDs(ctx, &r)
	}
	if m.sanitizer != nil {
		var ok bool
		if r, ok = m.sanitize(r); !ok {
			return
		}
	}
	for i := range st.sinks {
		if e := &st.sinks[i]; r.Level >= e.min {
			m.write(ctx, e.sink, r)
		}
	}
}

func (m *Manager) extractIDs(ctx context.Context, r *logrecord.Record) {
	defer func() {
		if p := recover(); p != nil {
			m.onError(fmt.Errorf("sink: trace extractor panicked: %s", panicText(p)))
		}
	}()
	if ctx != nil {
		r.TraceID, r.SpanID = m.extract(ctx)
	}
}

func (m *Manager) sanitize(r logrecord.Record) (out logrecord.Record, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			m.onError(fmt.Errorf("sink: sanitizer panicked, record from %q dropped: %s", r.Logger, panicText(p)))
			ok = false
		}
	}()
	return m.sanitizer.Sanitize(r), true
}

func (m *Manager) write(ctx context.Context, s Sink, r logrecord.Record) {
	defer func() {
		if p := recover(); p != nil {
			m.onError(&SinkError{Sink: s, Op: "write", Err: fmt.Errorf("panic: %s", panicText(p))})
		}
	}()
	if err := s.Write(ctx, r); err != nil && !errors.Is(err, ErrClosed) {
		m.onError(&SinkError{Sink: s, Op: "write", Err: err})
	}
}

// A SinkError reports that one sink failed; the Manager passes it to the
// error callback. Errors from Flush and Close are joined from SinkErrors.
type SinkError struct {
	Sink Sink
	Op   string // "write", "flush" or "close"
	Err  error
}

func (e *SinkError) Error() string { return fmt.Sprintf("sink: %T %s: %v", e.Sink, e.Op, e.Err) }

// Unwrap returns the sink's error.
func (e *SinkError) Unwrap() error { return e.Err }

// Flush flushes every sink concurrently and returns when all have finished
// or ctx is done, whichever is first. Failures are joined.
func (m *Manager) Flush(ctx context.Context) error {
	return m.each(ctx, "flush", Sink.Flush)
}

// Close stops the Manager from admitting records and closes every sink
// concurrently, returning when all have finished or ctx is done. A second
// Close returns nil.
func (m *Manager) Close(ctx context.Context) error {
	if m.closed.Swap(true) {
		return nil
	}
	return m.each(ctx, "close", Sink.Close)
}

func (m *Manager) each(ctx context.Context, op string, f func(Sink, context.Context) error) error {
	sinks := m.state.Load().sinks
	errs := make([]error, len(sinks))
	var wg sync.WaitGroup
	for i, e := range sinks {
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					errs[i] = &SinkError{Sink: e.sink, Op: op, Err: fmt.Errorf("panic: %s", panicText(p))}
				}
			}()
			if err := f(e.sink, ctx); err != nil {
				errs[i] = &SinkError{Sink: e.sink, Op: op, Err: err}
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return errors.Join(errs...)
	case <-ctx.Done():
		// A sink that ignores its deadline breaks its contract; do not let
		// it hold the caller past the deadline.
		return fmt.Errorf("sink: %s: %w", op, ctx.Err())
	}
}

// slogLevel is a convenience for the handler.
func slogLevel(l slog.Level) logrecord.Level { return logrecord.FromSlog(l) }

// panicText describes a recovered panic value by its coerced value, never
// formatting the value itself with fmt.
func panicText(p any) string { return logrecord.Coerce(slog.AnyValue(p)).String() }
