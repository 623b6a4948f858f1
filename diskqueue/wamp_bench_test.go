package diskqueue_test

import (
	"bufio"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/soliplex/fieldlog/diskqueue"
)

// diskWrites returns the bytes this process has caused to be written to
// storage so far (write_bytes in /proc/self/io), or -1 where the kernel
// does not account them.
func diskWrites() int64 {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "write_bytes: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// reportAmplification reports the bytes written to storage per byte of
// record appended since start. It syncs the file system first so that
// write-back has happened.
func reportAmplification(b *testing.B, start int64, recordBytes int64) {
	if start < 0 || recordBytes == 0 {
		return
	}
	syncFS()
	if end := diskWrites(); end >= 0 {
		b.ReportMetric(float64(end-start)/float64(recordBytes), "disk-B/record-B")
	}
}

// BenchmarkWriteAmplification measures what a sustained stream of
// 400-byte records costs the disk: steady (a consumer confirms as fast as
// records arrive, as when the server is up) and at the cap (the server is
// down and every new record evicts an old one).
func BenchmarkWriteAmplification(b *testing.B) {
	ctx := context.Background()
	b.Run("steady", func(b *testing.B) {
		q, _ := openQueue(b, nil)
		syncFS()
		start := diskWrites()
		b.SetBytes(400)
		n := 0
		for b.Loop() {
			appendDurable(q, &n)
			if n++; n%1000 == 0 {
				confirmOldest(b, q, 1000)
			}
		}
		if err := q.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		reportAmplification(b, start, int64(b.N)*400)
	})
	b.Run("groups-of-100", func(b *testing.B) {
		// A paced producer: each commit holds about 100 records.
		q, _ := openQueue(b, nil)
		syncFS()
		start := diskWrites()
		b.SetBytes(400)
		n := 0
		for b.Loop() {
			appendDurable(q, &n)
			if n++; n%100 == 0 {
				if err := q.Sync(ctx); err != nil {
					b.Fatal(err)
				}
				confirmOldest(b, q, 100)
			}
		}
		if err := q.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		reportAmplification(b, start, int64(b.N)*400)
	})
	b.Run("at-cap", func(b *testing.B) {
		q, _ := openQueue(b, &diskqueue.Options{MaxBytes: 2 << 20})
		n := 0
		for range (2 << 20) / 400 {
			appendDurable(q, &n)
		}
		if err := q.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		syncFS()
		start := diskWrites()
		b.SetBytes(400)
		b.ResetTimer()
		for b.Loop() {
			appendDurable(q, &n)
		}
		if err := q.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		reportAmplification(b, start, int64(b.N)*400)
	})
}

// confirmOldest reads the oldest n records and confirms them, as a sink
// whose server accepted them would.
func confirmOldest(b *testing.B, q *diskqueue.Queue, n int) {
	items, err := q.Peek(n, 1<<20)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]uint64, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	if err := q.Delete(ids...); err != nil {
		b.Fatal(err)
	}
}
