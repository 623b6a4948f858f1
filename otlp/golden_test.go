package otlp_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/otlp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// forward posts a payload file to an ingest server that forwards to a
// collector in naming n, as user alice at a fixed time, and returns what
// the collector decoded.
func forward(t *testing.T, path string, n ingest.Naming) plog.Logs {
	t.Helper()
	col := &fakeCollector{}
	cs := httptest.NewServer(col)
	defer cs.Close()
	exp, err := otlp.New(t.Context(), otlp.Options{EndpointURL: cs.URL + "/v1/logs", Naming: n})
	require.NoError(t, err)
	srv, err := ingest.NewServer(ingest.ServerOptions{
		Exporter: exp,
		Verifier: ingest.VerifierFunc(func(*http.Request) (string, error) { return "alice", nil }),
		Now:      func() time.Time { return time.Date(2026, 2, 6, 12, 0, 1, 0, time.UTC) },
	})
	require.NoError(t, err)
	defer srv.Close(t.Context())

	body, err := os.ReadFile(path)
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodPost, ingest.LogsPath, bytes.NewReader(body))
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	require.Equal(t, 200, w.Code, w.Body.String())

	col.mu.Lock()
	defer col.mu.Unlock()
	require.Len(t, col.logs, 1)
	return col.logs[0]
}

// The OTLP request of one error entry in each naming, as the Collector's
// plogotlp decodes it, is its golden file (OTLP/JSON). Run with -update
// to rewrite them after a deliberate change.
func TestGoldenRecords(t *testing.T) {
	tests := []struct {
		naming ingest.Naming
		ids    []string // install, session, user, thread, run
		absent []string
	}{
		{ingest.BackendNames, []string{"install_id", "session_id", "user_id", "thread_id", "run_id", "logger", "message"},
			[]string{"install.id", "session.id", "user.id", "run.id"}},
		{ingest.OTelNames, []string{"install.id", "session.id", "user.id", "run.thread_id", "run.id"},
			[]string{"install_id", "session_id", "user_id", "run_id", "logger", "message"}},
	}
	for _, tt := range tests {
		t.Run(tt.naming.String(), func(t *testing.T) {
			logs := forward(t, filepath.Join("testdata", "error_entry.json"), tt.naming)
			raw, err := (&plog.JSONMarshaler{}).MarshalLogs(logs)
			require.NoError(t, err)
			var got bytes.Buffer
			require.NoError(t, json.Indent(&got, raw, "", "  "))
			got.WriteByte('\n')
			wantPath := filepath.Join("testdata", "error_entry."+tt.naming.String()+".json")
			if *update {
				require.NoError(t, os.WriteFile(wantPath, got.Bytes(), 0o644))
			}
			want, err := os.ReadFile(wantPath)
			require.NoError(t, err)
			assert.Equal(t, string(want), got.String())

			r := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			for _, k := range tt.ids {
				_, ok := r.Attributes().Get(k)
				assert.True(t, ok, k)
			}
			for _, k := range tt.absent {
				_, ok := r.Attributes().Get(k)
				assert.False(t, ok, k)
			}
			ts, _ := r.Attributes().Get(ingest.ClientTimestampKey)
			assert.Equal(t, "2026-02-06T12:00:00.123456+00:00", ts.Str(), "the client's text")
			assert.Equal(t, time.Date(2026, 2, 6, 12, 0, 0, 123456000, time.UTC), r.Timestamp().AsTime(), "next to the parsed time")
			user, _ := r.Attributes().Get(ingest.ServerUserKey)
			assert.Equal(t, "alice", user.Str())
			typ, _ := r.Attributes().Get(ingest.ExceptionTypeKey)
			assert.Equal(t, "HttpException", typ.Str())
		})
	}
}

// A timestamp compat mode keeps as text still gives the record its time:
// parsed when it reads as RFC 3339 in Python's forms, else the time the
// server received it.
func TestRecordTimeOfTextTimestamps(t *testing.T) {
	received := time.Date(2026, 2, 6, 12, 0, 1, 0, time.UTC)
	tests := []struct {
		give string
		want time.Time
	}{
		{"2026-02-06T12:00:00.123Z", time.Date(2026, 2, 6, 12, 0, 0, 123000000, time.UTC)},
		{"2026-02-06 12:00:00.5", time.Date(2026, 2, 6, 12, 0, 0, 500000000, time.UTC)},
		{"2026-02-06T14:00:00+02:00", time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC)},
		{"yesterday", received},
		{"", received},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			col := &fakeCollector{}
			cs := httptest.NewServer(col)
			defer cs.Close()
			exp, err := otlp.New(t.Context(), otlp.Options{EndpointURL: cs.URL + "/v1/logs"})
			require.NoError(t, err)
			defer exp.Close(t.Context())
			e := ingest.StoredEntry{Entry: ingest.Entry{Timestamp: tt.give, Level: "info", Logger: "L", Message: "m", InstallID: "i", SessionID: "s",
				Attributes: map[string]any{ingest.ReceivedAtKey: received.Format(ingest.TimestampLayout)}}}
			require.NoError(t, exp.Export(t.Context(), []ingest.StoredEntry{e}))
			col.mu.Lock()
			defer col.mu.Unlock()
			r := col.logs[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			assert.Equal(t, tt.want, r.Timestamp().AsTime())
			ts, _ := r.Attributes().Get(ingest.ClientTimestampKey)
			assert.Equal(t, tt.give, ts.Str())
		})
	}
}
