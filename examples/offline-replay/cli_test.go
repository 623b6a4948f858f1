package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests build the CLI and run it as a subprocess against ingest
// servers on 127.0.0.1.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func cli(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "offline-replay-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "offline-replay")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// freeAddr returns a 127.0.0.1 address where nothing listens.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// startIngest serves the reference ingest handler, token "tok", on addr.
func startIngest(t *testing.T, addr string) *ingest.MemoryExporter {
	t.Helper()
	exp := &ingest.MemoryExporter{}
	srv, err := ingest.NewServer(ingest.ServerOptions{Exporter: exp, Verifier: ingest.BearerToken("tok"), RatePerSecond: 1e6, RateBurst: 1e6})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	hs := &http.Server{Handler: srv}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	return exp
}

func delivered(exp *ingest.MemoryExporter, prefix string) map[int]int {
	seen := map[int]int{}
	for _, e := range exp.Entries() {
		if n, ok := seqOf(e.Message, prefix); ok {
			seen[n]++
		}
	}
	return seen
}

// syncBuffer collects a subprocess's output for a test to read while it
// runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A running command.
type running struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	started        time.Time
	done           chan error
}

func startCLI(t *testing.T, args ...string) *running {
	t.Helper()
	r := &running{cmd: exec.Command(cli(t), args...), done: make(chan error, 1)}
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	r.started = time.Now()
	require.NoError(t, r.cmd.Start())
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.done
		r.done <- nil
	})
	return r
}

// result is how a command ended.
type result struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
}

// wait waits at most limit for the command to end.
func (r *running) wait(t *testing.T, limit time.Duration) result {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		res := result{stdout: r.stdout.String(), stderr: r.stderr.String(), elapsed: time.Since(r.started)}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			res.code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return res
	case <-time.After(limit):
		t.Fatalf("the CLI did not exit within %s\nstdout:\n%s\nstderr:\n%s", limit, r.stdout.String(), r.stderr.String())
		return result{}
	}
}

// waitFor waits at most limit until the output satisfies ok.
func (r *running) waitFor(t *testing.T, out *syncBuffer, limit time.Duration, what string, ok func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s\nstdout:\n%s\nstderr:\n%s", what, limit, r.stdout.String(), r.stderr.String())
		}
		select {
		case err := <-r.done:
			r.done <- err
			if !ok(out.String()) {
				t.Fatalf("the CLI ended (%v) before %s\nstdout:\n%s\nstderr:\n%s", err, what, r.stdout.String(), r.stderr.String())
			}
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// runCLI runs the command to its end, at most limit.
func runCLI(t *testing.T, limit time.Duration, args ...string) result {
	t.Helper()
	return startCLI(t, args...).wait(t, limit)
}

// lastLogged returns the highest n of log's "logged <n>: …" lines.
func lastLogged(out string) int {
	n := -1
	for _, line := range strings.Split(out, "\n") {
		if l, ok := parseLogged(line); ok {
			n = max(n, l.logged)
		}
	}
	return n
}

// A summary is what a command's summary says.
type summary struct {
	rows    map[string]int64 // queued before, written, on disk, delivered, dropped, still queued
	reasons map[string]int64 // dropped, by reason
	eq      string
}

var summaryRow = regexp.MustCompile(`^(\s+)([a-z_ ]+?)\s+([\d,]+)(\s|$)`)

func parseSummary(t *testing.T, out string) summary {
	t.Helper()
	i := strings.Index(out, "\nSummary\n")
	require.GreaterOrEqual(t, i, 0, "no summary in:\n%s", out)
	s := summary{rows: map[string]int64{}, reasons: map[string]int64{}}
	inDropped := false
	for _, line := range strings.Split(out[i+len("\nSummary\n"):], "\n") {
		if strings.Contains(line, " still queued") && strings.Contains(line, " = ") {
			s.eq = line
			break
		}
		m := summaryRow.FindStringSubmatch(line)
		require.NotNil(t, m, "summary line %q", line)
		n, err := strconv.ParseInt(strings.ReplaceAll(m[3], ",", ""), 10, 64)
		require.NoError(t, err)
		switch label := m[2]; {
		case len(m[1]) == 4 && inDropped:
			s.reasons[label] = n
		default:
			s.rows[label] = n
			inDropped = label == "dropped"
		}
	}
	require.NotEmpty(t, s.eq, "no equation in:\n%s", out)
	return s
}

// requireAddsUp checks that every record is accounted for, as the
// summary's own equation says.
func (s summary) requireAddsUp(t *testing.T) {
	t.Helper()
	var reasons int64
	for _, n := range s.reasons {
		reasons += n
	}
	require.Equal(t, s.rows["dropped"], reasons, "dropped = the sum of its reasons")
	require.Equal(t, s.rows["queued before"]+s.rows["written"], s.rows["delivered"]+s.rows["dropped"]+s.rows["still queued"],
		"queued before + written = delivered + dropped + still queued: %+v", s.rows)
	require.NotContains(t, s.eq, "unaccounted")
}

// onePrefix checks that every line of stderr carries the command's
// prefix once and no package's.
func onePrefix(t *testing.T, stderr string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if line == "" || strings.HasPrefix(line, "  ") {
			continue
		}
		assert.Equal(t, 1, strings.Count(line, "offline-replay:"), "one prefix: %q", line)
		for _, pkg := range []string{"backendsink:", "diskqueue:", "fieldlog:"} {
			assert.NotContains(t, line, pkg)
		}
	}
}

