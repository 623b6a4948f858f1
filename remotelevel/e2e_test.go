package remotelevel_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/remotelevel"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const token = "s3cret"

// referenceServer returns the reference ingest server, serving the
// configuration file it returns, wrapped to record each answer's status.
func referenceServer(t *testing.T, config string) (http.Handler, string, *statuses) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "logging.json")
	require.NoError(t, os.WriteFile(path, []byte(config), 0o600))
	srv, err := ingest.NewServer(ingest.ServerOptions{
		Exporter:   &ingest.MemoryExporter{},
		Verifier:   ingest.BearerToken(token),
		ConfigFile: path,
		OnError:    func(err error) { t.Log(err) },
	})
	require.NoError(t, err)
	st := &statuses{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		srv.ServeHTTP(rec, r)
		st.add(rec.code)
	})
	return h, path, st
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

type statuses struct {
	mu    sync.Mutex
	codes []int
}

func (s *statuses) add(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes = append(s.codes, code)
}

func (s *statuses) all() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.codes...)
}

// handlerTransport answers requests with a handler, without a socket.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

func tokenProvider(context.Context) (string, error) { return token, nil }

// TestEndToEndFollowsTheReferenceServer changes the reference server's
// configuration file while a client runs: the client's levels follow
// within one refresh interval, on the server's ETags.
func TestEndToEndFollowsTheReferenceServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, path, codes := referenceServer(t, `{"min_level":"warning","modules":{}}`)
		rec := newRecorderManager()
		c, err := remotelevel.New(rec.m, remotelevel.Options{
			Endpoint:      "https://ingest.example.internal" + ingest.LogsPath,
			Client:        &http.Client{Transport: handlerTransport{h}},
			TokenProvider: tokenProvider,
			Jitter:        -1,
		})
		require.NoError(t, err)
		defer func() { require.NoError(t, c.Close(context.Background())) }()
		synctest.Wait()
		assert.Equal(t, logrecord.LevelWarning, rec.m.Level(), "applied at start")

		time.Sleep(interval)
		synctest.Wait()
		assert.Equal(t, []int{200, 304}, codes.all(), "an unchanged file costs a 304")

		require.NoError(t, os.WriteFile(path, []byte(`{"min_level":"info","modules":{"Http":"trace"}}`), 0o600))
		time.Sleep(interval)
		synctest.Wait()
		assert.True(t, rec.m.Enabled("Http.Client", logrecord.LevelTrace), "followed within one interval")
		assert.False(t, rec.m.Enabled("App", logrecord.LevelDebug))

		until := time.Now().Add(interval + interval/2).UTC().Format(time.RFC3339Nano)
		require.NoError(t, os.WriteFile(path, []byte(`{"min_level":"debug","modules":{},"until":"`+until+`"}`), 0o600))
		time.Sleep(interval)
		synctest.Wait()
		assert.True(t, rec.m.Enabled("App", logrecord.LevelDebug))
		assert.False(t, rec.m.Enabled("Http.Client", logrecord.LevelTrace), "the override removed on the server is removed here")
		time.Sleep(interval / 2)
		synctest.Wait()
		assert.Equal(t, logrecord.LevelInfo, rec.m.Level(), "local levels once until passes")

		assert.Equal(t, []int{200, 304, 200, 200}, codes.all())
		assert.Equal(t, []string{
			"config: local -> min_level=warning",
			"config: min_level=warning -> min_level=info http=trace",
			"config: min_level=info http=trace -> min_level=debug",
			"expired: min_level=debug -> local",
		}, rec.changes())
	})
}

// TestEndToEndOverASocket runs the same against the reference server on
// 127.0.0.1, in real time with a short interval.
func TestEndToEndOverASocket(t *testing.T) {
	h, path, codes := referenceServer(t, `{"min_level":"error","modules":{}}`)
	hs := httptest.NewServer(h)
	defer hs.Close()
	m := sink.NewManager(nil)
	const every = 20 * time.Millisecond
	c, err := remotelevel.New(m, remotelevel.Options{
		Endpoint:       hs.URL + ingest.LogsPath,
		Client:         hs.Client(),
		TokenProvider:  tokenProvider,
		Interval:       every,
		BackoffInitial: every,
	})
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close(context.Background())) }()

	require.Eventually(t, func() bool { return m.Level() == logrecord.LevelError }, 5*time.Second, every/4)
	require.Eventually(t, func() bool { return len(codes.all()) >= 2 }, 5*time.Second, every/4)
	assert.Equal(t, []int{200, 304}, codes.all()[:2])

	require.NoError(t, os.WriteFile(path, []byte(`{"min_level":"info","modules":{"Http":"trace"}}`), 0o600))
	require.Eventually(t, func() bool { return m.Enabled("Http.Client", logrecord.LevelTrace) }, 5*time.Second, every/4)
	assert.Equal(t, logrecord.LevelInfo, m.Level())
	st := c.Status()
	assert.Equal(t, hs.URL+ingest.ConfigPath, st.URL)
	assert.NotEmpty(t, st.ETag)
	assert.Empty(t, st.Error)
}

// A recorderManager is a Manager whose records are kept.
type recorderManager struct {
	m   *sink.Manager
	mem *sink.Memory
}

func newRecorderManager() *recorderManager {
	mem := sink.NewMemory(100)
	return &recorderManager{m: sink.NewManager([]sink.Sink{mem}), mem: mem}
}

func (r *recorderManager) changes() []string { return changesOf(r.mem.Records()) }
