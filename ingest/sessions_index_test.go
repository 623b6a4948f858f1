package ingest

import (
	"fmt"
	"testing"
	"time"
)

// indexBatch is a batch of 100 entries as the handler stores them: one in
// ten an error with a fingerprint, ten sessions, every entry stamped.
func indexBatch() ([]StoredEntry, []int64) {
	t0 := time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC)
	user := "user-1"
	entries := make([]StoredEntry, 100)
	offs := make([]int64, len(entries))
	for i := range entries {
		e := Entry{
			Timestamp: t0.Add(time.Duration(i) * time.Millisecond).Format(TimestampLayout),
			Level:     "info", Logger: "Http", Message: fmt.Sprintf("message %d", i),
			InstallID: "install-1", SessionID: fmt.Sprintf("s%d", i%10), UserID: &user,
			Attributes: map[string]any{"i": i, "url": "/api/v1/chat", ReceivedAtKey: t0.Format(TimestampLayout)},
		}
		if i%10 == 0 {
			e.Level = "error"
			e.Attributes[FingerprintKey] = "fp1:0123456789abcdef"
		}
		entries[i] = StoredEntry{Entry: e, Resource: map[string]string{"service.name": "billing", DeviceAliasKey: "calm-falcon-ridge"}}
		offs[i] = int64(i) * 300
	}
	return entries, offs
}

// BenchmarkSessionIndexAdd is the index's own cost of one stored batch
// of 100 entries, as JSONLStore.Export pays it; ns/entry is the figure to
// hold against the handler's cost per entry (BenchmarkPostLogsIndex).
func BenchmarkSessionIndexAdd(b *testing.B) {
	entries, offs := indexBatch()
	x := newSessionIndex(DefaultMaxSessions)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if n++; n%10_000 == 0 { // bound the lines kept: a fresh index now and then
			x = newSessionIndex(DefaultMaxSessions)
		}
		x.add(1, offs, entries)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(entries)), "ns/entry")
}

func TestSessionIndexAdd(t *testing.T) {
	entries, offs := indexBatch()
	x := newSessionIndex(DefaultMaxSessions)
	x.add(1, offs, entries)
	x.add(2, offs, entries)
	c, ok := x.lookup("s0")
	if !ok {
		t.Fatal("s0 not indexed")
	}
	if got := len(c.locs); got != 20 {
		t.Errorf("locs = %d, want 20", got)
	}
	if c.summary.Entries != 20 || c.summary.Errors != 20 || c.summary.DeviceAlias != "calm-falcon-ridge" ||
		len(c.summary.Fingerprints) != 1 || len(c.summary.UserIDs) != 1 {
		t.Errorf("summary = %+v", c.summary)
	}
}
