package sink

import (
	"context"
	"errors"

	"github.com/soliplex/fieldlog/logrecord"
)

// ErrClosed is returned when a record is written to a sink, or a Manager,
// that has been closed.
var ErrClosed = errors.New("sink: closed")

// A Sink receives records from a Manager.
//
// Write, Flush and Close may be called concurrently. Write never blocks on
// disk or network; a sink that cannot keep up drops and counts. Records are
// immutable and may be kept. A canceled ctx never makes Write discard a
// record. After Close, Write returns ErrClosed and a second Close returns
// nil.
type Sink interface {
	Write(ctx context.Context, r logrecord.Record) error
	Flush(ctx context.Context) error // returns by ctx's deadline
	Close(ctx context.Context) error // returns by ctx's deadline; no goroutine outlives it
}

// A LevelSink is a Sink with a minimum level of its own, independent of
// the Manager's global and per-logger levels: it receives every record at
// or above MinLevel, including records that reach no other sink (debug
// records kept in memory while only info and above are exported, say).
// The Manager reads MinLevel when the sink is added; [Manager.SetSinkLevel]
// changes it later. Its log calls are not free: a debug call does the work
// of a logged record whenever a LevelSink takes debug.
type LevelSink interface {
	Sink
	MinLevel() logrecord.Level
}

// A Sanitizer derives a redacted copy of a record. The Manager runs it once
// per record, before any sink sees the record; it must not modify the
// record it is given (Records are values, and their attributes can only be
// replaced by deriving a copy) and must be safe for concurrent use.
type Sanitizer interface {
	Sanitize(r logrecord.Record) logrecord.Record
}

// SanitizerFunc adapts a function to the Sanitizer interface.
type SanitizerFunc func(logrecord.Record) logrecord.Record

// Sanitize calls f(r).
func (f SanitizerFunc) Sanitize(r logrecord.Record) logrecord.Record { return f(r) }
