package diskqueue_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// openQueue opens a queue in a fresh directory and, at cleanup, closes it
// and verifies every stored record's checksum by reopening the file.
func openQueue(t testing.TB, opts *diskqueue.Options) (*diskqueue.Queue, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "q")
	if opts == nil {
		opts = &diskqueue.Options{}
	}
	if opts.OnError == nil {
		opts.OnError = func(err error) { t.Log(err) }
	}
	q, err := diskqueue.Open(dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, q.Close(context.Background()))
		var reported []error
		q2, err := diskqueue.Open(dir, &diskqueue.Options{OnError: func(err error) { reported = append(reported, err) }})
		require.NoError(t, err)
		_, err = q2.Peek(1<<30, 1<<40)
		require.NoError(t, err)
		require.NoError(t, q2.Close(context.Background()))
		assert.Empty(t, reported, "every stored record passes its checksum")
	})
	return q, dir
}

func data(items []diskqueue.Item) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, string(it.Data))
	}
	return out
}

func peekAll(t testing.TB, q *diskqueue.Queue) []diskqueue.Item {
	t.Helper()
	items, err := q.Peek(1<<30, 1<<40)
	require.NoError(t, err)
	return items
}

func TestRoundTripAndConfirmByID(t *testing.T) {
	q, _ := openQueue(t, nil)
	ctx := t.Context()
	for i := range 5 {
		require.NoError(t, q.Append(diskqueue.Normal, []byte(fmt.Sprint("r", i))))
	}
	require.NoError(t, q.Sync(ctx))
	assert.Equal(t, 5, q.Pending())

	batch, err := q.Peek(3, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, []string{"r0", "r1", "r2"}, data(batch))
	again, err := q.Peek(3, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, batch, again, "Peek removes nothing")

	// Confirm only r1: by id, not by position.
	require.NoError(t, q.Delete(batch[1].ID))
	require.NoError(t, q.Delete(batch[1].ID), "deleting twice is harmless")
	assert.Equal(t, []string{"r0", "r2", "r3", "r4"}, data(peekAll(t, q)))
	assert.Equal(t, 4, q.Pending())
	require.NoError(t, q.Sync(t.Context()))
	assert.Equal(t, int64(8), q.Stats().Bytes)
}

