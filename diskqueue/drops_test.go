package diskqueue

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

func TestLedgerCountsByReasonAndClass(t *testing.T) {
	l := newLedger()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l.add(DropCap, Normal, 5, t0)
	l.add(DropCap, High, 2, t0.Add(time.Second))
	l.add(DropBufferFull, Normal, 1, t0.Add(2*time.Second))
	l.add(DropCap, Normal, 0, t0.Add(time.Hour)) // nothing: no change to the period
	assert.True(t, l.dirty())

	u := l.pending()
	assert.Equal(t, []DropCount{{DropBufferFull, Normal, 1}, {DropCap, Normal, 5}, {DropCap, High, 2}}, u.Counts)
	assert.Equal(t, t0, u.From)
	assert.Equal(t, t0.Add(2*time.Second), u.To)
	assert.EqualValues(t, 8, u.Total())
	assert.Equal(t, map[string]int64{DropCap: 7, DropBufferFull: 1}, byReason(l.sinceOpen))

	// Drops counted after the report was taken stay unreported, and
	// their period starts where the reported one ended.
	l.add(DropCap, Normal, 3, t0.Add(time.Minute))
	l.markReported(u)
	left := l.pending()
	assert.Equal(t, []DropCount{{DropCap, Normal, 3}}, left.Counts)
	assert.Equal(t, t0.Add(2*time.Second), left.From)
	assert.Equal(t, t0.Add(time.Minute), left.To)
	assert.Equal(t, map[string]int64{DropCap: 10, DropBufferFull: 1}, byReason(l.total), "totals never go down")

	l.markReported(left)
	assert.Empty(t, l.pending().Counts)
	assert.True(t, l.pending().From.IsZero())

	// Reporting more than is left never goes negative.
	l.markReported(Unreported{Counts: []DropCount{{DropCap, Normal, 100}}})
	assert.Empty(t, l.pending().Counts)
}

func TestLedgerSavesAndLoads(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "l.db"), 0o600, nil)
	require.NoError(t, err)
	defer db.Close()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := newLedger()
	l.add(DropDiskError, High, 4, t0)
	l.add(DropCap, Normal, 9, t0.Add(time.Second))
	l.markReported(Unreported{Counts: []DropCount{{DropCap, Normal, 9}}, To: t0.Add(time.Second)})
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(metaBucket)
		require.NoError(t, err)
		require.NoError(t, l.save(b))
		// A total as files written before classes were kept hold it.
		return b.Put([]byte(legacyPrefix+DropCorrupt), []byte{0, 0, 0, 0, 0, 0, 0, 6})
	}))
	var got ledger
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		got = loadLedger(tx.Bucket(metaBucket))
		return nil
	}))
	assert.Equal(t, []DropCount{{DropDiskError, High, 4}}, got.pending().Counts)
	assert.Equal(t, t0.Add(time.Second), got.pending().From)
	assert.Equal(t, map[string]int64{DropDiskError: 4, DropCap: 9, DropCorrupt: 6}, byReason(got.total), "legacy totals are read too")
	assert.Empty(t, got.sinceOpen, "since-open counts start afresh")
	assert.True(t, got.dirty(), "legacy keys are rewritten with the next commit")

	// Saving removes the legacy keys.
	require.NoError(t, db.Update(func(tx *bolt.Tx) error { return got.save(tx.Bucket(metaBucket)) }))
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		assert.Nil(t, tx.Bucket(metaBucket).Get([]byte(legacyPrefix+DropCorrupt)))
		assert.Equal(t, map[string]int64{DropDiskError: 4, DropCap: 9, DropCorrupt: 6}, byReason(loadLedger(tx.Bucket(metaBucket)).total))
		return nil
	}))
}

func TestDropAlarmFirstAtOnceThenRateLimited(t *testing.T) {
	var a dropAlarm
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	first := a.note(DropCap, 1, t0, "q.db")
	require.Error(t, first)
	assert.Contains(t, first.Error(), "started dropping records (1 queue_cap)")
	assert.NoError(t, a.note(DropCap, 5, t0.Add(time.Second), "q.db"))
	assert.NoError(t, a.note(DropBufferFull, 2, t0.Add(30*time.Second), "q.db"))
	next := a.note(DropCap, 1, t0.Add(dropAlarmInterval), "q.db")
	require.Error(t, next)
	assert.Contains(t, next.Error(), "dropped records (2 buffer_full, 6 queue_cap)")
}
