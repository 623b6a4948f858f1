//go:build unix

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/soliplex/fieldlog"
	"github.com/soliplex/fieldlog/crash"
	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/rum"
)

const token = "support-e2e-token"

// outage is how long the offline session waits for the server: the
// server's clock stands this much later when its records are replayed.
const outage = 2 * time.Hour

// skewClock is the server's clock: real time, plus an offset that stands
// for time passing while a device is offline.
type skewClock struct{ offset atomic.Int64 }

func (c *skewClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *skewClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// rig is a real ingest server on 127.0.0.1 storing to a directory.
type rig struct {
	url         string // http://127.0.0.1:port
	storeDir    string
	attachments string
	clock       *skewClock
}

func startServer(t *testing.T) *rig {
	t.Helper()
	dir := t.TempDir()
	r := &rig{storeDir: filepath.Join(dir, "store"), attachments: filepath.Join(dir, "attachments"), clock: &skewClock{}}
	store, err := ingest.NewJSONLStore(r.storeDir, nil)
	require.NoError(t, err)
	srv, err := ingest.NewServer(ingest.ServerOptions{
		Exporter: store, Verifier: ingest.BearerToken(token), AttachmentsDir: r.attachments,
		RatePerSecond: 1000, RateBurst: 1000, Now: r.clock.Now,
		OnError: func(err error) { t.Log("ingest server:", err) },
	})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := srv.HTTPServer()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, hs.Shutdown(ctx))
		assert.ErrorIs(t, <-served, http.ErrServerClosed)
		assert.NoError(t, srv.Close(ctx))
	})
	r.url = "http://" + ln.Addr().String()
	return r
}

func (r *rig) endpoint() string { return r.url + ingest.LogsPath }

// get asks the server, with the token, decodes its JSON answer into v
// unless v is nil, and returns it.
func (r *rig) get(t *testing.T, path string, v any) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, r.url+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", path, body)
	if v != nil {
		require.NoError(t, json.Unmarshal(body, v), "%s", body)
	}
	return string(body)
}

func (r *rig) find(t *testing.T, q url.Values) []string {
	t.Helper()
	var v struct{ Sessions []ingest.SessionSummary }
	r.get(t, ingest.SessionsPath+"?"+q.Encode(), &v)
	return ids(v.Sessions)
}

func (r *rig) timeline(t *testing.T, id string) *ingest.Timeline {
	t.Helper()
	var tl ingest.Timeline
	r.get(t, ingest.SessionsPath+"/"+url.PathEscape(id), &tl)
	return &tl
}

func ids(sums []ingest.SessionSummary) []string {
	out := []string{}
	for _, s := range sums {
		out = append(out, s.SessionID)
	}
	return out
}

// session is what the test knows of a session it produced: what a bug
// report would say.
type session struct {
	id, user, device string
	errorMessage     string // the message of its error, as the top errors list it
}

