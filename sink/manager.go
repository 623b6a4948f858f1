package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
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
// A sink that is a [LevelSink] is not bound by the global and per-logger
// levels: it receives every record at or above its own minimum level, so
// a breadcrumb ring can keep debug records that no other sink receives.
//
// Global and per-logger levels come in two layers: the local one, set in
// code ([Manager.SetLevel], [Manager.SetLoggerLevel]), and a remote one set
// by a remote configuration ([Manager.SetRemoteLevels]). A remote level
// replaces the local level of the same name while it is present, and the
// local level returns when the remote layer is cleared or changed; a level
// set with [Manager.PinLevel] or [Manager.PinLoggerLevel] is never
// replaced remotely.
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
	global    logrecord.Level            // effective: derived from levels
	overrides map[string]logrecord.Level // effective, keys lower-cased; derived from levels
	levels    levels                     // what was set, locally and remotely
	sinks     []sinkEntry
	minSink   logrecord.Level // lowest level of the sinks that follow the levels; records below it reach none of them
	minOwn    logrecord.Level // lowest level of the LevelSinks; noLevel when there are none
	ceiling   logrecord.Level // highest of global and overrides: a record at it passes every logger's level
}

// levels are the two layers of level configuration. Its maps are never
// modified once published: a change replaces them.
type levels struct {
	global  localLevel
	loggers map[string]localLevel // keys lower-cased
	remote  *remoteLevels         // nil: no remote layer
}

// A localLevel is a level set in code; a pinned one is never replaced by
// the remote layer.
type localLevel struct {
	level  logrecord.Level
	pinned bool
}

type remoteLevels struct {
	global  logrecord.Level
	loggers map[string]logrecord.Level // keys lower-cased
}

// resolve returns the effective global level and per-logger overrides:
// the local ones, with every remote level put in place of the local level
// of the same name, unless that name or one of its dotted ancestors is
// pinned. (A pinned global level keeps only the global level local.)
func (lv *levels) resolve() (logrecord.Level, map[string]logrecord.Level) {
	global, r := lv.global.level, lv.remote
	if r != nil && !lv.global.pinned {
		global = r.global
	}
	n := len(lv.loggers)
	if r != nil {
		n += len(r.loggers)
	}
	if n == 0 {
		return global, nil
	}
	o := make(map[string]logrecord.Level, n)
	for k, v := range lv.loggers {
		o[k] = v.level
	}
	if r != nil {
		for k, v := range r.loggers {
			if !lv.pinnedAt(k) {
				o[k] = v
			}
		}
	}
	return global, o
}

// pinnedAt reports whether key or one of its dotted ancestors has a
// pinned local level.
func (lv *levels) pinnedAt(key string) bool {
	for {
		if v, ok := lv.loggers[key]; ok && v.pinned {
			return true
		}
		i := strings.LastIndexByte(key, '.')
		if i < 0 {
			return false
		}
		key = key[:i]
	}
}

type sinkEntry struct {
	sink Sink
	min  logrecord.Level
	own  bool // a LevelSink: min alone decides, not the global and per-logger levels
}

// noLevel is above every level a record can have.
const noLevel = logrecord.Level(math.MaxInt)

// entryFor returns the entry of a sink just added: no minimum level, or a
// LevelSink's own.
func entryFor(s Sink) sinkEntry {
	if ls, ok := s.(LevelSink); ok {
		return sinkEntry{sink: s, min: ls.MinLevel(), own: true}
	}
	return sinkEntry{sink: s, min: logrecord.LevelTrace}
}

// derive computes the levels that follow from the sinks and the effective
// levels.
func (st *state) derive() {
	st.minSink, st.minOwn = noLevel, noLevel
	if len(st.sinks) == 0 {
		st.minSink = logrecord.LevelTrace
	}
	for _, e := range st.sinks {
		if e.own {
			st.minOwn = min(st.minOwn, e.min)
		} else {
			st.minSink = min(st.minSink, e.min)
		}
	}
	st.ceiling = st.global
	for _, l := range st.overrides {
		st.ceiling = max(st.ceiling, l)
	}
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
	return optionFunc(func(m *Manager) { m.SetLevel(l) })
}

// WithTraceExtractor sets a function that reads the trace and span id from
// a context, for example from an OpenTelemetry span. It runs for records
// that do not carry ids already. Ids must be lower-case hex (32 and 16
// digits) or empty.
func WithTraceExtractor(f func(ctx context.Context) (traceID, spanID string)) Option {
	return optionFunc(func(m *Manager) { m.extract = f })
}

// NewManager returns a Manager that writes to sinks, each with no minimum
// level of its own (see [Manager.SetSinkLevel]) unless it is a [LevelSink].
func NewManager(sinks []Sink, opts ...Option) *Manager {
	m := &Manager{}
	st := &state{
		global:  logrecord.LevelInfo,
		levels:  levels{global: localLevel{level: logrecord.LevelInfo}},
		minSink: logrecord.LevelTrace,
	}
	for _, s := range sinks {
		if s != nil {
			st.sinks = append(st.sinks, entryFor(s))
		}
	}
	st.derive()
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
	st.derive()
	m.state.Store(&st)
}

