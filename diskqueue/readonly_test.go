package diskqueue_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// TestOpenReadOnlyNeverWrites: inspecting a queue, damaged records
// included, leaves the file byte for byte as it was.
func TestOpenReadOnlyNeverWrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "q")
	fillQueue(t, dir, 50)
	path := filepath.Join(dir, diskqueue.FileName)
	// Damage record 7 behind the queue's back.
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		var key [8]byte
		binary.BigEndian.PutUint64(key[:], 7)
		for _, name := range []string{"normal", "high"} {
			b := tx.Bucket([]byte(name))
			if v := b.Get(key[:]); v != nil {
				v = append([]byte(nil), v...)
				v[len(v)-1] ^= 0xff
				return b.Put(key[:], v)
			}
		}
		t.Fatal("record 7 not found")
		return nil
	}))
	require.NoError(t, db.Close())
	before := fileBytes(t, path)
	info, err := os.Stat(path)
	require.NoError(t, err)

	q, err := diskqueue.OpenReadOnly(dir, &diskqueue.Options{OnError: func(err error) { t.Log(err) }})
	require.NoError(t, err)
	for range 2 {
		items, err := q.Peek(1<<30, 1<<40)
		require.NoError(t, err)
		assert.Len(t, items, 49)
	}
	st := q.Stats()
	assert.EqualValues(t, 1, st.Dropped[diskqueue.DropCorrupt], "counted once however often it is read")
	assert.Equal(t, 50, st.Pending, "nothing deleted")
	assert.ErrorIs(t, q.Append(diskqueue.Normal, []byte("x")), diskqueue.ErrReadOnly)
	assert.ErrorIs(t, q.AppendSync(t.Context(), diskqueue.Normal, []byte("x")), diskqueue.ErrReadOnly)
	assert.ErrorIs(t, q.Sync(t.Context()), diskqueue.ErrReadOnly)
	assert.ErrorIs(t, q.Delete(1), diskqueue.ErrReadOnly)
	assert.ErrorIs(t, q.Clear(), diskqueue.ErrReadOnly)
	require.NoError(t, q.Close(t.Context()))

	assert.Equal(t, before, fileBytes(t, path), "byte-identical")
	after, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, info.ModTime(), after.ModTime())
}

func TestOpenReadOnlyMissingOrDamaged(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "typo")
	_, err := diskqueue.OpenReadOnly(missing, nil)
	require.ErrorIs(t, err, diskqueue.ErrNotExist)
	_, statErr := os.Stat(missing)
	assert.ErrorIs(t, statErr, os.ErrNotExist, "nothing created")

	dir := t.TempDir()
	garbage := []byte("not a queue, not a queue, not a queue")
	require.NoError(t, os.WriteFile(filepath.Join(dir, diskqueue.FileName), garbage, 0o600))
	_, err = diskqueue.OpenReadOnly(dir, nil)
	require.ErrorIs(t, err, diskqueue.ErrCorrupt)
	assert.Equal(t, garbage, fileBytes(t, filepath.Join(dir, diskqueue.FileName)), "not moved, not changed")
}

func TestOpenReadOnlyWaitsForTheWriter(t *testing.T) {
	q, dir := openQueue(t, nil)
	require.NoError(t, q.AppendSync(t.Context(), diskqueue.Normal, []byte("x")))
	start := time.Now()
	_, err := diskqueue.OpenReadOnly(dir, &diskqueue.Options{LockTimeout: 100 * time.Millisecond})
	require.ErrorIs(t, err, diskqueue.ErrLocked)
	assert.Less(t, time.Since(start), 2*time.Second)
}

// TestDropsSurviveRestartsUntilReported: drops are kept in the file,
// with their classes and period, until they are marked reported.
func TestDropsSurviveRestartsUntilReported(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "q")
	open := func() *diskqueue.Queue {
		q, err := diskqueue.Open(dir, &diskqueue.Options{MaxBytes: 1000, OnError: func(err error) { t.Log(err) }})
		require.NoError(t, err)
		return q
	}
	q := open()
	for i := range 100 {
		require.NoError(t, q.AppendWait(t.Context(), diskqueue.Class(i%10/9), numbered(i)))
	}
	require.NoError(t, q.Close(t.Context()))

	q = open()
	u := q.Unreported()
	assert.Positive(t, u.Total())
	assert.Equal(t, u.Total(), q.Stats().DroppedTotal[diskqueue.DropCap])
	assert.Empty(t, q.Stats().Dropped, "nothing dropped since this Open")
	assert.False(t, u.From.IsZero())
	assert.False(t, u.To.Before(u.From))
	// The report is taken, then more records drop before it is marked.
	for i := range 20 {
		require.NoError(t, q.AppendWait(t.Context(), diskqueue.Normal, numbered(1000+i)))
	}
	require.NoError(t, q.Sync(t.Context()))
	later := q.Unreported().Total() - u.Total()
	assert.Positive(t, later)
	q.MarkReported(u)
	require.NoError(t, q.Close(t.Context()))

	q = open()
	defer q.Close(t.Context())
	assert.Equal(t, later, q.Unreported().Total(), "only what was reported is gone")
}

func TestClearIsCounted(t *testing.T) {
	q, _ := openQueue(t, nil)
	for i := range 5 {
		require.NoError(t, q.Append(diskqueue.Class(i%2), numbered(i)))
	}
	require.NoError(t, q.Clear())
	require.NoError(t, q.Append(diskqueue.Normal, numbered(5)))
	require.NoError(t, q.Sync(t.Context()))
	assert.Equal(t, []string{string(numbered(5))}, data(peekAll(t, q)))
	assert.Equal(t, []diskqueue.DropCount{{Reason: diskqueue.DropCleared, Class: diskqueue.Normal, N: 3}, {Reason: diskqueue.DropCleared, Class: diskqueue.High, N: 2}}, q.Unreported().Counts)
}