// TestSupportView produces three sessions the way programs do and asks
// the server's session API what happened in each:
//
//   - a service whose handler panics (recovered by the crash middleware),
//     after an upstream call failed, for user U1;
//   - a sync client, a process of its own, killed with SIGKILL after an
//     error, then started again: the next start reports the silent death;
//   - a session logged while the server was down, replayed by the
//     offline-replay example once it was up again.
//
// Each is found by user, by device alias and by error fingerprint; each
// timeline shows what happened in order.
func TestSupportView(t *testing.T) {
	r := startServer(t)
	replay := buildExample(t, "offline-replay") // meanwhile

	a := serviceSession(t, r)
	b, bNext := killedSession(t, r)
	c := offlineSession(t, r, <-replay)

	// The support engineer's way in: a fingerprint from the top errors.
	var top struct{ Errors []ingest.TopError }
	r.get(t, ingest.ErrorsTopPath+"?window=24h", &top)
	fingerprint := map[string]string{}
	for _, e := range top.Errors {
		fingerprint[e.Sample] = e.Fingerprint
	}
	for _, s := range []session{a, b, c} {
		require.Contains(t, fingerprint, s.errorMessage, "top errors: %+v", top.Errors)
	}

	tests := []struct {
		name  string
		give  url.Values
		want  []string
		exact bool
	}{
		{"service by user", url.Values{"user": {a.user}}, []string{a.id}, true},
		{"service by device", url.Values{"device": {a.device}}, []string{a.id}, true},
		{"service by fingerprint", url.Values{"fingerprint": {fingerprint[a.errorMessage]}}, []string{a.id}, true},
		{"service by the panic's fingerprint", url.Values{"fingerprint": {fingerprint["panic: report template missing"]}}, []string{a.id}, true},
		{"killed by user", url.Values{"user": {b.user}}, []string{bNext, b.id}, true},
		{"killed by device", url.Values{"device": {b.device}}, []string{bNext, b.id}, true},
		{"killed by fingerprint", url.Values{"fingerprint": {fingerprint[b.errorMessage]}}, []string{b.id}, true},
		{"killed, fatal or ended uncleanly", url.Values{"device": {b.device}, "level": {"warning"}}, []string{b.id}, false},
		{"offline by user", url.Values{"user": {c.user}}, []string{c.id}, true},
		{"offline by device", url.Values{"device": {c.device}}, []string{c.id}, true},
		{"offline by fingerprint", url.Values{"fingerprint": {fingerprint[c.errorMessage]}}, []string{c.id}, true},
		{"offline by text within the last day", url.Values{"q": {"quota exceeded"}, "since": {"24h"}}, []string{c.id}, true},
		{"every session", url.Values{}, []string{a.id, b.id, bNext, c.id}, false},
	}
	api := map[string][]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.find(t, tt.give)
			api[tt.name] = got
			if tt.exact {
				assert.ElementsMatch(t, tt.want, got)
				return
			}
			for _, id := range tt.want {
				assert.Contains(t, got, id)
			}
		})
	}

	t.Run("service timeline", func(t *testing.T) { checkServiceTimeline(t, r, a) })
	t.Run("killed timeline", func(t *testing.T) { checkKilledTimeline(t, r, b, bNext) })
	t.Run("offline timeline", func(t *testing.T) { checkOfflineTimeline(t, r, c) })

	t.Run("pages", func(t *testing.T) {
		for _, tt := range []struct{ id, want string }{
			{a.id, `<tr class="crash">`}, {b.id, `<tr class="unclean_exit">`}, {c.id, `<tr class="late_delivery">`},
		} {
			page := r.get(t, ingest.SessionsPagePath+"/"+tt.id, nil)
			assert.Contains(t, page, `<tr class="marker">`)
			assert.Contains(t, page, tt.want)
		}
		list := r.get(t, ingest.SessionsPagePath+"?device="+url.QueryEscape(b.device), nil)
		assert.Contains(t, list, `href="/sessions/`+b.id+`"`)
		assert.Contains(t, list, "ended uncleanly")
	})

	t.Run("without the token", func(t *testing.T) {
		for _, path := range []string{ingest.SessionsPath, ingest.SessionsPath + "/" + a.id, ingest.SessionsPagePath + "/" + a.id} {
			resp, err := http.Get(r.url + path)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, path)
		}
	})

	// The same questions over a copy of the store, opened read-only as
	// the ingest-server sessions command opens it.
	t.Run("copied store", func(t *testing.T) {
		st, err := ingest.OpenJSONLStoreReadOnly(copyDir(t, r.storeDir), nil)
		require.NoError(t, err)
		for _, tt := range tests {
			q, err := ingest.ParseSessionQuery(tt.give, r.clock.Now())
			require.NoError(t, err)
			got, err := st.FindSessions(t.Context(), q)
			require.NoError(t, err)
			assert.Equal(t, api[tt.name], ids(got), tt.name)
		}
		for _, id := range []string{a.id, b.id, c.id} {
			tl, err := st.Timeline(t.Context(), id)
			require.NoError(t, err)
			assert.Equal(t, kinds(r.timeline(t, id)), kinds(tl), id)
		}
	})
}

func kinds(tl *ingest.Timeline) []string {
	var out []string
	for _, it := range tl.Items {
		out = append(out, it.Kind)
	}
	return out
}

// item returns the index of the first item that matches, or fails.
func item(t *testing.T, tl *ingest.Timeline, what string, match func(ingest.TimelineItem) bool) int {
	t.Helper()
	i := slices.IndexFunc(tl.Items, match)
	require.GreaterOrEqual(t, i, 0, "no %s in %v", what, kinds(tl))
	return i
}

