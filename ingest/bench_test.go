package ingest_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/require"
)

// BenchmarkPostLogs posts 100-entry batches through the handler into a
// JSONL store: plain info entries, and a batch where one entry in ten is
// an error with a Go panic stack to fingerprint.
func BenchmarkPostLogs(b *testing.B) {
	benchmarks := []struct {
		name       string
		errorEvery int
	}{
		{"info", 0},
		{"tenth_errors", 10},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			entries := make([]map[string]any, 100)
			for i := range entries {
				entries[i] = entry(i, "info", "s1")
				if bm.errorEvery > 0 && i%bm.errorEvery == 0 {
					entries[i] = errEntry(i, "HttpException: 500")
					entries[i]["stack_trace"] = goPanicA
				}
			}
			benchPost(b, nil, entries)
		})
	}
}

// benchPost posts entries as one batch b.N times through the handler into
// a JSONL store opened with opts, and reports entries/s.
func benchPost(b *testing.B, opts *ingest.JSONLOptions, entries []map[string]any) {
	store, err := ingest.NewJSONLStore(b.TempDir(), opts)
	require.NoError(b, err)
	defer store.Close(context.Background())
	s, err := ingest.NewServer(ingest.ServerOptions{Exporter: store, AllowAnonymous: true, RatePerSecond: 1e9, RateBurst: 1e9})
	require.NoError(b, err)
	payload := body(entries...)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, ingest.LogsPath, bytes.NewReader(payload))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body.String())
		}
	}
	b.ReportMetric(float64(b.N*len(entries))/b.Elapsed().Seconds(), "entries/s")
}
