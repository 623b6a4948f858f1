package crash_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/soliplex/fieldlog/breadcrumbs"
	"github.com/soliplex/fieldlog/crash"
	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sanitizer"
	"github.com/soliplex/fieldlog/sink"
)

// An error record arrives with the id of a goroutine dump that the
// reference server stored, redacted; the breadcrumbs are those before the
// error; a second error within the interval gets no dump.
func TestDiagnosticsAttachmentIsStoredRedacted(t *testing.T) {
	srv := newServer(t)
	ready, stop := make(chan struct{}), make(chan struct{})
	go parkedAtHome(ready, stop)
	<-ready
	defer close(stop)

	p := startT(t, setup{dir: t.TempDir(), session: uuid.NewString(), endpoint: srv.logsURL(),
		diagnostics: &crash.DiagnosticsOptions{}})
	log := p.m.Logger("Billing")
	log.Debug("fetching invoice 7")
	log.Error("invoice failed", errors.New("timeout"))
	log.Error("invoice failed again", errors.New("timeout"))
	p.flush(t)

	errs := srv.entries("error")
	require.Len(t, errs, 2)
	first, second := errs[0], errs[1]
	if first.Message != "invoice failed" {
		first, second = second, first
	}
	id, ok := first.Attributes[crash.GoroutinesKey].(string)
	require.True(t, ok, "attributes: %v", first.Attributes)
	dump := srv.attachment(t, id)
	assert.Contains(t, dump, "goroutine ")
	assert.Contains(t, dump, "parkedAtHome")
	assert.Contains(t, dump, "~/project/worker.go:", "the home directory is redacted")
	assert.NotContains(t, dump, "/home/alice")
	assert.Equal(t, []string{"debug fetching invoice 7"}, crumbMessages(first),
		"the breadcrumbs it had when it was logged")
	assert.NotContains(t, second.Attributes, crash.GoroutinesKey, "one dump per interval")
	assert.Equal(t, []string{"debug fetching invoice 7", "error invoice failed"}, crumbMessages(second))
}

// With the attachment endpoint down, the record goes on at once, saying
// why it has no dump.
func TestDiagnosticsEndpointDown(t *testing.T) {
	srv := newServer(t)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	p := startT(t, setup{dir: t.TempDir(), session: uuid.NewString(), endpoint: srv.logsURL(),
		diagnostics: &crash.DiagnosticsOptions{URL: down.URL + "/api/v1/attachments", Wait: time.Hour}})
	p.m.Logger("Billing").Error("invoice failed", errors.New("timeout"))
	p.flush(t) // would wait an hour for a record held back
	errs := srv.entries("error")
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Attributes[crash.DiagnosticsErrorKey], "connection refused")
	assert.NotContains(t, errs[0].Attributes, crash.GoroutinesKey)
}

// attachments is an in-memory attachment endpoint.
type attachments struct {
	calls   atomic.Int32
	release chan struct{} // when set, answers wait for it
	refuse  bool
	bodies  chan string
}

func (a *attachments) RoundTrip(req *http.Request) (*http.Response, error) {
	a.calls.Add(1)
	if a.refuse {
		return nil, errors.New("connection refused")
	}
	body, _ := io.ReadAll(req.Body)
	if a.bodies != nil {
		a.bodies <- string(body)
	}
	if a.release != nil {
		select {
		case <-a.release:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	return &http.Response{StatusCode: 201, Body: io.NopCloser(strings.NewReader(`{"id":"a1b2","bytes":1}`)),
		Header: http.Header{}, Request: req}, nil
}

// diagRig is a Guard with diagnostics in front of a recorder.
type diagRig struct {
	guard *crash.Guard
	next  *sinktest.Recorder
	m     *sink.Manager
}

func newDiagRig(t *testing.T, dir string, a *attachments, o crash.DiagnosticsOptions) *diagRig {
	t.Helper()
	crumbs := breadcrumbs.New(nil)
	o.URL = "http://ingest.test/api/v1/attachments"
	o.Client = &http.Client{Transport: a}
	g, err := crash.Install(crash.Options{Dir: dir, SessionID: uuid.NewString(), Breadcrumbs: crumbs,
		Diagnostics: &o, SaveInterval: time.Hour, OnError: func(error) {}})
	require.NoError(t, err)
	r := &diagRig{guard: g, next: sinktest.NewRecorder()}
	r.m = sink.NewManager([]sink.Sink{crumbs, g.Diagnostics(r.next)}, sink.WithSanitizer(sanitizer.Default()))
	g.Start(r.m)
	return r
}

func (r *diagRig) close(t *testing.T) {
	require.NoError(t, r.m.Close(context.Background()))
	require.NoError(t, r.guard.Close(context.Background()))
}

func (r *diagRig) messages() []string {
	var out []string
	for _, rec := range r.next.Records() {
		out = append(out, rec.Message)
	}
	return out
}

func (r *diagRig) last() logrecord.Record {
	recs := r.next.Records()
	return recs[len(recs)-1]
}

// A slow upload holds the record exactly Wait, off the caller's
// goroutine; the ids follow in a record of their own.
func TestDiagnosticsWaitIsBounded(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		a := &attachments{release: make(chan struct{})}
		rig := newDiagRig(t, dir, a, crash.DiagnosticsOptions{Wait: 2 * time.Second})
		start := time.Now()
		rig.m.Logger("Billing").Error("invoice failed", errors.New("timeout"))
		assert.Zero(t, time.Since(start), "the caller does not wait")
		time.Sleep(2*time.Second - time.Nanosecond)
		synctest.Wait()
		assert.Empty(t, rig.messages(), "held while the upload runs")
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		require.Equal(t, []string{"invoice failed"}, rig.messages(), "on its way after Wait")
		v, _ := rig.last().Attr(crash.DiagnosticsPendingKey)
		assert.True(t, v.Bool())

		close(a.release)
		synctest.Wait()
		require.Equal(t, []string{"invoice failed", "diagnostics attached"}, rig.messages())
		id, _ := rig.last().Attr(crash.GoroutinesKey)
		assert.Equal(t, "a1b2", id.String())
		for_, _ := rig.last().Attr(crash.ForMessageKey)
		assert.Equal(t, "invoice failed", for_.String())
		rig.close(t)
	})
}