func message(kind, msg string) func(ingest.TimelineItem) bool {
	return func(it ingest.TimelineItem) bool { return it.Kind == kind && it.Message == msg }
}

// crumb returns the breadcrumb of it with message msg.
func crumb(it ingest.TimelineItem, msg string) (ingest.TimelineCrumb, bool) {
	for _, c := range it.Breadcrumbs {
		if c.Message == msg {
			return c, true
		}
	}
	return ingest.TimelineCrumb{}, false
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600))
	}
	return dst
}

// serviceSession runs an instrumented HTTP service, as the
// instrumented-service example is built (rum's middleware and client
// transport) and shipping through fieldlog.New with the crash guard's
// middleware and diagnostics: user U1 loads a page, a call upstream
// fails, and a handler panics.
func serviceSession(t *testing.T, r *rig) session {
	client, err := fieldlog.New(fieldlog.Options{
		Service: "billing", Version: "1.4.2", Dir: t.TempDir(), Endpoint: r.endpoint(), Token: token,
		Console: io.Discard, RUM: &rum.Options{}, Diagnostics: &crash.DiagnosticsOptions{},
		OnError: func(err error) { t.Log("service:", err) },
	})
	require.NoError(t, err)
	log := client.Slog()
	refused := refusedURL(t)
	upstream := &http.Client{Transport: client.RUM().Transport(nil), Timeout: 5 * time.Second}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, req *http.Request) {
		log.InfoContext(req.Context(), "user loaded", "id", req.PathValue("id"))
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /quote", func(w http.ResponseWriter, req *http.Request) {
		out, err := http.NewRequestWithContext(req.Context(), http.MethodGet, refused+"/v1/quote", nil)
		if err == nil {
			var resp *http.Response
			if resp, err = upstream.Do(out); err == nil {
				resp.Body.Close()
			}
		}
		if err != nil {
			log.ErrorContext(req.Context(), "quote upstream failed", "err", err)
			http.Error(w, "upstream unavailable", http.StatusBadGateway)
		}
	})
	mux.HandleFunc("GET /reports/{year}", func(http.ResponseWriter, *http.Request) {
		panic(errors.New("report template missing"))
	})
	// The signed-in user, from the request: every record of it says who.
	withUser := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			next.ServeHTTP(w, req.WithContext(fieldlog.WithUser(req.Context(), req.Header.Get("X-User"))))
		})
	}
	svc := httptest.NewServer(withUser(client.RUM().Middleware(client.Crash().Middleware(mux))))
	defer svc.Close()

	for _, tt := range []struct {
		path string
		want int
	}{{"/users/1", 200}, {"/quote", 502}, {"/reports/2026", 500}, {"/users/2", 200}} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, svc.URL+tt.path, nil)
		require.NoError(t, err)
		req.Header.Set("X-User", "U1")
		resp, err := svc.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, tt.want, resp.StatusCode, tt.path)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	require.NoError(t, client.Close(ctx))
	return session{id: client.SessionID(), user: "U1", device: client.DeviceAlias(), errorMessage: "quote upstream failed"}
}

