package ingest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/require"
)

// BenchmarkPostLogsIndex posts 100-entry batches of ten sessions through
// the handler into a JSONL store, with the session index and without it:
// the difference is the index's cost per entry. Compare the two with
//
//	benchstat -col /index results.txt
func BenchmarkPostLogsIndex(b *testing.B) {
	for _, bm := range []struct {
		name        string
		maxSessions int
	}{{"index=off", -1}, {"index=on", 0}} {
		b.Run(bm.name, func(b *testing.B) {
			entries := make([]map[string]any, 100)
			for i := range entries {
				entries[i] = entry(i, "info", fmt.Sprintf("s%d", i%10))
				if i%10 == 0 {
					entries[i] = errEntry(i, "HttpException: 500")
					entries[i]["stack_trace"] = goPanicA
				}
			}
			benchPost(b, &ingest.JSONLOptions{MaxSessions: bm.maxSessions}, entries)
		})
	}
}

// BenchmarkSessionQuery finds and reads one session among 1,000,000
// stored entries of 10,000 sessions (100 entries each, interleaved as
// concurrent sessions are).
func BenchmarkSessionQuery(b *testing.B) {
	const sessions, perSession = 10_000, 100
	store, err := ingest.NewJSONLStore(b.TempDir(), &ingest.JSONLOptions{MaxTotalBytes: -1})
	require.NoError(b, err)
	defer store.Close(context.Background())
	t0 := time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC)
	batch := make([]ingest.StoredEntry, 0, 1000)
	for i := range sessions * perSession {
		sid := fmt.Sprintf("session-%05d", i%sessions)
		user := fmt.Sprintf("user-%05d", i%sessions)
		batch = append(batch, ingest.StoredEntry{Entry: ingest.Entry{
			Timestamp: t0.Add(time.Duration(i) * time.Millisecond).Format(ingest.TimestampLayout),
			Level:     "info", Logger: "Http", Message: fmt.Sprintf("GET /api/v1/items/%d", i),
			InstallID: "install-" + sid, SessionID: sid, UserID: &user,
			Attributes: map[string]any{"device.alias": "device-" + sid, ingest.ReceivedAtKey: t0.Format(ingest.TimestampLayout)},
		}})
		if len(batch) == cap(batch) {
			require.NoError(b, store.Export(context.Background(), batch))
			batch = batch[:0]
		}
	}
	ctx := context.Background()
	b.Run("find_by_user", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			got, err := store.FindSessions(ctx, ingest.SessionQuery{UserID: "user-04242"})
			if err != nil || len(got) != 1 {
				b.Fatal(err, len(got))
			}
		}
	})
	b.Run("timeline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tl, err := store.Timeline(ctx, "session-04242")
			if err != nil || len(tl.Items) != perSession {
				b.Fatal(err)
			}
		}
	})
	b.Run("find_by_text_and_device", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			got, err := store.FindSessions(ctx, ingest.SessionQuery{DeviceAlias: "device-session-04242", Text: "items/504242"})
			if err != nil || len(got) != 1 {
				b.Fatal(err, len(got))
			}
		}
	})
}
