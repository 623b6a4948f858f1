package backendsink

import (
	"context"
	"encoding/json"
	"github.com/soliplex/fieldlog/diskqueue"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
)

// discardStore accepts and forgets everything.
type discardStore struct{}

func (*discardStore) Append(context.Context, bool, []byte) error       { return nil }
func (*discardStore) AppendSync(context.Context, bool, []byte) error   { return nil }
func (*discardStore) Peek(int, int) ([]item, error)                    { return nil, nil }
func (*discardStore) PeekExcluding(int, int, []uint64) ([]item, error) { return nil, nil }
func (*discardStore) Pending() int                                     { return 0 }
func (*discardStore) Lost() map[string]int64                           { return nil }
func (*discardStore) Close(context.Context) error                      { return nil }
func (*discardStore) Delete([]uint64) error                            { return nil }
func (*discardStore) Sync(context.Context) error                       { return nil }
func (*discardStore) Discard(string, []uint64) error                   { return nil }
func (*discardStore) CountDrop(string, bool, int)                      {}
func (*discardStore) Unreported() diskqueue.Unreported                 { return diskqueue.Unreported{} }
func (*discardStore) MarkReported(diskqueue.Unreported)                {}

// BenchmarkWrite measures what a log call costs the caller with the
// backend sink installed: the hand-over only, as encoding and disk happen
// on the sink's goroutine. The peer is slog's JSON handler writing to
// io.Discard, in the same run.
func BenchmarkWrite(b *testing.B) {
	b.Run("peer=slogJSON", func(b *testing.B) {
		l := slog.New(slog.NewJSONHandler(io.Discard, nil))
		b.ReportAllocs()
		for b.Loop() {
			l.Info("Request sent", "url", "/api/v1/chat", "status", 200, "attempt", 2)
		}
	})
	b.Run("backendsink", func(b *testing.B) {
		s, err := newSink(Options{Endpoint: "http://ingest.test/api/v1/logs", Client: sinktest.NewIngest().Client(), FlushInterval: time.Hour, OnError: func(error) {}}, &discardStore{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close(context.Background())
		m := sink.NewManager([]sink.Sink{s})
		l := m.Logger("Http")
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			l.Info("Request sent", "url", "/api/v1/chat", "status", 200, "attempt", 2)
			if n++; n%1024 == 0 {
				// Let the encoder catch up off the clock, so every measured
				// call is a real hand-over, not a cheap drop.
				b.StopTimer()
				for len(s.in) > 0 {
					time.Sleep(10 * time.Microsecond)
				}
				b.StartTimer()
			}
		}
		b.StopTimer()
		if d := s.Stats().Dropped[DropBufferFull]; d > 0 {
			b.Fatalf("%d records dropped: the measurement is not of hand-overs", d)
		}
	})
}

// BenchmarkEncode compares the wire encoder with building a map and
// calling json.Marshal, the obvious alternative.
func BenchmarkEncode(b *testing.B) {
	r := logrecord.New(time.Now(), logrecord.LevelInfo, "Http", "Request sent",
		slog.String("url", "/api/v1/chat"), slog.Int("status", 200), slog.Int("attempt", 2))
	meta := &entryMeta{installID: "6f1c2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e", sessionID: "0b8e2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e"}
	b.Run("encoder", func(b *testing.B) {
		b.ReportAllocs()
		var e encoder // as the encoder goroutine keeps one
		var buf []byte
		for b.Loop() {
			buf = e.entry(buf[:0], &r, meta, MaxEntryBytes)
		}
	})
	b.Run("peer=mapJSONMarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			attrs := map[string]any{}
			for a := range r.Attrs {
				attrs[a.Key] = a.Value.Any()
			}
			e := map[string]any{
				"timestamp": r.Time.UTC().Format("2006-01-02T15:04:05.000Z"), "level": r.Level.String(),
				"logger": r.Logger, "message": r.Message, "attributes": attrs, "error": nil, "stack_trace": nil,
				"span_id": nil, "trace_id": nil, "install_id": meta.installID, "session_id": meta.sessionID,
				"user_id": nil, "active_run": nil,
			}
			if _, err := json.Marshal(e); err != nil {
				b.Fatal(err)
			}
		}
	})
}