func checkServiceTimeline(t *testing.T, r *rig, a session) {
	tl := r.timeline(t, a.id)
	assert.Equal(t, a.device, tl.Session.DeviceAlias)
	assert.Equal(t, "billing", tl.Session.Service)
	assert.Equal(t, []string{"U1"}, tl.Session.UserIDs)
	require.NotEmpty(t, tl.Items)
	require.Equal(t, ingest.KindMarker, tl.Items[0].Kind, "the start marker first: %v", kinds(tl))

	failed := item(t, tl, "upstream error", message(ingest.KindError, "quote upstream failed"))
	panicked := item(t, tl, "recovered panic", message(ingest.KindCrash, "panic: report template missing"))
	assert.Less(t, failed, panicked)

	// The page the user loaded came with the error as a breadcrumb, and is
	// shown there, not twice.
	e := tl.Items[failed]
	c, ok := crumb(e, "user loaded")
	require.True(t, ok, "breadcrumbs: %+v", e.Breadcrumbs)
	assert.True(t, c.Delivered)
	assert.Equal(t, 1, countMessage(tl, "user loaded"), "the second load, after the error, stands on its own")
	assert.Contains(t, e.Error, "connection refused")
	assert.NotEmpty(t, e.Fingerprint)

	// Its goroutine dump was uploaded, and the timeline links it.
	require.NotEmpty(t, e.Attachments, "diagnostics of the error")
	att := e.Attachments[0]
	assert.Equal(t, crash.GoroutinesKey, att.Name)
	assert.Equal(t, ingest.AttachmentsPath+"/"+att.ID, att.URL)
	dump, err := os.ReadFile(filepath.Join(r.attachments, att.ID))
	require.NoError(t, err)
	assert.Contains(t, string(dump), "goroutine ")

	p := tl.Items[panicked]
	assert.Equal(t, "fatal", p.Level)
	assert.Contains(t, p.StackTrace, "e2e.serviceSession")
	assert.Equal(t, "GET /reports/{year}", p.Attributes[crash.RouteKey])
	_, ok = crumb(p, "quote upstream failed")
	assert.True(t, ok, "the error is among the panic's breadcrumbs")
	for _, it := range tl.Items {
		if it.ReceivedAt != nil {
			assert.Less(t, it.DelayMillis, ingest.LateAfter.Milliseconds(), "delivered live: %+v", it)
		}
	}
}

// countMessage counts the items and breadcrumbs with message msg.
func countMessage(tl *ingest.Timeline, msg string) int {
	n := 0
	for _, it := range tl.Items {
		if it.Message == msg {
			n++
		}
	}
	return n
}

// refusedURL returns the URL of a 127.0.0.1 port where nothing listens.
func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return "http://" + addr
}

// killedSession runs the sync client as a process of its own, kills it
// with SIGKILL once its records are delivered and its last activity is
// saved, and starts it again in the same directory. It returns the killed
// session and the id of the next.
func killedSession(t *testing.T, r *rig) (session, string) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := childCommand(ctx, childWork, dir, r)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "the child said nothing")
	id, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
	require.True(t, ok, "child: %q", line)

	// Its breadcrumbs are saved every second: wait for the last one, so
	// that the report of its death can name it.
	crumbs := filepath.Join(dir, "queue", id+".crumbs")
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(crumbs)
		return err == nil && strings.Contains(string(b), childLastMessage)
	}, 10*time.Second, 20*time.Millisecond, "the child's breadcrumbs were not saved")
	require.NoError(t, cmd.Process.Signal(os.Kill))
	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.False(t, exit.Exited(), "killed by a signal, not exited: %v", err)

	restart := childCommand(ctx, childRestart, dir, r)
	b, err := restart.Output()
	require.NoError(t, err, "restart: %s", b)
	next, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "restarted ")
	require.True(t, ok, "restart: %q", b)
	return session{id: id, user: childUser, device: fieldlog.DeviceAlias(installID(t, dir)), errorMessage: "Sync failed"}, next
}

func childCommand(ctx context.Context, mode, dir string, r *rig) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, childDirEnv+"="+dir, childEndpointEnv+"="+r.endpoint(), childTokenEnv+"="+token)
	cmd.Stderr = os.Stderr
	return cmd
}

// installID reads the install id fieldlog.New keeps in dir.
func installID(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "install_id"))
	require.NoError(t, err)
	return strings.TrimSpace(string(b))
}

func checkKilledTimeline(t *testing.T, r *rig, b session, next string) {
	tl := r.timeline(t, b.id)
	assert.Equal(t, b.device, tl.Session.DeviceAlias)
	assert.True(t, tl.Session.UncleanExit)
	require.NotEmpty(t, tl.Items)
	require.Equal(t, ingest.KindMarker, tl.Items[0].Kind, "the start marker first: %v", kinds(tl))

	failed := item(t, tl, "sync error", message(ingest.KindError, "Sync failed"))
	e := tl.Items[failed]
	assert.Equal(t, "SyncError: conflict on item 7", e.Error)
	for _, msg := range []string{"Opened /settings", "GET /api/v1/profile 200"} {
		c, ok := crumb(e, msg)
		require.True(t, ok, "breadcrumb %q: %+v", msg, e.Breadcrumbs)
		assert.True(t, c.Delivered, msg)
		assert.Zero(t, countMessage(tl, msg), "folded under the error, not shown again: %s", msg)
	}

	// The silent death comes last, where the session went silent: the
	// next start reported it, in the dead session's name.
	death := tl.Items[len(tl.Items)-1]
	require.Equal(t, ingest.KindUncleanExit, death.Kind, "%v", kinds(tl))
	assert.Equal(t, b.id, death.Attributes[crash.SessionKey])
	assert.Contains(t, death.Message, childLastMessage)
	last := item(t, tl, "last activity", message(ingest.KindRecord, childLastMessage))
	assert.Less(t, failed, last)
	assert.False(t, death.Time.Before(tl.Items[last].Time), "placed at the last activity")

	again := r.timeline(t, next)
	assert.Equal(t, []string{ingest.KindMarker}, kinds(again), "the next start ended cleanly")
	assert.False(t, again.Session.UncleanExit)
}

