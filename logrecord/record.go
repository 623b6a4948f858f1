package logrecord

import (
	"log/slog"
	"slices"
	"time"
)

// A Record is one log event. It is a value: copying a Record and changing a
// field of the copy leaves the original as it was. Attributes can only be
// read through [Record.Attrs] and replaced by deriving a new Record, so a
// Record handed to several sinks can be kept by all of them.
//
// Attribute values are [slog.Value]s, always in the shape [Coerce] gives:
// New, WithAttrs and ReplaceAttrs coerce what they are given, so every
// sink, the sanitizer and the wire encoder see the same bounded tree, with
// LogValuers resolved, structs and maps as groups and lists as []any.
type Record struct {
	Time       time.Time // when the event happened; the zero time means unknown
	Level      Level
	Logger     string // the logger's name, such as "Http" or "Http.Client"
	Message    string
	Error      string // the error's text, or ""
	StackTrace string // a goroutine stack in the Go runtime's format, or ""
	TraceID    string // 32 lower-case hex digits, or ""
	SpanID     string // 16 lower-case hex digits, or ""

	attrs []slog.Attr // never modified after the Record is built
}

// New returns a Record with the given fields and attrs coerced (see
// [CoerceAttrs]). It copies attrs, so the caller may reuse the slice.
func New(t time.Time, level Level, logger, msg string, attrs ...slog.Attr) Record {
	return Record{Time: t, Level: level, Logger: logger, Message: msg, attrs: ownCopy(attrs)}
}

// ownCopy returns attrs coerced, in a slice that does not share attrs'
// backing array.
func ownCopy(attrs []slog.Attr) []slog.Attr {
	return slices.Clip(CoerceAttrs(slices.Clone(attrs)))
}

// NumAttrs returns the number of top-level attributes.
func (r Record) NumAttrs() int { return len(r.attrs) }

// Attrs calls f on each top-level attribute in order until f returns false.
// It can be used with range: for a := range r.Attrs { … }.
func (r Record) Attrs(f func(slog.Attr) bool) {
	for _, a := range r.attrs {
		if !f(a) {
			return
		}
	}
}

// AttrsSlice returns a copy of the top-level attributes.
func (r Record) AttrsSlice() []slog.Attr { return slices.Clone(r.attrs) }

// Attr returns the value of the last top-level attribute with the given
// key: the one a receiver of the record keeps when a key repeats.
func (r Record) Attr(key string) (slog.Value, bool) {
	for i := len(r.attrs) - 1; i >= 0; i-- {
		if r.attrs[i].Key == key {
			return r.attrs[i].Value, true
		}
	}
	return slog.Value{}, false
}

// WithAttrs returns a copy of r with attrs, coerced, appended to its
// attributes. The original is not changed and the two share no backing
// array.
func (r Record) WithAttrs(attrs ...slog.Attr) Record {
	attrs = CoerceAttrs(attrs)
	if len(attrs) == 0 {
		return r
	}
	n := make([]slog.Attr, 0, len(r.attrs)+len(attrs))
	r.attrs = append(append(n, r.attrs...), attrs...)
	return r
}

// ReplaceAttrs returns a copy of r whose attributes are attrs, coerced.
// The Record takes ownership of the slice: the caller must not modify it
// afterwards. Use it to build a derived record, for example a redacted
// one, without a second copy.
func (r Record) ReplaceAttrs(attrs []slog.Attr) Record {
	r.attrs = slices.Clip(CoerceAttrs(attrs))
	return r
}
