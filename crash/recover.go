package crash

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
)

// Attribute keys of the records this package writes.
const (
	KindKey       = "crash.kind"       // recovered, unrecovered or unclean_exit
	SessionKey    = "crash.session_id" // the session that crashed or ended uncleanly
	GoroutineKey  = "crash.goroutine"  // the id of the goroutine that panicked
	PanicTypeKey  = "panic.type"       // the dynamic type of a recovered panic value
	ReportIDKey   = "crash.report_id"  // identifies a report of an earlier session
	InferredKey   = "crash.message_inferred"
	LastSeenKey   = "crash.last_seen"     // the last breadcrumb's time of an unclean exit
	LastRecordKey = "crash.last_activity" // the last breadcrumb of an unclean exit: "level logger: message"
	StartedKey    = "crash.session_started"
	VersionKey    = "crash.version" // the version of the program that crashed
	PIDKey        = "crash.pid"
	MethodKey     = "method" // of a request whose handler panicked
	RouteKey      = "route"  // its ServeMux pattern, as the rum package names requests
)

// Kinds, as in KindKey.
const (
	KindRecovered   = "recovered"    // a panic Recover, Go or Middleware saw
	KindUnrecovered = "unrecovered"  // crash output of an earlier session
	KindUncleanExit = "unclean_exit" // an earlier session ended with neither crash output nor Close
)

// noRoute is the route of a request that matched no ServeMux pattern.
const noRoute = "(none)"

// Recover, deferred, turns a panic of the calling goroutine into a fatal
// record — the panic value and the goroutine's stack from where it
// panicked — that is durable (on disk, when the Manager ships) before
// Recover returns, and then raises the panic again: the program ends as
// it would have, and the next start does not report the crash a second
// time. A Guard from Swallowing lets the goroutine end normally instead.
//
//	defer guard.Recover()
//
// Recover must be deferred directly. Without a panic it does nothing. On
// a nil Guard it does nothing, and the panic goes on.
func (g *Guard) Recover() {
	if g == nil {
		return
	}
	p := recover()
	if p == nil {
		return
	}
	g.handle(context.Background(), p)
}

// Go runs f in a new goroutine under Recover.
func (g *Guard) Go(f func()) {
	go func() {
		defer g.Recover()
		f()
	}()
}

// Swallowing returns a Guard whose Recover and Go report a panic and let
// the goroutine end normally, as a worker pool wants: the panic does not
// end the program. It shares g's state; close g, not the view.
func (g *Guard) Swallowing() *Guard {
	if g == nil {
		return &Guard{swallow: true}
	}
	return &Guard{core: g.core, swallow: true}
}

// Middleware returns a handler that turns a panic of next into a fatal
// record carrying the request's method and route (the ServeMux pattern
// that matched, r.Pattern), answers 500 and returns, so the server goes on
// serving. The record is written with the request's context (its user and
// trace ids), without its cancellation. A panic with http.ErrAbortHandler
// goes on, as net/http expects.
//
// Wrap the ServeMux itself, inside any middleware that replaces the
// request (r.WithContext), or the route is not known: rum's Middleware
// goes outside this one.
func (g *Guard) Middleware(next http.Handler) http.Handler {
	if g == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			route := r.Pattern
			if route == "" {
				route = noRoute
			}
			g.report(r.Context(), p, slog.String(MethodKey, r.Method), slog.String(RouteKey, route))
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		}()
		next.ServeHTTP(w, r)
	})
}

// handle reports p, then raises it again unless g swallows panics.
func (g *Guard) handle(ctx context.Context, p any) {
	gid, logged := g.report(ctx, p)
	if g.swallow {
		return
	}
	if logged && gid > 0 {
		// The crash output this panic leaves is reported already.
		if err := appendRepanic(filepath.Join(g.opts.Dir, g.opts.SessionID+extRepanic), gid); err != nil {
			g.opts.OnError(fmt.Errorf("crash: note a reported panic: %w", err))
		}
	}
	panic(p)
}

// report writes the fatal record of p and returns the goroutine's id and
// whether there was a Manager to write it to.
func (g *Guard) report(ctx context.Context, p any, attrs ...slog.Attr) (gid int64, logged bool) {
	if g.core == nil {
		return 0, false
	}
	m := g.manager.Load()
	if m == nil {
		return 0, false
	}
	stack, gid := panicStack()
	text := panicText(p)
	r := logrecord.New(time.Now(), logrecord.LevelFatal, g.opts.Logger, "panic: "+firstLine(text), append(attrs,
		slog.String(KindKey, KindRecovered),
		slog.String(PanicTypeKey, typeName(p)),
		slog.Int64(GoroutineKey, gid),
	)...)
	r.Error = text
	r.StackTrace = stack
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.opts.RecordTimeout)
	defer cancel()
	m.Log(wctx, r) // a backend sink returns once a fatal record is on disk
	return gid, true
}

// panicStack returns the calling goroutine's stack from the frame that
// panicked down, without the frames of the runtime's panic machinery and
// of this package above it, and the goroutine's id.
func panicStack() (string, int64) {
	s := string(debug.Stack())
	header, rest, _ := strings.Cut(s, "\n")
	gid, _ := goroutineHeader(header)
	if i := strings.Index(rest, "\npanic("); i >= 0 || strings.HasPrefix(rest, "panic(") {
		rest = rest[i+1:]
		rest = dropFrame(rest) // panic(…)
		for strings.HasPrefix(rest, "runtime.") {
			rest = dropFrame(rest) // runtime.sigpanic, runtime.panicmem, …
		}
	}
	return capLines(header+"\n"+rest, maxCrashStack), gid
}

// dropFrame removes the first frame (function line and file line) of a
// stack.
func dropFrame(s string) string {
	_, s, _ = strings.Cut(s, "\n")
	if strings.HasPrefix(s, "\t") {
		_, s, _ = strings.Cut(s, "\n")
	}
	return s
}

// panicText describes a panic value: an error's or Stringer's text (a
// method that panics gives a placeholder), a string as it is, anything
// else as its coerced value, never formatted with fmt.
func panicText(p any) (s string) {
	defer func() {
		if q := recover(); q != nil {
			s = "!PANIC in " + typeName(p) + " method: " + logrecord.Coerce(slog.AnyValue(q)).String()
		}
	}()
	switch v := p.(type) {
	case error:
		return v.Error()
	case string:
		return v
	case fmt.Stringer:
		return v.String()
	}
	return logrecord.Coerce(slog.AnyValue(p)).String()
}

func typeName(p any) string {
	if p == nil {
		return "nil"
	}
	return reflect.TypeOf(p).String()
}

// firstLine returns the first line of s, at most 1 KB of it.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 1024 {
		cut := 1024
		for cut > 0 && !startsRune(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
