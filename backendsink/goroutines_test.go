package backendsink

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/require"
)

// TestCloseLeavesNoGoroutine ships records with the default client, whose
// connections the server keeps alive, and closes the sink while the
// server still runs: no goroutine of the sink's, its queue's or its
// connections' is left.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	ing := &sinktest.Ingest{}
	srv := httptest.NewServer(ing)
	defer srv.Close()
	baseline := runtime.NumGoroutine()

	s, err := New(Options{
		Endpoint: srv.URL + "/api/v1/logs", Dir: filepath.Join(t.TempDir(), "q"),
		MaxInFlight: 4, MaxBatch: 10, OnError: func(error) {},
	})
	require.NoError(t, err)
	for i := range 200 {
		require.NoError(t, s.Write(t.Context(), logrecord.New(time.Now(), logrecord.LevelInfo, "Leak", fmt.Sprintf("record %d", i))))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.Flush(ctx))
	require.Greater(t, runtime.NumGoroutine(), baseline, "the sink and its kept-alive connections run")
	require.NoError(t, s.Close(ctx))
	require.Equal(t, 200, len(ing.Messages()))

	// The connections' goroutines on both sides end as their sockets
	// close: poll for a bounded time.
	for end := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > baseline && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseline {
		buf := make([]byte, 1<<16)
		t.Fatalf("goroutines: %d before, %d after Close:\n%s", baseline, n, buf[:runtime.Stack(buf, true)])
	}
}
