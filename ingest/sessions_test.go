package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// t0 is when the sessions of supportStore begin.
var t0 = time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC)

func ts(d time.Duration) string { return t0.Add(d).Format(ingest.TimestampLayout) }

// rec is a wire entry of session sid.
func rec(sid, install string, user any, at time.Duration, level, logger, msg string, attrs map[string]any) map[string]any {
	if attrs == nil {
		attrs = map[string]any{}
	}
	return map[string]any{
		"timestamp": ts(at), "level": level, "logger": logger, "message": msg, "attributes": attrs,
		"error": nil, "stack_trace": nil, "span_id": nil, "trace_id": nil,
		"install_id": install, "session_id": sid, "user_id": user, "active_run": nil,
	}
}

func marker(sid, install, device string, at time.Duration) map[string]any {
	return rec(sid, install, nil, at, "info", "fieldlog", "session started", map[string]any{
		"service.name": "billing", "service.version": "1.4.2", "os.name": "linux",
		"device.alias": device, "install_id": install, "session_id": sid,
	})
}

type support struct {
	srv   *ingest.Server
	store *ingest.JSONLStore
	clock *clock
	dir   string
}

// post sends entries through the handler, received at t0+at.
func (s *support) post(t *testing.T, at time.Duration, entries ...map[string]any) {
	t.Helper()
	s.clock.ns.Store(t0.Add(at).UnixNano())
	req := httptest.NewRequest(http.MethodPost, ingest.LogsPath, bytes.NewReader(body(entries...)))
	req.Header.Set("Authorization", "Bearer secret")
	w := httptest.NewRecorder()
	s.srv.ServeHTTP(w, req)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
}

// newSupport stores three sessions:
//
//	s-a  user u1 on calm-falcon-ridge: marker, two records, a lost-records
//	     entry, an error carrying those records as breadcrumbs, a recovered
//	     panic (fatal, truncated), one more record
//	s-b  user u2 on quiet-river: written offline, delivered two hours late,
//	     then killed; its silent death reported by s-c
//	s-c  the next start on quiet-river
func newSupport(t *testing.T) *support {
	t.Helper()
	dir := t.TempDir()
	store, err := ingest.NewJSONLStore(dir, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close(context.Background()) })
	c := newClock()
	srv, err := ingest.NewServer(ingest.ServerOptions{Exporter: store, Verifier: ingest.BearerToken("secret"), Now: c.Now, RatePerSecond: 1e6, RateBurst: 1e6})
	require.NoError(t, err)
	s := &support{srv: srv, store: store, clock: c, dir: dir}

	nav := rec("s-a", "i1", "u1", time.Second, "info", "Router", "Navigated to /chat", nil)
	get := rec("s-a", "i1", "u1", 2*time.Second, "info", "Http", "GET /api/v1/chat", nil)
	lost := rec("s-a", "i1", "u1", 10*time.Second, "warning", "fieldlog", "dropped 3 records before delivery", map[string]any{
		"dropped_total": 3, "dropped_high": 0, "dropped_from": ts(2500 * time.Millisecond), "dropped_to": ts(2800 * time.Millisecond),
	})
	failed := rec("s-a", "i1", "u1", 3*time.Second, "error", "Http", "Request failed: 500", nil)
	failed["error"] = "HttpException: 500"
	failed["breadcrumbs"] = []map[string]any{
		{"timestamp": ts(time.Second), "level": "info", "logger": "Router", "message": "Navigated to /chat", "category": "ui"},
		{"timestamp": ts(2 * time.Second), "level": "info", "logger": "Http", "message": "GET /api/v1/chat", "category": "network"},
	}
	panicked := rec("s-a", "i1", "u1", 4*time.Second, "fatal", "crash", "panic: boom", map[string]any{
		"crash.kind": "recovered", "fieldlog.truncated": []string{"attributes.blob"},
	})
	panicked["error"] = "panic: boom"
	panicked["stack_trace"] = goPanicA
	after := rec("s-a", "i1", "u1", 5*time.Second, "info", "Lifecycle", "shutting down", nil)
	s.post(t, 11*time.Second, marker("s-a", "i1", "calm-falcon-ridge", 0), nav, get, failed, panicked, lost, after)

	// Offline: written at t0+1m…, delivered at t0+2h.
	s.post(t, 2*time.Hour,
		marker("s-b", "i2", "quiet-river", 50*time.Second),
		rec("s-b", "i2", "u2", time.Minute, "info", "Connectivity", "offline", nil),
		rec("s-b", "i2", "u2", 2*time.Minute, "warning", "Sync", "queued 4 changes", nil))
	s.post(t, 3*time.Hour,
		marker("s-c", "i2", "quiet-river", 3*time.Hour),
		rec("s-c", "i2", "u2", 3*time.Hour, "warning", "crash", "previous session ended without a clean exit", map[string]any{
			"crash.kind": "unclean_exit", "crash.session_id": "s-b", "crash.last_seen": ts(2*time.Minute + time.Second),
		}))
	return s
}

