package conformance

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// A Target is a live ingest server to check.
type Target struct {
	URL   string // the logs endpoint, such as https://logs.example.com/api/v1/logs
	Token string // bearer token; empty for a server that takes requests without one (401 is then not checked)
	// MalformedStatus is what the server documents for malformed JSON:
	// 422 (the production backend's answer, the default) or 400.
	MalformedStatus int
	Client          *http.Client // default: 30 s timeout; redirects are never followed
}

// A Result is the outcome of one check.
type Result struct {
	Name   string // what was sent
	Want   string // the answer the contract requires
	Got    string // the answer: status and the start of the body, or the transport error
	Passed bool
}

// Check runs every check against target, one request at a time, and
// returns their results in order. It stops early only when ctx ends.
func Check(ctx context.Context, target Target) []Result {
	r := newRunner(target)
	var out []Result
	for _, c := range r.checks() {
		if ctx.Err() != nil {
			break
		}
		out = append(out, r.run(ctx, c))
	}
	return out
}

// Run runs the checks against target as subtests of t, one per check.
func Run(t *testing.T, target Target) {
	t.Helper()
	for _, res := range Check(t.Context(), target) {
		t.Run(res.Name, func(t *testing.T) {
			if !res.Passed {
				t.Errorf("want %s, got %s", res.Want, res.Got)
			}
		})
	}
}

// A check is one request and what its answer must be.
type check struct {
	name    string
	want    string
	body    []byte
	entries int    // for an accepted answer: how many it must acknowledge
	status  []int  // the statuses that pass; 200 also needs {"accepted": entries}
	token   string // sent as the bearer token
	gzip    bool
}

type runner struct {
	target Target
	client *http.Client
	run0   string // identifies this run in the ids it sends
	seq    int
}

func newRunner(target Target) *runner {
	if target.MalformedStatus == 0 {
		target.MalformedStatus = http.StatusUnprocessableEntity
	}
	c := target.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	nc := *c
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var id [6]byte
	_, _ = rand.Read(id[:])
	return &runner{target: target, client: &nc, run0: hex.EncodeToString(id[:])}
}

// entry returns a valid entry of the given level, marked as coming from
// this kit, with ids of its own so that no rate limit is shared.
func (r *runner) entry(name, level string) map[string]any {
	r.seq++
	id := fmt.Sprintf("conformance-%s-%d", r.run0, r.seq)
	return map[string]any{
		"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "level": level,
		"logger": "fieldlog.conformance", "message": "conformance check: " + name,
		"attributes": map[string]any{"check": name}, "error": nil, "stack_trace": nil,
		"span_id": nil, "trace_id": nil, "install_id": id, "session_id": id, "user_id": nil, "active_run": nil,
	}
}

func payload(entries ...map[string]any) map[string]any {
	return map[string]any{"logs": entries, "resource": map[string]any{"service.name": "fieldlog-conformance"}}
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own maps are encoded
	}
	return b
}

func (r *runner) accepted(name string, entries ...map[string]any) check {
	return check{name: name, want: fmt.Sprintf(`200 {"accepted":%d}`, len(entries)), body: encode(payload(entries...)),
		entries: len(entries), status: []int{http.StatusOK}, token: r.target.Token}
}

func (r *runner) rejected(name string, body []byte) check {
	return check{name: name, want: "422", body: body, status: []int{http.StatusUnprocessableEntity}, token: r.target.Token}
}

// rejectedEntry is a payload whose one entry is changed by edit.
func (r *runner) rejectedEntry(name string, edit func(e map[string]any)) check {
	e := r.entry(name, "info")
	edit(e)
	return r.rejected(name, encode(payload(e)))
}

// rejectedPayload is a valid payload changed by edit.
func (r *runner) rejectedPayload(name string, edit func(p map[string]any)) check {
	p := payload(r.entry(name, "info"))
	edit(p)
	return r.rejected(name, encode(p))
}

