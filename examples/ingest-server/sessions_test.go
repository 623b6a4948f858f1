package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// copiedStore writes a store of two sessions and closes it, as a copy
// taken from a server would be.
func copiedStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	st, err := ingest.NewJSONLStore(dir, nil)
	require.NoError(t, err)
	user := "u1"
	failure := "HttpException: 500"
	entries := []ingest.StoredEntry{
		{Entry: ingest.Entry{Timestamp: "2026-02-06T12:00:00.000Z", Level: "info", Logger: "fieldlog", Message: "session started",
			InstallID: "i1", SessionID: "s-a", UserID: &user,
			Attributes: map[string]any{"device.alias": "calm-falcon-ridge", "service.name": "billing", ingest.ReceivedAtKey: "2026-02-06T12:00:01.000Z"}}},
		{Entry: ingest.Entry{Timestamp: "2026-02-06T12:00:02.000Z", Level: "error", Logger: "Http", Message: "Request failed: 500",
			Error: &failure, InstallID: "i1", SessionID: "s-a", UserID: &user,
			Breadcrumbs: []ingest.Breadcrumb{{Timestamp: "2026-02-06T12:00:01.500Z", Level: "info", Logger: "Router", Message: "Navigated to /chat", Category: "ui"}},
			Attributes: map[string]any{ingest.FingerprintKey: "fp1", ingest.ReceivedAtKey: "2026-02-06T12:00:03.000Z",
				"diagnostics.goroutines": "0123456789abcdef0123456789abcdef"}}},
		{Entry: ingest.Entry{Timestamp: "2026-02-06T13:00:00.000Z", Level: "info", Logger: "fieldlog", Message: "session started",
			InstallID: "i2", SessionID: "s-b", Attributes: map[string]any{"device.alias": "quiet-river"}}},
	}
	require.NoError(t, st.Export(t.Context(), entries))
	require.NoError(t, st.Close(t.Context()))
	return dir
}

func TestSessionsCommand(t *testing.T) {
	dir := copiedStore(t)
	tests := []struct {
		name    string
		give    []string
		want    []string
		notWant string
	}{
		{"by device", []string{"-device", "calm-falcon-ridge"}, []string{"s-a", "billing", "calm-falcon-ridge"}, "s-b"},
		{"by user", []string{"-user", "u1"}, []string{"s-a"}, "s-b"},
		{"by fingerprint", []string{"-fingerprint", "fp1"}, []string{"s-a"}, "s-b"},
		{"all", nil, []string{"s-a", "s-b"}, ""},
		{"json", []string{"-json", "-install", "i2"}, []string{`"session_id": "s-b"`}, "s-a"},
		{"timeline", []string{"-session", "s-a"}, []string{"marker", "error", "HttpException: 500", "crumb", "Navigated to /chat", "+1s",
			"attachments: diagnostics.goroutines /api/v1/attachments/0123456789abcdef0123456789abcdef"}, "s-b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, run(t.Context(), append([]string{"sessions", "-store", dir}, tt.give...), &out, nil))
			for _, w := range tt.want {
				assert.Contains(t, out.String(), w)
			}
			if tt.notWant != "" {
				assert.NotContains(t, out.String(), tt.notWant)
			}
		})
	}
	var out bytes.Buffer
	err := run(t.Context(), []string{"sessions", "-store", dir, "-session", "nope"}, &out, nil)
	require.ErrorIs(t, err, ingest.ErrNoSession)
	err = run(t.Context(), []string{"sessions", "-store", dir, "-level", "loud"}, &out, nil)
	require.Error(t, err)
}

func TestSessionsCommandServes(t *testing.T) {
	dir := copiedStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"sessions", "-store", dir, "-serve", "127.0.0.1:0", "-token", "secret"}, io.Discard, ready)
	}()
	addr := <-ready
	get := func(path, token string) (int, []byte) {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}
	code, body := get(ingest.SessionsPagePath+"/s-a", "secret")
	assert.Equal(t, 200, code)
	assert.Contains(t, string(body), "calm-falcon-ridge")
	code, _ = get(ingest.SessionsPath, "")
	assert.Equal(t, 401, code)
	code, body = get(ingest.SessionsPath+"?device=quiet-river", "secret")
	require.Equal(t, 200, code)
	var found struct{ Sessions []ingest.SessionSummary }
	require.NoError(t, json.Unmarshal(body, &found))
	require.Len(t, found.Sessions, 1)
	assert.Equal(t, "s-b", found.Sessions[0].SessionID)
	cancel()
	require.NoError(t, <-done)
}