func ids(sums []ingest.SessionSummary) []string {
	out := []string{}
	for _, s := range sums {
		out = append(out, s.SessionID)
	}
	return out
}

func TestFindSessionsByEachKey(t *testing.T) {
	s := newSupport(t)
	all, err := s.store.FindSessions(t.Context(), ingest.SessionQuery{})
	require.NoError(t, err)
	require.Equal(t, []string{"s-c", "s-b", "s-a"}, ids(all))
	fp := all[2].Fingerprints
	require.Len(t, fp, 2, "the error's and the panic's")

	tests := []struct {
		name string
		give ingest.SessionQuery
		want []string
	}{
		{"user", ingest.SessionQuery{UserID: "u1"}, []string{"s-a"}},
		{"authenticated user is not the client's", ingest.SessionQuery{UserID: "nobody"}, []string{}},
		{"install", ingest.SessionQuery{InstallID: "i2"}, []string{"s-c", "s-b"}},
		{"device alias", ingest.SessionQuery{DeviceAlias: "calm-falcon-ridge"}, []string{"s-a"}},
		{"fingerprint of the error", ingest.SessionQuery{Fingerprint: fp[0]}, []string{"s-a"}},
		{"fingerprint of the panic", ingest.SessionQuery{Fingerprint: fp[1]}, []string{"s-a"}},
		{"level fatal", ingest.SessionQuery{Level: "fatal"}, []string{"s-a"}},
		{"level warning or above", ingest.SessionQuery{Level: "warning"}, []string{"s-c", "s-b", "s-a"}},
		{"time range", ingest.SessionQuery{From: t0.Add(30 * time.Second), To: t0.Add(time.Hour)}, []string{"s-b"}},
		{"time range after all", ingest.SessionQuery{From: t0.Add(4 * time.Hour)}, []string{}},
		{"text, any case", ingest.SessionQuery{Text: "REQUEST FAILED"}, []string{"s-a"}},
		{"text in the error", ingest.SessionQuery{Text: "HttpException"}, []string{"s-a"}},
		{"text and device", ingest.SessionQuery{Text: "queued", DeviceAlias: "quiet-river"}, []string{"s-b"}},
		{"no text match", ingest.SessionQuery{Text: "nothing like it"}, []string{}},
		{"limit", ingest.SessionQuery{Limit: 1}, []string{"s-c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.store.FindSessions(t.Context(), tt.give)
			require.NoError(t, err)
			assert.Equal(t, tt.want, ids(got))
		})
	}
}

