package backendsink

import (
	"context"

	"github.com/soliplex/fieldlog/diskqueue"
)

// store is what the sink needs of its durable queue. Records are opaque
// encoded entries; high marks error and fatal records, which are read
// first.
type store interface {
	// Append hands data over without waiting for disk (it may wait for
	// room in the store's buffer, until ctx ends); the store may keep the
	// slice.
	Append(ctx context.Context, high bool, data []byte) error
	// AppendSync returns once data and everything appended before it is
	// durable.
	AppendSync(ctx context.Context, high bool, data []byte) error
	// Sync returns once everything appended so far is durable and visible
	// to Peek.
	Sync(ctx context.Context) error
	// Peek returns the oldest records, high class first, up to maxCount
	// records and maxBytes bytes of data (at least one record when any is
	// pending), without removing them.
	Peek(maxCount, maxBytes int) ([]item, error)
	// PeekExcluding is Peek skipping the records with these ids (sorted):
	// the batches in flight.
	PeekExcluding(maxCount, maxBytes int, exclude []uint64) ([]item, error)
	// Delete removes exactly the records with these ids.
	Delete(ids []uint64) error
	// Pending returns the number of records stored.
	Pending() int
	// Discard removes these records as Delete does, counting each one
	// still stored as dropped for reason when the removal is committed.
	Discard(reason string, ids []uint64) error
	// CountDrop counts n records dropped before they reached the store.
	CountDrop(reason string, high bool, n int)
	// Lost returns, by reason, how many records were dropped since the
	// store was opened: by the store, and those counted by Discard and
	// CountDrop.
	Lost() map[string]int64
	// Unreported returns the drops, over the store's life, not yet marked
	// reported; MarkReported takes what u lists off them, once the entry
	// reporting them is confirmed.
	Unreported() diskqueue.Unreported
	MarkReported(u diskqueue.Unreported)
	Close(ctx context.Context) error
}

type item struct {
	id   uint64
	data []byte
}