// offlineSession logs a session through fieldlog.New while the server
// cannot be reached; the program ends with its records on disk. Then,
// outage later by the server's clock, the offline-replay example ships
// that queue.
func offlineSession(t *testing.T, r *rig, replay string) session {
	require.True(t, filepath.IsAbs(replay), replay)
	dir := t.TempDir()
	client, err := fieldlog.New(fieldlog.Options{
		Service: "field-app", Version: "3.1.0", Dir: dir, Endpoint: refusedURL(t) + ingest.LogsPath, Token: token,
		UserID: "U3", Console: io.Discard, OnError: func(error) {}, // the outage
	})
	require.NoError(t, err)
	saveOrder(client)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	_ = client.Close(ctx) // the records stay on disk
	st := client.Stats()
	require.Zero(t, st.Confirmed, "nothing could be delivered")
	require.GreaterOrEqual(t, st.PendingAtClose, 5, "the marker and four records wait on disk")

	r.clock.advance(outage)
	rctx, rcancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer rcancel()
	cmd := exec.CommandContext(rctx, replay, "replay", "--endpoint", r.endpoint(), "--token", token,
		"--queue", dir, "--progress", "none", "--timeout", "20s")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "replay: %s", out)
	return session{id: client.SessionID(), user: "U3", device: client.DeviceAlias(), errorMessage: "Saving order failed"}
}

// saveOrder is the offline app's work: an order that cannot be saved.
func saveOrder(client *fieldlog.Client) {
	client.Logger("Connectivity").Warn("Network lost", "reason", "no route to host")
	client.Logger("Router").Info("Opened /orders/17")
	client.Logger("Orders").Error("Saving order failed", errors.New("StorageError: quota exceeded"))
	client.Logger("Orders").Info("Order kept on the device")
}

func checkOfflineTimeline(t *testing.T, r *rig, c session) {
	tl := r.timeline(t, c.id)
	assert.Equal(t, c.device, tl.Session.DeviceAlias)
	assert.Equal(t, "field-app", tl.Session.Service)
	require.GreaterOrEqual(t, len(tl.Items), 3, "%v", kinds(tl))
	require.Equal(t, ingest.KindMarker, tl.Items[0].Kind, "the start marker first: %v", kinds(tl))

	// The replay gap: written offline, received outage later.
	gap := tl.Items[1]
	require.Equal(t, ingest.KindLateDelivery, gap.Kind, "%v", kinds(tl))
	assert.GreaterOrEqual(t, gap.DelayMillis, outage.Milliseconds())
	assert.Contains(t, gap.Note, "reached the server late")
	for _, it := range tl.Items {
		require.NotNil(t, it.ReceivedAt, "%+v", it)
		assert.GreaterOrEqual(t, it.ReceivedAt.Sub(it.Time), outage, "client time against server.received_at: %+v", it)
	}

	failed := item(t, tl, "storage error", message(ingest.KindError, "Saving order failed"))
	e := tl.Items[failed]
	for _, msg := range []string{"Network lost", "Opened /orders/17"} {
		cr, ok := crumb(e, msg)
		require.True(t, ok, "breadcrumb %q: %+v", msg, e.Breadcrumbs)
		assert.True(t, cr.Delivered, msg)
	}
	kept := item(t, tl, "record after the error", message(ingest.KindRecord, "Order kept on the device"))
	assert.Less(t, failed, kept)
}
