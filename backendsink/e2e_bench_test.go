package backendsink

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/soliplex/fieldlog/internal/wire"
	"github.com/soliplex/fieldlog/sink"
	bolt "go.etcd.io/bbolt"
)

// countingServer accepts every batch and counts its entries without
// decoding them, so the server costs little of the machine's two cores.
func countingServer(b *testing.B) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	marker := []byte(`"install_id":`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got := bytes.Count(body, marker)
		n.Add(int64(got))
		_, _ = w.Write(wire.AppendAck(nil, got))
	}))
	b.Cleanup(srv.Close)
	return srv, &n
}

// BenchmarkDelivery measures the pipeline's capacity: records delivered
// per second from log call to a local ingest server, through the disk
// queue, with the producer paced by the sink's internals so that nothing
// waits or drops — no user can pace a program that way. What a user's
// burst gets is measured through the public API in the benchmarks module
// (BenchmarkBurst). The baseline beside it: a goroutine that commits
// records to bbolt 100 per transaction and a sender that reads 100, POSTs
// them and deletes them.
func BenchmarkDelivery(b *testing.B) {
	b.Run("backendsink", func(b *testing.B) {
		srv, delivered := countingServer(b)
		s, err := New(Options{
			Endpoint: srv.URL, Client: srv.Client(), Queue: benchQueue(b),
			InstallID: "6f1c2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e", SessionID: "0b8e2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e",
			FlushInterval: 50 * time.Millisecond, OnError: func(err error) { b.Error(err) },
		})
		if err != nil {
			b.Fatal(err)
		}
		m := sink.NewManager([]sink.Sink{s})
		l := m.Logger("Http")
		start := time.Now()
		n := 0
		for b.Loop() {
			l.Info("Request sent", "url", "/api/v1/chat", "status", 200, "attempt", 2)
			if n++; n%256 == 0 {
				// Sustained throughput: the producer waits while the
				// hand-over buffer is half full or the disk backlog
				// exceeds 20,000 records, so nothing is dropped and
				// memory stays flat.
				for len(s.in) > DefaultBufferSize/2 || s.store.Pending() > 20000 {
					time.Sleep(100 * time.Microsecond)
				}
			}
		}
		for deadline := time.Now().Add(time.Minute); delivered.Load() < int64(n) && time.Now().Before(deadline); {
			_ = s.Flush(context.Background())
		}
		elapsed := time.Since(start)
		b.StopTimer()
		if got := delivered.Load(); got < int64(n) {
			b.Fatalf("delivered %d of %d", got, n)
		}
		if d := s.Stats().Dropped; len(d) > 0 {
			b.Fatalf("dropped: %v", d)
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "delivered/s")
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
			b.ReportMetric(float64(ru.Maxrss)/1024, "peakRSS-MB")
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heapSys-MB")
		_ = m.Close(context.Background())
	})
	b.Run("peer=naive", func(b *testing.B) {
		srv, delivered := countingServer(b)
		db, err := bolt.Open(filepath.Join(b.TempDir(), "naive.db"), 0o600, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		bucket := []byte("q")
		_ = db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bucket); return err })
		entry := encodeEntry(nil, rec(0, "Request sent"), &entryMeta{installID: "6f1c2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e", sessionID: "0b8e2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e"}, MaxEntryBytes)
		records := make(chan []byte, 1<<16)
		var seq uint64
		committed := make(chan struct{})
		go func() { // writer: 100 records per transaction
			defer close(committed)
			batch := make([][]byte, 0, 100)
			flush := func() {
				_ = db.Update(func(tx *bolt.Tx) error {
					bk := tx.Bucket(bucket)
					for _, r := range batch {
						seq++
						var k [8]byte
						binary.BigEndian.PutUint64(k[:], seq)
						if err := bk.Put(k[:], r); err != nil {
							return err
						}
					}
					return nil
				})
				batch = batch[:0]
			}
			for r := range records {
				if batch = append(batch, r); len(batch) == 100 {
					flush()
				}
			}
			flush()
		}()
		stopSender := make(chan struct{})
		senderDone := make(chan struct{})
		go func() { // sender: read 100, POST, delete
			defer close(senderDone)
			for {
				var keys [][]byte
				var body bytes.Buffer
				body.WriteString(`{"logs":[`)
				_ = db.View(func(tx *bolt.Tx) error {
					c := tx.Bucket(bucket).Cursor()
					for k, v := c.First(); k != nil && len(keys) < 100; k, v = c.Next() {
						if len(keys) > 0 {
							body.WriteByte(',')
						}
						body.Write(v)
						keys = append(keys, append([]byte(nil), k...))
					}
					return nil
				})
				if len(keys) == 0 {
					select {
					case <-stopSender:
						return
					case <-time.After(time.Millisecond):
						continue
					}
				}
				body.WriteString(`],"resource":{}}`)
				resp, err := srv.Client().Post(srv.URL, "application/json", &body)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				_ = db.Update(func(tx *bolt.Tx) error {
					bk := tx.Bucket(bucket)
					for _, k := range keys {
						_ = bk.Delete(k)
					}
					return nil
				})
			}
		}()
		start := time.Now()
		n := 0
		for b.Loop() {
			records <- bytes.Clone(entry)
			n++
		}
		close(records)
		<-committed
		for deadline := time.Now().Add(time.Minute); delivered.Load() < int64(n) && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		close(stopSender)
		<-senderDone
		if got := delivered.Load(); got < int64(n) {
			b.Fatalf("delivered %d of %d", got, n)
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "delivered/s")
	})
}

// benchQueue opens a queue whose cap holds the benchmark's largest
// backlog, so every record can be delivered.
func benchQueue(b *testing.B) *diskqueue.Queue {
	q, err := diskqueue.Open(filepath.Join(b.TempDir(), "q"), &diskqueue.Options{MaxBytes: 32 << 20})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = q.Close(context.Background()) })
	return q
}
