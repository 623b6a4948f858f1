package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fill logs count records into a new queue while the server is down, and
// returns the queue's directory.
func fill(t *testing.T, count int, prefix string) string {
	t.Helper()
	queue := filepath.Join(t.TempDir(), "q")
	res := runCLI(t, 30*time.Second, "log", "--endpoint", "http://"+freeAddr(t)+ingest.LogsPath, "--queue", queue,
		"--count", itoa(count), "--id-prefix", prefix, "--progress=none", "--timeout", "200ms")
	require.Equal(t, exitQueued, res.code, res.stderr)
	return queue
}

func itoa(n int) string { return strconv.Itoa(n) }

// A permanent answer (401, 404, a redirect) ends log and replay at once,
// with one message saying what to fix, whatever --progress says, and exit
// code 4; the records stay queued.
func TestPermanentAnswersStopAtOnce(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	startIngest(t, addr)
	logs := "http://" + addr + ingest.LogsPath
	moved := httptest.NewServer(http.RedirectHandler(logs, http.StatusPermanentRedirect))
	t.Cleanup(moved.Close)

	tests := []struct {
		name     string
		command  string
		endpoint string
		token    []string
		want     string
	}{
		{"log, wrong token", "log", logs, []string{"--token", "wrong"}, "the ingest server rejected the token (401 Unauthorized): check --token"},
		{"log, no token", "log", logs, nil, "the ingest server requires a token (401 Unauthorized): pass --token"},
		{"log, wrong path", "log", "http://" + addr + "/api/v2/logs", []string{"--token", "tok"},
			"the ingest server has no ingest endpoint at http://" + addr + "/api/v2/logs (404 Not Found): check the --endpoint path (usually /api/v1/logs)"},
		{"log, redirect", "log", moved.URL + ingest.LogsPath, []string{"--token", "tok"},
			"the ingest server answered 308 Permanent Redirect, moved to " + logs + "; uploads never follow redirects: use --endpoint " + logs},
		{"replay, wrong token", "replay", logs, []string{"--token", "wrong"}, "the ingest server rejected the token (401 Unauthorized): check --token"},
		{"replay, wrong path", "replay", "http://" + addr + "/logs", []string{"--token", "tok"}, "(404 Not Found): check the --endpoint path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var queue string
			args := []string{tt.command, "--endpoint", tt.endpoint, "--progress=none", "--timeout", "60s"}
			if tt.command == "replay" {
				queue = fill(t, 120, "perm-")
			} else {
				queue = filepath.Join(t.TempDir(), "q")
				args = append(args, "--count", "120")
			}
			args = append(append(args, "--queue", queue), tt.token...)
			res := runCLI(t, 50*time.Second, args...)
			assert.Equal(t, exitStopped, res.code, res.stderr)
			assert.Less(t, res.elapsed, 30*time.Second, "stopped at once, not at the timeout")
			assert.Contains(t, res.stderr, tt.want)
			assert.Equal(t, 1, strings.Count(res.stderr, "\n"), "one message:\n%s", res.stderr)
			assert.Contains(t, res.stderr, "120 records stay safely queued in "+queue)
			onePrefix(t, res.stderr)
			s := parseSummary(t, res.stdout)
			s.requireAddsUp(t)
			assert.Equal(t, int64(120), s.rows["still queued"])
			assert.Zero(t, s.rows["delivered"])
		})
	}
}

// With the server down, even --progress=none shows what is going on, and
// the records stay queued (exit code 3).
func TestServerDownShowsStatus(t *testing.T) {
	t.Parallel()
	queue := filepath.Join(t.TempDir(), "q")
	res := runCLI(t, 30*time.Second, "log", "--endpoint", "http://"+freeAddr(t)+ingest.LogsPath, "--queue", queue,
		"--count", "300", "--progress=none", "--timeout", "1s")
	require.Equal(t, exitQueued, res.code, res.stderr)
	assert.Regexp(t, `offline-replay: server unreachable \(connection refused\), retrying in [\d.]+ s — 300 queued`, res.stderr)
	assert.Contains(t, res.stderr, "gave up after --timeout 1s: server unreachable (connection refused); 300 records stay safely queued in "+queue)
	onePrefix(t, res.stderr)
	s := parseSummary(t, res.stdout)
	s.requireAddsUp(t)
	assert.Equal(t, int64(300), s.rows["still queued"])
}

