package backendsink_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/backendsink"
	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const crashChildEnv = "BACKENDSINK_CRASH_CHILD_DIR"

// TestCrashChild is run by TestCrashRecovery: it logs records while the
// ingest endpoint is unreachable, says when they are on disk, and waits to
// be killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("run by TestCrashRecovery")
	}
	s, err := backendsink.New(backendsink.Options{
		Endpoint: "http://127.0.0.1:1/api/v1/logs", // nothing listens there
		Dir:      dir, InstallID: "install-1", SessionID: "session-crashed",
		OnError: func(error) {},
	})
	if err != nil {
		fmt.Println("new failed:", err)
		os.Exit(2)
	}
	for i := range 500 {
		level := logrecord.LevelInfo
		if i%100 == 99 {
			level = logrecord.LevelError
		}
		_ = s.Write(context.Background(), logrecord.New(time.Now(), level, "App", fmt.Sprintf("before crash %03d", i)))
	}
	_ = s.Flush(context.Background()) // fails (unreachable), but only after the records are on disk
	fmt.Printf("durable %d\n", s.Stats().Pending)
	select {} // wait for SIGKILL, never closing the sink
}

// TestCrashRecovery abandons a sink without Close by killing its process,
// then a new sink on the same directory delivers everything on its first
// flush.
func TestCrashRecovery(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "queue")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "durable ") {
				line <- sc.Text()
				return
			}
		}
		close(line)
	}()
	select {
	case l := <-line:
		require.Equal(t, "durable 500", l)
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("child did not report")
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()

	ingest := sinktest.NewIngest()
	srv := httptest.NewServer(ingest)
	defer srv.Close()
	s, err := backendsink.New(backendsink.Options{
		Endpoint: srv.URL + "/api/v1/logs", Client: srv.Client(), Dir: dir,
		InstallID: "install-1", SessionID: "session-after-restart", FlushInterval: time.Hour,
	})
	require.NoError(t, err, "the killed process's lock is gone")
	require.NoError(t, s.Flush(t.Context()))
	require.NoError(t, s.Close(t.Context()))

	entries := ingest.Entries()
	require.Len(t, entries, 500)
	got := map[string]bool{}
	for _, e := range entries {
		got[e["message"].(string)] = true
		assert.Equal(t, "session-crashed", e["session_id"], "a record keeps the session it was logged in")
	}
	for i := range 500 {
		assert.True(t, got[fmt.Sprintf("before crash %03d", i)], "record %d lost", i)
	}
	assert.Equal(t, "error", entries[0]["level"], "error records jump the backlog")
}
