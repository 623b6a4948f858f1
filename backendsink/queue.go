package backendsink

import (
	"context"

	"github.com/soliplex/fieldlog/diskqueue"
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
	return d.PeekExcluding(maxCount, maxBytes, nil)
}

func (d diskStore) PeekExcluding(maxCount, maxBytes int, exclude []uint64) ([]item, error) {
	got, err := d.q.PeekExcluding(maxCount, maxBytes, exclude)
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
