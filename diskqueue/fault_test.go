package diskqueue

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// faultyQueue opens a queue whose commits fail with ENOSPC while *failing
// is set.
func faultyQueue(t *testing.T, dir string, failing *atomic.Bool, reports *[]error) *Queue {
	var mu sync.Mutex
	q, err := Open(dir, &Options{OnError: func(err error) {
		mu.Lock()
		defer mu.Unlock()
		*reports = append(*reports, err)
	}})
	require.NoError(t, err)
	f := func() error {
		if failing.Load() {
			return syscall.ENOSPC
		}
		return nil
	}
	q.failCommit.Store(&f)
	return q
}

// TestFailedCommitCountsEveryRecord: a commit that fails every retry
// drops its records as disk_error, counted by class, and tells those who
// wait; once the disk works again the queue accepts, and the counts reach
// the file.
func TestFailedCommitCountsEveryRecord(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "q")
		var failing atomic.Bool
		var reports []error
		q := faultyQueue(t, dir, &failing, &reports)
		ctx := context.Background()

		failing.Store(true)
		for i := range 100 {
			require.NoError(t, q.Append(Class(i%2), fmt.Appendf(nil, "r%d", i)))
		}
		err := q.AppendSync(ctx, High, []byte("fatal"))
		require.ErrorIs(t, err, syscall.ENOSPC, "the caller that waits hears of it")
		assert.ErrorIs(t, q.Sync(ctx), syscall.ENOSPC, "the drop counts cannot be saved either")

		st := q.Stats()
		assert.EqualValues(t, 101, st.Dropped[DropDiskError], "every accepted record is counted")
		assert.EqualValues(t, 51, st.DroppedHigh[DropDiskError])
		assert.Zero(t, st.Pending)
		assert.Contains(t, st.LastError, "no space left")
		require.NotEmpty(t, reports)
		assert.Contains(t, fmt.Sprint(reports), "record(s) dropped and counted (disk_error)")

		// The disk works again: no restart needed.
		failing.Store(false)
		require.NoError(t, q.AppendSync(ctx, Normal, []byte("after")))
		items, err := q.Peek(10, 1<<20)
		require.NoError(t, err)
		require.Len(t, items, 1)
		assert.Equal(t, "after", string(items[0].Data))
		assert.Empty(t, q.Stats().LastError)
		require.NoError(t, q.Close(ctx))

		// The counts were written with that commit.
		q, err = Open(dir, &Options{OnError: func(error) {}})
		require.NoError(t, err)
		defer q.Close(ctx)
		u := q.Unreported()
		assert.Equal(t, []DropCount{{DropDiskError, Normal, 50}, {DropDiskError, High, 51}}, u.Counts)
		assert.Equal(t, 1, q.Pending())
	})
}

// TestFailedCommitKeepsConfirmations: confirmations that could not be
// committed stay confirmed and go with the next commit that works.
func TestFailedCommitKeepsConfirmations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "q")
		var failing atomic.Bool
		var reports []error
		q := faultyQueue(t, dir, &failing, &reports)
		ctx := context.Background()
		for i := range 5 {
			require.NoError(t, q.Append(Normal, fmt.Appendf(nil, "r%d", i)))
		}
		require.NoError(t, q.Sync(ctx))
		items, err := q.Peek(10, 1<<20)
		require.NoError(t, err)
		require.Len(t, items, 5)

		failing.Store(true)
		require.NoError(t, q.Delete(items[0].ID, items[1].ID))
		require.NoError(t, q.Discard("rejected", items[2].ID))
		require.ErrorIs(t, q.Sync(ctx), syscall.ENOSPC)
		left, err := q.Peek(10, 1<<20)
		require.NoError(t, err)
		assert.Len(t, left, 2, "confirmed records stay out of Peek")
		assert.Zero(t, q.Stats().Dropped["rejected"], "not counted before it is gone")

		failing.Store(false)
		require.NoError(t, q.Sync(ctx))
		assert.EqualValues(t, 1, q.Stats().Dropped["rejected"])
		require.NoError(t, q.Close(ctx))

		q, err = Open(dir, &Options{OnError: func(error) {}})
		require.NoError(t, err)
		defer q.Close(ctx)
		assert.Equal(t, 2, q.Pending())
		assert.Equal(t, []DropCount{{"rejected", Normal, 1}}, q.Unreported().Counts)
	})
}

// TestCloseOnAFailingDiskCountsTheRest: Close does not retry for ever; what
// it cannot commit is counted.
func TestCloseOnAFailingDiskCountsTheRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "q")
		var failing atomic.Bool
		var reports []error
		q := faultyQueue(t, dir, &failing, &reports)
		failing.Store(true)
		for i := range 10 {
			require.NoError(t, q.Append(Normal, fmt.Appendf(nil, "r%d", i)))
		}
		require.NoError(t, q.Close(context.Background()))
		assert.EqualValues(t, 10, q.Stats().Dropped[DropDiskError])
	})
}
