package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/ingest/conformance"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServeStoreAndShutDown(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-store", dir, "-token", "secret"}, &out, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	}

	body := `{"logs":[{"timestamp":"2026-02-06 12:00:00","level":"info","logger":"App","message":"hello",
		"install_id":"i","session_id":"s-42","traceId":"x"}],"resource":{"service.name":"demo"}}`
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+ingest.LogsPath, strings.NewReader(body))
	req.Header.Set("Authorization", "bearer secret")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, "compat mode takes what the production backend takes")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("no graceful shutdown")
	}
	assert.Contains(t, out.String(), "compat mode")
	assert.Contains(t, out.String(), "stopped")

	store, err := ingest.NewJSONLStore(dir, nil)
	require.NoError(t, err)
	defer store.Close(context.Background())
	var got []string
	require.NoError(t, store.Query(t.Context(), ingest.Filter{SessionID: "s-42"}, func(e ingest.StoredEntry) bool {
		got = append(got, e.Message)
		return true
	}))
	assert.Equal(t, []string{"hello"}, got)
}

func TestRefusesToRunOpen(t *testing.T) {
	t.Setenv("FIELDLOG_INGEST_TOKEN", "")
	err := run(t.Context(), []string{"-listen", "127.0.0.1:0"}, &bytes.Buffer{}, nil)
	assert.ErrorContains(t, err, "-token")
}

func TestBadFlagsAndConfig(t *testing.T) {
	config := filepath.Join(t.TempDir(), "logging.json")
	require.NoError(t, os.WriteFile(config, []byte(`{"min_level":"loud"}`), 0o600))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad config", []string{"-listen", "127.0.0.1:0", "-store", t.TempDir(), "-token", "t", "-config", config}, "ConfigFile"},
		{"bad rate", []string{"-listen", "127.0.0.1:0", "-store", t.TempDir(), "-token", "t", "-rate", "-1"}, "RatePerSecond"},
		{"unknown flag", []string{"-nope"}, "not defined"},
		{"bad mode", []string{"-listen", "127.0.0.1:0", "-store", t.TempDir(), "-token", "t", "-mode", "lenient"}, "compat or strict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(t.Context(), tt.args, &bytes.Buffer{}, nil)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

// The program passes the conformance checks in both modes.
func TestConforms(t *testing.T) {
	tests := []struct {
		mode      string
		malformed int
	}{
		{"compat", 422},
		{"strict", 400},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			ready := make(chan string, 1)
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-store", t.TempDir(), "-token", "secret", "-mode", tt.mode}, io.Discard, ready)
			}()
			var addr string
			select {
			case addr = <-ready:
			case err := <-done:
				t.Fatal(err)
			}
			conformance.Run(t, conformance.Target{URL: "http://" + addr + ingest.LogsPath, Token: "secret", MalformedStatus: tt.malformed})
			cancel()
			require.NoError(t, <-done)
		})
	}
}