// updateLevels applies f to a copy of the level layers and publishes the
// effective levels they give.
func (m *Manager) updateLevels(f func(*levels)) {
	m.update(func(st *state) {
		f(&st.levels)
		st.global, st.overrides = st.levels.resolve()
	})
}

// setLogger returns a copy of loggers with name set to v, or removed when
// v is nil.
func setLogger(loggers map[string]localLevel, name string, v *localLevel) map[string]localLevel {
	key := strings.ToLower(name)
	o := make(map[string]localLevel, len(loggers)+1)
	for k, l := range loggers {
		if k != key {
			o[k] = l
		}
	}
	if v != nil {
		o[key] = *v
	}
	return o
}

// Level returns the effective global minimum level: the remote one while
// a remote layer sets it, else the local one.
func (m *Manager) Level() logrecord.Level { return m.state.Load().global }

// SetLevel changes the local global minimum level. A remote layer
// replaces it while present.
func (m *Manager) SetLevel(l logrecord.Level) {
	m.updateLevels(func(lv *levels) { lv.global = localLevel{level: l} })
}

// PinLevel changes the local global minimum level, like SetLevel, and
// marks it as not remotely overridable: a remote layer's global level is
// ignored until SetLevel is called. (Its per-logger levels still apply;
// pin those with PinLoggerLevel.)
func (m *Manager) PinLevel(l logrecord.Level) {
	m.updateLevels(func(lv *levels) { lv.global = localLevel{level: l, pinned: true} })
}

// SetLoggerLevel sets the minimum level of the logger called name and of
// its descendants in the dotted hierarchy: an override for "Http" applies to
// "Http.Client" unless "Http.Client" has one of its own. Names match
// case-insensitively. A remote level for the same name replaces it while
// present.
func (m *Manager) SetLoggerLevel(name string, l logrecord.Level) {
	m.updateLevels(func(lv *levels) { lv.loggers = setLogger(lv.loggers, name, &localLevel{level: l}) })
}

// PinLoggerLevel sets the minimum level of the logger called name, like
// SetLoggerLevel, and marks it as not remotely overridable: remote levels
// for name and for its descendants are ignored until the override is set
// again with SetLoggerLevel or cleared.
func (m *Manager) PinLoggerLevel(name string, l logrecord.Level) {
	m.updateLevels(func(lv *levels) { lv.loggers = setLogger(lv.loggers, name, &localLevel{level: l, pinned: true}) })
}

// ClearLoggerLevel removes the local override for name, if any, and its
// pin.
func (m *Manager) ClearLoggerLevel(name string) {
	m.updateLevels(func(lv *levels) { lv.loggers = setLogger(lv.loggers, name, nil) })
}

// SetLoggerLevels replaces every local per-logger override with loggers,
// unpinned, as one change: a concurrent log call sees either the old set
// or the new one.
func (m *Manager) SetLoggerLevels(loggers map[string]logrecord.Level) {
	o := make(map[string]localLevel, len(loggers))
	for k, v := range loggers {
		o[strings.ToLower(k)] = localLevel{level: v}
	}
	m.updateLevels(func(lv *levels) { lv.loggers = o })
}

// SetRemoteLevels replaces the remote layer, as one change: global in
// place of the local global level, and each of loggers in place of the
// local override of the same name (with the usual dotted-prefix
// inheritance), except where a level is pinned. Overrides of the previous
// remote layer that loggers lacks are gone, and the local levels they hid
// apply again. It is how a remote configuration is applied.
func (m *Manager) SetRemoteLevels(global logrecord.Level, loggers map[string]logrecord.Level) {
	r := &remoteLevels{global: global, loggers: make(map[string]logrecord.Level, len(loggers))}
	for k, v := range loggers {
		r.loggers[strings.ToLower(k)] = v
	}
	m.updateLevels(func(lv *levels) { lv.remote = r })
}

// ClearRemoteLevels removes the remote layer: the local levels apply
// again.
func (m *Manager) ClearRemoteLevels() {
	m.updateLevels(func(lv *levels) { lv.remote = nil })
}

// LoggerLevels returns a copy of the effective per-logger overrides, local
// and remote, keyed by lower-cased name.
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
// of its own unless it is a [LevelSink].
func (m *Manager) AddSink(s Sink) {
	if s == nil {
		return
	}
	m.update(func(st *state) {
		st.sinks = append(st.sinks[:len(st.sinks):len(st.sinks)], entryFor(s))
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

// threshold returns the lowest level the logger called name logs: the
// lowest that reaches a sink following the levels, or a LevelSink.
func (st *state) threshold(name string) logrecord.Level {
	return min(max(st.loggerLevel(name), st.minSink), st.minOwn)
}

// loggerLevel returns the effective level of the logger called name: its
// override, or its nearest dotted ancestor's, or the global level.
func (st *state) loggerLevel(name string) logrecord.Level {
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
	return l
}

// followsLevels reports whether r, which passed threshold, also reaches
// the sinks that follow the global and per-logger levels, and not only
// the LevelSinks.
func (st *state) followsLevels(r *logrecord.Record) bool {
	return r.Level < st.minOwn || r.Level >= max(st.ceiling, st.minSink) ||
		r.Level >= max(st.loggerLevel(r.Logger), st.minSink)
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
	shared := st.followsLevels(&r)
	for i := range st.sinks {
		if e := &st.sinks[i]; r.Level >= e.min && (shared || e.own) {
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
