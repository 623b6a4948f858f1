package sink

import (
	"context"
	"log/slog"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
)

// A Logger is a named source of records, the shape of a call site:
//
//	log := m.Logger("Http")
//	log.Info("Request sent", "url", "/api/v1/chat", "attempt", 2)
//	log.Error("Request failed", err, "status", 500)
//
// Arguments after the message are slog-style: alternating keys and values,
// or slog.Attr values; a value without a key gets the key "!BADKEY".
// Values are coerced as logrecord.Coerce says: maps, slices and structs
// keep their shape, and no value can crash the program. Error
// and Fatal take the error whose text fills the record's error field, and
// capture the calling goroutine's stack, trimmed of fieldlog's own frames.
// Fatal logs at fatal level and returns; it does not exit the program.
//
// The Context variants read the trace and span ids from ctx through the
// Manager's trace extractor. A Logger is safe for concurrent use.
type Logger struct {
	m     *Manager
	name  string
	attrs []slog.Attr // bound by With; never modified
	cache *levelCache
}

// Logger returns a Logger with the given name. Dotted names form a
// hierarchy for level overrides ("Http.Client" is below "Http").
func (m *Manager) Logger(name string) *Logger {
	return &Logger{m: m, name: name, cache: new(levelCache)}
}

// Name returns the logger's name.
func (l *Logger) Name() string { return l.name }

// Named returns a child logger called l.Name()+"."+child, carrying l's
// bound attributes.
func (l *Logger) Named(child string) *Logger {
	name := child
	if l.name != "" {
		name = l.name + "." + child
	}
	return &Logger{m: l.m, name: name, attrs: l.attrs, cache: new(levelCache)}
}

// With returns a Logger that adds args (as in Info) to every record.
func (l *Logger) With(args ...any) *Logger {
	if len(args) == 0 {
		return l
	}
	l2 := *l
	l2.attrs = slices.Clip(logrecord.CoerceAttrs(appendArgs(slices.Clip(l.attrs), args)))
	return &l2
}

// Enabled reports whether a record at level would be logged.
func (l *Logger) Enabled(level logrecord.Level) bool {
	_, t := l.m.threshold(l.name, l.cache)
	return level >= t
}

// Trace logs at trace level.
func (l *Logger) Trace(msg string, args ...any) {
	if l.enabled(logrecord.LevelTrace) {
		l.log(context.Background(), logrecord.LevelTrace, msg, nil, args)
	}
}

// Debug logs at debug level.
func (l *Logger) Debug(msg string, args ...any) {
	if l.enabled(logrecord.LevelDebug) {
		l.log(context.Background(), logrecord.LevelDebug, msg, nil, args)
	}
}

// Info logs at info level.
func (l *Logger) Info(msg string, args ...any) {
	if l.enabled(logrecord.LevelInfo) {
		l.log(context.Background(), logrecord.LevelInfo, msg, nil, args)
	}
}

// Warn logs at warning level.
func (l *Logger) Warn(msg string, args ...any) {
	if l.enabled(logrecord.LevelWarning) {
		l.log(context.Background(), logrecord.LevelWarning, msg, nil, args)
	}
}

// Error logs at error level with err's text and the caller's stack.
func (l *Logger) Error(msg string, err error, args ...any) {
	if l.enabled(logrecord.LevelError) {
		l.log(context.Background(), logrecord.LevelError, msg, err, args)
	}
}

// Fatal logs at fatal level with err's text and the caller's stack. It
// does not exit.
func (l *Logger) Fatal(msg string, err error, args ...any) {
	if l.enabled(logrecord.LevelFatal) {
		l.log(context.Background(), logrecord.LevelFatal, msg, err, args)
	}
}

// TraceContext logs at trace level with the trace ids in ctx.
func (l *Logger) TraceContext(ctx context.Context, msg string, args ...any) {
	if l.enabled(logrecord.LevelTrace) {
		l.log(ctx, logrecord.LevelTrace, msg, nil, args)
	}
}

// DebugContext logs at debug level with the trace ids in ctx.
func (l *Logger) DebugContext(ctx context.Context, msg string, args ...any) {
	if l.enabled(logrecord.LevelDebug) {
		l.log(ctx, logrecord.LevelDebug, msg, nil, args)
	}
}

// InfoContext logs at info level with the trace ids in ctx.
func (l *Logger) InfoContext(ctx context.Context, msg string, args ...any) {
	if l.enabled(logrecord.LevelInfo) {
		l.log(ctx, logrecord.LevelInfo, msg, nil, args)
	}
}

