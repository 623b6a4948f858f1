package crash_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/backendsink"
	"github.com/soliplex/fieldlog/breadcrumbs"
	"github.com/soliplex/fieldlog/crash"
	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/sanitizer"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/require"
)

// setup says how to start a pipeline as the one-call setup wires it.
type setup struct {
	dir, session string
	endpoint     string // logs URL; "" ships nothing
	diagnostics  *crash.DiagnosticsOptions
	afterDurable func()
	saveInterval time.Duration
	onError      func(error)
	extra        []sink.Sink
}

// pipeline is a started setup.
type pipeline struct {
	guard   *crash.Guard
	crumbs  *breadcrumbs.Buffer
	backend *backendsink.Sink
	m       *sink.Manager
}

// start wires the crash guard, the breadcrumbs and the backend sink as
// the one-call setup does: Install before the backend opens its queue,
// the backend with the Guard's breadcrumbs, its Diagnostics sink in the
// Manager, Start with the Manager.
func start(s setup) (*pipeline, error) {
	p := &pipeline{crumbs: breadcrumbs.New(nil)}
	var bopts *backendsink.Options
	if s.endpoint != "" {
		bopts = &backendsink.Options{
			Endpoint:  s.endpoint,
			Dir:       s.dir,
			InstallID: "6f1c2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e",
			SessionID: s.session,
			Resource:  map[string]any{"service.name": "crash-test"},
			OnError:   s.onError,
		}
	}
	opts := crash.Options{
		Dir: s.dir, SessionID: s.session, Version: "1.2.3",
		Breadcrumbs: p.crumbs, SaveInterval: s.saveInterval,
		Backend: bopts, Diagnostics: s.diagnostics, OnError: s.onError,
	}
	var err error
	if p.guard, err = crash.Install(crash.WithAfterDurable(opts, s.afterDurable)); err != nil {
		return nil, err
	}
	sinks := append([]sink.Sink{p.crumbs}, s.extra...)
	if bopts != nil {
		bopts.Breadcrumbs = p.guard.Breadcrumbs()
		if p.backend, err = backendsink.New(*bopts); err != nil {
			return nil, errors.Join(err, p.guard.Close(context.Background()))
		}
		sinks = append(sinks, p.guard.Diagnostics(p.backend))
	}
	mopts := []sink.Option{sink.WithSanitizer(sanitizer.Default())}
	if s.onError != nil {
		mopts = append(mopts, sink.WithOnError(s.onError))
	}
	p.m = sink.NewManager(sinks, mopts...)
	p.guard.Start(p.m)
	return p, nil
}

// close shuts down as the one-call setup does: the Manager, then the
// Guard, which marks the session ended.
func (p *pipeline) close(ctx context.Context) error {
	return errors.Join(p.m.Close(ctx), p.guard.Close(ctx))
}

// startT starts a pipeline that the test closes.
func startT(t *testing.T, s setup) *pipeline {
	t.Helper()
	if s.onError == nil {
		s.onError = func(err error) { t.Logf("OnError: %v", err) }
	}
	p, err := start(s)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.close(context.Background()) })
	return p
}

// flush delivers what the pipeline holds, within ten seconds.
func (p *pipeline) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, p.m.Flush(ctx))
}

// server is the reference ingest server on 127.0.0.1, keeping entries in
// memory and attachments in a directory.
type server struct {
	*httptest.Server
	mem         *ingest.MemoryExporter
	attachments string
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{mem: &ingest.MemoryExporter{}, attachments: t.TempDir()}
	h, err := ingest.NewServer(ingest.ServerOptions{Exporter: s.mem, AllowAnonymous: true, AttachmentsDir: s.attachments})
	require.NoError(t, err)
	s.Server = httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func (s *server) logsURL() string { return s.URL + ingest.LogsPath }

// entries returns the entries received at level.
func (s *server) entries(level string) []ingest.StoredEntry {
	var out []ingest.StoredEntry
	for _, e := range s.mem.Entries() {
		if e.Level == level {
			out = append(out, e)
		}
	}
	return out
}

// attachment returns what the server stored under id.
func (s *server) attachment(t *testing.T, id string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.attachments, filepath.Base(id)))
	require.NoError(t, err)
	return string(b)
}

func crumbMessages(e ingest.StoredEntry) []string {
	var out []string
	for _, c := range e.Breadcrumbs {
		out = append(out, c.Level+" "+c.Message)
	}
	return out
}

// sessionFiles lists the files in dir that belong to session.
func sessionFiles(t *testing.T, dir, session string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if len(e.Name()) > len(session) && e.Name()[:len(session)] == session {
			out = append(out, e.Name()[len(session):])
		}
	}
	slices.Sort(out)
	return out
}
