package rum

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/soliplex/fieldlog/backendsink"
	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeRoundTripper answers after a delay, without a socket.
type fakeRoundTripper struct {
	delay  time.Duration
	status int
	err    error
}

func (f fakeRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	time.Sleep(f.delay)
	if f.err != nil {
		return nil, f.err
	}
	return &http.Response{StatusCode: f.status, Body: http.NoBody, Request: req}, nil
}

func TestTransportRecords(t *testing.T) {
	tests := []struct {
		name    string
		base    fakeRoundTripper
		level   logrecord.Level
		message string
		want    map[string]any
	}{
		{
			name:    "slow",
			base:    fakeRoundTripper{delay: 2 * time.Second, status: 200},
			level:   logrecord.LevelWarning,
			message: "slow call",
			want:    map[string]any{"ms": 2000.0, "status": int64(200)},
		},
		{
			name:    "server error",
			base:    fakeRoundTripper{delay: 5 * time.Millisecond, status: 503},
			level:   logrecord.LevelWarning,
			message: "call failed",
			want:    map[string]any{"ms": 5.0, "status": int64(503)},
		},
		{
			name:    "transport error",
			base:    fakeRoundTripper{delay: 7 * time.Millisecond, err: fmt.Errorf("dial: %w", syscall.ECONNREFUSED)},
			level:   logrecord.LevelWarning,
			message: "call failed",
			want:    map[string]any{"ms": 7.0, "error_class": "refused"},
		},
		{
			name:    "fast, with debug on",
			base:    fakeRoundTripper{delay: 3 * time.Millisecond, status: 404},
			level:   logrecord.LevelDebug,
			message: "call",
			want:    map[string]any{"ms": 3.0, "status": int64(404)},
		},
		{
			name:    "canceled by the caller",
			base:    fakeRoundTripper{delay: time.Millisecond, err: context.Canceled},
			level:   logrecord.LevelDebug,
			message: "call",
			want:    map[string]any{"ms": 1.0, "error_class": "canceled"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, Options{SlowCall: time.Second}, deps{})
				h.mgr.SetLoggerLevel("rum.http.client", logrecord.LevelDebug)
				client := &http.Client{Transport: h.Transport(tt.base)}
				resp, err := client.Get("http://api.test:8080/v1/items?token=hunter2")
				if tt.base.err == nil {
					require.NoError(t, err)
					resp.Body.Close()
				}
				r := h.one(t, metricClientRequest)
				assert.Equal(t, tt.level, r.Level)
				assert.Equal(t, tt.message, r.Message)
				assert.Equal(t, "rum.http.client", r.Logger)
				assert.Equal(t, logrecord.CategoryNetwork, r.Category())
				want := map[string]any{
					"metric": metricClientRequest, "method": "GET", "host": "api.test:8080", "path": "/v1/items",
					"breadcrumb_category": "network",
				}
				for k, v := range tt.want {
					want[k] = v
				}
				assert.Equal(t, want, attrs(r))
				if tt.base.err != nil {
					assert.Equal(t, tt.base.err.Error(), r.Error)
				}
				h.close(t)
				for _, r := range h.rec.Records() {
					for a := range r.Attrs {
						assert.NotContains(t, a.Value.String(), "hunter2", "the query string is never logged")
					}
				}
			})
		})
	}
}

func TestTransportFastCallsOnlyCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Options{}, deps{})
		ok := h.Transport(fakeRoundTripper{delay: 10 * time.Millisecond, status: 200})
		broken := h.Transport(fakeRoundTripper{delay: 30 * time.Millisecond, status: 502})
		timeout := h.Transport(fakeRoundTripper{delay: 20 * time.Millisecond, err: os.ErrDeadlineExceeded})
		for _, tc := range []struct {
			rt     http.RoundTripper
			method string
		}{{ok, "GET"}, {ok, "GET"}, {broken, "GET"}, {timeout, "GET"}, {ok, "POST"}} {
			req := httptest.NewRequest(tc.method, "http://api.test/x", nil)
			if resp, err := tc.rt.RoundTrip(req); err == nil {
				resp.Body.Close()
			}
		}
		assert.Len(t, h.records(metricClientRequest), 2, "only the failures")
		h.close(t)
		sums := map[string]map[string]any{}
		for _, r := range h.records(metricClientSummary) {
			assert.Equal(t, "host summary", r.Message)
			a := attrs(r)
			sums[a["method"].(string)] = a
		}
		assert.Equal(t, map[string]any{
			"metric": metricClientSummary, "host": "api.test", "method": "GET",
			"count": uint64(4), "ms": 17.5, "p50_ms": 10.24, "p95_ms": 30.0, "p99_ms": 30.0, "max_ms": 30.0,
			"status_5xx": uint64(1), "errors": map[string]any{"timeout": uint64(1)},
			"slow": uint64(0), "suppressed": uint64(0), "window_ms": 80.0,
			"breadcrumb_category": "network",
		}, sums["GET"])
		assert.Equal(t, uint64(1), sums["POST"]["count"])
	})
}

// The tests below make real calls to servers on 127.0.0.1, in real time.

func TestTransportRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	h := newHarness(t, Options{}, deps{})
	client := &http.Client{Transport: h.Transport(&http.Transport{})}
	_, err = client.Get("http://" + addr + "/health?x=1")
	require.Error(t, err)
	r := h.one(t, metricClientRequest)
	assert.Equal(t, logrecord.LevelWarning, r.Level)
	a := attrs(r)
	assert.Equal(t, "refused", a["error_class"])
	assert.Equal(t, addr, a["host"])
	assert.Equal(t, "/health", a["path"])
	assert.Contains(t, r.Error, "refused")
	h.close(t)
}

func TestTransportTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	h := newHarness(t, Options{SlowCall: time.Hour}, deps{})
	client := &http.Client{Transport: h.Transport(&http.Transport{}), Timeout: 50 * time.Millisecond}
	_, err := client.Get(srv.URL + "/hang")
	require.Error(t, err)
	a := attrs(h.one(t, metricClientRequest))
	assert.Equal(t, "timeout", a["error_class"])
	// The client's 50 ms clock starts before the transport is called:
	// the call is timed to the timeout, give or take that head start.
	assert.Greater(t, a["ms"], 25.0)
	assert.Less(t, a["ms"], 5000.0)
	h.close(t)
}

func TestTransportErrorClasses(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer plain.Close()
	untrusted := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	untrusted.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake errors are the point
	untrusted.StartTLS()
	defer untrusted.Close()
	reset := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		conn.(*net.TCPConn).SetLinger(0) // close with RST
		conn.Close()
	}))
	defer reset.Close()
	hangup := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close() // close without an answer
		}
	}))
	defer hangup.Close()
	noDNS := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "api.invalid", IsNotFound: true}}
	}}

	tests := []struct {
		name  string
		base  http.RoundTripper
		url   string
		class string
	}{
		{"dns", noDNS, "http://api.invalid/", "dns"},
		{"tls: untrusted certificate", &http.Transport{}, untrusted.URL, "tls"},
		{"tls: not a TLS server", &http.Transport{}, strings.Replace(plain.URL, "http:", "https:", 1), "tls"},
		{"reset", &http.Transport{}, reset.URL, "reset"},
		{"closed without an answer", &http.Transport{}, hangup.URL, "reset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{}, deps{})
			client := &http.Client{Transport: h.Transport(tt.base)}
			_, err := client.Get(tt.url)
			require.Error(t, err)
			r := h.one(t, metricClientRequest)
			assert.Equal(t, tt.class, attrs(r)["error_class"], "error: %v", err)
			h.close(t)
			sum := attrs(h.one(t, metricClientSummary))
			assert.Equal(t, map[string]any{tt.class: uint64(1)}, sum["errors"])
		})
	}
}

func TestTransportRealServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "pong")
	}))
	defer srv.Close()
	h := newHarness(t, Options{}, deps{})
	client := &http.Client{Transport: h.Transport(nil)}
	defer client.CloseIdleConnections()
	for range 3 {
		resp, err := client.Get(srv.URL + "/ping")
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, "pong", string(body))
	}
	assert.Empty(t, h.records(metricClientRequest))
	h.close(t)
	sum := attrs(h.one(t, metricClientSummary))
	assert.Equal(t, uint64(3), sum["count"])
	assert.Equal(t, srv.Listener.Addr().String(), sum["host"])
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"dns", &net.DNSError{Err: "no such host", Name: "x.invalid"}, "dns"},
		{"dns timeout stays dns", &net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}, "dns"},
		{"refused", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, "refused"},
		{"reset", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, "reset"},
		{"broken pipe", &net.OpError{Op: "write", Err: os.NewSyscallError("write", syscall.EPIPE)}, "reset"},
		{"eof", fmt.Errorf("read: %w", io.EOF), "reset"},
		{"deadline", context.DeadlineExceeded, "timeout"},
		{"i/o timeout", &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}, "timeout"},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), "canceled"},
		{"tls record", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, "tls"},
		{"tls alert", tls.AlertError(40), "tls"},
		{"tls alert from the peer", &net.OpError{Op: "remote error", Err: errors.New("tls: bad certificate")}, "tls"},
		{"anything else", errors.New("strange"), "other"},
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	assert.Equal(t, "timeout", classNames[classify(expired, errors.New("net/http: request canceled"))], "the context's deadline is the cause")
	assert.Equal(t, "canceled", classNames[classify(canceled, errors.New("net/http: request canceled"))])
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, classNames[classify(context.Background(), tt.err)])
		})
	}
}

// TestTransportSkipsOwnRequests puts the transport under a backend sink:
// its uploads must not be measured, or shipping logs would make more.
func TestTransportSkipsOwnRequests(t *testing.T) {
	h := newHarness(t, Options{SlowCall: time.Nanosecond}, deps{})
	ingest := sinktest.NewIngest()
	backend, err := backendsink.New(backendsink.Options{
		Endpoint: "http://ingest.test/api/v1/logs",
		Dir:      t.TempDir(),
		Client:   &http.Client{Transport: h.Transport(ingest)},
	})
	require.NoError(t, err)
	h.mgr.AddSink(backend)

	h.mgr.Logger("App").Info("hello")
	require.NoError(t, backend.Flush(t.Context()))
	require.NoError(t, backend.Close(t.Context()))
	require.Equal(t, []string{"hello"}, ingest.Messages(), "the upload went through the transport")
	h.close(t)
	assert.Empty(t, h.records(metricClientRequest))
	assert.Empty(t, h.records(metricClientSummary))
}

func TestTransportAfterClosePassesThrough(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Options{SlowCall: time.Nanosecond}, deps{})
		h.close(t)
		n := h.rec.Len()
		resp, err := h.Transport(fakeRoundTripper{status: 200}).RoundTrip(httptest.NewRequest("GET", "http://x/", nil))
		require.NoError(t, err)
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, n, h.rec.Len())
	})
}

var _ sink.Sink = (*backendsink.Sink)(nil)
