package diskqueue

import (
	"context"
	"time"
)

// Append hands data to the writer without waiting for disk; the queue
// keeps the slice, so the caller must not change it afterwards. It returns
// ErrFull when the buffer is full and ErrTooLarge for a record over the
// cap (either way the record is dropped and counted), ErrClosed after
// Close. Once Append returns nil the record is committed within
// milliseconds, or, if every retry of that commit fails, counted as
// DropDiskError.
func (q *Queue) Append(class Class, data []byte) error {
	q.closeMu.RLock()
	defer q.closeMu.RUnlock()
	switch {
	case q.closed:
		return ErrClosed
	case q.readOnly:
		return ErrReadOnly
	case int64(len(data)) > q.opts.MaxBytes:
		q.CountDrop(DropCap, class, 1)
		return ErrTooLarge
	}
	if data == nil {
		data = []byte{}
	}
	select {
	case q.reqs <- request{class: class & 1, data: data}:
		q.appended.Add(1)
		return nil
	default:
		q.CountDrop(DropBufferFull, class, 1)
		return ErrFull
	}
}

// AppendWait is Append for a producer that can afford to wait: when the
// buffer is full it waits for room instead of dropping. If ctx ends first
// nothing is appended or counted and ctx's error is returned: the record
// is the caller's to count. It does not wait for the commit.
func (q *Queue) AppendWait(ctx context.Context, class Class, data []byte) error {
	if int64(len(data)) > q.opts.MaxBytes && !q.readOnly {
		q.CountDrop(DropCap, class, 1)
		return ErrTooLarge
	}
	if data == nil {
		data = []byte{}
	}
	return q.handOver(ctx, request{class: class & 1, data: data})
}

// AppendSync appends data and returns once it, and everything appended
// before it, is committed and fsynced. A ctx that has already ended
// appends nothing. A ctx that ends while AppendSync waits returns ctx's
// error, but the record was handed over: it is committed, or counted as
// dropped, like any other. A commit that failed every retry returns its
// error, and its records are counted as DropDiskError.
func (q *Queue) AppendSync(ctx context.Context, class Class, data []byte) error {
	if int64(len(data)) > q.opts.MaxBytes && !q.readOnly {
		q.CountDrop(DropCap, class, 1)
		return ErrTooLarge
	}
	if data == nil {
		data = []byte{}
	}
	return q.handOver(ctx, request{class: class & 1, data: data, done: make(chan error, 1)})
}

// Sync returns once everything appended before it, and every confirmation
// made before it, is committed; with the error of that commit, if it
// failed.
func (q *Queue) Sync(ctx context.Context) error {
	return q.handOver(ctx, request{done: make(chan error, 1)})
}

func (q *Queue) handOver(ctx context.Context, r request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.closeMu.RLock()
	switch {
	case q.closed:
		q.closeMu.RUnlock()
		return ErrClosed
	case q.readOnly:
		q.closeMu.RUnlock()
		return ErrReadOnly
	}
	select {
	case q.reqs <- r:
		if r.data != nil {
			q.appended.Add(1)
		}
	case <-ctx.Done():
		q.closeMu.RUnlock()
		return ctx.Err()
	}
	q.closeMu.RUnlock()
	if r.done == nil {
		return nil
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// CountDrop counts n records of class that the caller dropped before they
// reached the queue (a sink's full hand-over buffer, say) under reason, so
// that they are kept in the queue file and reported with the queue's own
// drops. Like every drop, the first one of a run is reported through
// Options.OnError at once.
func (q *Queue) CountDrop(reason string, class Class, n int) {
	if n <= 0 || reason == "" {
		return
	}
	now := time.Now()
	q.mu.Lock()
	q.drops.add(reason, class, int64(n), now)
	alarm := q.loud.note(reason, int64(n), now, q.path)
	q.mu.Unlock()
	if alarm != nil {
		q.opts.OnError(alarm)
	}
}
