package crash_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/soliplex/fieldlog/crash"
)

// plant writes the files of an earlier session.
func plant(t *testing.T, dir, session string, files map[string]string) {
	t.Helper()
	for ext, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, session+ext), []byte(content), 0o600))
	}
}

func crashOutput(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return string(b)
}

// A sending marker whose report never reached the queue (the start was
// killed before writing it) does not stop the report.
func TestSendingMarkerWithoutQueuedReport(t *testing.T) {
	srv := newServer(t)
	dir, crashed := t.TempDir(), uuid.NewString()
	plant(t, dir, crashed, map[string]string{
		".session": `{"session_id":"` + crashed + `","pid":41}`,
		".crash":   crashOutput(t, "goroutine.txt"),
		".sending": "fieldlog-report:unrecovered:" + crashed,
	})
	p := startT(t, setup{dir: dir, session: uuid.NewString(), endpoint: srv.logsURL()})
	p.flush(t)
	fatal := srv.entries("fatal")
	require.Len(t, fatal, 1)
	assert.Equal(t, crashed, fatal[0].SessionID)
	assert.Equal(t, "panic: boom in goroutine", fatal[0].Message)
	assert.Equal(t, json.Number("41"), fatal[0].Attributes[crash.PIDKey])
	assert.Empty(t, sessionFiles(t, dir, crashed))
}

// Damaged files cost what they held, never the report or the start.
func TestDamagedFilesStillGiveAReport(t *testing.T) {
	srv := newServer(t)
	dir := t.TempDir()
	crashed, killed, stray := uuid.NewString(), uuid.NewString(), uuid.NewString()
	plant(t, dir, crashed, map[string]string{
		".session": "{not json",
		".crumbs":  "[{\"time\":12}",
		".crash":   "\x00\xff garbage without structure",
	})
	plant(t, dir, killed, map[string]string{".session": "", ".crumbs": "null", ".repanic": "x y 7"})
	plant(t, dir, stray, map[string]string{".crumbs.tmp": "[]"})
	plant(t, dir, "not a session", map[string]string{".crash": "panic: x"})
	p := startT(t, setup{dir: dir, session: uuid.NewString(), endpoint: srv.logsURL()})
	p.flush(t)
	fatal := srv.entries("fatal")
	require.Len(t, fatal, 1)
	assert.Equal(t, crashed, fatal[0].SessionID)
	assert.Equal(t, "\x00\ufffd garbage without structure", fatal[0].Message, "kept, invalid bytes replaced")
	warnings := srv.entries("warning")
	require.Len(t, warnings, 1)
	assert.Equal(t, killed, warnings[0].SessionID)
	assert.Contains(t, warnings[0].Message, "no activity recorded")
	for _, s := range []string{crashed, killed, stray} {
		assert.Empty(t, sessionFiles(t, dir, s))
	}
	_, err := os.Stat(filepath.Join(dir, "not a session.crash"))
	assert.NoError(t, err, "files that are no session's are left alone")
}

// Reports are sanitized before they are queued.
func TestReportsAreSanitized(t *testing.T) {
	srv := newServer(t)
	dir, crashed := t.TempDir(), uuid.NewString()
	plant(t, dir, crashed, map[string]string{
		".session": "{}",
		".crash":   "panic: cannot charge alice@example.com\n\ngoroutine 5 [running]:\nmain.charge()\n\t/home/alice/src/billing/main.go:12 +0x1d\n",
	})
	p := startT(t, setup{dir: dir, session: uuid.NewString(), endpoint: srv.logsURL()})
	p.flush(t)
	fatal := srv.entries("fatal")
	require.Len(t, fatal, 1)
	assert.Equal(t, "panic: cannot charge [EMAIL]", fatal[0].Message)
	assert.Contains(t, *fatal[0].StackTrace, "~/src/billing/main.go:12")
	assert.NotContains(t, *fatal[0].StackTrace, "alice")
}

// The breadcrumbs file follows the ring while it changes.
func TestBreadcrumbsAreSavedWhileTheyChange(t *testing.T) {
	dir := t.TempDir()
	p := startT(t, setup{dir: dir, session: uuid.NewString(), saveInterval: time.Millisecond})
	path := filepath.Join(dir, p.guard.SessionID()+".crumbs")
	for _, msg := range []string{"first", "second"} {
		p.m.Logger("Worker").Debug(msg)
		require.Eventually(t, func() bool {
			b, _ := os.ReadFile(path)
			return strings.Contains(string(b), `"message":"`+msg+`"`)
		}, 10*time.Second, time.Millisecond)
	}
}

func TestDiagnosticsHeapProfile(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		a := &attachments{bodies: make(chan string, 2)}
		rig := newDiagRig(t, dir, a, crash.DiagnosticsOptions{Heap: true})
		rig.m.Logger("Billing").Error("invoice failed", errors.New("timeout"))
		synctest.Wait()
		require.Len(t, rig.next.Records(), 1)
		r := rig.last()
		_, dump := r.Attr(crash.GoroutinesKey)
		_, heap := r.Attr(crash.HeapKey)
		assert.True(t, dump && heap, "both ids")
		assert.Contains(t, <-a.bodies, "goroutine ")
		assert.Contains(t, <-a.bodies, "heap profile:")
		rig.close(t)
	})
}
