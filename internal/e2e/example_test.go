package e2e

import (
	"context"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/crash"
	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildExample builds one of the repository's example commands; the
// binary's path, or why the build failed, arrives on the channel.
func buildExample(t *testing.T, name string) <-chan string {
	bin := filepath.Join(t.TempDir(), name)
	done := make(chan string, 1)
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "github.com/soliplex/fieldlog/examples/"+name)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	go func() {
		if err := cmd.Wait(); err != nil {
			done <- "build failed: " + err.Error() + ": " + out.String()
			return
		}
		done <- bin
	}()
	return done
}

// TestInstrumentedServiceExample runs the instrumented-service example's
// demo, shipping to the server as user U4: a page load, an upstream call
// refused, a handler that panics. The support engineer finds the session
// by user, by its device alias and by the panic's fingerprint, and its
// timeline shows the marker, the error with its breadcrumbs and
// goroutine dump, then the crash.
func TestInstrumentedServiceExample(t *testing.T) {
	r := startServer(t)
	bin := <-buildExample(t, "instrumented-service")
	require.True(t, filepath.IsAbs(bin), bin)

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-demo", "-user", "U4", "-slow", "100ms",
		"-endpoint", r.endpoint(), "-token", token, "-dir", t.TempDir())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "demo: %s", out)

	var found struct{ Sessions []ingest.SessionSummary }
	r.get(t, ingest.SessionsPath+"?user=U4", &found)
	require.Len(t, found.Sessions, 1, "one session for U4")
	s := found.Sessions[0]
	assert.Equal(t, "instrumented-service", s.Service)
	require.NotEmpty(t, s.DeviceAlias)
	assert.Equal(t, 1, s.Fatals, "the panic")
	assert.GreaterOrEqual(t, s.Errors, 1, "the refused upstream call")

	var top struct{ Errors []ingest.TopError }
	r.get(t, ingest.ErrorsTopPath+"?window=24h", &top)
	var panicFP string
	for _, e := range top.Errors {
		if strings.HasPrefix(e.Sample, "panic: runtime error: index out of range") {
			panicFP = e.Fingerprint
		}
	}
	require.NotEmpty(t, panicFP, "the panic among the top errors: %+v", top.Errors)
	assert.Equal(t, []string{s.SessionID}, r.find(t, url.Values{"device": {s.DeviceAlias}}))
	assert.Equal(t, []string{s.SessionID}, r.find(t, url.Values{"fingerprint": {panicFP}}))

	tl := r.timeline(t, s.SessionID)
	require.NotEmpty(t, tl.Items)
	require.Equal(t, ingest.KindMarker, tl.Items[0].Kind, "the start marker first: %v", kinds(tl))
	failed := item(t, tl, "upstream error", message(ingest.KindError, "quote upstream failed"))
	panicked := item(t, tl, "recovered panic", func(it ingest.TimelineItem) bool {
		return it.Kind == ingest.KindCrash && strings.HasPrefix(it.Message, "panic: runtime error: index out of range")
	})
	assert.Less(t, failed, panicked, "the error came before the panic")

	// What led to the error is folded under it: the page load before it
	// (a debug measurement, kept only as a breadcrumb) and the refused
	// call, also delivered on its own.
	e := tl.Items[failed]
	var load, refused bool
	for _, c := range e.Breadcrumbs {
		switch {
		case c.Logger == "rum.http.server" && c.Message == "request":
			load = true
		case c.Logger == "rum.http.client" && c.Message == "call failed":
			refused = c.Delivered
		}
	}
	assert.True(t, load, "the page load among the breadcrumbs: %+v", e.Breadcrumbs)
	assert.True(t, refused, "the refused call among the breadcrumbs, marked delivered: %+v", e.Breadcrumbs)
	assert.Contains(t, e.Error, "connection refused")
	require.NotEmpty(t, e.Attachments, "the error's goroutine dump")
	assert.Equal(t, crash.GoroutinesKey, e.Attachments[0].Name)
	assert.NotEmpty(t, e.Attachments[0].URL)

	p := tl.Items[panicked]
	assert.Equal(t, "fatal", p.Level)
	assert.Equal(t, "GET /invoices/{id}", p.Attributes[crash.RouteKey])
	assert.Contains(t, p.StackTrace, "main.(*service).invoice")
	assert.Equal(t, []string{"U4"}, tl.Session.UserIDs)
}