func TestSessionSummary(t *testing.T) {
	s := newSupport(t)
	got, err := s.store.FindSessions(t.Context(), ingest.SessionQuery{InstallID: "i1"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	a := got[0]
	assert.Equal(t, "calm-falcon-ridge", a.DeviceAlias)
	assert.Equal(t, "billing", a.Service)
	assert.Equal(t, "1.4.2", a.Version)
	assert.Equal(t, "linux", a.OS)
	assert.Equal(t, []string{"u1"}, a.UserIDs)
	assert.Equal(t, 7, a.Entries)
	assert.Equal(t, 1, a.Errors)
	assert.Equal(t, 1, a.Fatals)
	assert.Equal(t, int64(3), a.Dropped)
	assert.Equal(t, 1, a.Truncated)
	assert.Equal(t, t0, a.First)
	assert.Equal(t, t0.Add(10*time.Second), a.Last)

	b, err := s.store.FindSessions(t.Context(), ingest.SessionQuery{DeviceAlias: "quiet-river"})
	require.NoError(t, err)
	require.Equal(t, []string{"s-c", "s-b"}, ids(b))
	assert.True(t, b[1].UncleanExit, "reported by the next start")
	assert.False(t, b[0].UncleanExit)
}

func kinds(tl *ingest.Timeline) []string {
	var out []string
	for _, it := range tl.Items {
		out = append(out, it.Kind)
	}
	return out
}

func TestTimelineOrder(t *testing.T) {
	s := newSupport(t)
	tl, err := s.store.Timeline(t.Context(), "s-a")
	require.NoError(t, err)
	// The two records that came with the error are folded under it; the
	// lost-records entry, reported at +10s, sits where the loss began.
	require.Equal(t, []string{"marker", "dropped", "error", "crash", "record"}, kinds(tl))
	marker, dropped, failed, crashed, after := tl.Items[0], tl.Items[1], tl.Items[2], tl.Items[3], tl.Items[4]

	assert.Equal(t, "session started", marker.Message)
	assert.Equal(t, t0.Add(2500*time.Millisecond), dropped.Time)
	assert.Contains(t, dropped.Note, "3 records lost")

	assert.Equal(t, "HttpException: 500", failed.Error)
	assert.NotEmpty(t, failed.Fingerprint)
	require.Len(t, failed.Breadcrumbs, 2)
	assert.Equal(t, "Navigated to /chat", failed.Breadcrumbs[0].Message)
	assert.True(t, failed.Breadcrumbs[0].Delivered)
	assert.True(t, failed.Breadcrumbs[1].Delivered)

	assert.Equal(t, "fatal", crashed.Level)
	assert.Equal(t, []string{"attributes.blob"}, crashed.Truncated)
	assert.Contains(t, crashed.Note, "attributes.blob")
	assert.Contains(t, crashed.StackTrace, "goroutine")

	assert.Equal(t, "shutting down", after.Message)
	require.NotNil(t, after.ReceivedAt)
	assert.Equal(t, t0.Add(11*time.Second), *after.ReceivedAt)
	assert.Equal(t, int64(6000), after.DelayMillis, "client time against server.received_at")
}

func TestTimelineLateDeliveryAndSilentDeath(t *testing.T) {
	s := newSupport(t)
	tl, err := s.store.Timeline(t.Context(), "s-b")
	require.NoError(t, err)
	require.Equal(t, []string{"marker", "late_delivery", "connectivity", "record", "unclean_exit"}, kinds(tl))
	late, death := tl.Items[1], tl.Items[4]
	assert.Equal(t, t0.Add(time.Minute), late.Time)
	assert.Contains(t, late.Note, "2 records")
	assert.Equal(t, (2*time.Hour - time.Minute).Milliseconds(), late.DelayMillis)
	assert.Equal(t, "s-c", death.ReportedBy)
	assert.Equal(t, t0.Add(2*time.Minute+time.Second), death.Time, "placed where the session went silent")

	_, err = s.store.Timeline(t.Context(), "nope")
	require.ErrorIs(t, err, ingest.ErrNoSession)
}

func TestSessionIndexSurvivesReopen(t *testing.T) {
	s := newSupport(t)
	want, err := s.store.FindSessions(t.Context(), ingest.SessionQuery{})
	require.NoError(t, err)
	require.NoError(t, s.store.Close(t.Context()))

	again, err := ingest.NewJSONLStore(s.dir, nil)
	require.NoError(t, err)
	defer again.Close(t.Context())
	got, err := again.FindSessions(t.Context(), ingest.SessionQuery{})
	require.NoError(t, err)
	assert.Equal(t, want, got)

	ro, err := ingest.OpenJSONLStoreReadOnly(s.dir, nil)
	require.NoError(t, err)
	got, err = ro.FindSessions(t.Context(), ingest.SessionQuery{UserID: "u1"})
	require.NoError(t, err)
	assert.Equal(t, []string{"s-a"}, ids(got))
	tl, err := ro.Timeline(t.Context(), "s-a")
	require.NoError(t, err)
	assert.Len(t, tl.Items, 5)
	require.ErrorIs(t, ro.Export(t.Context(), []ingest.StoredEntry{{}}), ingest.ErrReadOnly)
}

func TestSessionIndexForgetsDeletedFiles(t *testing.T) {
	c := newClock()
	store, err := ingest.NewJSONLStore(t.TempDir(), &ingest.JSONLOptions{MaxFileBytes: 1, MaxTotalBytes: 1, Now: c.Now})
	require.NoError(t, err)
	defer store.Close(t.Context())
	exp := func(sid string) {
		require.NoError(t, store.Export(t.Context(), []ingest.StoredEntry{{Entry: ingest.Entry{
			Timestamp: ts(0), Level: "info", Logger: "l", Message: "m", InstallID: "i", SessionID: sid}}}))
	}
	exp("old")
	exp("new") // rotates; retention deletes the first file
	got, err := store.FindSessions(t.Context(), ingest.SessionQuery{})
	require.NoError(t, err)
	assert.Equal(t, []string{"new"}, ids(got))
}

func TestSessionIndexBound(t *testing.T) {
	store, err := ingest.NewJSONLStore(t.TempDir(), &ingest.JSONLOptions{MaxSessions: 10})
	require.NoError(t, err)
	defer store.Close(t.Context())
	for i := range 25 {
		sid := string(rune('a' + i))
		require.NoError(t, store.Export(t.Context(), []ingest.StoredEntry{{Entry: ingest.Entry{
			Timestamp: ts(time.Duration(i) * time.Second), Level: "info", Logger: "l", Message: "m", InstallID: "i", SessionID: sid}}}))
	}
	got, err := store.FindSessions(t.Context(), ingest.SessionQuery{Limit: 100})
	require.NoError(t, err)
	assert.LessOrEqual(t, len(got), 10)
	assert.Equal(t, "y", got[0].SessionID, "the most recent stays")
}

func TestSessionsAPI(t *testing.T) {
	s := newSupport(t)
	tests := []struct {
		name     string
		give     string
		token    string
		want     int
		contains string
	}{
		{"list by user", ingest.SessionsPath + "?user=u1", "secret", 200, `"session_id":"s-a"`},
		{"list by device", ingest.SessionsPath + "?device=quiet-river", "secret", 200, `"session_id":"s-b"`},
		{"since", ingest.SessionsPath + "?since=1h", "secret", 200, `"session_id":"s-c"`},
		{"nothing found is an empty list", ingest.SessionsPath + "?user=nobody", "secret", 200, `{"sessions":[]}`},
		{"bad limit", ingest.SessionsPath + "?limit=0", "secret", 400, "limit"},
		{"bad level", ingest.SessionsPath + "?level=loud", "secret", 400, "level"},
		{"bad time", ingest.SessionsPath + "?from=yesterday", "secret", 400, "from"},
		{"bad since", ingest.SessionsPath + "?since=-1h", "secret", 400, "since"},
		{"no token", ingest.SessionsPath, "", 401, "unauthorized"},
		{"wrong token", ingest.SessionsPath + "/s-a", "guess", 401, "unauthorized"},
		{"timeline", ingest.SessionsPath + "/s-a", "secret", 200, `"kind":"dropped"`},
		{"unknown session", ingest.SessionsPath + "/s-z", "secret", 404, "no such session"},
		{"page", ingest.SessionsPagePath + "?device=calm-falcon-ridge", "secret", 200, "calm-falcon-ridge"},
		{"page without token", ingest.SessionsPagePath, "", 401, "unauthorized"},
		{"timeline page", ingest.SessionsPagePath + "/s-a", "secret", 200, "HttpException: 500"},
		{"unknown timeline page", ingest.SessionsPagePath + "/s-z", "secret", 404, "no such session"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tt.give, nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			w := httptest.NewRecorder()
			s.srv.ServeHTTP(w, req)
			assert.Equal(t, tt.want, w.Code)
			assert.Contains(t, w.Body.String(), tt.contains)
		})
	}
}

func TestSessionsAPITimelineJSON(t *testing.T) {
	s := newSupport(t)
	req := httptest.NewRequest(http.MethodGet, ingest.SessionsPath+"/s-b", nil)
	req.Header.Set("Authorization", "Bearer secret")
	w := httptest.NewRecorder()
	s.srv.ServeHTTP(w, req)
	require.Equal(t, 200, w.Code)
	var tl ingest.Timeline
	require.NoError(t, json.NewDecoder(w.Body).Decode(&tl))
	assert.Equal(t, "quiet-river", tl.Session.DeviceAlias)
	assert.Equal(t, []string{"marker", "late_delivery", "connectivity", "record", "unclean_exit"}, kinds(&tl))
}

func TestSessionsPageEscapes(t *testing.T) {
	s := newSupport(t)
	s.post(t, 4*time.Hour, rec("s-x", "i9", "u9", 4*time.Hour, "error", "UI", "<script>alert(1)</script>", nil))
	req := httptest.NewRequest(http.MethodGet, ingest.SessionsPagePath+"/s-x", nil)
	req.Header.Set("Authorization", "Bearer secret")
	w := httptest.NewRecorder()
	s.srv.ServeHTTP(w, req)
	require.Equal(t, 200, w.Code)
	assert.NotContains(t, w.Body.String(), "<script>")
	assert.True(t, strings.Contains(w.Body.String(), "&lt;script&gt;"))
}

func TestSessionsWithoutIndex(t *testing.T) {
	srv, err := ingest.NewServer(ingest.ServerOptions{Exporter: &ingest.MemoryExporter{}, AllowAnonymous: true})
	require.NoError(t, err)
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, ingest.SessionsPath, nil))
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.Contains(t, w.Body.String(), "no session index")
}

