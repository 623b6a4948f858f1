package sink

import (
	"context"
	"log/slog"
	"slices"

	"github.com/soliplex/fieldlog/logrecord"
)

// A Handler is a [slog.Handler] that feeds a Manager, so a program that
// already logs with log/slog gets fieldlog by installing one handler:
//
//	slog.SetDefault(slog.New(m.Handler("App")))
//
// Every record it handles carries the handler's logger name. Groups become
// nested group attributes; empty groups and empty attributes are dropped;
// values are coerced as logrecord.Coerce says (LogValuers resolved, depth
// and cycles bounded, so no value can crash the program). A top-level
// attribute called "err" or "error" whose value is an error fills the
// record's error text instead. At error level and above the calling
// goroutine's stack is captured. Handle ignores ctx cancellation; ctx only
// supplies trace ids.
type Handler struct {
	m       *Manager
	name    string
	cache   *levelCache
	goas    []groupOrAttrs // WithGroup and WithAttrs calls, outermost first
	flat    []slog.Attr    // all bound attributes while no group is open
	grouped bool
}

// groupOrAttrs is one WithGroup (group != "") or WithAttrs call.
type groupOrAttrs struct {
	group string
	attrs []slog.Attr
}

var _ slog.Handler = (*Handler)(nil)

// Handler returns a slog handler whose records carry the logger name.
func (m *Manager) Handler(name string) *Handler {
	return &Handler{m: m, name: name, cache: new(levelCache)}
}

// Enabled reports whether records at level are logged; it is one atomic
// read when the configuration has not changed.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	_, t := h.m.threshold(h.name, h.cache)
	return logrecord.FromSlog(level) >= t
}

// Handle converts r into a Record and sends it to the Manager's sinks.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	level := slogLevel(r.Level)
	st, t := h.m.threshold(h.name, h.cache)
	if level < t {
		return nil
	}
	rec := logrecord.Record{Time: r.Time, Level: level, Logger: h.name, Message: r.Message}
	attrs := make([]slog.Attr, 0, len(h.flat)+r.NumAttrs())
	if !h.grouped {
		attrs = append(attrs, h.flat...)
	}
	n := len(attrs)
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	if i, err := errorAttr(attrs[n:]); err != nil {
		rec.Error = errorText(err)
		attrs = slices.Delete(attrs, n+i, n+i+1)
	}
	if h.grouped {
		attrs = h.nest(attrs)
	}
	if level >= logrecord.LevelError {
		rec.StackTrace = callerStack()
	}
	// ReplaceAttrs coerces: it resolves LogValuers, drops empty attributes
	// and groups and bounds depth, the groups opened by WithGroup included.
	h.m.dispatch(ctx, st, rec.ReplaceAttrs(attrs))
	return nil
}

// errorAttr finds the first attribute called "err" or "error" whose value
// is an error.
func errorAttr(attrs []slog.Attr) (int, error) {
	for i, a := range attrs {
		if (a.Key == "err" || a.Key == "error") && a.Value.Kind() == slog.KindAny {
			if err, ok := a.Value.Any().(error); ok && err != nil {
				return i, err
			}
		}
	}
	return -1, nil
}

// nest wraps the record's attributes in the open groups, adding the
// attributes bound at each level. A group left empty disappears when the
// record coerces its attributes.
func (h *Handler) nest(attrs []slog.Attr) []slog.Attr {
	cur := attrs
	for i := len(h.goas) - 1; i >= 0; i-- {
		g := h.goas[i]
		if g.group == "" {
			cur = append(slices.Clip(g.attrs), cur...)
			continue
		}
		if len(cur) == 0 {
			continue
		}
		cur = []slog.Attr{{Key: g.group, Value: slog.GroupValue(cur...)}}
	}
	return cur
}

// WithAttrs returns a handler that adds attrs to every record, inside the
// groups opened so far. The receiver is not changed.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	resolved := slices.Clip(logrecord.CoerceAttrs(slices.Clone(attrs)))
	if len(resolved) == 0 {
		return h
	}
	h2 := *h
	h2.goas = append(slices.Clip(h.goas), groupOrAttrs{attrs: resolved})
	if !h.grouped {
		h2.flat = append(slices.Clip(h.flat), resolved...)
	}
	return &h2
}

// WithGroup returns a handler that nests later attributes under name. An
// empty name is ignored.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.goas = append(slices.Clip(h.goas), groupOrAttrs{group: name})
	h2.grouped = true
	return &h2
}
