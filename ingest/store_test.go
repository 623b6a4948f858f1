package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJSONLStoreRotatesAndQueries(t *testing.T) {
	dir := t.TempDir()
	store, err := ingest.NewJSONLStore(dir, &ingest.JSONLOptions{MaxFileBytes: 2048})
	require.NoError(t, err)
	f := newFixture(t, ingest.ServerOptions{Exporter: store, RateBurst: 1000})
	for i := range 30 {
		session := "s-even"
		if i%2 == 1 {
			session = "s-odd"
		}
		resp, _ := f.post(t, body(entry(i, "info", session)))
		require.Equal(t, 200, resp.StatusCode)
	}
	files, err := filepath.Glob(filepath.Join(dir, "logs-*.jsonl"))
	require.NoError(t, err)
	assert.Greater(t, len(files), 2, "rotated by size")
	for _, path := range files {
		info, err := os.Stat(path)
		require.NoError(t, err)
		assert.LessOrEqual(t, info.Size(), int64(2048))
	}

	var got []ingest.StoredEntry
	require.NoError(t, store.Query(t.Context(), ingest.Filter{SessionID: "s-odd"}, func(e ingest.StoredEntry) bool {
		got = append(got, e)
		return true
	}))
	require.Len(t, got, 15)
	assert.Equal(t, "message 1", got[0].Message, "oldest first")
	assert.Equal(t, "message 29", got[14].Message)
	assert.Equal(t, json.Number("29"), got[14].Attributes["i"], "numbers as on the wire")
	assert.Equal(t, "billing", got[14].Resource["service.name"])
	assert.Equal(t, "2026-02-06T12:00:00.000Z", got[14].Attributes[ingest.ReceivedAtKey])
	require.NoError(t, store.Close(context.Background()))
	require.NoError(t, store.Close(context.Background()), "a second Close is a no-op")
	assert.ErrorIs(t, store.Export(t.Context(), got[:1]), ingest.ErrClosed)

	reopened, err := ingest.NewJSONLStore(dir, &ingest.JSONLOptions{MaxFileBytes: 2048})
	require.NoError(t, err)
	defer reopened.Close(context.Background())
	require.NoError(t, reopened.Export(t.Context(), got[:1]))
	n := 0
	require.NoError(t, reopened.Query(t.Context(), ingest.Filter{}, func(ingest.StoredEntry) bool { n++; return n < 10 }))
	assert.Equal(t, 10, n, "returning false stops the query")
	total, err := reopened.Count(t.Context(), ingest.Filter{Contains: "message 1"})
	require.NoError(t, err)
	assert.Equal(t, 12, total, "message 1, 10..19 and the one appended after reopening")
}

func storedEntries(prefix string, n int) []ingest.StoredEntry {
	out := make([]ingest.StoredEntry, n)
	for i := range out {
		out[i] = ingest.StoredEntry{Entry: ingest.Entry{Timestamp: "2026-02-06T12:00:00.000Z", Level: "info", Logger: "L",
			Message: fmt.Sprintf("%s-%d", prefix, i), InstallID: "i", SessionID: "s"}}
	}
	return out
}

// lines returns the lines of every store file, checking that each ends
// with a newline.
func lines(t *testing.T, dir string) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "logs-*.jsonl"))
	require.NoError(t, err)
	out := map[string][]string{}
	for _, path := range files {
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		if len(raw) == 0 {
			continue
		}
		require.True(t, bytes.HasSuffix(raw, []byte("\n")), "%s ends with a whole line", path)
		out[filepath.Base(path)] = strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	}
	return out
}

// Opening a store cuts a torn last line, left by a crash in the middle of
// a write, so the next entry starts on a line of its own.
func TestJSONLStoreRepairsTornLineAtOpen(t *testing.T) {
	tests := []struct {
		name  string
		give  string
		whole int
	}{
		{"torn after lines", `{"message":"a"}` + "\n" + `{"message":"b"}` + "\n" + `{"mess`, 2},
		{"only a torn line", `{"mess`, 0},
		{"torn line longer than a read", `{"message":"a"}` + "\n" + strings.Repeat("x", 200_000), 1},
		{"whole", `{"message":"a"}` + "\n", 1},
		{"empty", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "logs-000003.jsonl"), []byte(tt.give), 0o600))
			var reported []error
			store, err := ingest.NewJSONLStore(dir, &ingest.JSONLOptions{OnError: func(err error) { reported = append(reported, err) }})
			require.NoError(t, err)
			require.NoError(t, store.Export(t.Context(), storedEntries("next", 1)))
			require.NoError(t, store.Close(t.Context()))
			got := lines(t, dir)["logs-000003.jsonl"]
			require.Len(t, got, tt.whole+1)
			assert.Contains(t, got[tt.whole], `"message":"next-0"`)
			if strings.HasSuffix(tt.give, "\n") || tt.give == "" {
				assert.Empty(t, reported)
			} else {
				assert.Len(t, reported, 1, "the cut is reported")
			}
		})
	}
}

