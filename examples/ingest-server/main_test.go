package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/ingest/conformance"
	"github.com/soliplex/fieldlog/oidcauth/oidctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With mainArgsEnv set, the test binary runs the program's main with
// those arguments (one per line), so that tests can see its exit status.
const mainArgsEnv = "INGEST_SERVER_TEST_MAIN_ARGS"

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(mainArgsEnv); ok {
		os.Args = append([]string{"ingest-server"}, strings.Split(args, "\n")...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runMain runs main in a child process and returns its exit status and
// output.
func runMain(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), mainArgsEnv+"="+strings.Join(args, "\n"))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	require.NoError(t, err, string(out))
	return 0, string(out)
}

func TestHelpExitsZero(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "-help"} {
		code, out := runMain(t, arg)
		assert.Equal(t, 0, code, out)
		assert.Contains(t, out, "-listen")
		assert.NotContains(t, out, "help requested")
	}
	code, out := runMain(t, "-nope")
	assert.Equal(t, 2, code, out)
	assert.Equal(t, 1, strings.Count(out, "not defined"), "the flag error is printed once:\n%s", out)
	code, out = runMain(t, "-listen", "127.0.0.1:0", "-mode", "lenient", "-token", "t", "-store", t.TempDir())
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "ingest-server: ")
}

func TestServeStoreAndShutDown(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-store", dir, "-token", "secret"}, &out, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	}

	body := `{"logs":[{"timestamp":"2026-02-06 12:00:00","level":"info","logger":"App","message":"hello",
		"install_id":"i","session_id":"s-42","traceId":"x"}],"resource":{"service.name":"demo"}}`
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+ingest.LogsPath, strings.NewReader(body))
	req.Header.Set("Authorization", "bearer secret")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, "compat mode takes what the production backend takes")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("no graceful shutdown")
	}
	assert.Contains(t, out.String(), "compat mode")
	assert.Contains(t, out.String(), "stopped")

	store, err := ingest.NewJSONLStore(dir, nil)
	require.NoError(t, err)
	defer store.Close(context.Background())
	var got []string
	require.NoError(t, store.Query(t.Context(), ingest.Filter{SessionID: "s-42"}, func(e ingest.StoredEntry) bool {
		got = append(got, e.Message)
		return true
	}))
	assert.Equal(t, []string{"hello"}, got)
}

func TestRefusesToRunOpen(t *testing.T) {
	t.Setenv("FIELDLOG_INGEST_TOKEN", "")
	err := run(t.Context(), []string{"-listen", "127.0.0.1:0"}, &bytes.Buffer{}, nil)
	assert.ErrorContains(t, err, "-token")
	assert.ErrorContains(t, err, "-oidc-issuer")
}

func TestBadFlagsAndConfig(t *testing.T) {
	config := filepath.Join(t.TempDir(), "logging.json")
	require.NoError(t, os.WriteFile(config, []byte(`{"min_level":"loud"}`), 0o600))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad config", []string{"-listen", "127.0.0.1:0", "-store", t.TempDir(), "-token", "t", "-config", config}, "ConfigFile"},
		{"bad rate", []string{"-listen", "127.0.0.1:0", "-store", t.TempDir(), "-token", "t", "-rate", "-1"}, "RatePerSecond"},
		{"unknown flag", []string{"-nope"}, "not defined"},
		{"bad mode", []string{"-listen", "127.0.0.1:0", "-store", t.TempDir(), "-token", "t", "-mode", "lenient"}, "compat or strict"},
		{"bad naming", []string{"-listen", "127.0.0.1:0", "-store", t.TempDir(), "-token", "t", "-naming", "semconv"}, "backend or otel"},
		{"bad issuer", []string{"-listen", "127.0.0.1:0", "-store", t.TempDir(), "-oidc-issuer", "id.example.com"}, "Issuers[0].URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(t.Context(), tt.args, &bytes.Buffer{}, nil)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

// The program passes the conformance checks in both modes.
func TestConforms(t *testing.T) {
	tests := []struct {
		mode      string
		malformed int
	}{
		{"compat", 422},
		{"strict", 400},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			ready := make(chan string, 1)
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-store", t.TempDir(), "-token", "secret", "-mode", tt.mode}, io.Discard, ready)
			}()
			var addr string
			select {
			case addr = <-ready:
			case err := <-done:
				t.Fatal(err)
			}
			conformance.Run(t, conformance.Target{URL: "http://" + addr + ingest.LogsPath, Token: "secret", MalformedStatus: tt.malformed})
			cancel()
			require.NoError(t, <-done)
		})
	}
}

// start runs the program until the test ends and returns its address.
func start(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-listen", "127.0.0.1:0"}, args...), io.Discard, ready) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	select {
	case addr := <-ready:
		return addr
	case err := <-done:
		t.Fatal(err)
		return ""
	}
}

func send(t *testing.T, method, url, token, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// With -oidc-issuer the server takes the issuer's access tokens, beside
// the static token, and stores the user they name; -naming picks the
// attribute names of the store; -public-config opens the configuration.
func TestOIDCAndNaming(t *testing.T) {
	issuer := oidctest.NewIssuer()
	defer issuer.Close()
	dir := filepath.Join(t.TempDir(), "logs")
	addr := start(t, "-store", dir, "-token", "secret", "-oidc-issuer", issuer.URL, "-oidc-audience", "fieldlog-ingest",
		"-oidc-user-claim", "preferred_username", "-naming", "otel", "-public-config")
	logs := "http://" + addr + ingest.LogsPath
	entry := `{"logs":[{"timestamp":"2026-02-06T12:00:00.123Z","level":"info","logger":"App","message":"hello",
		"install_id":"i","session_id":"s-7"}],"resource":{}}`
	claims := issuer.Claims("u-1", "fieldlog-ingest", time.Now())
	claims["preferred_username"] = "alice"

	assert.Equal(t, 200, send(t, http.MethodPost, logs, issuer.Sign(claims), entry))
	assert.Equal(t, 200, send(t, http.MethodPost, logs, "secret", entry))
	claims["aud"] = "another-app"
	assert.Equal(t, 401, send(t, http.MethodPost, logs, issuer.Sign(claims), entry))
	assert.Equal(t, 401, send(t, http.MethodPost, logs, "", entry))
	assert.Equal(t, 200, send(t, http.MethodGet, "http://"+addr+ingest.ConfigPath, "", ""), "-public-config")
	assert.Equal(t, 401, send(t, http.MethodGet, "http://"+addr+ingest.ErrorsTopPath, "", ""))

	raw, err := os.ReadFile(filepath.Join(dir, "logs-000001.jsonl"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], `"server.user":"alice"`)
	assert.Contains(t, lines[0], `"session.id":"s-7"`, "-naming otel")
	assert.NotContains(t, lines[1], "server.user", "the static token names nobody")
}
