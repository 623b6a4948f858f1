package crash_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/soliplex/fieldlog/crash"
	"github.com/soliplex/fieldlog/diskqueue"
)

// The test binary runs itself as a child process to crash for real. The
// child's scenario, directory, session and endpoint come in the
// environment.
const (
	childEnv    = "FIELDLOG_CRASH_CHILD"
	dirEnv      = "FIELDLOG_CRASH_DIR"
	sessionEnv  = "FIELDLOG_CRASH_SESSION"
	endpointEnv = "FIELDLOG_CRASH_ENDPOINT"
	childReady  = "ready"
)

func TestMain(m *testing.M) {
	if scenario := os.Getenv(childEnv); scenario != "" {
		runChild(scenario)
		os.Exit(3) // a scenario that returns did not do what it should
	}
	os.Exit(m.Run())
}

// runChild starts a pipeline and ends the process as the scenario says.
func runChild(scenario string) {
	s := setup{
		dir: os.Getenv(dirEnv), session: os.Getenv(sessionEnv), endpoint: os.Getenv(endpointEnv),
		saveInterval: time.Hour, // saved explicitly below
		onError:      func(err error) { fmt.Fprintln(os.Stderr, "OnError:", err) },
	}
	if scenario == "deliver-kill" {
		s.afterDurable = func() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL); select {} }
	}
	p, err := start(s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		return
	}
	log := p.m.Logger("Worker")
	log.Debug("step one: loaded the job")
	log.Info("step two: processing the job")
	crash.SaveBreadcrumbs(p.guard)
	switch scenario {
	case "goroutine":
		go crashInUnwrappedGoroutine()
	case "map":
		writeMapConcurrently()
	case "stack":
		debug.SetMaxStack(1 << 20)
		recurseForever(0)
	case "recovered":
		panicUnderRecover(p.guard)
	case "killed":
		fmt.Println(childReady) // the parent kills the process now
	case "deliver-kill":
		return // afterDurable kills the process before Start returns, if there is a report
	}
	select {}
}

func crashInUnwrappedGoroutine() { panic("boom in an unwrapped goroutine") }

func writeMapConcurrently() {
	runtime.GOMAXPROCS(max(4, runtime.GOMAXPROCS(0)))
	m := map[int]int{}
	for range 4 {
		go func() {
			for i := 0; ; i++ {
				m[i%512] = i
			}
		}()
	}
}

//go:noinline
func recurseForever(n int) int {
	var pad [128]byte
	pad[n%128] = byte(n)
	//lint:ignore SA5007 the stack overflow is the point
	return recurseForever(n+1) + int(pad[0])
}

func panicUnderRecover(g *crash.Guard) {
	defer g.Recover()
	panic("boom under Recover")
}

// child runs the test binary as a child in scenario.
func child(t *testing.T, scenario, dir, session, endpoint string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+scenario, dirEnv+"="+dir, sessionEnv+"="+session, endpointEnv+"="+endpoint,
		// Under the race detector, its report of the map race the "map"
		// child commits on purpose goes to a file: on stderr it would
		// interleave with the runtime's own fatal error.
		"GORACE=log_path="+filepath.Join(t.TempDir(), "race"))
	return cmd
}

// crashChild runs a child that must die by its crash and returns its
// stderr.
func crashChild(t *testing.T, scenario, dir, session, endpoint string) string {
	t.Helper()
	cmd := child(t, scenario, dir, session, endpoint)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "stderr: %s", stderr.String())
	require.Equal(t, 2, exit.ExitCode(), "the runtime's crash status; stderr: %s", stderr.String())
	return stderr.String()
}

// Crashes no recover sees are reported by the next start, once: the
// panic or fatal error, the crashing goroutine's stack, the session's
// last breadcrumbs (debug included) and the crashed session's id.
func TestCrashOutputIsReportedOnceByTheNextStart(t *testing.T) {
	tests := []struct {
		scenario  string
		stderr    string // what the runtime said
		message   string // what the report says
		stack     string // a frame of the crashing goroutine
		inferred  bool
		otherwise string // a frame of another goroutine, not in the report
	}{
		{"goroutine", "panic: boom in an unwrapped goroutine", "panic: boom in an unwrapped goroutine", "crashInUnwrappedGoroutine", false, "select (no cases)"},
		{"map", "fatal error: concurrent map writes", "fatal error: concurrent map access", "writeMapConcurrently", true, "select (no cases)"},
		{"stack", "fatal error: stack overflow", "fatal error: stack overflow", "recurseForever", true, "runtime.morestack"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t)
			dir, crashed := t.TempDir(), uuid.NewString()
			stderr := crashChild(t, tt.scenario, dir, crashed, "")
			require.Contains(t, stderr, tt.stderr)
			require.Contains(t, sessionFiles(t, dir, crashed), ".crash")

			p := startT(t, setup{dir: dir, session: uuid.NewString(), endpoint: srv.logsURL()})
			assert.NotContains(t, sessionFiles(t, dir, crashed), ".crash", "removed once the report is durable")
			p.flush(t)
			fatal := srv.entries("fatal")
			require.Len(t, fatal, 1)
			e := fatal[0]
			assert.Equal(t, crashed, e.SessionID)
			assert.Equal(t, tt.message, e.Message)
			require.NotNil(t, e.StackTrace)
			assert.True(t, strings.HasPrefix(*e.StackTrace, "goroutine "), *e.StackTrace)
			assert.Contains(t, *e.StackTrace, tt.stack)
			assert.NotContains(t, *e.StackTrace, tt.otherwise, "only the crashing goroutine")
			assert.Equal(t, crash.KindUnrecovered, e.Attributes[crash.KindKey])
			assert.Equal(t, crashed, e.Attributes[crash.SessionKey])
			assert.Equal(t, "1.2.3", e.Attributes[crash.VersionKey])
			if tt.inferred {
				assert.Equal(t, true, e.Attributes[crash.InferredKey])
			}
			assert.Equal(t, []string{"debug step one: loaded the job", "info step two: processing the job"}, crumbMessages(e))
			assert.Empty(t, sessionFiles(t, dir, crashed))
			require.NoError(t, p.close(context.Background()))

			again := startT(t, setup{dir: dir, session: uuid.NewString(), endpoint: srv.logsURL()})
			again.flush(t)
			assert.Len(t, srv.entries("fatal"), 1, "never shipped twice")
			assert.Empty(t, srv.entries("warning"), "the crashed session is not also reported as killed")
		})
	}
}