// timestampForms are the forms clients write: Go and Dart milliseconds,
// Dart microseconds, Go nanoseconds, whole seconds, Python's isoformat,
// local offsets.
var timestampForms = []struct {
	name, layout string
	zone         *time.Location
}{
	{"milliseconds, Z (Go, Dart)", "2006-01-02T15:04:05.000Z", time.UTC},
	{"microseconds, Z (Dart)", "2006-01-02T15:04:05.000000Z", time.UTC},
	{"nanoseconds, Z (Go)", "2006-01-02T15:04:05.000000000Z", time.UTC},
	{"seconds, Z", "2006-01-02T15:04:05Z", time.UTC},
	{"microseconds, +00:00 (Python)", "2006-01-02T15:04:05.000000-07:00", time.UTC},
	{"milliseconds, +02:00", "2006-01-02T15:04:05.000-07:00", time.FixedZone("", 2*3600)},
	{"seconds, -05:00", "2006-01-02T15:04:05-07:00", time.FixedZone("", -5*3600)},
}

func (r *runner) checks() []check {
	var cs []check
	cs = append(cs, r.accepted("valid batch of 1", r.entry("valid batch of 1", "info")))
	batch := make([]map[string]any, 100)
	for i := range batch {
		batch[i] = r.entry("valid batch of 100", "info")
	}
	cs = append(cs, r.accepted("valid batch of 100", batch...))

	full := r.entry("every field set", "error")
	full["attributes"] = map[string]any{"url": "/api/v1/chat", "status": 500, "retry": map[string]any{"n": 2}, "tags": []any{"a", "b"}, "ok": false}
	full["error"] = "HttpException: 500"
	full["stack_trace"] = "goroutine 7 [running]:\nmain.main()\n\t/src/app/main.go:42 +0x1d"
	full["span_id"], full["trace_id"] = "00f067aa0ba902b7", "4bf92f3577b34da6a3ce929d0e0e4736"
	full["user_id"] = "conformance-user"
	full["active_run"] = map[string]any{"thread_id": "thread-1", "run_id": "run-1"}
	full["breadcrumbs"] = []any{map[string]any{"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"level": "info", "logger": "Router", "message": "Navigated to /chat", "category": "ui"}}
	cs = append(cs, r.accepted("every field set", full))
	sparse := r.entry("optional fields absent", "info")
	for _, k := range []string{"attributes", "error", "stack_trace", "span_id", "trace_id", "user_id", "active_run"} {
		delete(sparse, k)
	}
	cs = append(cs, r.accepted("optional fields absent", sparse))

	var levels []map[string]any
	for _, l := range []string{"trace", "debug", "info", "warning", "error", "fatal"} {
		levels = append(levels, r.entry("every level", l))
	}
	cs = append(cs, r.accepted("every level", levels...))
	crumbs := r.entry("every breadcrumb category", "error")
	var cl []any
	for _, c := range []string{"ui", "network", "system", "user"} {
		cl = append(cl, map[string]any{"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "level": "info", "logger": "L", "message": "m", "category": c})
	}
	crumbs["breadcrumbs"] = cl
	cs = append(cs, r.accepted("every breadcrumb category", crumbs))
	for _, f := range timestampForms {
		ts := time.Now().In(f.zone).Format(f.layout)
		name := "timestamp in " + f.name
		e := r.entry(name, "info")
		e["timestamp"] = ts
		cs = append(cs, r.accepted(name, e))
	}

	malformed := r.rejected("malformed JSON", []byte(`{"logs": [`))
	malformed.want, malformed.status = strconv.Itoa(r.target.MalformedStatus), []int{r.target.MalformedStatus}
	cs = append(cs, malformed,
		r.rejected("body is an array", encode([]any{r.entry("body is an array", "info")})),
		r.rejectedPayload("logs missing", func(p map[string]any) { delete(p, "logs") }),
		r.rejectedPayload("logs not an array", func(p map[string]any) { p["logs"] = p["logs"].([]map[string]any)[0] }),
		r.rejectedPayload("entry not an object", func(p map[string]any) { p["logs"] = []any{"conformance check"} }),
	)
	for _, f := range []string{"timestamp", "level", "logger", "message", "install_id", "session_id"} {
		cs = append(cs,
			r.rejectedEntry(f+" missing", func(e map[string]any) { delete(e, f) }),
			r.rejectedEntry(f+" not a string", func(e map[string]any) { e[f] = 7 }),
		)
	}
	cs = append(cs,
		r.rejectedEntry("level warn", func(e map[string]any) { e["level"] = "warn" }),
		r.rejectedEntry("level INFO", func(e map[string]any) { e["level"] = "INFO" }),
		r.rejectedEntry("attributes an array", func(e map[string]any) { e["attributes"] = []any{"a"} }),
		r.rejectedEntry("user_id a number", func(e map[string]any) { e["user_id"] = 17 }),
		r.rejectedEntry("active_run a string", func(e map[string]any) { e["active_run"] = "run-1" }),
		r.rejectedEntry("active_run without run_id", func(e map[string]any) { e["active_run"] = map[string]any{"thread_id": "t"} }),
		r.rejectedEntry("active_run with a null run_id", func(e map[string]any) { e["active_run"] = map[string]any{"thread_id": "t", "run_id": nil} }),
		r.rejectedPayload("resource missing", func(p map[string]any) { delete(p, "resource") }),
		r.rejectedPayload("resource null", func(p map[string]any) { p["resource"] = nil }),
		r.rejectedPayload("resource an array", func(p map[string]any) { p["resource"] = []any{"service.name"} }),
		r.rejectedPayload("resource with a number", func(p map[string]any) { p["resource"] = map[string]any{"process.pid": 4242} }),
	)

	big := r.entry("body over 1 MB", "info")
	big["message"] = strings.Repeat("x", 1<<20)
	cs = append(cs, check{name: "body over 1 MB", want: "413", body: encode(payload(big)),
		status: []int{http.StatusRequestEntityTooLarge}, token: r.target.Token})

	if r.target.Token != "" {
		for _, tc := range []struct{ name, token string }{{"no token", ""}, {"wrong token", r.target.Token + "-wrong"}} {
			cs = append(cs, check{name: tc.name, want: "401", body: encode(payload(r.entry(tc.name, "info"))),
				status: []int{http.StatusUnauthorized}, token: tc.token})
		}
	}
	gz := r.accepted("gzip body", r.entry("gzip body", "info"))
	gz.gzip, gz.want = true, `200 {"accepted":1}, 400 or 415`
	gz.status = append(gz.status, http.StatusBadRequest, http.StatusUnsupportedMediaType)
	return append(cs, gz)
}

// run sends one check's request, waiting out 429 answers, and judges the
// answer.
func (r *runner) run(ctx context.Context, c check) Result {
	res := Result{Name: c.name, Want: c.want}
	status, body, err := r.send(ctx, c)
	for try := 0; err == nil && status == http.StatusTooManyRequests && try < 3; try++ {
		wait := 5 * time.Second
		if s, perr := strconv.Atoi(body.retryAfter); perr == nil && s >= 0 && time.Duration(s)*time.Second < wait {
			wait = time.Duration(s) * time.Second
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(wait):
			status, body, err = r.send(ctx, c)
		}
	}
	if err != nil {
		res.Got = "error: " + err.Error()
		return res
	}
	res.Got = strconv.Itoa(status)
	if excerpt := body.excerpt(); excerpt != "" {
		res.Got += " " + excerpt
	}
	for _, s := range c.status {
		if s == status {
			res.Passed = status != http.StatusOK || acknowledges(body.raw, c.entries)
		}
	}
	return res
}

type answer struct {
	raw        []byte
	retryAfter string
}

// excerpt is the start of the body, on one line.
func (a answer) excerpt() string {
	s := strings.Join(strings.Fields(string(a.raw)), " ")
	if n := 48; len(s) > n {
		for !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return s
}

// acknowledges reports whether an accepted answer's body is exactly
// {"accepted": n}, as a client requires before it drops the batch.
func acknowledges(body []byte, n int) bool {
	var ack map[string]json.Number
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&ack) != nil || len(ack) != 1 {
		return false
	}
	got, err := ack["accepted"].Int64()
	return err == nil && got == int64(n)
}

func (r *runner) send(ctx context.Context, c check) (int, answer, error) {
	body := c.body
	if c.gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body = buf.Bytes()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.target.URL, bytes.NewReader(body))
	if err != nil {
		return 0, answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, answer{}, err
	}
	return resp.StatusCode, answer{raw: raw, retryAfter: resp.Header.Get("Retry-After")}, nil
}
