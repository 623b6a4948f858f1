package backendsink_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/backendsink"
	"github.com/soliplex/fieldlog/breadcrumbs"
	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type stringer struct{}

func (stringer) String() string { panic("String exploded") }

// TestRoundTripThroughReferenceServer ships records, including awkward
// values, to the reference ingest server: it must accept them all (it
// answers 422 to any contract violation) and keep every field.
func TestRoundTripThroughReferenceServer(t *testing.T) {
	store := &ingest.MemoryExporter{}
	srv, err := ingest.NewServer(ingest.ServerOptions{Exporter: store, Verifier: ingest.BearerToken("tok")})
	require.NoError(t, err)
	hs := httptest.NewServer(srv)
	defer hs.Close()

	crumbs := breadcrumbs.New(nil)
	s, err := backendsink.New(backendsink.Options{
		Endpoint: hs.URL + ingest.LogsPath, Client: hs.Client(), Dir: filepath.Join(t.TempDir(), "q"),
		InstallID: "install-1", SessionID: "session-1", UserID: "user-1",
		Resource:      map[string]any{"service.name": "billing", "process.pid": 4242},
		TokenProvider: func(context.Context) (string, error) { return "tok", nil },
		Breadcrumbs:   crumbs, FlushInterval: time.Hour, Gzip: true,
		OnError: func(err error) { t.Errorf("sink reported: %v", err) },
	})
	require.NoError(t, err)
	s.SetActiveRun(&backendsink.ActiveRun{ThreadID: "thread-1", RunID: "run-1"})
	m := sink.NewManager([]sink.Sink{crumbs, s}, sink.WithLevel(-8),
		sink.WithTraceExtractor(func(context.Context) (string, string) {
			return "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
		}))

	m.Logger("Router").Info("Navigated to /chat", "route", "/chat")
	m.Logger("Http").Debug("awkward values",
		"nan", math.NaN(), "inf", math.Inf(-1), "bad_utf8", "caf\xe9", "stringer", stringer{},
		"nil_ptr", (*int)(nil), "ch", make(chan int), "when", time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC),
		slog.Group("retry", "n", 2))
	m.Logger("Http").ErrorContext(t.Context(), "Request failed: 500", errors.New("HttpException: 500"))
	require.NoError(t, m.Close(t.Context()))

	got := store.Entries()
	require.Len(t, got, 3)
	byMsg := map[string]ingest.StoredEntry{}
	for _, e := range got {
		byMsg[e.Message] = e
	}
	failed := byMsg["Request failed: 500"]
	assert.Equal(t, "error", failed.Level)
	assert.Equal(t, "HttpException: 500", *failed.Error)
	assert.Contains(t, *failed.StackTrace, "TestRoundTripThroughReferenceServer")
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", *failed.TraceID)
	assert.Equal(t, "user-1", *failed.UserID)
	assert.Equal(t, &ingest.ActiveRun{ThreadID: "thread-1", RunID: "run-1"}, failed.ActiveRun)
	require.Len(t, failed.Breadcrumbs, 2, "the records before the error, debug included (the ring keeps debug), never the error itself")
	assert.Equal(t, "Navigated to /chat", failed.Breadcrumbs[0].Message)
	assert.Equal(t, "ui", failed.Breadcrumbs[0].Category)
	assert.Equal(t, "awkward values", failed.Breadcrumbs[1].Message)
	assert.Equal(t, "network", failed.Breadcrumbs[1].Category)
	assert.Contains(t, failed.Attributes[ingest.FingerprintKey], "fp1:")
	assert.Equal(t, "4242", failed.Resource["process.pid"], "resource values are stringified")

	odd := byMsg["awkward values"].Attributes
	assert.Equal(t, "NaN", odd["nan"])
	assert.Equal(t, "-Inf", odd["inf"])
	assert.Equal(t, "caf\uFFFD", odd["bad_utf8"])
	assert.Contains(t, odd["stringer"], "!PANIC")
	assert.Nil(t, odd["nil_ptr"])
	assert.Equal(t, "<chan int>", odd["ch"])
	assert.Equal(t, "2026-02-06T12:00:00Z", odd["when"])
	assert.Equal(t, map[string]any{"n": jsonNumber("2")}, odd["retry"])
	assert.Empty(t, byMsg["awkward values"].Breadcrumbs, "only error and fatal records carry breadcrumbs")
}

// jsonNumber matches what the server's decoder keeps numbers as.
func jsonNumber(s string) any {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var n any
	_ = d.Decode(&n)
	return n
}
