package ingest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var namings = []ingest.Naming{ingest.BackendNames, ingest.OTelNames}

// stamped posts a payload file to a server whose verifier names user
// alice, at the fixture clock's time, and returns what it exported.
func stamped(t *testing.T, path string) []ingest.StoredEntry {
	t.Helper()
	f := newFixture(t, ingest.ServerOptions{Verifier: users})
	resp, got := f.do(t, http.MethodPost, ingest.LogsPath, bytes.NewReader(readFile(t, path)), withToken("alice-token"))
	require.Equal(t, 200, resp.StatusCode, got)
	return f.exp.Entries()
}

func keys(attrs []ingest.Attribute) []string {
	out := make([]string, len(attrs))
	for i, a := range attrs {
		out[i] = a.Key
	}
	return out
}

func TestNamedAttributes(t *testing.T) {
	e := stamped(t, "testdata/export/error_entry.json")[0]
	shared := []string{"client_timestamp", "error.fingerprint", "exception.message", "exception.stacktrace", "exception.type",
		"fieldlog.breadcrumbs", "retry", "server.received_at", "server.user", "status", "url"}
	tests := []struct {
		naming ingest.Naming
		fields []string
	}{
		{ingest.BackendNames, []string{"install_id", "logger", "message", "run_id", "session_id", "thread_id", "user_id"}},
		{ingest.OTelNames, []string{"install.id", "run.id", "run.thread_id", "session.id", "user.id"}},
	}
	for _, tt := range tests {
		t.Run(tt.naming.String(), func(t *testing.T) {
			attrs := e.NamedAttributes(tt.naming)
			assert.ElementsMatch(t, append(append([]string(nil), shared...), tt.fields...), keys(attrs))
			assert.IsNonDecreasing(t, keys(attrs), "sorted")
			got := map[string]any{}
			for _, a := range attrs {
				got[a.Key] = a.Value
			}
			assert.Equal(t, "2026-02-06T12:00:00.123456+00:00", got["client_timestamp"], "the client's text, next to the parsed time")
			assert.Equal(t, "alice", got["server.user"])
			assert.Equal(t, "HttpException", got["exception.type"])
		})
	}
	assert.Equal(t, "2026-02-06T12:00:00.123456Z", e.Time().UTC().Format("2006-01-02T15:04:05.999999Z"))
}

// A field wins over a client attribute of the same name; a null field
// leaves the client's attribute alone.
func TestNamedAttributesFieldsWin(t *testing.T) {
	e := ingest.StoredEntry{Entry: ingest.Entry{Timestamp: "t", Level: "info", Logger: "L", Message: "m", InstallID: "i", SessionID: "s",
		Attributes: map[string]any{"logger": "client", "install.id": "client", "user_id": "client", "client_timestamp": "client"}}}
	get := func(n ingest.Naming) map[string]any {
		out := map[string]any{}
		for _, a := range e.NamedAttributes(n) {
			out[a.Key] = a.Value
		}
		return out
	}
	assert.Equal(t, map[string]any{"client_timestamp": "t", "logger": "L", "message": "m", "install_id": "i", "session_id": "s",
		"install.id": "client", "user_id": "client"}, get(ingest.BackendNames))
	assert.Equal(t, map[string]any{"client_timestamp": "t", "install.id": "i", "session.id": "s",
		"logger": "client", "user_id": "client"}, get(ingest.OTelNames))
}

func TestParseNaming(t *testing.T) {
	for _, n := range namings {
		got, err := ingest.ParseNaming(n.String())
		require.NoError(t, err)
		assert.Equal(t, n, got)
	}
	_, err := ingest.ParseNaming("semconv")
	assert.ErrorContains(t, err, "backend or otel")
	assert.Equal(t, ingest.BackendNames, ingest.Naming(0), "the default")
}

// The JSONL line of one error entry in each naming is its golden file.
// Run with -update to rewrite them after a deliberate change.
func TestJSONLGoldenLines(t *testing.T) {
	entries := stamped(t, "testdata/export/error_entry.json")
	for _, n := range namings {
		t.Run(n.String(), func(t *testing.T) {
			dir := t.TempDir()
			store, err := ingest.NewJSONLStore(dir, &ingest.JSONLOptions{Naming: n})
			require.NoError(t, err)
			require.NoError(t, store.Export(t.Context(), entries))
			require.NoError(t, store.Close(t.Context()))
			got := readFile(t, filepath.Join(dir, "logs-000001.jsonl"))
			require.True(t, json.Valid(got))

			wantPath := filepath.Join("testdata", "export", "error_entry."+n.String()+".jsonl")
			if *update {
				require.NoError(t, os.WriteFile(wantPath, got, 0o644))
			}
			assert.Equal(t, string(readFile(t, wantPath)), string(got))
		})
	}
}

// Query reads back, in either naming, the entries the store wrote, and
// the wire-form lines of earlier versions.
func TestJSONLStoreReadsBackWhatItWrote(t *testing.T) {
	entries := stamped(t, "testdata/accept/design_example.json")
	entries = append(entries, stamped(t, "testdata/export/error_entry.json")...)
	entries[1].Message = "tab\t nul\x00 quote\" \u2028 <html> & é"
	entries[1].Attributes["list"] = []any{"a", nil, true, json.Number("1.5")}
	for _, n := range namings {
		t.Run(n.String(), func(t *testing.T) {
			dir := t.TempDir()
			old, err := json.Marshal(entries[0]) // a line as earlier versions wrote it
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "logs-000001.jsonl"), append(old, '\n'), 0o600))
			store, err := ingest.NewJSONLStore(dir, &ingest.JSONLOptions{Naming: n})
			require.NoError(t, err)
			defer store.Close(t.Context())
			require.NoError(t, store.Export(t.Context(), entries))

			var got []ingest.StoredEntry
			require.NoError(t, store.Query(t.Context(), ingest.Filter{}, func(e ingest.StoredEntry) bool {
				got = append(got, e)
				return true
			}))
			require.Len(t, got, 1+len(entries))
			assert.Equal(t, entries[0], got[0], "a wire-form line")
			for i, want := range entries {
				if strings.Contains(want.Timestamp, "+00:00") {
					assert.Equal(t, want.Timestamp, got[1+i].Timestamp, "client_timestamp is the client's text")
				}
				assert.Equal(t, want, got[1+i], "entry %d", i)
			}

			raw := readFile(t, filepath.Join(dir, "logs-000001.jsonl"))
			assert.Contains(t, string(raw), "<html> &", "no HTML escaping: grep finds what was sent")
			assert.Contains(t, string(raw), `"session`+map[ingest.Naming]string{ingest.BackendNames: "_", ingest.OTelNames: "."}[n]+`id":"0b8e2a9e`)
		})
	}

	// A store reads lines of the other naming too.
	dir := t.TempDir()
	backend, err := ingest.NewJSONLStore(dir, nil)
	require.NoError(t, err)
	require.NoError(t, backend.Export(t.Context(), entries[:1]))
	require.NoError(t, backend.Close(t.Context()))
	otel, err := ingest.NewJSONLStore(dir, &ingest.JSONLOptions{Naming: ingest.OTelNames})
	require.NoError(t, err)
	defer otel.Close(t.Context())
	n, err := otel.Count(t.Context(), ingest.Filter{SessionID: entries[0].SessionID, Level: "error"})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}
