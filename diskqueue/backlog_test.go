package diskqueue_test

import (
	"context"
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLargeBacklogDrainsInBoundedMemory fills the queue with a large
// backlog and drains it batch by batch: the heap must not grow with the
// backlog, since only one batch is ever read into memory.
func TestLargeBacklogDrainsInBoundedMemory(t *testing.T) {
	records := backlogRecords
	if testing.Short() {
		records = 100000
	}
	q, _ := openQueue(t, &diskqueue.Options{MaxBytes: 1 << 40, BufferSize: 1 << 16, NoSync: true})
	ctx := context.Background()
	rec := make([]byte, 16)
	for i := range records {
		binary.BigEndian.PutUint64(rec, uint64(i))
		require.NoError(t, q.AppendWait(ctx, diskqueue.Normal, append([]byte(nil), rec...)))
	}
	require.NoError(t, q.Sync(ctx))
	require.Equal(t, records, q.Pending())

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	next := uint64(0)
	for n := 0; ; n++ {
		batch, err := q.Peek(100, 1<<20)
		require.NoError(t, err)
		if len(batch) == 0 {
			break
		}
		ids := make([]uint64, len(batch))
		for i, it := range batch {
			require.Equal(t, next, binary.BigEndian.Uint64(it.Data))
			next++
			ids[i] = it.ID
		}
		require.NoError(t, q.Delete(ids...))
		if n%1000 == 0 {
			// Live memory, not garbage waiting for the collector.
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	assert.EqualValues(t, records, next)
	growth := int64(peak) - int64(base)
	t.Logf("backlog %d records: live heap %d KB before draining, peak growth %d KB", records, base>>10, growth>>10)
	// Loading the backlog would take more than 40 bytes a record; one batch
	// is a few kilobytes.
	assert.Less(t, growth, int64(8<<20), "heap grew with the backlog")
}