func TestLogWithServerDownThenUp(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	queue := filepath.Join(t.TempDir(), "q")
	r := startCLI(t, "log", "--endpoint", "http://"+addr+ingest.LogsPath, "--token", "tok",
		"--queue", queue, "--count", "500", "--id-prefix", "up-", "--error-every", "40", "--progress=lines", "--timeout", "60s")
	r.waitFor(t, &r.stderr, 30*time.Second, "the outage shown", func(s string) bool {
		return strings.Contains(s, "offline-replay: server unreachable (connection refused), retrying in ")
	})
	exp := startIngest(t, addr) // the server comes up while the CLI retries
	res := r.wait(t, 60*time.Second)
	require.Equal(t, exitOK, res.code, res.stderr)
	seen := delivered(exp, "up-")
	for i := range 500 {
		require.Positive(t, seen[i], "record %d not delivered", i)
	}
	s := parseSummary(t, res.stdout)
	s.requireAddsUp(t)
	assert.Equal(t, int64(500), s.rows["written"])
	assert.Equal(t, int64(500), s.rows["on disk"])
	assert.Equal(t, int64(500), s.rows["delivered"])
	assert.Contains(t, res.stdout, "all 500 records delivered")
	assert.Contains(t, res.stderr, "offline-replay: delivering again", "the end of the outage is shown")
	assert.Equal(t, 500, lastLogged(res.stdout))
	onePrefix(t, res.stderr)
}

func TestKilledLogThenInspectAndReplay(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	queue := filepath.Join(t.TempDir(), "q")
	endpoint := "http://" + addr + ingest.LogsPath
	r := startCLI(t, "log", "--endpoint", endpoint, "--token", "tok",
		"--queue", queue, "--count", "100000", "--id-prefix", "kill-", "--progress=lines", "--timeout", "10m")
	r.waitFor(t, &r.stdout, 30*time.Second, "2000 logged", func(s string) bool { return lastLogged(s) >= 2000 })
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGKILL))
	res := r.wait(t, 10*time.Second)
	last := lastLogged(res.stdout) // what was printed before the kill counts too

	out, err := exec.Command(cli(t), "inspect", "--queue", queue).CombinedOutput()
	require.NoError(t, err, string(out))
	pending := fieldInt(t, string(out), "pending:")
	assert.GreaterOrEqual(t, pending, last, "inspect counts every record reported on disk:\n%s", out)
	assert.Contains(t, string(out), "error   Auth: Sign-in failed for [EMAIL] [kill-000003]", "errors come first, redacted")

	exp := startIngest(t, addr)
	res = runCLI(t, 60*time.Second, "replay", "--endpoint", endpoint, "--token", "tok", "--queue", queue, "--progress=none", "--timeout", "60s")
	require.Equal(t, exitOK, res.code, res.stderr)
	s := parseSummary(t, res.stdout)
	s.requireAddsUp(t)
	assert.Equal(t, int64(pending), s.rows["queued before"])
	seen := delivered(exp, "kill-")
	for i := range last {
		require.Positive(t, seen[i], "record %d reported on disk, not delivered", i)
	}

	out, err = exec.Command(cli(t), "inspect", "--queue", queue).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Equal(t, 0, fieldInt(t, string(out), "pending:"))
}

func fieldInt(t *testing.T, out, label string) int {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, label); ok {
			n, err := strconv.Atoi(strings.Fields(rest)[0])
			require.NoError(t, err)
			return n
		}
	}
	t.Fatalf("no %q in:\n%s", label, out)
	return 0
}

