package fieldlog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/soliplex/fieldlog"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/remotelevel"
	"github.com/soliplex/fieldlog/rum"
)

// capture is an ingest endpoint that keeps every request body.
type capture struct {
	mu     sync.Mutex
	bodies []map[string]any
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	logs, _ := body["logs"].([]any)
	c.mu.Lock()
	c.bodies = append(c.bodies, body)
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int{"accepted": len(logs)})
}

func (c *capture) entries() (out []map[string]any, resources []map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.bodies {
		res, _ := b["resource"].(map[string]any)
		for _, e := range b["logs"].([]any) {
			out = append(out, e.(map[string]any))
			resources = append(resources, res)
		}
	}
	return out, resources
}

// TestQuickStartShipsOnNormalExit runs the README's quick start as a
// program: its records arrive, redacted, when main returns (no signal),
// with the install id, session id, device alias and resource; a second
// run keeps the install id and gets a new session id.
func TestQuickStartShipsOnNormalExit(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "quickstart")
	out, err := exec.Command("go", "build", "-o", bin, "./examples/quickstart").CombinedOutput()
	require.NoError(t, err, "%s", out)
	var srv capture
	ts := httptest.NewServer(&srv)
	defer ts.Close()
	cache := t.TempDir()
	run := func() {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache, "HOME="+cache, fieldlog.EndpointEnv+"="+ts.URL+"/api/v1/logs")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	run()
	run()
	entries, resources := srv.entries()
	require.Len(t, entries, 4, "two runs, each a session marker and one record")
	raw, _ := json.Marshal(entries)
	assert.NotContains(t, string(raw), "alice@example.com")
	assert.NotContains(t, string(raw), "hunter2")

	var sessions []string
	for i, e := range entries {
		assert.Equal(t, entries[0]["install_id"], e["install_id"], "the install id is kept across runs")
		assert.NotEmpty(t, e["install_id"])
		res := resources[i]
		assert.Equal(t, "billing", res["service.name"])
		assert.Equal(t, fieldlog.DeviceAlias(e["install_id"].(string)), res["device.alias"])
		for _, k := range []string{"service.version", "os.name", "host.arch", "process.runtime.version"} {
			assert.NotEmpty(t, res[k], k)
		}
		if e["message"] == "session started" {
			sessions = append(sessions, e["session_id"].(string))
		}
	}
	require.Len(t, sessions, 2)
	assert.NotEqual(t, sessions[0], sessions[1], "a new session per run")
}

func TestLocalOnlyWithoutEndpoint(t *testing.T) {
	t.Setenv(fieldlog.EndpointEnv, "")
	var console bytes.Buffer
	c, err := fieldlog.New(fieldlog.Options{Service: "tool", Dir: t.TempDir(), Console: &console})
	require.NoError(t, err)
	c.Logger("App").Info("started", "password", "hunter2")
	require.NoError(t, c.Close(context.Background()))
	assert.Contains(t, console.String(), "started")
	assert.NotContains(t, console.String(), "hunter2")
	assert.False(t, c.Exporting())
	assert.False(t, c.SetExport(true), "nothing to ship to")
}

func TestDeviceAliasIsStable(t *testing.T) {
	a := fieldlog.DeviceAlias("6f1c2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e")
	assert.Equal(t, a, fieldlog.DeviceAlias("6f1c2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e"))
	assert.Len(t, strings.Split(a, "-"), 3)
	assert.NotEqual(t, a, fieldlog.DeviceAlias("0b8e2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e"))
}

// TestStatusHandlerShowsOnlySanitizedValues: the status page, in HTML and
// JSON, holds what was shipped, never a raw secret.
func TestStatusHandlerShowsOnlySanitizedValues(t *testing.T) {
	var srv capture
	ts := httptest.NewServer(&srv)
	defer ts.Close()
	c, err := fieldlog.New(fieldlog.Options{Service: "billing", Dir: t.TempDir(), Endpoint: ts.URL + "/api/v1/logs", Console: io.Discard})
	require.NoError(t, err)
	defer c.Close(context.Background())
	c.Logger("Auth").Info("login for alice@example.com", "password", "hunter2", "token", "Bearer abc.def.ghi")
	require.NoError(t, c.Flush(context.Background()))

	for _, accept := range []string{"text/html", "application/json"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/debug/fieldlog", nil)
		req.Header.Set("Accept", accept)
		c.StatusHandler().ServeHTTP(rec, req)
		body := rec.Body.String()
		assert.Equal(t, 200, rec.Code)
		assert.Contains(t, body, "login for", accept)
		assert.Contains(t, body, c.DeviceAlias(), accept)
		for _, secret := range []string{"alice@example.com", "hunter2", "abc.def.ghi"} {
			assert.NotContains(t, body, secret, accept)
		}
	}
	rec := httptest.NewRecorder()
	c.StatusHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/?format=json", nil))
	var st fieldlog.Status
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &st))
	assert.True(t, st.Exporting)
	assert.Positive(t, st.Connection.Confirmed)

	// Export off: records are no longer shipped.
	require.True(t, c.SetExport(false))
	c.Logger("App").Info("not shipped")
	require.NoError(t, c.Flush(context.Background()))
	entries, _ := srv.entries()
	for _, e := range entries {
		assert.NotEqual(t, "not shipped", e["message"])
	}
	assert.False(t, c.Exporting())
}