// A batch is written whole into one file: rotation happens between
// batches, never inside one.
func TestJSONLStoreKeepsBatchesWhole(t *testing.T) {
	dir := t.TempDir()
	store, err := ingest.NewJSONLStore(dir, &ingest.JSONLOptions{MaxFileBytes: 3000})
	require.NoError(t, err)
	for b := range 10 {
		require.NoError(t, store.Export(t.Context(), storedEntries(fmt.Sprint("batch", b), 7)))
	}
	require.NoError(t, store.Close(t.Context()))
	files := lines(t, dir)
	assert.Greater(t, len(files), 3)
	for name, ls := range files {
		assert.Zero(t, len(ls)%7, "%s holds whole batches", name)
		for i := 0; i < len(ls); i += 7 {
			batch, _, _ := strings.Cut(ls[i][strings.Index(ls[i], "batch"):], "-")
			for _, l := range ls[i : i+7] {
				assert.Contains(t, l, batch+"-", name)
			}
		}
	}
}

// A failed write leaves the file as it was; the store keeps answering
// once writes work again.
func TestJSONLStoreUndoesFailedWrites(t *testing.T) {
	dir := t.TempDir()
	disk := &failingDisk{}
	store, err := ingest.NewJSONLStore(dir, &ingest.JSONLOptions{WriteFile: disk.write, Sync: true})
	require.NoError(t, err)
	defer store.Close(t.Context())
	require.NoError(t, store.Export(t.Context(), storedEntries("first", 3)))
	disk.n = 2
	for range 2 {
		assert.ErrorIs(t, store.Export(t.Context(), storedEntries("failed", 3)), errNoSpace)
	}
	require.NoError(t, store.Export(t.Context(), storedEntries("second", 3)))
	got := lines(t, dir)["logs-000001.jsonl"]
	require.Len(t, got, 6)
	assert.NotContains(t, strings.Join(got, "\n"), "failed")
}

// Retention deletes files last written longer ago than MaxAge, then the
// oldest while all files pass MaxTotalBytes; never the current one.
func TestJSONLStoreRetention(t *testing.T) {
	dir := t.TempDir()
	now := time.Now() // the store's own writes stamp files with the real time
	write := func(n, size int, age time.Duration) {
		path := filepath.Join(dir, fmt.Sprintf("logs-%06d.jsonl", n))
		require.NoError(t, os.WriteFile(path, []byte(strings.Repeat("x", size-1)+"\n"), 0o600))
		require.NoError(t, os.Chtimes(path, now.Add(-age), now.Add(-age)))
	}
	write(1, 100, 40*24*time.Hour) // too old
	write(2, 400, 20*24*time.Hour)
	write(3, 400, 10*24*time.Hour)
	write(4, 400, time.Hour)
	write(5, 100, time.Minute) // current
	clock := now
	store, err := ingest.NewJSONLStore(dir, &ingest.JSONLOptions{MaxTotalBytes: 1000, MaxFileBytes: 600, Now: func() time.Time { return clock }})
	require.NoError(t, err)
	defer store.Close(t.Context())
	names := func() []string {
		files, err := filepath.Glob(filepath.Join(dir, "logs-*.jsonl"))
		require.NoError(t, err)
		for i := range files {
			files[i] = filepath.Base(files[i])
		}
		return files
	}
	assert.Equal(t, []string{"logs-000003.jsonl", "logs-000004.jsonl", "logs-000005.jsonl"}, names(), "1 too old; 2 over the total")

	require.NoError(t, store.Export(t.Context(), storedEntries("entry", 4))) // rotates: 5 has no room
	assert.Equal(t, []string{"logs-000003.jsonl", "logs-000004.jsonl", "logs-000005.jsonl", "logs-000006.jsonl"}, names())

	require.NoError(t, store.Export(t.Context(), storedEntries("f", 1))) // rotates: with 6 full (928 bytes), 3, 4 and 5 pass the total
	assert.Equal(t, []string{"logs-000006.jsonl", "logs-000007.jsonl"}, names())

	clock = clock.Add(31 * 24 * time.Hour) // the hourly sweep: everything but the current file ages out
	require.NoError(t, store.Export(t.Context(), storedEntries("g", 1)))
	assert.Equal(t, []string{"logs-000007.jsonl"}, names())
}