// A server error is retried, and said so.
func TestServerErrorShowsStatus(t *testing.T) {
	t.Parallel()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	t.Cleanup(failing.Close)
	queue := fill(t, 50, "busy-")
	res := runCLI(t, 30*time.Second, "replay", "--endpoint", failing.URL+ingest.LogsPath, "--queue", queue, "--progress=lines", "--timeout", "1s")
	require.Equal(t, exitQueued, res.code, res.stderr)
	assert.Contains(t, res.stderr, "offline-replay: the server is unavailable (503 Service Unavailable), retrying in")
	parseSummary(t, res.stdout).requireAddsUp(t)
}

// SIGINT or SIGTERM while logging: the command stops, makes what it
// logged durable, prints the summary and exits 128+signal.
func TestInterruptDuringLog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sig  syscall.Signal
		name string
	}{{syscall.SIGINT, "SIGINT"}, {syscall.SIGTERM, "SIGTERM"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			queue := filepath.Join(t.TempDir(), "q")
			r := startCLI(t, "log", "--endpoint", "http://"+freeAddr(t)+ingest.LogsPath, "--queue", queue,
				"--count", "10000000", "--progress=lines", "--timeout", "10m", "--max-queue-bytes", "1GB")
			r.waitFor(t, &r.stdout, 30*time.Second, "2000 logged", func(s string) bool { return lastLogged(s) >= 2000 })
			require.NoError(t, r.cmd.Process.Signal(tt.sig))
			res := r.wait(t, 30*time.Second)
			assert.Equal(t, exitInterrupt+int(tt.sig), res.code, res.stderr)
			s := parseSummary(t, res.stdout)
			s.requireAddsUp(t)
			assert.GreaterOrEqual(t, s.rows["written"], int64(lastLogged(res.stdout)))
			assert.Equal(t, s.rows["written"], s.rows["on disk"], "every record logged reached the disk")
			assert.Equal(t, s.rows["written"], s.rows["still queued"])
			assert.Contains(t, res.stderr, "offline-replay: interrupted by "+tt.name+": "+num(s.rows["still queued"])+
				" records stay safely queued in "+queue+"; run replay to deliver them")
			assert.NotContains(t, res.stderr, "context canceled")
			onePrefix(t, res.stderr)

			out, err := exec.Command(cli(t), "inspect", "--queue", queue).CombinedOutput()
			require.NoError(t, err, string(out))
			assert.Equal(t, int(s.rows["still queued"]), fieldInt(t, string(out), "pending:"), "the summary tells what the disk holds")
		})
	}
}

// SIGINT while a replay waits for a server that does not answer: the
// command stops at once, without waiting for the request's timeout.
func TestInterruptDuringReplay(t *testing.T) {
	t.Parallel()
	asked := make(chan struct{}, 16)
	hanging := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case asked <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	t.Cleanup(hanging.Close)
	queue := fill(t, 200, "int-")
	r := startCLI(t, "replay", "--endpoint", hanging.URL+ingest.LogsPath, "--queue", queue, "--progress=none", "--timeout", "60s")
	select {
	case <-asked:
	case <-time.After(30 * time.Second):
		t.Fatal("the replay sent nothing")
	}
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGINT))
	res := r.wait(t, 30*time.Second)
	assert.Equal(t, exitInterrupt+int(syscall.SIGINT), res.code, res.stderr)
	assert.Less(t, res.elapsed, 20*time.Second)
	s := parseSummary(t, res.stdout)
	s.requireAddsUp(t)
	assert.Equal(t, int64(200), s.rows["queued before"])
	assert.Equal(t, int64(200), s.rows["still queued"])
	assert.Contains(t, res.stderr, "offline-replay: interrupted by SIGINT: 200 records stay safely queued in "+queue)
	assert.NotContains(t, res.stderr, "retrying")
	onePrefix(t, res.stderr)
}