func TestRUMIsOneOptionAway(t *testing.T) {
	t.Setenv(fieldlog.EndpointEnv, "")
	off, err := fieldlog.New(fieldlog.Options{Service: "svc", Dir: t.TempDir(), Console: io.Discard})
	require.NoError(t, err)
	assert.Nil(t, off.RUM(), "off by default")
	h := off.RUM().Middleware(http.NotFoundHandler()) // safe when off
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	require.NoError(t, off.Close(context.Background()))

	var console bytes.Buffer
	on, err := fieldlog.New(fieldlog.Options{Service: "svc", Dir: t.TempDir(), Console: &console, RUM: &rum.Options{}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {})
	on.RUM().Middleware(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/users/42", nil))
	require.NoError(t, on.Close(context.Background()))
	assert.Contains(t, console.String(), "GET /users/{id}", "the route summary is shipped at Close")
	assert.NotContains(t, console.String(), "/users/42")
}

// TestWithUserPerRecord: two goroutines log at once for different users;
// each record ships its own user_id, through the facade and through slog.
func TestWithUserPerRecord(t *testing.T) {
	var srv capture
	ts := httptest.NewServer(&srv)
	defer ts.Close()
	c, err := fieldlog.New(fieldlog.Options{Service: "svc", Dir: t.TempDir(), Endpoint: ts.URL + "/api/v1/logs", Console: io.Discard, UserID: "process-user"})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for _, user := range []string{"alice", "bob"} {
		wg.Go(func() {
			ctx := fieldlog.WithActiveRun(fieldlog.WithUser(context.Background(), user), "thread-"+user, "run-"+user)
			for i := range 50 {
				c.Logger("App").InfoContext(ctx, "facade", "who", user, "i", i)
				c.Slog().InfoContext(ctx, "slog", "who", user, "i", i)
			}
		})
	}
	wg.Wait()
	c.Logger("App").Info("no user in the context")
	require.NoError(t, c.Close(context.Background()))
	entries, _ := srv.entries()
	seen := 0
	for _, e := range entries {
		attrs, _ := e["attributes"].(map[string]any)
		who, _ := attrs["who"].(string)
		switch {
		case who != "":
			seen++
			assert.Equal(t, who, e["user_id"])
			run, _ := e["active_run"].(map[string]any)
			assert.Equal(t, "run-"+who, run["run_id"])
		case e["message"] == "no user in the context":
			assert.Equal(t, "process-user", e["user_id"])
		}
	}
	assert.Equal(t, 200, seen)
}

// TestPinnedEndpointWins: an endpoint pinned at build time cannot be
// redirected by the environment.
func TestPinnedEndpointWins(t *testing.T) {
	var pinned, elsewhere capture
	ts := httptest.NewServer(&pinned)
	defer ts.Close()
	other := httptest.NewServer(&elsewhere)
	defer other.Close()
	bin := filepath.Join(t.TempDir(), "quickstart")
	out, err := exec.Command("go", "build", "-o", bin,
		"-ldflags", "-X github.com/soliplex/fieldlog.pinnedEndpoint="+ts.URL+"/api/v1/logs",
		"./examples/quickstart").CombinedOutput()
	require.NoError(t, err, "%s", out)
	cache := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache, "HOME="+cache, fieldlog.EndpointEnv+"="+other.URL+"/api/v1/logs")
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	got, _ := pinned.entries()
	assert.Len(t, got, 2)
	stray, _ := elsewhere.entries()
	assert.Empty(t, stray)
}

// TestRemoteLevelFollowsTheServer: with RemoteLevel on, the level the
// ingest server's config names applies without a restart.
func TestRemoteLevelFollowsTheServer(t *testing.T) {
	var srv capture
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/logs", &srv)
	mux.HandleFunc("GET /api/v1/config/logging", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"min_level":"debug","modules":{}}`)
	})
	ts := httptest.NewServer(mux)
	defer ts.Close()
	c, err := fieldlog.New(fieldlog.Options{Service: "svc", Dir: t.TempDir(), Endpoint: ts.URL + "/api/v1/logs",
		Console: io.Discard, RemoteLevel: &remotelevel.Options{}})
	require.NoError(t, err)
	for end := time.Now().Add(10 * time.Second); c.Manager().Level() != logrecord.LevelDebug && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond) // the first fetch runs in the background
	}
	require.Equal(t, logrecord.LevelDebug, c.Manager().Level())
	c.Logger("App").Debug("debug, now shipped")
	require.NoError(t, c.Close(context.Background()))
	entries, _ := srv.entries()
	var msgs []string
	for _, e := range entries {
		msgs = append(msgs, e["message"].(string))
	}
	assert.Contains(t, msgs, "debug, now shipped")
}

// The crash guard is wired in: a recovered panic ships as a fatal record,
// and a crash an earlier process left in the queue directory ships with
// its session's id.
func TestCrashGuardWiredIn(t *testing.T) {
	var srv capture
	ts := httptest.NewServer(&srv)
	defer ts.Close()
	dir := t.TempDir()
	queue := filepath.Join(dir, "queue")
	require.NoError(t, os.MkdirAll(queue, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(queue, "earlier.session"), []byte("{}"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(queue, "earlier.crash"),
		[]byte("panic: boom\n\ngoroutine 7 [running]:\nmain.work()\n\t/src/app/main.go:9 +0x1d\n"), 0o600))

	client, err := fieldlog.New(fieldlog.Options{Service: "billing", Dir: dir, Endpoint: ts.URL + "/api/v1/logs", Console: io.Discard})
	require.NoError(t, err)
	func() {
		defer client.Crash().Swallowing().Recover()
		panic("handler exploded")
	}()
	require.NoError(t, client.Close(context.Background()))

	entries, _ := srv.entries()
	fatal := map[string]string{}
	for _, e := range entries {
		if e["level"] == "fatal" {
			fatal[e["message"].(string)] = e["session_id"].(string)
		}
	}
	assert.Equal(t, map[string]string{"panic: boom": "earlier", "panic: handler exploded": client.SessionID()}, fatal)
}