// A start killed after the report is in the queue but before the crash
// file is removed does not make the next start ship it again.
func TestKilledBetweenQueueingAndRemovalShipsOnce(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	dir, crashed, killed := t.TempDir(), uuid.NewString(), uuid.NewString()
	crashChild(t, "goroutine", dir, crashed, "")

	cmd := child(t, "deliver-kill", dir, killed, srv.logsURL())
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	require.Equal(t, "signal: killed", err.Error(), "%s", out)
	assert.Equal(t, []string{".crash", ".crumbs", ".sending", ".session"}, sessionFiles(t, dir, crashed),
		"killed after the report was queued, before the files went")
	assert.Empty(t, srv.mem.Entries(), "the killed start uploaded nothing")

	p := startT(t, setup{dir: dir, session: uuid.NewString(), endpoint: srv.logsURL()})
	p.flush(t)
	fatal := srv.entries("fatal")
	require.Len(t, fatal, 1, "the report queued by the killed start, shipped once")
	assert.Equal(t, crashed, fatal[0].SessionID)
	assert.Empty(t, sessionFiles(t, dir, crashed))
	warnings := srv.entries("warning")
	require.Len(t, warnings, 1, "the killed start itself ended uncleanly")
	assert.Equal(t, killed, warnings[0].SessionID)
	require.NoError(t, p.close(context.Background()))

	again := startT(t, setup{dir: dir, session: uuid.NewString(), endpoint: srv.logsURL()})
	again.flush(t)
	assert.Len(t, srv.entries("fatal"), 1)
	assert.Len(t, srv.entries("warning"), 1)
}

// A SIGKILLed process is reported by the next start as one warning naming
// its session and its last activity.
func TestSilentDeathIsOneWarning(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	dir, killed := t.TempDir(), uuid.NewString()
	cmd := child(t, "killed", dir, killed, "")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, childReady+"\n", line)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	require.Error(t, cmd.Wait())

	p := startT(t, setup{dir: dir, session: uuid.NewString(), endpoint: srv.logsURL()})
	p.flush(t)
	warnings := srv.entries("warning")
	require.Len(t, warnings, 1)
	w := warnings[0]
	assert.Equal(t, killed, w.SessionID)
	assert.Equal(t, killed, w.Attributes[crash.SessionKey])
	assert.Equal(t, crash.KindUncleanExit, w.Attributes[crash.KindKey])
	assert.Contains(t, w.Message, "step two: processing the job")
	assert.Equal(t, "info Worker: step two: processing the job", w.Attributes[crash.LastRecordKey])
	assert.Empty(t, srv.entries("fatal"))
	assert.Empty(t, sessionFiles(t, dir, killed))
	require.NoError(t, p.close(context.Background()))

	again := startT(t, setup{dir: dir, session: uuid.NewString(), endpoint: srv.logsURL()})
	again.flush(t)
	assert.Len(t, srv.entries("warning"), 1, "reported once; a clean session is not reported")
}

// Recover writes the fatal record durably before the panic goes on: the
// child dies by the panic and the record is in its queue. The next start
// ships that record and does not report the crash output again.
func TestRecoveredPanicIsDurableBeforeItGoesOn(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	dir, session := t.TempDir(), uuid.NewString()
	// Nothing listens on the endpoint: the record can only be on disk.
	stderr := crashChild(t, "recovered", dir, session, "http://127.0.0.1:1/api/v1/logs")
	require.Contains(t, stderr, "panic: boom under Recover [recovered")

	q, err := diskqueue.OpenReadOnly(dir, nil)
	require.NoError(t, err)
	items, err := q.Peek(100, 1<<20)
	require.NoError(t, err)
	require.NoError(t, q.Close(context.Background()))
	var found string
	for _, it := range items {
		if strings.Contains(string(it.Data), `"level":"fatal"`) {
			found = string(it.Data)
		}
	}
	require.NotEmpty(t, found, "the fatal record is in the queue")
	assert.Contains(t, found, `"message":"panic: boom under Recover"`)
	assert.Contains(t, found, "panicUnderRecover")
	assert.Contains(t, found, `"session_id":"`+session+`"`)

	p := startT(t, setup{dir: dir, session: uuid.NewString(), endpoint: srv.logsURL()})
	p.flush(t)
	fatal := srv.entries("fatal")
	require.Len(t, fatal, 1, "the record Recover wrote; the crash output is not reported again")
	assert.Equal(t, session, fatal[0].SessionID)
	assert.Equal(t, crash.KindRecovered, fatal[0].Attributes[crash.KindKey])
	assert.Equal(t, []string{"debug step one: loaded the job", "info step two: processing the job"}, crumbMessages(fatal[0]))
	assert.Empty(t, srv.entries("warning"))
	assert.Empty(t, sessionFiles(t, dir, session))
}