// WarnContext logs at warning level with the trace ids in ctx.
func (l *Logger) WarnContext(ctx context.Context, msg string, args ...any) {
	if l.enabled(logrecord.LevelWarning) {
		l.log(ctx, logrecord.LevelWarning, msg, nil, args)
	}
}

// ErrorContext logs at error level with the trace ids in ctx.
func (l *Logger) ErrorContext(ctx context.Context, msg string, err error, args ...any) {
	if l.enabled(logrecord.LevelError) {
		l.log(ctx, logrecord.LevelError, msg, err, args)
	}
}

// FatalContext logs at fatal level with the trace ids in ctx. It does not
// exit.
func (l *Logger) FatalContext(ctx context.Context, msg string, err error, args ...any) {
	if l.enabled(logrecord.LevelFatal) {
		l.log(ctx, logrecord.LevelFatal, msg, err, args)
	}
}

// Log logs at any level; err may be nil. A stack is captured at error
// level and above.
func (l *Logger) Log(ctx context.Context, level logrecord.Level, msg string, err error, args ...any) {
	l.log(ctx, level.Normalize(), msg, err, args)
}

// enabled is the fast level check, small enough to be inlined into the
// level methods so that a disabled call costs two atomic loads. It answers
// true when the cached threshold is stale; log then checks in full.
func (l *Logger) enabled(level logrecord.Level) bool {
	c := l.cache.p.Load()
	return c == nil || c.st != l.m.state.Load() || level >= c.min
}

func (l *Logger) log(ctx context.Context, level logrecord.Level, msg string, err error, args []any) {
	st, t := l.m.threshold(l.name, l.cache)
	if level < t {
		return
	}
	r := logrecord.Record{Time: time.Now(), Level: level, Logger: l.name, Message: msg}
	if err != nil {
		r.Error = errorText(err)
	}
	if level >= logrecord.LevelError {
		r.StackTrace = callerStack()
	}
	if n := len(l.attrs) + countArgs(args); n > 0 {
		attrs := make([]slog.Attr, 0, n)
		attrs = append(attrs, l.attrs...)
		r = r.ReplaceAttrs(appendArgs(attrs, args))
	}
	l.m.dispatch(ctx, st, r)
}

const badKey = "!BADKEY"

// countArgs returns how many attributes appendArgs makes of args.
func countArgs(args []any) int {
	n := 0
	for i := 0; i < len(args); i++ {
		if _, ok := args[i].(string); ok && i+1 < len(args) {
			i++
		}
		n++
	}
	return n
}

// appendArgs turns slog-style arguments into attributes.
func appendArgs(dst []slog.Attr, args []any) []slog.Attr {
	for len(args) > 0 {
		switch x := args[0].(type) {
		case string:
			if len(args) == 1 {
				return append(dst, slog.String(badKey, x))
			}
			dst = append(dst, slog.Any(x, args[1]))
			args = args[2:]
		case slog.Attr:
			dst = append(dst, x)
			args = args[1:]
		default:
			dst = append(dst, slog.Any(badKey, x))
			args = args[1:]
		}
	}
	return dst
}

// errorText returns err.Error(), or a placeholder if that panics (a nil
// pointer with a value receiver, for example). The panic value is coerced,
// never formatted with fmt.
func errorText(err error) (s string) {
	defer func() {
		if p := recover(); p != nil {
			s = "!PANIC in " + reflect.TypeOf(err).String() + ".Error: " + logrecord.Coerce(slog.AnyValue(p)).String()
		}
	}()
	return err.Error()
}

// sdkFramePrefixes name the frames trimmed from the top of a captured
// stack: fieldlog's own logging path and the slog front end.
var sdkFramePrefixes = []string{
	"github.com/soliplex/fieldlog/sink.",
	"github.com/soliplex/fieldlog.",
	"log/slog.",
	"runtime/debug.",
}

const maxStack = 64 << 10

// callerStack returns the calling goroutine's stack in the runtime's
// format, without the frames of fieldlog and slog above the caller.
func callerStack() string {
	buf := make([]byte, 4096)
	for {
		n := runtime.Stack(buf, false)
		if n < len(buf) || len(buf) >= maxStack {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	return trimSDKFrames(string(buf))
}

// trimSDKFrames removes the leading frames (function line plus file line)
// whose function belongs to the logging path, keeping the goroutine header.
func trimSDKFrames(stack string) string {
	header, rest, ok := strings.Cut(stack, "\n")
	if !ok {
		return stack
	}
	for rest != "" {
		fn, after, _ := strings.Cut(rest, "\n")
		if !hasAnyPrefix(fn, sdkFramePrefixes) {
			break
		}
		_, after, _ = strings.Cut(after, "\n") // the frame's file line
		rest = after
	}
	return header + "\n" + rest
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
