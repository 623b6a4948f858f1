package diskqueue_test

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/soliplex/fieldlog/diskqueue"
	bolt "go.etcd.io/bbolt"
)

// Benchmarks use 400-byte records. Peers, measured in the same run: raw
// bbolt with one Update per record and per 100 records, a JSONL file with
// fsync per record (the original design), and a bare write+fsync.

var record400 = func() []byte {
	b := make([]byte, 400)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}()

// appendDurable appends one record, waiting for room in the buffer when
// the writer is behind: the time measured is that of sustained durable
// appends (each run ends with Sync), not of cheap drops.
func appendDurable(q *diskqueue.Queue, _ *int) {
	if err := q.AppendWait(context.Background(), diskqueue.Normal, record400); err != nil {
		panic(err)
	}
}

func BenchmarkAppend(b *testing.B) {
	b.Run("goroutines=1", func(b *testing.B) {
		q, _ := openQueue(b, &diskqueue.Options{MaxBytes: 1 << 40})
		b.ReportAllocs()
		b.SetBytes(400)
		n := 0
		for b.Loop() {
			appendDurable(q, &n)
		}
		if err := q.Sync(context.Background()); err != nil {
			b.Fatal(err)
		}
		reportCommits(b, q)
	})
	b.Run("goroutines=8", func(b *testing.B) {
		q, _ := openQueue(b, &diskqueue.Options{MaxBytes: 1 << 40, BufferSize: 1 << 16})
		b.ReportAllocs()
		b.SetBytes(400)
		b.SetParallelism(4) // 4 x GOMAXPROCS(2) = 8 goroutines
		b.RunParallel(func(pb *testing.PB) {
			n := 0
			for pb.Next() {
				appendDurable(q, &n)
			}
		})
		if err := q.Sync(context.Background()); err != nil {
			b.Fatal(err)
		}
		reportCommits(b, q)
	})
}

func reportCommits(b *testing.B, q *diskqueue.Queue) {
	st := q.Stats()
	if st.Commits > 0 {
		b.ReportMetric(float64(st.Committed)/float64(st.Commits), "records/commit")
	}
	if d := st.Dropped[diskqueue.DropBufferFull]; d > 0 {
		b.Fatalf("%d records dropped", d)
	}
}

func BenchmarkAppendSync(b *testing.B) {
	q, _ := openQueue(b, &diskqueue.Options{MaxBytes: 1 << 40})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := q.AppendSync(ctx, diskqueue.High, record400); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPeekConfirm100(b *testing.B) {
	q, _ := openQueue(b, &diskqueue.Options{MaxBytes: 1 << 40})
	ctx := context.Background()
	fill := func() {
		n := 0
		for range 100 * 100 {
			appendDurable(q, &n)
		}
		if err := q.Sync(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if q.Pending() < 100 {
			b.StopTimer()
			fill()
			b.StartTimer()
		}
		batch, err := q.Peek(100, 1<<20)
		if err != nil || len(batch) != 100 {
			b.Fatal(err, len(batch))
		}
		ids := make([]uint64, len(batch))
		for i, it := range batch {
			ids[i] = it.ID
		}
		if err := q.Delete(ids...); err != nil {
			b.Fatal(err)
		}
	}
}

func openBolt(b *testing.B) *bolt.DB {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "peer.db"), 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("q")); return err }); err != nil {
		b.Fatal(err)
	}
	return db
}

func BenchmarkPeerBoltUpdatePerRecord(b *testing.B) {
	db := openBolt(b)
	var seq uint64
	b.SetBytes(400)
	for b.Loop() {
		err := db.Update(func(tx *bolt.Tx) error {
			seq++
			var k [8]byte
			binary.BigEndian.PutUint64(k[:], seq)
			return tx.Bucket([]byte("q")).Put(k[:], record400)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPeerBoltUpdatePer100(b *testing.B) {
	db := openBolt(b)
	var seq uint64
	pending := 0
	flush := func() {
		err := db.Update(func(tx *bolt.Tx) error {
			bk := tx.Bucket([]byte("q"))
			for range pending {
				seq++
				var k [8]byte
				binary.BigEndian.PutUint64(k[:], seq)
				if err := bk.Put(k[:], record400); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		pending = 0
	}
	b.SetBytes(400)
	for b.Loop() {
		if pending++; pending == 100 {
			flush()
		}
	}
	flush()
}

func BenchmarkPeerJSONLFsyncPerRecord(b *testing.B) {
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "peer.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	line := append(append([]byte(`{"m":"`), record400...), '"', '}', '\n')
	b.SetBytes(400)
	for b.Loop() {
		if _, err := f.Write(line); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPeerWriteFsync(b *testing.B) {
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "peer.bin"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for b.Loop() {
		if _, err := f.Write(record400); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}
