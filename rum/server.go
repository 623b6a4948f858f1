package rum

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
)

// noRoute is the route of a request that matched no ServeMux pattern, or
// was served by a handler that sets none.
const noRoute = "(none)"

// Middleware returns a handler that measures each request next serves.
//
// A request is named by its route: the ServeMux pattern that matched it
// (r.Pattern, such as "GET /users/{id}"), never its path, so ids in paths
// neither reach the logs nor multiply the series. Wrap the ServeMux itself,
// or a handler that passes the request on unchanged: a handler in between
// that replaces the request (r.WithContext) hides the pattern, and the
// route is logged as "(none)".
//
// Every request is counted in its route's summary. A request that takes
// SlowRequest or longer is logged at warning (metric http.server.request),
// at most Options.Warnings per route per summary window; when debug is
// enabled for the "http.server" logger every other request is logged at
// debug. The request's context carries the Monitor, so Time works in
// handlers.
//
// The writer next receives offers http.Flusher, http.Hijacker and
// io.ReaderFrom whatever the server's writer supports, and Unwrap for
// http.ResponseController; Hijack on a writer that cannot be hijacked
// (HTTP/2) returns http.ErrNotSupported, and Flush on one that cannot
// flush does nothing.
func (m *Monitor) Middleware(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.closed.Load() {
			next.ServeHTTP(w, r)
			return
		}
		st := &requestState{start: time.Now()}
		st.ctx = requestContext{Context: r.Context(), m: m}
		st.w = responseWriter{ResponseWriter: w}
		r = r.WithContext(&st.ctx)
		st.ctx.r = r
		defer m.finishRequest(st, r)
		next.ServeHTTP(&st.w, r)
		st.returned = true
	})
}

// requestState is everything the middleware keeps for one request, in one
// allocation.
type requestState struct {
	start    time.Time
	ctx      requestContext
	w        responseWriter
	returned bool // false while a panic unwinds
}

// requestContext is the request's context: its parent plus the Monitor
// and the request, for Time.
type requestContext struct {
	context.Context
	m *Monitor
	r *http.Request
}

type requestKey struct{}

func (c *requestContext) Value(key any) any {
	switch key.(type) {
	case monitorKey:
		return c.m
	case requestKey:
		return c.r
	}
	return c.Context.Value(key)
}

// routeOf returns the route of the request served with ctx, if any.
func routeOf(ctx context.Context) (string, bool) {
	if r, ok := ctx.Value(requestKey{}).(*http.Request); ok && r.Pattern != "" {
		return r.Pattern, true
	}
	return "", false
}

func (m *Monitor) finishRequest(st *requestState, r *http.Request) {
	d := time.Since(st.start)
	status := st.w.status
	switch {
	case !st.returned && status == 0:
		status = http.StatusInternalServerError
	case status == 0:
		status = http.StatusOK
	}
	route := r.Pattern
	if route == "" {
		route = noRoute
	}
	s := m.routes.get(seriesKey{method: methodName(r.Method), name: route})
	s.observe(d)
	s.bytes.Add(uint64(st.w.bytes))
	switch {
	case status >= 500:
		s.status5xx.Add(1)
	case status >= 400:
		s.status4xx.Add(1)
	}
	slow := d >= m.opts.SlowRequest
	if slow {
		s.slow.Add(1)
	}
	level, ok := s.levelFor(slow, m.opts.Warnings, m.serverLog)
	if !ok {
		return
	}
	msg := "request"
	if level == logrecord.LevelWarning {
		msg = "slow request"
	}
	args := []any{
		"metric", metricServerRequest,
		"ms", millis(d),
		"route", route,
		"method", r.Method,
		"status", status,
		"bytes", st.w.bytes,
		logrecord.CategoryKey, logrecord.CategoryNetwork,
	}
	if !st.returned {
		args = append(args, "panicked", true)
	}
	m.serverLog.Log(st.ctx.Context, level, msg, nil, args...)
}

// methodName returns the standard method names as they are and anything
// else as "OTHER", so a client cannot grow the series with made-up methods.
func methodName(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	case "":
		return http.MethodGet // a client request with no method is a GET
	}
	return "OTHER"
}

// responseWriter records the status and the size of a response. It keeps
// Flush, Hijack and io.ReaderFrom working, and Unwrap lets
// http.ResponseController reach what it wraps.
type responseWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *responseWriter) WriteHeader(code int) {
	// 1xx answers other than 101 come before the real one.
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols || code < 100) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the sendfile path of the server's writer.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(writerOnly{w.ResponseWriter}, r)
	}
	w.bytes += n
	return n, err
}

// writerOnly hides every method but Write, so io.Copy does not call back
// into ReadFrom.
type writerOnly struct{ io.Writer }

func (w *responseWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return c, rw, err
}

func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
