package main

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func reference(t *testing.T, m ingest.Mode) string {
	t.Helper()
	s, err := ingest.NewServer(ingest.ServerOptions{Exporter: &ingest.MemoryExporter{}, Mode: m, Verifier: ingest.BearerToken("secret")})
	require.NoError(t, err)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return hs.URL + ingest.LogsPath
}

// The command passes against the reference server in both modes and
// prints one row per check.
func TestReferenceServerPasses(t *testing.T) {
	tests := []struct {
		mode      ingest.Mode
		malformed string
	}{
		{ingest.Compat, "422"},
		{ingest.Strict, "400"},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(t.Context(), []string{"--endpoint", reference(t, tt.mode), "--token", "secret", "--malformed-status", tt.malformed}, &out, &errOut)
			t.Log("\n" + out.String())
			assert.Equal(t, 0, code, errOut.String())
			assert.Contains(t, out.String(), "CHECK")
			assert.Contains(t, out.String(), " 0 failed\n")
			assert.NotContains(t, out.String(), "FAIL")
			assert.Greater(t, strings.Count(out.String(), " pass\n"), 40)
		})
	}
}

// Strict mode's 400 for malformed JSON fails a check that wants the
// production backend's 422.
func TestFailureIsReported(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"--endpoint", reference(t, ingest.Strict), "--token", "secret"}, &out, &errOut)
	assert.Equal(t, 1, code)
	assert.Regexp(t, `malformed JSON +422 +400 .* FAIL`, out.String())
	assert.Contains(t, out.String(), " 1 failed\n")
}

func TestBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no endpoint", nil, "--endpoint"},
		{"bad status", []string{"--endpoint", "http://127.0.0.1:1", "--malformed-status", "500"}, "422 or 400"},
		{"bad timeout", []string{"--endpoint", "http://127.0.0.1:1", "--timeout", "0s"}, "--timeout"},
		{"unknown flag", []string{"--nope"}, "not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("FIELDLOG_INGEST_TOKEN", "")
			var out, errOut bytes.Buffer
			assert.Equal(t, 2, run(t.Context(), tt.args, &out, &errOut))
			assert.Contains(t, errOut.String(), tt.want)
		})
	}
}
