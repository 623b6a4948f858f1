package otlp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/otlp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// fakeCollector decodes OTLP/HTTP requests with the Collector's own pdata
// decoder.
type fakeCollector struct {
	mu   sync.Mutex
	logs []plog.Logs
	fail bool
}

func (c *fakeCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	c.logs = append(c.logs, req.Logs())
	out, _ := plogotlp.NewExportResponse().MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func decode(t *testing.T, body string) []ingest.StoredEntry {
	t.Helper()
	p, err := ingest.DecodeBytes([]byte(body))
	require.NoError(t, err)
	out := make([]ingest.StoredEntry, len(p.Logs))
	for i, e := range p.Logs {
		out[i] = ingest.StoredEntry{Entry: e, Resource: p.Resource}
	}
	return out
}

const batch = `{"logs":[{
  "timestamp":"2026-02-06T12:00:00.123Z","level":"error","logger":"Http","message":"Request failed: 500",
  "attributes":{"url":"/api/v1/chat","status":500,"ratio":0.5,"ok":false,"retry":{"n":2},"tags":["a","b"],"server.received_at":"2026-02-06T12:00:01.000Z","error.fingerprint":"fp1:0123"},
  "error":"HttpException: 500","stack_trace":"goroutine 7 [running]:\nmain.main()\n\t/src/main.go:42 +0x1d",
  "span_id":"00f067aa0ba902b7","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736",
  "install_id":"install-1","session_id":"session-1","user_id":"user-1","active_run":{"thread_id":"t1","run_id":"r1"},
  "breadcrumbs":[{"timestamp":"2026-02-06T11:59:59.000Z","level":"info","logger":"Router","message":"Navigated to /chat","category":"ui"}]
},{
  "timestamp":"2026-02-06T12:00:02Z","level":"warning","logger":"Router","message":"slow","install_id":"install-1","session_id":"session-1"
}],"resource":{"service.name":"billing","service.version":"1.4.2"}}`

func TestExportMapsFieldsForTheCollector(t *testing.T) {
	col := &fakeCollector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	exp, err := otlp.New(t.Context(), otlp.Options{EndpointURL: srv.URL + "/v1/logs", Naming: ingest.OTelNames})
	require.NoError(t, err)
	defer exp.Close(context.Background())

	require.NoError(t, exp.Export(t.Context(), decode(t, batch)))

	col.mu.Lock()
	defer col.mu.Unlock()
	require.Len(t, col.logs, 1, "one OTLP request per export")
	logs := col.logs[0]
	require.Equal(t, 1, logs.ResourceLogs().Len())
	rl := logs.ResourceLogs().At(0)
	svc, _ := rl.Resource().Attributes().Get("service.name")
	assert.Equal(t, "billing", svc.Str())

	scopes := map[string]plog.LogRecord{}
	for i := 0; i < rl.ScopeLogs().Len(); i++ {
		sl := rl.ScopeLogs().At(i)
		require.Equal(t, 1, sl.LogRecords().Len())
		scopes[sl.Scope().Name()] = sl.LogRecords().At(0)
	}
	require.Contains(t, scopes, "Http", "logger → scope")
	r := scopes["Http"]
	assert.Equal(t, "2026-02-06T12:00:00.123Z", r.Timestamp().AsTime().UTC().Format("2006-01-02T15:04:05.000Z"))
	assert.Equal(t, "2026-02-06T12:00:01.000Z", r.ObservedTimestamp().AsTime().UTC().Format("2006-01-02T15:04:05.000Z"))
	assert.Equal(t, plog.SeverityNumber(17), r.SeverityNumber())
	assert.Equal(t, "ERROR", r.SeverityText())
	assert.Equal(t, "Request failed: 500", r.Body().Str())
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", r.TraceID().String())
	assert.Equal(t, "00f067aa0ba902b7", r.SpanID().String())

	attr := func(k string) pcommon.Value {
		v, ok := r.Attributes().Get(k)
		require.True(t, ok, "attribute %s", k)
		return v
	}
	assert.Equal(t, "HttpException: 500", attr("exception.message").Str())
	assert.Equal(t, "HttpException", attr("exception.type").Str())
	assert.Contains(t, attr("exception.stacktrace").Str(), "main.main()")
	assert.Equal(t, "install-1", attr("install.id").Str())
	assert.Equal(t, "session-1", attr("session.id").Str())
	assert.Equal(t, "user-1", attr("user.id").Str())
	assert.Equal(t, int64(500), attr("status").Int())
	assert.Equal(t, 0.5, attr("ratio").Double())
	assert.False(t, attr("ok").Bool())
	n, _ := attr("retry").Map().Get("n")
	assert.Equal(t, int64(2), n.Int())
	assert.Equal(t, 2, attr("tags").Slice().Len())
	assert.Equal(t, "2026-02-06T12:00:01.000Z", attr(ingest.ReceivedAtKey).Str())
	assert.Equal(t, "fp1:0123", attr(ingest.FingerprintKey).Str())
	assert.Equal(t, "t1", attr("run.thread_id").Str())
	assert.Equal(t, "r1", attr("run.id").Str())
	assert.Equal(t, "2026-02-06T12:00:00.123Z", attr("client_timestamp").Str())
	crumb := attr("fieldlog.breadcrumbs").Slice().At(0).Map()
	msg, _ := crumb.Get("message")
	assert.Equal(t, "Navigated to /chat", msg.Str())

	w := scopes["Router"]
	assert.Equal(t, plog.SeverityNumber(13), w.SeverityNumber())
	assert.Equal(t, "WARN", w.SeverityText())
	_, hasUser := w.Attributes().Get("user.id")
	assert.False(t, hasUser, "null ids are left out")
}

func TestExportReportsCollectorErrors(t *testing.T) {
	col := &fakeCollector{fail: true}
	srv := httptest.NewServer(col)
	defer srv.Close()
	exp, err := otlp.New(t.Context(), otlp.Options{EndpointURL: srv.URL + "/v1/logs"})
	require.NoError(t, err)
	defer exp.Close(context.Background())
	assert.Error(t, exp.Export(t.Context(), decode(t, batch)), "the ingest server answers 503 and the client retries")

	_, err = otlp.New(t.Context(), otlp.Options{})
	assert.ErrorContains(t, err, "EndpointURL")
	_, err = otlp.New(t.Context(), otlp.Options{EndpointURL: srv.URL, Naming: 7})
	assert.ErrorContains(t, err, "Naming")
}