func TestPeekByteBudget(t *testing.T) {
	q, _ := openQueue(t, nil)
	for _, s := range []string{"aaaa", "bbbb", "cccc"} {
		require.NoError(t, q.Append(diskqueue.Normal, []byte(s)))
	}
	require.NoError(t, q.Sync(t.Context()))
	got, err := q.Peek(10, 9)
	require.NoError(t, err)
	assert.Equal(t, []string{"aaaa", "bbbb"}, data(got))
	got, err = q.Peek(10, 1)
	require.NoError(t, err)
	assert.Equal(t, []string{"aaaa"}, data(got), "at least one record, even over the budget")
	got, err = q.Peek(0, 100)
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestFIFOAcrossAppendAndAppendSync(t *testing.T) {
	q, _ := openQueue(t, nil)
	ctx := t.Context()
	var want []string
	for i := range 300 {
		s := fmt.Sprint(i)
		want = append(want, s)
		if i%7 == 0 {
			require.NoError(t, q.AppendSync(ctx, diskqueue.Normal, []byte(s)))
			// Everything before it is durable too.
			assert.EqualValues(t, i+1, q.Stats().Committed)
		} else {
			require.NoError(t, q.Append(diskqueue.Normal, []byte(s)))
		}
	}
	require.NoError(t, q.Sync(ctx))
	assert.Equal(t, want, data(peekAll(t, q)))
}

func TestHighClassReadFirst(t *testing.T) {
	q, _ := openQueue(t, &diskqueue.Options{MaxBytes: 1 << 30})
	ctx := t.Context()
	for i := range 100000 {
		require.NoError(t, q.AppendWait(ctx, diskqueue.Normal, fmt.Appendf(nil, "n%d", i)))
	}
	require.NoError(t, q.AppendSync(ctx, diskqueue.High, []byte("error 1")))
	require.NoError(t, q.Append(diskqueue.High, []byte("error 2")))
	require.NoError(t, q.Sync(ctx))

	batch, err := q.Peek(100, 1<<20)
	require.NoError(t, err)
	require.Len(t, batch, 100)
	assert.Equal(t, []string{"error 1", "error 2", "n0", "n1"}, data(batch[:4]), "an error behind a 100,000-record backlog goes out in the next request")
	assert.Equal(t, diskqueue.High, batch[0].Class)
	assert.Equal(t, 2, q.Stats().PendingHigh)
}

func TestReopenKeepsPending(t *testing.T) {
	dir := t.TempDir()
	q, err := diskqueue.Open(dir, nil)
	require.NoError(t, err)
	for i := range 10 {
		require.NoError(t, q.Append(diskqueue.Class(i%2), []byte(fmt.Sprint(i))))
	}
	require.NoError(t, q.Close(t.Context()), "Close commits the buffer")
	assert.ErrorIs(t, q.Append(diskqueue.Normal, []byte("late")), diskqueue.ErrClosed)
	assert.NoError(t, q.Close(t.Context()), "second Close")

	q, err = diskqueue.Open(dir, nil)
	require.NoError(t, err)
	defer q.Close(t.Context())
	assert.Equal(t, 10, q.Pending())
	items := peekAll(t, q)
	assert.Equal(t, []string{"1", "3", "5", "7", "9", "0", "2", "4", "6", "8"}, data(items))
	require.NoError(t, q.Append(diskqueue.Normal, []byte("new")))
	require.NoError(t, q.Sync(t.Context()))
	last := peekAll(t, q)
	assert.Greater(t, last[len(last)-1].ID, items[len(items)-1].ID, "ids keep increasing after a reopen")
	info, err := os.Stat(filepath.Join(dir, diskqueue.FileName))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
}

func TestDirectoryModeAndClear(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "q")
	q, err := diskqueue.Open(dir, nil)
	require.NoError(t, err)
	defer q.Close(t.Context())
	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())
	require.NoError(t, q.AppendSync(t.Context(), diskqueue.High, []byte("x")))
	require.NoError(t, q.Clear())
	assert.Zero(t, q.Pending())
	assert.Empty(t, peekAll(t, q))
}

func TestCapDropsOldestNormalFirst(t *testing.T) {
	q, _ := openQueue(t, &diskqueue.Options{MaxBytes: 100})
	ctx := t.Context()
	require.NoError(t, q.AppendSync(ctx, diskqueue.High, []byte(strings.Repeat("H", 10))))
	for i := range 10 {
		require.NoError(t, q.AppendSync(ctx, diskqueue.Normal, fmt.Appendf(nil, "normal-%03d", i))) // 10 bytes each
	}
	// 10 + 100 bytes: the oldest normal record went.
	got := data(peekAll(t, q))
	assert.Equal(t, strings.Repeat("H", 10), got[0])
	assert.Equal(t, "normal-001", got[1])
	assert.LessOrEqual(t, q.Stats().Bytes, int64(100))

	// High records push out every normal one before any high one goes.
	for i := range 10 {
		require.NoError(t, q.AppendSync(ctx, diskqueue.High, fmt.Appendf(nil, "high-%05d", i)))
	}
	got = data(peekAll(t, q))
	assert.Len(t, got, 10)
	for _, s := range got {
		assert.True(t, strings.HasPrefix(s, "high-"), s)
	}
	st := q.Stats()
	assert.EqualValues(t, 11, st.Dropped[diskqueue.DropCap])
	assert.EqualValues(t, 1, st.DroppedHigh[diskqueue.DropCap])
	assert.ErrorIs(t, q.Append(diskqueue.Normal, make([]byte, 101)), diskqueue.ErrTooLarge)
}