func TestTimelineAttachments(t *testing.T) {
	s := newSupport(t)
	const dump, late = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
	failed := rec("s-d", "i4", "u4", time.Second, "error", "Http", "Request failed: 500", map[string]any{
		"diagnostics.goroutines": dump, "diagnostics.heap": "../../etc/passwd",
	})
	failed["error"] = "HttpException: 500"
	panicked := rec("s-d", "i4", "u4", 2*time.Second, "fatal", "crash", "panic: boom", map[string]any{"diagnostics.pending": true})
	panicked["error"] = "panic: boom"
	// The ids of the panic's dump came after it, in a record of their own.
	attached := rec("s-d", "i4", "u4", 3*time.Second, "info", "crash", "diagnostics attached", map[string]any{
		"diagnostics.goroutines": late, "diagnostics.record_time": ts(2 * time.Second), "diagnostics.record_message": "panic: boom",
	})
	s.post(t, 4*time.Second, failed, panicked, attached)

	tl, err := s.store.Timeline(t.Context(), "s-d")
	require.NoError(t, err)
	require.Equal(t, []string{"error", "crash"}, kinds(tl), "the follow-up is folded into the record it belongs to")
	assert.Equal(t, []ingest.TimelineAttachment{
		{Name: "diagnostics.goroutines", ID: dump, URL: ingest.AttachmentsPath + "/" + dump},
		{Name: "diagnostics.heap", ID: "../../etc/passwd"},
	}, tl.Items[0].Attachments, "an id the server did not hand out is shown, not linked")
	assert.Equal(t, []ingest.TimelineAttachment{
		{Name: "diagnostics.goroutines", ID: late, URL: ingest.AttachmentsPath + "/" + late},
	}, tl.Items[1].Attachments)

	get := func(path string) string {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer secret")
		w := httptest.NewRecorder()
		s.srv.ServeHTTP(w, req)
		require.Equal(t, http.StatusOK, w.Code)
		return w.Body.String()
	}
	assert.Contains(t, get(ingest.SessionsPath+"/s-d"), `"url":"/api/v1/attachments/`+dump+`"`)
	page := get(ingest.SessionsPagePath + "/s-d")
	assert.Contains(t, page, `<a href="/api/v1/attachments/`+dump+`">diagnostics.goroutines</a>`)
	assert.Contains(t, page, `<a href="/api/v1/attachments/`+late+`">`)
	assert.NotContains(t, page, `href="../../etc/passwd"`)
	assert.Contains(t, page, `diagnostics.heap <code>../../etc/passwd</code>`)
}

