package crash_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/soliplex/fieldlog/crash"
	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
)

// local starts a pipeline that ships nothing, with a recorder among its
// sinks.
func local(t *testing.T) (*pipeline, *sinktest.Recorder, string) {
	t.Helper()
	return localIn(t, t.TempDir())
}

func localIn(t *testing.T, dir string) (*pipeline, *sinktest.Recorder, string) {
	t.Helper()
	rec := sinktest.NewRecorder()
	return startT(t, setup{dir: dir, session: uuid.NewString(), extra: []sink.Sink{rec}}), rec, dir
}

func fatalRecords(rec *sinktest.Recorder) []logrecord.Record {
	var out []logrecord.Record
	for _, r := range rec.Records() {
		if r.Level == logrecord.LevelFatal {
			out = append(out, r)
		}
	}
	return out
}

func attr(r logrecord.Record, key string) any {
	v, ok := r.Attr(key)
	if !ok {
		return nil
	}
	return v.Any()
}

func TestSwallowingGoReportsAndEndsTheGoroutine(t *testing.T) {
	p, rec, _ := local(t)
	var wg sync.WaitGroup
	wg.Add(1)
	p.guard.Swallowing().Go(func() {
		defer wg.Done() // runs before Recover: wait for the record below
		var job *struct{ id int }
		_ = job.id // nil dereference
	})
	wg.Wait()
	require.Eventually(t, func() bool { return len(fatalRecords(rec)) == 1 }, 10*time.Second, time.Millisecond)
	r := fatalRecords(rec)[0]
	assert.Equal(t, "panic: runtime error: invalid memory address or nil pointer dereference", r.Message)
	assert.Equal(t, "runtime error: invalid memory address or nil pointer dereference", r.Error)
	assert.Equal(t, crash.KindRecovered, attr(r, crash.KindKey))
	assert.Equal(t, "runtime.errorString", attr(r, crash.PanicTypeKey))
	assert.Equal(t, "crash", r.Logger)
	lines := strings.Split(r.StackTrace, "\n")
	require.GreaterOrEqual(t, len(lines), 3, r.StackTrace)
	assert.Regexp(t, `^goroutine \d+ \[running\]:$`, lines[0])
	assert.Contains(t, lines[1], "TestSwallowingGoReportsAndEndsTheGoroutine", "the stack starts where it panicked")
	assert.NotContains(t, r.StackTrace, "runtime/debug.Stack")
	assert.NotContains(t, r.StackTrace, "crash.(*Guard).report")
	assert.NotContains(t, r.StackTrace, "runtime.sigpanic")
}

func TestRecoverRaisesThePanicAgain(t *testing.T) {
	p, rec, dir := local(t)
	boom := errors.New("boom")
	var got any
	func() {
		defer func() { got = recover() }()
		defer p.guard.Recover()
		panic(boom)
	}()
	assert.Same(t, boom, got, "the same value goes on")
	r := fatalRecords(rec)
	require.Len(t, r, 1)
	assert.Equal(t, "panic: boom", r[0].Message)
	assert.Equal(t, "*errors.errorString", attr(r[0], crash.PanicTypeKey))
	b, err := os.ReadFile(filepath.Join(dir, p.guard.SessionID()+".repanic"))
	require.NoError(t, err)
	assert.Equal(t, attr(r[0], crash.GoroutineKey), mustInt(t, strings.TrimSpace(string(b))),
		"the crash output this panic leaves is known to be reported")

	// Without a panic, Recover does nothing.
	func() { defer p.guard.Recover() }()
	assert.Len(t, fatalRecords(rec), 1)
}

func TestNilGuard(t *testing.T) {
	var g *crash.Guard
	var got any
	func() {
		defer func() { got = recover() }()
		defer g.Recover()
		panic("goes on")
	}()
	assert.Equal(t, "goes on", got)
	func() {
		defer g.Swallowing().Recover()
		panic("swallowed")
	}()
	h := http.NotFoundHandler()
	assert.NotNil(t, g.Middleware(h))
	assert.Nil(t, g.Breadcrumbs())
	assert.NoError(t, g.Close(context.Background()))
	g.Start(nil)
}

// A panicking value whose methods panic still gives a record.
type explosive struct{}

func (explosive) Error() string { panic("Error exploded") }

func TestHostilePanicValues(t *testing.T) {
	p, rec, _ := local(t)
	for _, v := range []any{explosive{}, 42, []string{"a", "b"}, nil} {
		func() {
			defer p.guard.Swallowing().Recover()
			panic(v)
		}()
	}
	msgs := []string{}
	for _, r := range fatalRecords(rec) {
		msgs = append(msgs, r.Message)
	}
	assert.Equal(t, []string{
		"panic: !PANIC in crash_test.explosive method: Error exploded",
		"panic: 42",
		"panic: [a b]",
		"panic: panic called with nil argument",
	}, msgs)
}

