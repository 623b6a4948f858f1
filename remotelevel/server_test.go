package remotelevel_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/internal/ownreq"
	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/remotelevel"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/require"
)

// A configServer is an in-memory configuration endpoint: an
// http.RoundTripper, so tests that use it run inside a synctest bubble.
// It serves config with an ETag of its own and answers 304 to a matching
// If-None-Match, unless told to fail.
type configServer struct {
	mu     sync.Mutex
	config string      // served with 200
	status int         // when set, every answer has this status and body
	body   string      // the body of a status answer
	header http.Header // added to every answer
	fail   error       // when set, the transport fails with it
	hang   bool        // when set, a request waits for its context to end
	reqs   []seen
}

// seen is one request as the server saw it.
type seen struct {
	at     time.Time
	header http.Header
	own    bool // marked as fieldlog's own
	answer int  // status answered; 0 for a transport failure
}

func newServer(config string) *configServer { return &configServer{config: config} }

func (s *configServer) client() *http.Client { return &http.Client{Transport: s} }

func (s *configServer) set(f func(s *configServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *configServer) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	r := seen{at: time.Now(), header: req.Header.Clone(), own: ownreq.Is(req.Context())}
	fail, hang, status, body, config := s.fail, s.hang, s.status, s.body, s.config
	extra := s.header.Clone()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.reqs = append(s.reqs, r)
		s.mu.Unlock()
	}()
	if hang {
		<-req.Context().Done()
		return nil, req.Context().Err()
	}
	if fail != nil {
		return nil, fail
	}
	rec := httptest.NewRecorder()
	for k, v := range extra {
		rec.Header()[k] = v
	}
	switch tag := etagOf(config); {
	case status != 0:
		rec.WriteHeader(status)
		_, _ = io.WriteString(rec, body)
	case req.Header.Get("If-None-Match") == tag:
		rec.Header().Set("ETag", tag)
		rec.WriteHeader(http.StatusNotModified)
	default:
		rec.Header().Set("ETag", tag)
		rec.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(rec, config)
	}
	resp := rec.Result()
	resp.Request = req
	r.answer = resp.StatusCode
	return resp, nil
}

func etagOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

func (s *configServer) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

// answers returns the status of each request, in order.
func (s *configServer) answers() []int {
	var out []int
	for _, r := range s.requests() {
		out = append(out, r.answer)
	}
	return out
}

// gaps returns the time between consecutive requests.
func (s *configServer) gaps() []time.Duration {
	reqs := s.requests()
	var out []time.Duration
	for i := 1; i < len(reqs); i++ {
		out = append(out, reqs[i].at.Sub(reqs[i-1].at))
	}
	return out
}

// A fixture is a Manager with a recording sink and a Client on a
// configServer.
type fixture struct {
	m      *sink.Manager
	rec    *sinktest.Recorder
	srv    *configServer
	c      *remotelevel.Client
	errors *sinktest.Errors
	probes int
}

// newFixture starts a Client with opts on srv; local, when set, configures
// the Manager's local levels first. The Client is closed at cleanup.
func newFixture(t *testing.T, srv *configServer, opts remotelevel.Options, local func(m *sink.Manager)) *fixture {
	t.Helper()
	f := &fixture{rec: sinktest.NewRecorder(), srv: srv, errors: &sinktest.Errors{}}
	f.m = sink.NewManager([]sink.Sink{f.rec}, sink.WithOnError(func(err error) { t.Error(err) }))
	if local != nil {
		local(f.m)
	}
	if opts.Endpoint == "" && opts.URL == "" {
		opts.Endpoint = "https://logs.example.internal/api/v1/logs"
	}
	if opts.Client == nil {
		opts.Client = srv.client()
	}
	opts.OnError = f.errors.Add
	c, err := remotelevel.New(f.m, opts)
	require.NoError(t, err)
	f.c = c
	t.Cleanup(func() { require.NoError(t, c.Close(context.Background())) })
	return f
}

// changes returns the log_level_changed records as "reason: old -> new".
func (f *fixture) changes() []string { return changesOf(f.rec.Records()) }

func changesOf(records []logrecord.Record) []string {
	var out []string
	for _, r := range records {
		if r.Message != "log_level_changed" {
			continue
		}
		reason, _ := r.Attr("reason")
		old, _ := r.Attr("old")
		nw, _ := r.Attr("new")
		out = append(out, reason.String()+": "+old.String()+" -> "+nw.String())
	}
	return out
}

// logged logs one record per level through logger and returns the levels
// of those that reached the sink.
func (f *fixture) logged(logger string) []string {
	f.probes++
	marker := fmt.Sprintf("probe %d", f.probes)
	l := f.m.Logger(logger)
	for _, lv := range logrecord.Levels() {
		l.Log(context.Background(), lv, marker, nil)
	}
	var out []string
	for _, r := range f.rec.Records() {
		if r.Message == marker {
			out = append(out, r.Level.String())
		}
	}
	return out
}
