package sanitizer_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/sanitizer"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var _ sink.Sanitizer = (*sanitizer.Sanitizer)(nil)

// Through the Manager, a console, a memory and a recording sink see only
// sanitized data, and the caller's values are left as they were.
func TestEverySinkGetsSanitizedData(t *testing.T) {
	var console strings.Builder
	mem := sink.NewMemory(10)
	rec := sinktest.NewRecorder()
	m := sink.NewManager([]sink.Sink{sink.NewConsole(&console, nil), mem, rec}, sink.WithSanitizer(sanitizer.Default()))

	headers := map[string]any{"Authorization": "Bearer abcdef123456", "Accept": "application/json"}
	m.Logger("Auth").Error("login failed for bob@corp.example", errors.New("password=hunter2 rejected"),
		"api_key", "k-live-123", "ip", "203.0.113.9", "headers", headers)
	slog.New(m.Handler("Http")).Info("GET", "url", "https://u:pw@host/x",
		slog.Group("client", slog.String("phone", "+14155552671"), slog.String("install_id", "6f1c2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e")))
	require.NoError(t, m.Close(t.Context()))

	require.Len(t, mem.Records(), 2)
	require.Len(t, rec.Records(), 2)
	secrets := []string{"bob@corp.example", "hunter2", "k-live-123", "203.0.113.9", ":pw@", "abcdef123456", "+14155552671"}
	for _, secret := range secrets {
		assert.NotContains(t, console.String(), secret)
		for _, r := range mem.Records() {
			assert.NotContains(t, flatten(r), secret)
		}
		for _, r := range rec.Records() {
			assert.NotContains(t, flatten(r), secret)
		}
	}
	assert.Contains(t, console.String(), "[EMAIL]")
	assert.Contains(t, console.String(), "6f1c2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e", "the SDK's ids survive")
	_, scrubbed := rec.Records()[0].Attr(sanitizer.ScrubbedKey)
	assert.True(t, scrubbed)
	assert.Equal(t, "Bearer abcdef123456", headers["Authorization"], "the caller's map is not changed")
}

// The sanitizer runs on records logged from many goroutines at once.
func TestSanitizerConcurrentSafe(t *testing.T) {
	rec := sinktest.NewRecorder()
	m := sink.NewManager([]sink.Sink{rec}, sink.WithSanitizer(sanitizer.Default()))
	l := m.Logger("App")
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 50 {
				l.Info("mail bob@x.io", "password", "p", "n", 1)
			}
		}()
	}
	for range 4 {
		<-done
	}
	require.NoError(t, m.Close(t.Context()))
	require.Len(t, rec.Records(), 200)
	for _, r := range rec.Records() {
		assert.Equal(t, "mail [EMAIL]", r.Message)
	}
}