// The next start reports an unclean exit in the dead session's own name
// (crash.session_id is the session itself).
func TestUncleanExitReportedInItsOwnName(t *testing.T) {
	s := newSupport(t)
	s.post(t, 4*time.Hour+2*time.Second,
		marker("s-e", "i5", "still-pond", 4*time.Hour),
		rec("s-e", "i5", "u5", 4*time.Hour+time.Second, "info", "Lifecycle", "idle", nil),
		rec("s-e", "i5", "u5", 4*time.Hour+time.Second, "warning", "crash", "session ended without a clean shutdown", map[string]any{
			"crash.kind": "unclean_exit", "crash.session_id": "s-e", "crash.last_seen": ts(4*time.Hour + time.Second),
		}))
	got, err := s.store.FindSessions(t.Context(), ingest.SessionQuery{DeviceAlias: "still-pond"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.True(t, got[0].UncleanExit)
	tl, err := s.store.Timeline(t.Context(), "s-e")
	require.NoError(t, err)
	assert.Equal(t, []string{"marker", "record", "unclean_exit"}, kinds(tl))
	assert.Empty(t, tl.Items[2].ReportedBy, "no other session named")
}

func TestTimelinePageShowsTheDayOfALateDelivery(t *testing.T) {
	s := newSupport(t)
	s.post(t, 26*time.Hour, rec("s-f", "i6", "u6", time.Hour, "info", "Sync", "queued", nil))
	req := httptest.NewRequest(http.MethodGet, ingest.SessionsPagePath+"/s-f", nil)
	req.Header.Set("Authorization", "Bearer secret")
	w := httptest.NewRecorder()
	s.srv.ServeHTTP(w, req)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), "<td>2026-02-07 14:00:00.000Z</td>", "received the next day")

	req = httptest.NewRequest(http.MethodGet, ingest.SessionsPagePath+"/s-a", nil)
	req.Header.Set("Authorization", "Bearer secret")
	w = httptest.NewRecorder()
	s.srv.ServeHTTP(w, req)
	assert.Contains(t, w.Body.String(), "<td>12:00:11.000Z</td>", "received the same day: the time alone")
}
