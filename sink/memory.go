package sink

import (
	"context"
	"sync"

	"github.com/soliplex/fieldlog/logrecord"
)

// DefaultMemoryCapacity is the capacity of a Memory sink made with a
// capacity of zero or less.
const DefaultMemoryCapacity = 1000

// A Memory sink keeps the last records it received in a ring buffer, for
// an in-app log viewer or a test. It never blocks and never fails: when
// full, the oldest record makes room.
type Memory struct {
	mu     sync.Mutex
	buf    []logrecord.Record
	next   int // where the next record goes
	full   bool
	closed bool
}

var _ Sink = (*Memory)(nil)

// NewMemory returns a Memory sink that keeps the last capacity records.
func NewMemory(capacity int) *Memory {
	if capacity <= 0 {
		capacity = DefaultMemoryCapacity
	}
	return &Memory{buf: make([]logrecord.Record, capacity)}
}

// Write keeps r, evicting the oldest record when full.
func (s *Memory) Write(_ context.Context, r logrecord.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.buf[s.next] = r
	s.next++
	if s.next == len(s.buf) {
		s.next = 0
		s.full = true
	}
	return nil
}

// Records returns the kept records, oldest first.
func (s *Memory) Records() []logrecord.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.full {
		return append([]logrecord.Record(nil), s.buf[:s.next]...)
	}
	out := make([]logrecord.Record, 0, len(s.buf))
	out = append(out, s.buf[s.next:]...)
	return append(out, s.buf[:s.next]...)
}

// Len returns the number of kept records.
func (s *Memory) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.full {
		return len(s.buf)
	}
	return s.next
}

// Clear forgets every kept record.
func (s *Memory) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.buf)
	s.next, s.full = 0, false
}

// Flush does nothing: records are visible as soon as Write returns.
func (s *Memory) Flush(context.Context) error { return nil }

// Close stops the sink from accepting records; the kept records stay
// readable.
func (s *Memory) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
