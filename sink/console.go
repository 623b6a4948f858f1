package sink

import (
	"context"
	"fmt"
	"io"
	"log/slog"
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
	a.Value = logrecord.Resolve(a.Value)
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
		return appendConsoleValue(b, safeSprint(a.Value.Any()))
	}
	return append(b, a.Value.String()...)
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

// safeSprint is fmt.Sprint that survives a panicking String or Error
// method (fmt already recovers those; this also covers Formatter edge
// cases).
func safeSprint(v any) (s string) {
	defer func() {
		if p := recover(); p != nil {
			s = fmt.Sprintf("!PANIC: %v", p)
		}
	}()
	return fmt.Sprint(v)
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