func TestFullBufferDropsAndCounts(t *testing.T) {
	q, _ := openQueue(t, &diskqueue.Options{BufferSize: 4})
	var full int
	for range 10000 {
		if errors.Is(q.Append(diskqueue.Normal, []byte("x")), diskqueue.ErrFull) {
			full++
		}
	}
	require.NoError(t, q.Sync(t.Context()))
	st := q.Stats()
	assert.Positive(t, full, "a 4-record buffer overflows under a tight loop")
	assert.EqualValues(t, full, st.Dropped[diskqueue.DropBufferFull])
	assert.EqualValues(t, 10000-full, st.Committed)
	assert.Equal(t, 10000-full, st.Pending)
}

func TestLockTimeout(t *testing.T) {
	q, dir := openQueue(t, nil)
	_ = q
	start := time.Now()
	_, err := diskqueue.Open(dir, &diskqueue.Options{LockTimeout: 200 * time.Millisecond})
	assert.ErrorIs(t, err, diskqueue.ErrLocked)
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestGarbageFileIsQuarantined(t *testing.T) {
	tests := []struct {
		name  string
		write func(t *testing.T, path string)
	}{
		{"garbage", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, []byte(strings.Repeat("not a database ", 1000)), 0o600))
		}},
		{"truncated", func(t *testing.T, path string) {
			q, err := diskqueue.Open(filepath.Dir(path), nil)
			require.NoError(t, err)
			for i := range 200 {
				require.NoError(t, q.Append(diskqueue.Normal, fmt.Appendf(nil, "%0100d", i)))
			}
			require.NoError(t, q.Close(t.Context()))
			info, err := os.Stat(path)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(path, info.Size()/3))
		}},
		{"empty", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, nil, 0o600))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, diskqueue.FileName)
			tt.write(t, path)
			var reported []error
			q, err := diskqueue.Open(dir, &diskqueue.Options{OnError: func(err error) { reported = append(reported, err) }})
			if tt.name == "empty" && err == nil && len(reported) == 0 {
				// bbolt initialises an empty file: nothing to quarantine.
				require.NoError(t, q.Close(t.Context()))
				return
			}
			require.NoError(t, err, "Open starts a fresh queue")
			defer q.Close(t.Context())
			require.Len(t, reported, 1)
			assert.Contains(t, reported[0].Error(), "moved to")
			aside, _ := filepath.Glob(path + ".corrupt-*")
			assert.Len(t, aside, 1, "the bad file is kept for inspection")
			require.NoError(t, q.AppendSync(t.Context(), diskqueue.Normal, []byte("works")))
			assert.Equal(t, []string{"works"}, data(peekAll(t, q)))
		})
	}
}

func TestDamagedRecordIsSkipped(t *testing.T) {
	dir := t.TempDir()
	q, err := diskqueue.Open(dir, nil)
	require.NoError(t, err)
	for i := range 5 {
		require.NoError(t, q.Append(diskqueue.Normal, fmt.Appendf(nil, "record-%d", i)))
	}
	require.NoError(t, q.Close(t.Context()))

	// Flip a byte of the third record's data behind the queue's back.
	db, err := bolt.Open(filepath.Join(dir, diskqueue.FileName), 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("normal"))
		var key [8]byte
		binary.BigEndian.PutUint64(key[:], 3)
		v := append([]byte(nil), b.Get(key[:])...)
		require.NotEmpty(t, v)
		v[len(v)-1] ^= 0xff
		return b.Put(key[:], v)
	}))
	require.NoError(t, db.Close())

	var reported []error
	q, err = diskqueue.Open(dir, &diskqueue.Options{OnError: func(err error) { reported = append(reported, err) }})
	require.NoError(t, err)
	defer q.Close(t.Context())
	assert.Equal(t, []string{"record-0", "record-1", "record-3", "record-4"}, data(peekAll(t, q)))
	assert.Equal(t, []string{"record-0", "record-1", "record-3", "record-4"}, data(peekAll(t, q)), "skipped once, counted once")
	require.NoError(t, q.Sync(t.Context())) // the deletion and its count commit together
	assert.EqualValues(t, 1, q.Stats().Dropped[diskqueue.DropCorrupt])
	u := q.Unreported()
	require.Len(t, u.Counts, 1)
	assert.Equal(t, diskqueue.DropCount{Reason: diskqueue.DropCorrupt, Class: diskqueue.Normal, N: 1}, u.Counts[0])
	assert.Equal(t, 4, q.Pending())
	require.NotEmpty(t, reported)
	assert.Contains(t, reported[0].Error(), "skipped 1 damaged record")
}