func TestDiagnosticsFailedUploadDoesNotWait(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		rig := newDiagRig(t, dir, &attachments{refuse: true}, crash.DiagnosticsOptions{Wait: time.Hour})
		rig.m.Logger("Billing").Error("invoice failed", errors.New("timeout"))
		synctest.Wait()
		require.Equal(t, []string{"invoice failed"}, rig.messages(), "at once")
		v, _ := rig.last().Attr(crash.DiagnosticsErrorKey)
		assert.Contains(t, v.String(), "connection refused")
		rig.close(t)
	})
}

func TestDiagnosticsRateLimit(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		a := &attachments{}
		rig := newDiagRig(t, dir, a, crash.DiagnosticsOptions{})
		log := rig.m.Logger("Billing")
		for i := range 5 {
			log.Error("failure", errors.New("timeout"), "n", i)
			synctest.Wait()
		}
		assert.EqualValues(t, 1, a.calls.Load(), "one dump a minute by default")
		time.Sleep(time.Minute)
		log.Error("later failure", errors.New("timeout"))
		log.Warn("not an error")
		synctest.Wait()
		assert.EqualValues(t, 2, a.calls.Load())
		assert.Len(t, rig.next.Records(), 7, "every record arrives")
		with := 0
		for _, r := range rig.next.Records() {
			if _, ok := r.Attr(crash.GoroutinesKey); ok {
				with++
			}
		}
		assert.Equal(t, 2, with)
		rig.close(t)
	})
}

// A fatal record goes on at once (Recover needs it on disk); its dump's
// id follows.
func TestDiagnosticsNeverHoldFatal(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		a := &attachments{release: make(chan struct{})}
		rig := newDiagRig(t, dir, a, crash.DiagnosticsOptions{})
		func() {
			defer rig.guard.Swallowing().Recover()
			panic("fatal here")
		}()
		assert.Equal(t, []string{"panic: fatal here"}, rig.messages(), "written before Recover returned")
		close(a.release)
		synctest.Wait()
		assert.Equal(t, []string{"panic: fatal here", "diagnostics attached"}, rig.messages())
		rig.close(t)
	})
}

// Close does not wait for an upload: the held record goes on at once.
func TestDiagnosticsCloseForwardsHeldRecords(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		a := &attachments{release: make(chan struct{})}
		rig := newDiagRig(t, dir, a, crash.DiagnosticsOptions{Wait: time.Hour})
		rig.m.Logger("Billing").Error("invoice failed", errors.New("timeout"))
		synctest.Wait()
		assert.Empty(t, rig.messages())
		start := time.Now()
		rig.close(t)
		assert.Zero(t, time.Since(start))
		assert.Equal(t, []string{"invoice failed"}, rig.messages())
		assert.Equal(t, 1, rig.next.Closes(), "closing the sink closes next")
	})
}

func TestDiagnosticsOffWithoutOptions(t *testing.T) {
	g, err := crash.Install(crash.Options{Dir: t.TempDir(), SessionID: uuid.NewString()})
	require.NoError(t, err)
	defer g.Close(context.Background())
	next := sinktest.NewRecorder()
	assert.Same(t, next, g.Diagnostics(next))
}