// The queue's cap drops the oldest records; the summary counts them and
// says why, and the numbers still add up.
func TestCapDropsInSummary(t *testing.T) {
	t.Parallel()
	queue := filepath.Join(t.TempDir(), "q")
	res := runCLI(t, 30*time.Second, "log", "--endpoint", "http://"+freeAddr(t)+ingest.LogsPath, "--queue", queue,
		"--count", "3000", "--max-queue-bytes", "64KB", "--progress=none", "--timeout", "300ms")
	require.Equal(t, exitQueued, res.code, res.stderr)
	s := parseSummary(t, res.stdout)
	s.requireAddsUp(t)
	assert.Equal(t, int64(3000), s.rows["written"])
	assert.Positive(t, s.reasons["queue_cap"])
	assert.Equal(t, s.rows["dropped"], s.reasons["queue_cap"])
	assert.Contains(t, res.stdout, "the queue's 64 KB cap evicted the oldest records (raise --max-queue-bytes)")

	// A replay delivers the rest, drops nothing of its own, and tells the
	// server of the earlier drops.
	addr := freeAddr(t)
	exp := startIngest(t, addr)
	res = runCLI(t, 30*time.Second, "replay", "--endpoint", "http://"+addr+ingest.LogsPath, "--token", "tok", "--queue", queue, "--progress=none")
	require.Equal(t, exitOK, res.code, res.stderr)
	r := parseSummary(t, res.stdout)
	r.requireAddsUp(t)
	assert.Equal(t, s.rows["still queued"], r.rows["delivered"])
	assert.Contains(t, res.stdout, "earlier runs dropped "+num(s.reasons["queue_cap"])+" records (queue_cap "+num(s.reasons["queue_cap"])+")")
	assert.Contains(t, res.stdout, "the server was told of "+num(s.reasons["queue_cap"])+" dropped records")
	var told bool
	for _, e := range exp.Entries() {
		told = told || (e.Logger == "fieldlog" && strings.HasPrefix(e.Message, "dropped "+itoa(int(s.reasons["queue_cap"]))+" records"))
	}
	assert.True(t, told, "the server received the drop report")
}

// A record the server rejects is dropped alone, counted with its reason,
// and the exit code says records were dropped.
func TestRejectedRecordInSummary(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	exp := startIngest(t, addr)
	ref := "http://" + addr
	rejecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		if bytes.Contains(body, []byte("[rej-000007]")) {
			http.Error(w, `{"detail":"no"}`, http.StatusUnprocessableEntity)
			return
		}
		req, _ := http.NewRequest(http.MethodPost, ref+r.URL.Path, bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(rejecting.Close)
	res := runCLI(t, 30*time.Second, "log", "--endpoint", rejecting.URL+ingest.LogsPath, "--token", "tok",
		"--queue", filepath.Join(t.TempDir(), "q"), "--count", "100", "--id-prefix", "rej-", "--progress=none", "--timeout", "20s")
	assert.Equal(t, exitDropped, res.code, res.stderr)
	s := parseSummary(t, res.stdout)
	s.requireAddsUp(t)
	assert.Equal(t, int64(1), s.reasons["rejected"])
	assert.Equal(t, int64(99), s.rows["delivered"])
	assert.Contains(t, res.stdout, "the server rejected them as invalid")
	assert.Contains(t, res.stderr, "offline-replay: 1 record was dropped (rejected 1)")
	seen := delivered(exp, "rej-")
	assert.Zero(t, seen[7])
	assert.Len(t, seen, 99)
}
