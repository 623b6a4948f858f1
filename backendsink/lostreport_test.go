package backendsink_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/backendsink"
	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	lostChildDirEnv      = "BACKENDSINK_LOST_CHILD_DIR"
	lostChildEndpointEnv = "BACKENDSINK_LOST_CHILD_ENDPOINT"
)

// TestLostReportChild is run by TestDropsAreReportedAcrossRestarts: it
// opens the sink on a queue holding unreported drops and uploads to a
// server that never answers, until it is killed.
func TestLostReportChild(t *testing.T) {
	dir := os.Getenv(lostChildDirEnv)
	if dir == "" {
		t.Skip("run by TestDropsAreReportedAcrossRestarts")
	}
	s, err := backendsink.New(backendsink.Options{
		Endpoint: os.Getenv(lostChildEndpointEnv), Dir: dir, InstallID: "install-1", SessionID: "session-2",
		OnError: func(error) {},
	})
	if err != nil {
		fmt.Println("new failed:", err)
		os.Exit(2)
	}
	fmt.Println("started")
	_ = s.Flush(context.Background()) // hangs: the server never answers
	select {}
}

func lostEntries(entries []map[string]any) []map[string]any {
	var out []map[string]any
	for _, e := range entries {
		if e["logger"] == "fieldlog" && strings.HasPrefix(e["message"].(string), "dropped ") {
			out = append(out, e)
		}
	}
	return out
}

// TestDropsAreReportedAcrossRestarts: records dropped by the cap in one
// process are reported by the next; a process killed before the server
// confirmed the report leaves them to be reported again by the one after.
func TestDropsAreReportedAcrossRestarts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "queue")

	// 1. The server is down; the queue's cap drops most of a burst.
	s, err := backendsink.New(backendsink.Options{
		Endpoint: "http://127.0.0.1:1/api/v1/logs", Dir: dir, QueueMaxBytes: 32 << 10,
		InstallID: "install-1", SessionID: "session-1", OnError: func(error) {},
	})
	require.NoError(t, err)
	for i := range 2000 {
		require.NoError(t, s.Write(t.Context(), logrecord.New(time.Now(), logrecord.LevelInfo, "App", fmt.Sprintf("record %04d", i))))
		if i%100 == 99 {
			require.NoError(t, s.Sync(t.Context())) // no hand-over drops: this test is about the cap
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	_ = s.Close(ctx)
	cancel()
	q, err := diskqueue.OpenReadOnly(dir, nil)
	require.NoError(t, err)
	before := q.Unreported()
	stored := q.Pending()
	require.NoError(t, q.Close(t.Context()))
	require.Positive(t, before.Total())
	require.Len(t, before.Counts, 1)
	assert.Equal(t, diskqueue.DropCap, before.Counts[0].Reason)
	assert.EqualValues(t, 2000, before.Total()+int64(stored), "every record is stored or counted")

	// 2. A process uploads them; the server receives the report but the
	// process dies before the answer.
	received := make(chan struct{}, 1)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then the server notices the client going away
		select {
		case received <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	defer hang.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLostReportChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), lostChildDirEnv+"="+dir, lostChildEndpointEnv+"="+hang.URL+"/api/v1/logs")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			t.Log("child:", sc.Text())
		}
	}()
	select {
	case <-received:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the child never uploaded")
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()

	// 3. The next process reports them, once, with the right counts.
	ingest := sinktest.NewIngest()
	srv := httptest.NewServer(ingest)
	defer srv.Close()
	for run := range 2 {
		s, err = backendsink.New(backendsink.Options{
			Endpoint: srv.URL + "/api/v1/logs", Client: srv.Client(), Dir: dir,
			InstallID: "install-1", SessionID: fmt.Sprintf("session-%d", 3+run), FlushInterval: time.Hour,
		})
		require.NoError(t, err)
		require.NoError(t, s.Flush(t.Context()))
		require.NoError(t, s.Close(t.Context()))
	}
	entries := ingest.Entries()
	lost := lostEntries(entries)
	require.Len(t, lost, 1, "reported exactly once, although a process died while reporting it")
	attrs := lost[0]["attributes"].(map[string]any)
	assert.Equal(t, fmt.Sprint(before.Total()), fmt.Sprint(attrs["dropped_total"]))
	assert.Equal(t, fmt.Sprint(before.Total()), fmt.Sprint(attrs["dropped."+diskqueue.DropCap]))
	assert.Equal(t, before.From.UTC().Format(time.RFC3339Nano), attrs["dropped_from"], "the period of the loss")
	assert.Equal(t, before.To.UTC().Format(time.RFC3339Nano), attrs["dropped_to"])
	assert.Len(t, entries, stored+1, "and every stored record is delivered")

	q, err = diskqueue.OpenReadOnly(dir, nil)
	require.NoError(t, err)
	defer q.Close(t.Context())
	assert.Zero(t, q.Unreported().Total(), "marked reported once confirmed")
}
