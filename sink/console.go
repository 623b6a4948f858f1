package sink

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/soliplex/fieldlog/logrecord"
)

// ConsoleOptions configures a Console sink. The zero value is usable.
type ConsoleOptions struct {
	// TimeFormat formats the record's time, in UTC; default
	// "2006-01-02T15:04:05.000Z07:00".
	TimeFormat string
	// NoTime leaves out the time, for output that must be reproducible.
	NoTime bool
	// NoStack leaves out stack traces.
	NoStack bool
}

// A Console sink writes one human-readable line per record to an
// io.Writer:
//
//	2026-02-06T12:00:00.123Z ERROR Http: Request failed: 500 url=/api/v1/chat status=500 error="HttpException: 500"
//
// followed, for records with a stack, by the stack indented by four
// spaces. Nested groups print as dotted keys. Writes are serialised; the
// sink is meant for development and for terminals, so it writes
// synchronously.
type Console struct {
	opts ConsoleOptions

	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	closed bool
}

var _ Sink = (*Console)(nil)

// NewConsole returns a Console sink writing to w. opts may be nil.
func NewConsole(w io.Writer, opts *ConsoleOptions) *Console {
	c := &Console{w: w}
	if opts != nil {
		c.opts = *opts
	}
	if c.opts.TimeFormat == "" {
		c.opts.TimeFormat = "2006-01-02T15:04:05.000Z07:00"
	}
	return c
}

// Write formats r and writes it.
func (c *Console) Write(_ context.Context, r logrecord.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	b := c.buf[:0]
	if !r.Time.IsZero() && !c.opts.NoTime {
		b = r.Time.UTC().AppendFormat(b, c.opts.TimeFormat)
		b = append(b, ' ')
	}
	b = append(b, r.Level.SeverityText()...)
	b = append(b, ' ')
	if r.Logger != "" {
		b = append(b, r.Logger...)
		b = append(b, ": "...)
	}
	b = append(b, r.Message...)
	for a := range r.Attrs {
		b = appendConsoleAttr(b, "", a)
	}
	if r.Error != "" {
		b = appendConsoleValue(append(b, " error="...), r.Error)
	}
	if r.TraceID != "" {
		b = append(append(b, " trace_id="...), r.TraceID...)
	}
	if r.SpanID != "" {
		b = append(append(b, " span_id="...), r.SpanID...)
	}
	b = append(b, '\n')
	if r.StackTrace != "" && !c.opts.NoStack {
		for line := range strings.Lines(r.StackTrace) {
			b = append(b, "    "...)
			b = append(b, strings.TrimRight(line, "\n")...)
			b = append(b, '\n')
		}
	}
	c.buf = b
	_, err := c.w.Write(b)
	return err
}

func appendConsoleAttr(b []byte, prefix string, a slog.Attr) []byte {
	a.Value = logrecord.Coerce(a.Value) // a no-op for a record's values, which are coerced
	key := a.Key
	if prefix != "" {
		key = prefix + "." + a.Key
	}
	if a.Value.Kind() == slog.KindGroup {
		for _, m := range a.Value.Group() {
			b = appendConsoleAttr(b, key, m)
		}
		return b
	}
	b = append(b, ' ')
	b = append(b, key...)
	b = append(b, '=')
	switch a.Value.Kind() {
	case slog.KindString:
		return appendConsoleValue(b, a.Value.String())
	case slog.KindTime:
		return a.Value.Time().UTC().AppendFormat(b, time.RFC3339Nano)
	case slog.KindAny:
		// A coerced value: nil, a number, a list or an empty map.
		return appendConsoleValue(b, string(appendText(nil, a.Value.Any())))
	}
	return append(b, a.Value.String()...)
}

// appendText writes a coerced value as fmt's %v would, without fmt: the
// value is a tree of bounded depth, so this cannot recurse without end.
func appendText(b []byte, x any) []byte {
	switch t := x.(type) {
	case nil:
		return append(b, "<nil>"...)
	case string:
		return append(b, t...)
	case bool:
		return strconv.AppendBool(b, t)
	case int64:
		return strconv.AppendInt(b, t, 10)
	case uint64:
		return strconv.AppendUint(b, t, 10)
	case float64:
		return strconv.AppendFloat(b, t, 'g', -1, 64)
	case json.Number:
		return append(b, t...)
	case []string:
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ' ')
			}
			b = append(b, e...)
		}
		return append(b, ']')
	case []any:
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendText(b, e)
		}
		return append(b, ']')
	case map[string]any:
		b = append(b, "map["...)
		for i, k := range slices.Sorted(maps.Keys(t)) {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendText(append(append(b, k...), ':'), t[k])
		}
		return append(b, ']')
	}
	return append(b, "<"+reflect.TypeOf(x).String()+">"...)
}

// appendConsoleValue appends s, quoted when it is empty, holds spaces,
// quotes, '=' or control characters, or is not valid UTF-8.
func appendConsoleValue(b []byte, s string) []byte {
	if s == "" || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r == '"' || r == '=' || r == 0x7f
	}) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// Flush does nothing: each Write reaches the writer before it returns.
func (c *Console) Flush(context.Context) error { return nil }

// Close stops the sink. It does not close the writer.
func (c *Console) Close(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}