// The middleware answers 500 with the record naming method and route,
// and the server goes on serving.
func TestMiddleware(t *testing.T) {
	p, rec, _ := local(t)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /users/{id}", func(http.ResponseWriter, *http.Request) { panic("handler failed") })
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("GET /abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	srv := httptest.NewServer(p.guard.Middleware(mux))
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/users/42", "text/plain", nil)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	for range 2 {
		resp, err = http.Get(srv.URL + "/health")
		require.NoError(t, err, "the server goes on serving")
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		assert.Equal(t, "ok", string(body))
	}
	_, err = http.Get(srv.URL + "/abort")
	assert.Error(t, err, "ErrAbortHandler aborts the response, as net/http does")

	r := fatalRecords(rec)
	require.Len(t, r, 1, "ErrAbortHandler is not a crash")
	assert.Equal(t, "panic: handler failed", r[0].Message)
	assert.Equal(t, "POST", attr(r[0], crash.MethodKey))
	assert.Equal(t, "POST /users/{id}", attr(r[0], crash.RouteKey))
	assert.Contains(t, strings.Split(r[0].StackTrace, "\n")[1], "TestMiddleware")

	// Without a ServeMux pattern the route is "(none)".
	w := httptest.NewRecorder()
	p.guard.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("plain") })).
		ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
	assert.Equal(t, 500, w.Code)
	r = fatalRecords(rec)
	require.Len(t, r, 2)
	assert.Equal(t, "(none)", attr(r[1], crash.RouteKey))
}

func TestInstallChecksOptions(t *testing.T) {
	_, err := crash.Install(crash.Options{SessionID: "s"})
	assert.ErrorContains(t, err, "Options.Dir")
	_, err = crash.Install(crash.Options{Dir: t.TempDir(), SessionID: "../x"})
	assert.ErrorContains(t, err, "Options.SessionID")
	dir := t.TempDir()
	g, err := crash.Install(crash.Options{Dir: dir, SessionID: "same"})
	require.NoError(t, err)
	_, err = crash.Install(crash.Options{Dir: dir, SessionID: "same"})
	assert.Error(t, err, "a session id names one process")
	require.NoError(t, g.Close(context.Background()))
	require.NoError(t, g.Close(context.Background()), "a second Close returns nil")
}

// A session that closed cleanly is not reported; one whose process still
// runs is left alone.
func TestCleanAndRunningSessionsAreNotReported(t *testing.T) {
	srv := newServer(t)
	dir := t.TempDir()
	running := startT(t, setup{dir: dir, session: uuid.NewString()})
	clean, err := start(setup{dir: dir, session: uuid.NewString()})
	require.NoError(t, err)
	require.NoError(t, clean.close(context.Background()))

	p := startT(t, setup{dir: dir, session: uuid.NewString(), endpoint: srv.logsURL()})
	p.flush(t)
	assert.Empty(t, srv.entries("warning"))
	assert.Empty(t, srv.entries("fatal"))
	assert.Empty(t, sessionFiles(t, dir, clean.guard.SessionID()), "a clean session's files go")
	assert.Contains(t, sessionFiles(t, dir, running.guard.SessionID()), ".session", "a running session's stay")
}

// Without a backend, the reports go through the Manager at Start.
func TestReportsWithoutBackendGoThroughTheManager(t *testing.T) {
	dir := t.TempDir()
	gone, err := start(setup{dir: dir, session: uuid.NewString()})
	require.NoError(t, err)
	gone.m.Logger("Worker").Info("last thing it did")
	crash.SaveBreadcrumbs(gone.guard)
	// It never closes: as if killed. Its marker's lock goes with the file.
	require.NoError(t, gone.m.Close(context.Background()))
	crash.Abandon(gone.guard)

	_, rec, _ := localIn(t, dir)
	var warn []logrecord.Record
	for _, r := range rec.Records() {
		if r.Level == logrecord.LevelWarning {
			warn = append(warn, r)
		}
	}
	require.Len(t, warn, 1)
	assert.Equal(t, gone.guard.SessionID(), attr(warn[0], crash.SessionKey))
	assert.Contains(t, warn[0].Message, "last thing it did")
	assert.Empty(t, sessionFiles(t, dir, gone.guard.SessionID()))
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	for _, c := range s {
		require.True(t, c >= '0' && c <= '9', s)
		n = n*10 + int64(c-'0')
	}
	return n
}
