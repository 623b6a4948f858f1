package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests build the CLI and run it as a subprocess against an ingest
// server on 127.0.0.1.

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
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
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

// startIngest serves the reference ingest handler on addr.
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

// started runs the CLI and returns a channel of its "persisted" numbers.
func started(t *testing.T, args ...string) (*exec.Cmd, <-chan int) {
	t.Helper()
	cmd := exec.Command(cli(t), args...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = io.Discard
	require.NoError(t, cmd.Start())
	persisted := make(chan int, 1<<16)
	go func() {
		defer close(persisted)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if n, ok := strings.CutPrefix(sc.Text(), "persisted "); ok {
				if v, err := strconv.Atoi(n); err == nil {
					persisted <- v
				}
			}
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, persisted
}

func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		require.NoError(t, err)
		return 0
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the CLI did not exit")
		return -1
	}
}

func TestLogWithServerDownThenUp(t *testing.T) {
	addr := freeAddr(t)
	queue := filepath.Join(t.TempDir(), "q")
	cmd, persisted := started(t, "log", "--endpoint", "http://"+addr+ingest.LogsPath, "--token", "tok",
		"--queue", queue, "--count", "500", "--id-prefix", "up-", "--error-every", "40", "--progress=lines", "--timeout", "60s")
	for n := range persisted {
		if n == 499 {
			break
		}
	}
	exp := startIngest(t, addr) // the server comes up while the CLI retries
	require.Equal(t, exitOK, exitCode(t, cmd))
	seen := delivered(exp, "up-")
	for i := range 500 {
		require.Positive(t, seen[i], "record %d not delivered", i)
	}
}

func TestKilledLogThenInspectAndReplay(t *testing.T) {
	addr := freeAddr(t)
	queue := filepath.Join(t.TempDir(), "q")
	endpoint := "http://" + addr + ingest.LogsPath
	cmd, persisted := started(t, "log", "--endpoint", endpoint, "--token", "tok",
		"--queue", queue, "--count", "100000", "--id-prefix", "kill-", "--progress=lines", "--timeout", "10m")
	last := -1
	for n := range persisted {
		last = n
		if n >= 2000 {
			break
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	for n := range persisted { // what was printed before the kill counts too
		last = n
	}
	_ = cmd.Wait()
	require.GreaterOrEqual(t, last, 2000)

	out, err := exec.Command(cli(t), "inspect", "--queue", queue).CombinedOutput()
	require.NoError(t, err, string(out))
	pending := fieldInt(t, string(out), "pending:")
	assert.GreaterOrEqual(t, pending, last+1, "inspect counts every persisted record:\n%s", out)
	assert.Contains(t, string(out), "error   Http.Client: Request failed: 500 [kill-", "the first records are shown, errors first")

	exp := startIngest(t, addr)
	replay := exec.Command(cli(t), "replay", "--endpoint", endpoint, "--token", "tok", "--queue", queue, "--progress=none", "--timeout", "60s")
	require.Equal(t, exitOK, exitCode(t, startCmd(t, replay)))
	seen := delivered(exp, "kill-")
	for i := 0; i <= last; i++ {
		require.Positive(t, seen[i], "persisted record %d not delivered", i)
	}

	out, err = exec.Command(cli(t), "inspect", "--queue", queue).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Equal(t, 0, fieldInt(t, string(out), "pending:"))
}

func startCmd(t *testing.T, cmd *exec.Cmd) *exec.Cmd {
	t.Helper()
	require.NoError(t, cmd.Start())
	return cmd
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

func TestReplayTimesOutWithRecordsQueued(t *testing.T) {
	addr := freeAddr(t)
	queue := filepath.Join(t.TempDir(), "q")
	cmd := exec.Command(cli(t), "log", "--endpoint", "http://"+addr+ingest.LogsPath, "--queue", queue,
		"--count", "20", "--progress=none", "--timeout", "500ms")
	assert.Equal(t, exitQueued, exitCode(t, startCmd(t, cmd)), "unreachable: records stay queued, exit 3")
}

func TestDemo(t *testing.T) {
	cmd := exec.Command(cli(t), "--count", "200")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "lost                0")
	assert.Contains(t, string(out), "delivered           200")
	assert.Contains(t, string(out), `"level": "error"`, "one stored error record is shown")
}

func TestMisuse(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"log without endpoint", []string{"log", "--queue", "q"}, "--endpoint is required"},
		{"bad progress", []string{"replay", "--endpoint", "http://x", "--queue", "q", "--progress", "fancy"}, "--progress must be"},
		{"inspect without queue", []string{"inspect"}, "--queue is required"},
		{"inspect a mistyped queue", []string{"inspect", "--queue", filepath.Join(t.TempDir(), "copied-queu")}, "no queue at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(context.Background(), tt.args, &stdout, &stderr)
			assert.Equal(t, exitFailure, code)
			assert.Contains(t, stderr.String(), tt.want)
		})
	}
	var stdout strings.Builder
	assert.Equal(t, exitOK, run(context.Background(), []string{"--help"}, &stdout, io.Discard))
	assert.Contains(t, stdout.String(), "Commands:")
}

func TestLockedQueueIsExplained(t *testing.T) {
	addr := freeAddr(t)
	queue := filepath.Join(t.TempDir(), "q")
	cmd, persisted := started(t, "log", "--endpoint", "http://"+addr+ingest.LogsPath, "--queue", queue,
		"--count", "50", "--progress=lines", "--timeout", "1m")
	<-persisted
	var stderr strings.Builder
	code := run(context.Background(), []string{"replay", "--endpoint", "http://" + addr, "--queue", queue}, io.Discard, &stderr)
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr.String(), "in use by another process")
	_ = cmd.Process.Kill()
}
