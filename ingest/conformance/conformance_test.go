package conformance_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/ingest/conformance"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reference serves the reference server in mode m on 127.0.0.1.
func reference(t *testing.T, m ingest.Mode, token string) string {
	t.Helper()
	opts := ingest.ServerOptions{Exporter: &ingest.MemoryExporter{}, Mode: m, AllowAnonymous: token == ""}
	if token != "" {
		opts.Verifier = ingest.BearerToken(token)
	}
	s, err := ingest.NewServer(opts)
	require.NoError(t, err)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return hs.URL + ingest.LogsPath
}

// The reference server passes in both modes, with and without a token,
// at its default rate limits.
func TestReferenceServerConforms(t *testing.T) {
	tests := []struct {
		name      string
		mode      ingest.Mode
		token     string
		malformed int
	}{
		{"compat", ingest.Compat, "secret", 0},
		{"strict", ingest.Strict, "secret", http.StatusBadRequest},
		{"compat without a token", ingest.Compat, "", http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conformance.Run(t, conformance.Target{URL: reference(t, tt.mode, tt.token), Token: tt.token, MalformedStatus: tt.malformed})
		})
	}
}

// The kit catches servers that would lose logs or accept what production
// rejects.
func TestBrokenServersFail(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantFailed []string // some of the checks that must fail
	}{
		{"accepts everything", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			_, _ = io.WriteString(w, `{"accepted":1}`)
		}, []string{"valid batch of 100", "malformed JSON", "resource missing", "level warn", "body over 1 MB", "no token"}},
		{"captive portal", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `<html>Sign in</html>`)
		}, []string{"valid batch of 1", "every field set"}},
		{"redirects", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		}, []string{"valid batch of 1", "resource missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := httptest.NewServer(tt.handler)
			defer hs.Close()
			failed := map[string]bool{}
			for _, r := range conformance.Check(t.Context(), conformance.Target{URL: hs.URL, Token: "secret"}) {
				if !r.Passed {
					failed[r.Name] = true
				}
			}
			for _, name := range tt.wantFailed {
				assert.True(t, failed[name], "%s must fail", name)
			}
		})
	}
}

func TestUnreachableServerFails(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	url := hs.URL
	hs.Close()
	results := conformance.Check(t.Context(), conformance.Target{URL: url})
	require.NotEmpty(t, results)
	for _, r := range results {
		assert.False(t, r.Passed, r.Name)
		assert.Contains(t, r.Got, "error:")
	}
}
