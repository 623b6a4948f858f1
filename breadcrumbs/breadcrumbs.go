// Package breadcrumbs keeps the records that lead up to an error.
//
// A [Buffer] is a sink.Sink that remembers the last records it received in
// a ring. When an error is logged, the backend sink asks the buffer for the
// records that came before it and ships them with the error, each with its
// category (see logrecord.Record.Category), so support sees what the user
// and the program did just before things went wrong.
//
// Add the Buffer to the Manager before the backend sink, so it has seen
// every earlier record by the time the error is shipped. Writes never
// block and never fail; the Buffer keeps only time, level, logger, message
// and category of a record, never its attributes, error or stack.
//
// The ring's minimum level is its own (a Buffer is a sink.LevelSink),
// independent of what the Manager exports: by default it keeps debug
// records even when only info and above are shipped, so an error arrives
// with the debug trail that led to it while debug records never leave the
// process on their own. Records still pass the Manager's sanitizer first.
package breadcrumbs

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
)

// DefaultCapacity is the capacity of a Buffer made with zero or less.
const DefaultCapacity = 50

// DefaultMinLevel is the lowest level a Buffer keeps unless
// Options.MinLevel says otherwise.
const DefaultMinLevel = logrecord.LevelDebug

// A Buffer is a ring of recent records. It is safe for concurrent use.
type Buffer struct {
	min logrecord.Level

	mu     sync.Mutex
	ring   []crumb
	next   int
	full   bool
	closed bool
}

var _ sink.LevelSink = (*Buffer)(nil)

// crumb is what the ring keeps of a record.
type crumb struct {
	time     time.Time
	level    logrecord.Level
	logger   string
	message  string
	category string
}

// record returns the breadcrumb as a record carrying its category.
func (c *crumb) record() logrecord.Record {
	r := logrecord.Record{Time: c.time, Level: c.level, Logger: c.logger, Message: c.message}
	return r.ReplaceAttrs([]slog.Attr{slog.String(logrecord.CategoryKey, c.category)})
}

// Options configures a Buffer; the zero value is usable.
type Options struct {
	Capacity int // records kept; default DefaultCapacity
	// MinLevel is the lowest level kept, whatever the Manager's global and
	// per-logger levels; nil means DefaultMinLevel (debug).
	MinLevel *logrecord.Level
}

// New returns an empty Buffer. opts may be nil.
func New(opts *Options) *Buffer {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Capacity <= 0 {
		o.Capacity = DefaultCapacity
	}
	lvl := DefaultMinLevel
	if o.MinLevel != nil {
		lvl = *o.MinLevel
	}
	return &Buffer{min: lvl, ring: make([]crumb, o.Capacity)}
}

// MinLevel returns the lowest level the Buffer keeps. A Manager sends the
// Buffer every record at or above it, whatever its other levels say.
func (b *Buffer) MinLevel() logrecord.Level { return b.min }

// Write keeps the breadcrumb of r: its time, level, logger, message and
// category.
func (b *Buffer) Write(_ context.Context, r logrecord.Record) error {
	if r.Level < b.min {
		return nil
	}
	c := crumb{time: r.Time, level: r.Level, logger: r.Logger, message: r.Message, category: r.Category()}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return sink.ErrClosed
	}
	b.ring[b.next] = c
	b.next++
	if b.next == len(b.ring) {
		b.next, b.full = 0, true
	}
	return nil
}

// Before returns at most n breadcrumbs of records that came before r,
// oldest first. r itself (the latest record with r's time, level, logger
// and message) and records newer than r are left out. Each returned record
// carries its category as the breadcrumb_category attribute.
func (b *Buffer) Before(r logrecord.Record, n int) []logrecord.Record {
	if n <= 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	size := b.next
	if b.full {
		size = len(b.ring)
	}
	out := make([]logrecord.Record, 0, min(n, size))
	skippedSelf := false
	// Walk backwards from the newest, then reverse.
	for i := 0; i < size && len(out) < n; i++ {
		c := &b.ring[(b.next-1-i+len(b.ring))%len(b.ring)]
		if !r.Time.IsZero() && c.time.After(r.Time) {
			continue
		}
		if !skippedSelf && c.time.Equal(r.Time) && c.level == r.Level && c.logger == r.Logger && c.message == r.Message {
			skippedSelf = true
			continue
		}
		out = append(out, c.record())
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// Last returns the newest n breadcrumbs, oldest first, each carrying its
// category as the breadcrumb_category attribute.
func (b *Buffer) Last(n int) []logrecord.Record {
	if n <= 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	size := b.next
	if b.full {
		size = len(b.ring)
	}
	n = min(n, size)
	out := make([]logrecord.Record, n)
	for i := range n {
		out[n-1-i] = b.ring[(b.next-1-i+len(b.ring))%len(b.ring)].record()
	}
	return out
}

// Len returns the number of breadcrumbs kept.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.full {
		return len(b.ring)
	}
	return b.next
}

// Flush does nothing.
func (b *Buffer) Flush(context.Context) error { return nil }

// Close stops the Buffer from keeping records; Before still answers.
func (b *Buffer) Close(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return nil
}
