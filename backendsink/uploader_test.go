package backendsink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/internal/wire"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A fakePoster answers uploads from a script, without a network: the
// reaction table is tested by calling the uploader's cycle directly, with
// no goroutine and a clock that moves only when told.
type fakePoster struct {
	answer func(req *request) Answer
	reqs   []request
}

func (f *fakePoster) post(ctx context.Context, req *request) Answer {
	r := *req
	r.body = bytes.Clone(req.body)
	f.reqs = append(f.reqs, r)
	if err := ctx.Err(); err != nil {
		return Answer{Err: err, Sent: req.sent, Gzip: req.gzip}
	}
	a := f.answer(req)
	a.Sent, a.Gzip = req.sent, req.gzip
	return a
}

func ack(req *request) Answer {
	return Answer{Status: http.StatusOK, Body: wire.AppendAck(nil, req.sent)}
}

func status(code int) func(*request) Answer {
	return func(*request) Answer { return Answer{Status: code, Body: []byte(`{"detail":"no"}`)} }
}

// unless answers ack, except code for requests whose body holds marker.
func unless(marker string, code int) func(*request) Answer {
	return func(req *request) Answer {
		if bytes.Contains(req.body, []byte(marker)) {
			return Answer{Status: code}
		}
		return ack(req)
	}
}

type testUploader struct {
	*uploader
	poster   *fakePoster
	store    *memStore
	reported *sinktest.Errors
	clock    time.Time
}

func newTestUploader(t *testing.T, opts Options, answer func(*request) Answer) *testUploader {
	t.Helper()
	if opts.Endpoint == "" {
		opts.Endpoint = "http://ingest.test/api/v1/logs"
	}
	require.NoError(t, opts.fill())
	tu := &testUploader{poster: &fakePoster{answer: answer}, store: newMemStore(), reported: &sinktest.Errors{},
		clock: time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC)}
	var endpoint atomic.Pointer[string]
	endpoint.Store(&opts.Endpoint)
	var ident atomic.Pointer[identity]
	ident.Store(&identity{})
	tu.uploader = newUploader(&opts, tu.store, tu.poster, &statsState{}, tu.reported.Add, &endpoint, &ident)
	tu.uploader.now = func() time.Time { return tu.clock }
	return tu
}

// add queues n encoded records named m0, m1, ….
func (tu *testUploader) add(t *testing.T, n int, name func(int) string) {
	for i := range n {
		r := logrecord.New(tu.clock, logrecord.LevelInfo, "App", name(i))
		require.NoError(t, tu.store.Append(t.Context(), false, encodeEntry(nil, r, &entryMeta{installID: "i", sessionID: "s"}, MaxEntryBytes)))
	}
}

// flush runs an explicit cycle, as Flush does.
func (tu *testUploader) flush(ctx context.Context) error {
	return tu.cycle(ctx, trigger{explicit: true})
}

// afterBackoff moves the clock to the end of the current backoff.
func (tu *testUploader) afterBackoff() {
	if tu.retryAt.After(tu.clock) {
		tu.clock = tu.retryAt
	}
}

func name(i int) string { return fmt.Sprint("m", i) }