func TestMisuse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown command", []string{"frobnicate"}, exitUsage, "unknown command"},
		{"log without endpoint", []string{"log", "--queue", "q"}, exitUsage, "--endpoint is required"},
		{"endpoint without host", []string{"log", "--queue", "q", "--endpoint", "http:///api/v1/logs"}, exitUsage, "--endpoint must be"},
		{"bad progress", []string{"replay", "--endpoint", "http://x", "--queue", "q", "--progress", "fancy"}, exitUsage, "--progress must be"},
		{"bad size", []string{"log", "--endpoint", "http://x", "--queue", "q", "--max-queue-bytes", "lots"}, exitUsage, "want a size"},
		{"tiny cap", []string{"demo", "--max-queue-bytes", "1KB"}, exitUsage, "at least 64 KB"},
		{"unknown flag", []string{"inspect", "--nope"}, exitUsage, "not defined"},
		{"inspect without queue", []string{"inspect"}, exitUsage, "--queue is required"},
		{"inspect a mistyped queue", []string{"inspect", "--queue", filepath.Join(t.TempDir(), "copied-queu")}, exitFailure, "no queue at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(context.Background(), tt.args, &stdout, &stderr)
			assert.Equal(t, tt.code, code)
			assert.Contains(t, stderr.String(), tt.want)
		})
	}
	for _, args := range [][]string{{"--help"}, {"log", "-h"}, {"replay", "--help"}, {"inspect", "-h"}, {"demo", "-h"}} {
		var stdout, stderr strings.Builder
		assert.Equal(t, exitOK, run(context.Background(), args, &stdout, &stderr), args)
		assert.Contains(t, stdout.String()+stderr.String(), "usage", args)
	}
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		give string
		want int64
	}{
		{"1048576", 1 << 20}, {"10MB", 10 << 20}, {"10 MB", 10 << 20}, {"512kb", 512 << 10},
		{"1GiB", 1 << 30}, {"1.5G", 3 << 29}, {"900B", 900},
	}
	for _, tt := range tests {
		var b byteSize
		require.NoError(t, b.Set(tt.give), tt.give)
		assert.Equal(t, tt.want, int64(b), tt.give)
	}
	var b byteSize
	assert.Error(t, b.Set("-1MB"))
	assert.Error(t, b.Set("MB"))
	assert.Equal(t, "10 MB", formatBytes(10<<20))
	assert.Equal(t, "1.5 GB", formatBytes(3<<29))
	assert.Equal(t, "1,997,325", num(1997325))
	assert.Equal(t, "-1,000", num(-1000))
}

func TestLockedQueueIsExplained(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	queue := filepath.Join(t.TempDir(), "q")
	r := startCLI(t, "log", "--endpoint", "http://"+addr+ingest.LogsPath, "--queue", queue,
		"--count", "50", "--progress=lines", "--timeout", "1m")
	r.waitFor(t, &r.stdout, 30*time.Second, "a logged line", func(s string) bool { return lastLogged(s) > 0 })
	var stderr strings.Builder
	code := run(context.Background(), []string{"replay", "--endpoint", "http://" + addr, "--queue", queue}, io.Discard, &stderr)
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr.String(), "in use by another process")
	onePrefix(t, stderr.String())
}

// A path that holds no queue is an error for inspect and replay, which
// create nothing there, and a nearby queue is suggested.
func TestNoQueueAtPath(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	q, err := diskqueue.Open(filepath.Join(base, "copied-queue"), nil)
	require.NoError(t, err)
	require.NoError(t, q.Close(context.Background()))
	empty := filepath.Join(base, "empty")
	require.NoError(t, os.Mkdir(empty, 0o700))
	typo := filepath.Join(base, "copied-queu")
	endpoint := "http://" + freeAddr(t) + ingest.LogsPath

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"inspect a typo", []string{"inspect", "--queue", typo}, "no queue at " + typo + " (no such directory); did you mean " + filepath.Join(base, "copied-queue") + "?"},
		{"replay a typo", []string{"replay", "--endpoint", endpoint, "--queue", typo, "--timeout", "1s"}, "no queue at " + typo + " (no such directory)"},
		{"inspect an empty directory", []string{"inspect", "--queue", empty}, "the directory holds no queue.db"},
		{"replay an empty directory", []string{"replay", "--endpoint", endpoint, "--queue", empty, "--timeout", "1s"}, "the directory holds no queue.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCLI(t, 30*time.Second, tt.args...)
			assert.Equal(t, exitFailure, res.code)
			assert.Contains(t, res.stderr, tt.want)
			onePrefix(t, res.stderr)
			assert.NoFileExists(t, filepath.Join(empty, diskqueue.FileName))
			_, err := os.Stat(typo)
			assert.ErrorIs(t, err, os.ErrNotExist, "nothing is created at a mistyped path")
		})
	}
}

// inspect and replay accept the directory fieldlog.New was given, whose
// queue is in its queue subdirectory.
func TestServiceDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q, err := diskqueue.Open(filepath.Join(dir, "queue"), nil)
	require.NoError(t, err)
	require.NoError(t, q.Append(diskqueue.Normal, []byte(`{"timestamp":"2026-02-06T12:00:00.000Z","level":"info","logger":"App","message":"hello"}`)))
	require.NoError(t, q.Close(context.Background()))
	res := runCLI(t, 30*time.Second, "inspect", "--queue", dir)
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Contains(t, res.stdout, "pending:  1 (high 0, normal 1)")
	assert.Contains(t, res.stdout, "info    App: hello")
}
