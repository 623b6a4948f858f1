package backendsink

import (
	"context"

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/soliplex/fieldlog/internal/report"
)

// diskStore adapts a *diskqueue.Queue to the store the sink uses: error
// and fatal records go to the high class.
type diskStore struct{ q *diskqueue.Queue }

func (d diskStore) class(high bool) diskqueue.Class {
	if high {
		return diskqueue.High
	}
	return diskqueue.Normal
}

// Append hands data to the queue, waiting for room in its buffer: this
// runs on the sink's encoder goroutine, never on the caller's, so waiting
// here only lets the sink's own hand-over buffer absorb a burst.
func (d diskStore) Append(ctx context.Context, high bool, data []byte) error {
	return d.q.AppendWait(ctx, d.class(high), data)
}

func (d diskStore) AppendSync(ctx context.Context, high bool, data []byte) error {
	return d.q.AppendSync(ctx, d.class(high), data)
}

func (d diskStore) Sync(ctx context.Context) error { return d.q.Sync(ctx) }

func (d diskStore) Peek(maxCount, maxBytes int) ([]item, error) {
	got, err := d.q.Peek(maxCount, maxBytes)
	if err != nil {
		return nil, err
	}
	items := make([]item, len(got))
	for i, it := range got {
		items[i] = item{id: it.ID, data: it.Data}
	}
	return items, nil
}

func (d diskStore) Delete(ids []uint64) error { return d.q.Delete(ids...) }
func (d diskStore) Discard(reason string, ids []uint64) error {
	return d.q.Discard(reason, ids...)
}
func (d diskStore) CountDrop(reason string, high bool, n int) {
	d.q.CountDrop(reason, d.class(high), n)
}
func (d diskStore) Pending() int                        { return d.q.Pending() }
func (d diskStore) Lost() map[string]int64              { return d.q.Lost() }
func (d diskStore) Unreported() diskqueue.Unreported    { return d.q.Unreported() }
func (d diskStore) MarkReported(u diskqueue.Unreported) { d.q.MarkReported(u) }
func (d diskStore) Close(ctx context.Context) error     { return d.q.Close(ctx) }

// New returns a Sink configured by opts and starts its goroutines. With
// opts.Dir, the sink opens the queue there and closes it in Close; with
// opts.Queue, the caller owns the queue.
func New(opts Options) (*Sink, error) {
	if (opts.Queue == nil) == (opts.Dir == "") {
		return nil, errQueueOption
	}
	if opts.OnError == nil {
		opts.OnError = report.NewLimited("fieldlog: ", nil).Report
	}
	q := opts.Queue
	own := false
	if q == nil {
		var err error
		q, err = diskqueue.Open(opts.Dir, &diskqueue.Options{MaxBytes: opts.QueueMaxBytes, OnError: opts.OnError})
		if err != nil {
			return nil, err
		}
		own = true
	}
	s, err := newSink(opts, diskStore{q})
	if err != nil {
		if own {
			_ = q.Close(context.Background())
		}
		return nil, err
	}
	s.ownStore = own
	return s, nil
}