// TestQueueConcurrentSafe runs appenders and a reader that confirms what it
// reads, under the race detector, and checks nothing is lost or doubled.
func TestQueueConcurrentSafe(t *testing.T) {
	q, _ := openQueue(t, &diskqueue.Options{BufferSize: 1 << 16, MaxBytes: 1 << 30})
	const writers, perWriter = 4, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				class := diskqueue.Normal
				if i%10 == 0 {
					class = diskqueue.High
				}
				require.NoError(t, q.Append(class, fmt.Appendf(nil, "%d-%d", w, i)))
				if i%100 == 0 {
					require.NoError(t, q.AppendSync(context.Background(), class, fmt.Appendf(nil, "%d-sync-%d", w, i)))
				}
			}
		})
	}
	seen := map[string]bool{}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	total := writers * (perWriter + perWriter/100)
	for finished := false; len(seen) < total; {
		select {
		case <-done:
			finished = true
		default:
		}
		batch, err := q.Peek(50, 1<<20)
		require.NoError(t, err)
		var ids []uint64
		for _, it := range batch {
			require.False(t, seen[string(it.Data)], "duplicate %s", it.Data)
			seen[string(it.Data)] = true
			ids = append(ids, it.ID)
		}
		require.NoError(t, q.Delete(ids...))
		if finished && len(batch) == 0 {
			require.NoError(t, q.Sync(t.Context()))
			if batch, _ := q.Peek(1, 1<<20); len(batch) == 0 {
				break
			}
		}
	}
	assert.Len(t, seen, total)
	assert.Zero(t, q.Pending())
}

func TestPeekSkipsConfirmedBeforeCommit(t *testing.T) {
	q, _ := openQueue(t, nil)
	for i := range 12 {
		require.NoError(t, q.Append(diskqueue.Class(i/10), []byte(fmt.Sprint(i))))
	}
	require.NoError(t, q.Sync(t.Context()))
	all := peekAll(t, q)
	byData := map[string]uint64{}
	for _, it := range all {
		byData[string(it.Data)] = it.ID
	}
	// Runs and singles, high and normal, in one go and before the writer
	// has committed the deletions.
	require.NoError(t, q.Delete(byData["2"], byData["3"], byData["4"], byData["7"], byData["8"], byData["10"]))
	require.NoError(t, q.Delete(byData["5"]))
	assert.Equal(t, []string{"11", "0", "1", "6", "9"}, data(peekAll(t, q)))
	assert.Equal(t, 5, q.Pending())
	require.NoError(t, q.Sync(t.Context()))
	assert.Equal(t, []string{"11", "0", "1", "6", "9"}, data(peekAll(t, q)))
	batch, err := q.Peek(2, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, []string{"11", "0"}, data(batch))
}

func TestPeekExcludingSkipsInFlight(t *testing.T) {
	q, _ := openQueue(t, nil)
	for i := range 10 {
		require.NoError(t, q.Append(diskqueue.Class(i/8), []byte(fmt.Sprint(i))))
	}
	require.NoError(t, q.Sync(t.Context()))
	first, err := q.Peek(3, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, []string{"8", "9", "0"}, data(first))
	inFlight := []uint64{first[2].ID, first[0].ID, first[1].ID}
	slices.Sort(inFlight)
	second, err := q.PeekExcluding(3, 1<<20, inFlight)
	require.NoError(t, err)
	assert.Equal(t, []string{"1", "2", "3"}, data(second), "the next records, none of the first batch")
	require.NoError(t, q.Delete(second[1].ID))
	third, err := q.PeekExcluding(10, 1<<20, inFlight)
	require.NoError(t, err)
	assert.Equal(t, []string{"1", "3", "4", "5", "6", "7"}, data(third))
}
