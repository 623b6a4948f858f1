package backendsink

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/soliplex/fieldlog/internal/wire"
	"github.com/soliplex/fieldlog/logrecord"
)

// A job is one record handed to the encoder, or a barrier (rec unset)
// that Flush and Sync use to know everything before it is queued.
type job struct {
	rec     logrecord.Record
	crumbs  []Breadcrumb
	ident   *identity
	handed  time.Time  // when Write took the record; set only when its own time is not valid
	done    chan error // fatal records and barriers: sent when durable
	barrier bool
	size    int64 // estimated bytes, held in Sink.inBytes while in the buffer
}

// stamp notes the hand-over time of a record whose own time the wire
// cannot carry; the clock is read only then.
func (j *job) stamp() {
	if !wire.ValidTime(j.rec.Time) {
		j.handed = time.Now()
	}
}

// encodeLoop turns handed-over records into wire JSON and appends them to
// the store, off the callers' goroutines.
func (s *Sink) encodeLoop() {
	defer close(s.encDone)
	var e encoder
	var buf []byte
	for {
		select {
		case j := <-s.in:
			buf = s.encodeJob(&e, buf, j)
		case <-s.stopEnc:
			for {
				select {
				case j := <-s.in:
					buf = s.encodeJob(&e, buf, j)
				default:
					return
				}
			}
		}
	}
}

func (s *Sink) encodeJob(e *encoder, buf []byte, j job) []byte {
	if j.size > 0 {
		left := s.inBytes.Add(-j.size)
		if s.stalled.Load() && (left <= s.opts.BufferBytes/2 && len(s.in) <= cap(s.in)/2) {
			s.stalled.Store(false)
		}
		select {
		case s.room <- struct{}{}:
		default:
		}
	}
	if j.barrier {
		j.done <- s.store.Sync(s.drainCtx)
		return buf
	}
	r, crumbs := repair(j.rec, j.crumbs, j.handed)
	meta := entryMeta{installID: s.opts.InstallID, sessionID: cmp.Or(j.ident.sessionID, s.opts.SessionID), userID: j.ident.userID, activeRun: j.ident.run, breadcrumbs: crumbs}
	buf = e.entry(buf[:0], &r, &meta, MaxEntryBytes)
	data := append([]byte(nil), buf...)
	if cap(buf) > 4*MaxEntryBytes {
		buf = nil
	}
	high := r.Level >= logrecord.LevelError
	if j.done != nil {
		// Returned to the caller of Write, not reported.
		j.done <- s.store.AppendSync(s.drainCtx, high, data)
	} else if err := s.store.Append(s.drainCtx, high, data); err != nil {
		// The store counted a record too large for it; any other failure
		// (Close's deadline, a closed queue) loses the record here.
		if !errors.Is(err, diskqueue.ErrTooLarge) {
			s.store.CountDrop(DropShutdown, high, 1)
			if !errors.Is(err, context.Canceled) {
				s.opts.OnError(fmt.Errorf("backendsink: queue a record: %w", err))
			}
		}
	}
	if high {
		s.kick()
	} else if s.queued++; s.queued >= s.opts.MaxBatch {
		// Enough for a good batch: upload now rather than at the next
		// tick, so the queue drains as fast as it fills.
		s.queued = 0
		select {
		case s.ready <- struct{}{}:
		default:
		}
	}
	return buf
}