func TestUploaderReactions(t *testing.T) {
	tests := []struct {
		name        string
		opts        Options
		answer      func(*request) Answer
		records     int
		cycles      int // flushes, the clock moving past each backoff
		wantErr     error
		wantPending int
		wantDropped map[string]int64
		check       func(t *testing.T, tu *testUploader, err error)
	}{
		{
			name: "acknowledged: confirmed", answer: ack, records: 3,
			check: func(t *testing.T, tu *testUploader, _ error) {
				assert.EqualValues(t, 3, tu.stats.confirmed.Load())
				assert.True(t, tu.retryAt.IsZero())
			},
		},
		{
			name: "2xx that acknowledges nothing: kept, backing off",
			answer: func(*request) Answer {
				return Answer{Status: 200, Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte("<html>portal</html>")}
			},
			records: 3, wantErr: ErrBackoff, wantPending: 3,
			check: func(t *testing.T, tu *testUploader, err error) {
				var se *StatusError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, 200, se.Code)
				assert.Equal(t, "unexpected", tu.stopKey)
				assert.WithinDuration(t, tu.clock.Add(time.Second), tu.retryAt, 200*time.Millisecond, "the first backoff, jittered")
			},
		},
		{
			name: "2xx with the wrong count: kept",
			answer: func(req *request) Answer {
				return Answer{Status: 200, Body: wire.AppendAck(nil, req.sent-1)}
			},
			records: 3, cycles: 4, wantErr: ErrBackoff, wantPending: 3,
		},
		{
			name: "ConfirmAny2xx: any 2xx confirms", opts: Options{ConfirmAny2xx: true}, answer: status(204), records: 3,
		},
		{
			name: "redirect: paused, with where it points",
			answer: func(*request) Answer {
				return Answer{Status: 308, Header: http.Header{"Location": {"https://new.example/api/v1/logs"}}}
			},
			records: 2, wantErr: ErrPaused, wantPending: 2,
			check: func(t *testing.T, tu *testUploader, err error) {
				assert.Equal(t, PausedEndpoint, tu.paused)
				var se *StatusError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, "https://new.example/api/v1/logs", se.Location)
				assert.Len(t, tu.poster.reqs, 1)
			},
		},
		{
			name: "401: paused until the token changes", answer: status(401), records: 2, cycles: 3, wantErr: ErrPaused, wantPending: 2,
			opts: Options{TokenProvider: func(context.Context) (string, error) { return "token-1", nil }},
			check: func(t *testing.T, tu *testUploader, _ error) {
				assert.Equal(t, PausedAuth, tu.paused)
				assert.Len(t, tu.poster.reqs, 1, "no request while paused with the same token")
			},
		},
		{
			name: "413: split, a single record still too large dropped", records: 20,
			answer: func(req *request) Answer {
				if req.sent > 4 || bytes.Contains(req.body, []byte("m13")) {
					return Answer{Status: 413}
				}
				return ack(req)
			},
			wantDropped: map[string]int64{DropTooLarge: 1},
		},
		{
			name: "422: bisected to the rejected records", records: 40, answer: unless(`"m3`, 422),
			wantDropped: map[string]int64{DropRejected: 11}, // m3 and m30 to m39
			check: func(t *testing.T, tu *testUploader, _ error) {
				assert.Equal(t, 11, bytes.Count([]byte(tu.reported.Text()), []byte("(rejected)")))
			},
		},
		{
			name: "429: backing off for Retry-After", records: 1, wantErr: ErrBackoff, wantPending: 1,
			answer: func(*request) Answer { return Answer{Status: 429, Header: http.Header{"Retry-After": {"7"}}} },
			check: func(t *testing.T, tu *testUploader, _ error) {
				assert.Equal(t, tu.clock.Add(7*time.Second), tu.retryAt)
			},
		},
		{
			name: "500 three times: isolated, the poison pill dropped", records: 10, cycles: 12, answer: unless("m6", 500),
			wantDropped: map[string]int64{DropPoison: 1},
		},
		{
			name: "500 everywhere: never dropped", records: 10, cycles: 20, answer: status(500), wantErr: ErrBackoff, wantPending: 10,
		},
		{
			name: "gzip refused: sent again uncompressed", opts: Options{Gzip: true}, records: 3,
			answer: func(req *request) Answer {
				if req.gzip {
					return Answer{Status: 415}
				}
				return ack(req)
			},
			check: func(t *testing.T, tu *testUploader, _ error) {
				require.Len(t, tu.poster.reqs, 2)
				assert.True(t, tu.poster.reqs[0].gzip)
				assert.False(t, tu.poster.reqs[1].gzip)
				assert.True(t, tu.plain["http://ingest.test/api/v1/logs"])
				assert.Contains(t, tu.reported.Text(), "sending uncompressed bodies")
			},
		},
		{
			name: "unreachable: kept", records: 2, wantErr: ErrBackoff, wantPending: 2,
			answer: func(*request) Answer { return Answer{Err: errors.New("dial tcp: connection refused")} },
			check: func(t *testing.T, tu *testUploader, err error) {
				assert.ErrorContains(t, err, "connection refused")
				assert.EqualValues(t, 1, tu.stats.retries.Load())
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tu := newTestUploader(t, tt.opts, tt.answer)
			tu.add(t, tt.records, name)
			var err error
			for range max(tt.cycles, 1) {
				tu.afterBackoff()
				if err = tu.flush(t.Context()); err == nil {
					break
				}
			}
			if tt.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.wantErr)
			}
			assert.Equal(t, tt.wantPending, tu.store.Pending())
			wantDropped := tt.wantDropped
			if wantDropped == nil {
				wantDropped = map[string]int64{}
			}
			assert.Equal(t, wantDropped, tu.store.Lost())
			if tt.check != nil {
				tt.check(t, tu, err)
			}
		})
	}
}

// TestUploaderCanceledUploadIsNoVerdict: an upload ended by its caller's
// context says nothing about the server: no backoff, no failure counted.
func TestUploaderCanceledUploadIsNoVerdict(t *testing.T) {
	tu := newTestUploader(t, Options{}, ack)
	tu.add(t, 2, name)
	ctx, cancel := context.WithCancel(t.Context())
	tu.poster.answer = func(*request) Answer { cancel(); return Answer{Err: context.Canceled} }
	assert.ErrorIs(t, tu.flush(ctx), context.Canceled)
	assert.True(t, tu.retryAt.IsZero())
	assert.Zero(t, tu.stats.retries.Load())
	assert.Equal(t, 2, tu.store.Pending())
}

// TestUploaderTellsOnce: a stop worth telling is reported once by
// background uploads, and not at all when a Flush returned it.
func TestUploaderTellsOnce(t *testing.T) {
	portal := func(*request) Answer { return Answer{Status: 200, Body: []byte("<html>")} }
	tu := newTestUploader(t, Options{}, portal)
	tu.add(t, 1, name)
	for range 5 {
		tu.afterBackoff()
		tu.background(t.Context(), trigger{})
	}
	require.Len(t, tu.reported.All(), 1)
	assert.ErrorIs(t, tu.reported.All()[0], ErrBackoff)

	tu.poster.answer = ack
	tu.afterBackoff()
	tu.background(t.Context(), trigger{})
	assert.Zero(t, tu.store.Pending())

	tu.add(t, 1, name)
	tu.poster.answer = portal
	tu.afterBackoff()
	require.Error(t, tu.flush(t.Context()))
	tu.told = tu.stopKey // as run does for a Flush
	for range 3 {
		tu.afterBackoff()
		tu.background(t.Context(), trigger{})
	}
	assert.Len(t, tu.reported.All(), 1, "a new episode returned by Flush is not reported as well")
}
