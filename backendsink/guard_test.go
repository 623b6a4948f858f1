package backendsink

import (
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// strictEntry checks an encoded entry as the reference server's strict
// mode does, and for repeated keys, and returns it decoded.
func strictEntry(t testing.TB, b []byte, limit int) map[string]any {
	t.Helper()
	require.LessOrEqual(t, len(b), limit, "entry over the limit")
	_, err := sinktest.CheckJSON(b)
	require.NoError(t, err)
	payload := append(append([]byte(`{"logs":[`), b...), `],"resource":{}}`...)
	_, err = ingest.Decoder{Mode: ingest.Strict}.DecodeBytes(payload)
	require.NoError(t, err, "the strict server refuses the entry")
	return decode(t, b)
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func truncatedNotes(m map[string]any) string {
	attrs, _ := m["attributes"].(map[string]any)
	return fmt.Sprint(attrs[truncatedKey])
}

func errorRecord(msg string, attrs ...slog.Attr) logrecord.Record {
	r := logrecord.New(t0, logrecord.LevelError, "Http", msg, attrs...)
	r.Error = "HttpException: 500"
	r.StackTrace = "goroutine 1 [running]:\nmain.handler()\n\t/src/app/main.go:42 +0x1d\nmain.main()\n\t/src/app/main.go:10 +0x2a"
	return r
}

func TestSizeGuardKeepsIdentity(t *testing.T) {
	big := func(s string, n int) string { return strings.Repeat(s, n) }
	frames := "goroutine 1 [running]:\n" + big("main.f()\n\t/src/app/main.go:42 +0x1d\n", 4000)
	crumbs := func(n, size int) []Breadcrumb {
		out := make([]Breadcrumb, n)
		for i := range out {
			out[i] = Breadcrumb{Time: t0, Level: logrecord.LevelInfo, Logger: "Router", Message: fmt.Sprintf("crumb %02d %s", i, big("c", size)), Category: "ui"}
		}
		return out
	}
	tests := []struct {
		name   string
		record logrecord.Record
		crumbs []Breadcrumb
		check  func(t *testing.T, e map[string]any, attrs map[string]any, crumbs []any)
	}{
		{
			name:   "one huge attribute: cut to a prefix, the rest intact",
			record: errorRecord("Request failed: 500", slog.String("payload", big("p", 100<<10)), slog.String("url", "/api")),
			check: func(t *testing.T, e, attrs map[string]any, _ []any) {
				assert.Equal(t, "Request failed: 500", e["message"])
				assert.Equal(t, "HttpException: 500", e["error"])
				assert.NotContains(t, str(e, "stack_trace"), truncMarker)
				assert.Equal(t, "/api", attrs["url"])
				assert.True(t, strings.HasSuffix(str(attrs, "payload"), truncMarker))
				assert.Greater(t, len(str(attrs, "payload")), 40<<10, "cut only as far as needed")
				assert.Contains(t, truncatedNotes(e), "attributes.payload: cut to")
			},
		},
		{
			name:   "breadcrumbs with a huge message: only the breadcrumbs are cut",
			record: errorRecord("Request failed: 500", slog.Int("status", 500)),
			crumbs: append(crumbs(3, 10), Breadcrumb{Time: t0, Level: logrecord.LevelInfo, Logger: "Http", Message: big("m", 200<<10), Category: "network"}),
			check: func(t *testing.T, e, attrs map[string]any, crumbs []any) {
				assert.Equal(t, "Request failed: 500", e["message"])
				assert.Equal(t, "HttpException: 500", e["error"])
				assert.NotContains(t, str(e, "stack_trace"), truncMarker)
				assert.Equal(t, float64(500), attrs["status"])
				require.Len(t, crumbs, 4, "four breadcrumbs are fewer than the five kept")
				last := crumbs[3].(map[string]any)["message"].(string)
				assert.True(t, strings.HasSuffix(last, truncMarker))
				assert.Contains(t, truncatedNotes(e), "breadcrumbs: messages cut")
			},
		},
		{
			name:   "many breadcrumbs: the oldest go first",
			record: errorRecord("Request failed: 500"),
			crumbs: crumbs(20, 5000),
			check: func(t *testing.T, e, _ map[string]any, crumbs []any) {
				assert.Equal(t, "HttpException: 500", e["error"])
				require.NotEmpty(t, crumbs)
				assert.Less(t, len(crumbs), 20)
				assert.GreaterOrEqual(t, len(crumbs), minBreadcrumbs)
				assert.True(t, strings.HasPrefix(crumbs[len(crumbs)-1].(map[string]any)["message"].(string), "crumb 19"), "the newest stays")
				assert.Contains(t, truncatedNotes(e), "breadcrumbs: 8 oldest dropped")
			},
		},
		{
			name: "attributes: the largest first, cut then removed",
			record: errorRecord("m", slog.String("a", big("a", 30<<10)), slog.String("b", big("b", 40<<10)),
				slog.String("k"+big("k", 100<<10), "huge key"), slog.Int("small", 1)),
			check: func(t *testing.T, e, attrs map[string]any, _ []any) {
				assert.Equal(t, "m", e["message"])
				assert.Equal(t, "HttpException: 500", e["error"])
				assert.Equal(t, float64(1), attrs["small"])
				assert.Contains(t, truncatedNotes(e), ": removed", "the huge key cannot be cut, so it goes")
				for k := range attrs {
					assert.Less(t, len(k), 1000)
				}
			},
		},
		{
			name:   "then the stack, keeping its top frames",
			record: func() logrecord.Record { r := errorRecord("m"); r.StackTrace = frames; return r }(),
			check: func(t *testing.T, e, _ map[string]any, _ []any) {
				stack := str(e, "stack_trace")
				assert.True(t, strings.HasPrefix(stack, "goroutine 1 [running]:\nmain.f()\n\t/src/app/main.go:42"))
				assert.True(t, strings.HasSuffix(stack, "+0x1d\n"+truncMarker), "cut between frames")
				assert.Equal(t, "HttpException: 500", e["error"])
				assert.Equal(t, "m", e["message"])
			},
		},
		{
			name: "then the error",
			record: func() logrecord.Record {
				r := errorRecord("m")
				r.StackTrace, r.Error = frames, "HttpException: "+big("e", 100<<10)
				return r
			}(),
			check: func(t *testing.T, e, _ map[string]any, _ []any) {
				assert.True(t, strings.HasPrefix(str(e, "error"), "HttpException: eee"))
				assert.True(t, strings.HasSuffix(str(e, "error"), truncMarker))
				assert.Equal(t, "m", e["message"])
			},
		},
		{
			name: "the message last, never below 4 KB",
			record: func() logrecord.Record {
				r := errorRecord(big("é", 100<<10), slog.String("blob", big("x", 100<<10)))
				r.StackTrace, r.Error = frames, big("e", 100<<10)
				return r
			}(),
			check: func(t *testing.T, e, attrs map[string]any, _ []any) {
				msg := str(e, "message")
				assert.True(t, strings.HasSuffix(msg, truncMarker))
				assert.GreaterOrEqual(t, len(msg), messageFloor(MaxEntryBytes))
				assert.True(t, utf8.ValidString(msg))
				notes := truncatedNotes(e)
				for _, what := range []string{"attributes.blob", "stack_trace", "error", "message"} {
					assert.Contains(t, notes, what)
				}
			},
		},
		{
			name: "5,000 attributes",
			record: func() logrecord.Record {
				attrs := make([]slog.Attr, 5000)
				for i := range attrs {
					attrs[i] = slog.String(fmt.Sprintf("key_%04d", i), big("v", 20))
				}
				return errorRecord("m", attrs...)
			}(),
			check: func(t *testing.T, e, attrs map[string]any, _ []any) {
				assert.Equal(t, "m", e["message"])
				assert.Greater(t, len(attrs), 1000, "as many as fit are kept")
				assert.Contains(t, truncatedNotes(e), "more cuts")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := encodeEntry(nil, tt.record, &entryMeta{installID: "i", sessionID: "s", breadcrumbs: tt.crumbs}, MaxEntryBytes)
			e := strictEntry(t, b, MaxEntryBytes)
			attrs, _ := e["attributes"].(map[string]any)
			crumbs, _ := e["breadcrumbs"].([]any)
			tt.check(t, e, attrs, crumbs)
		})
	}
}

func TestSizeGuardEverythingHuge(t *testing.T) {
	huge := strings.Repeat("\x01", 70<<10) // six bytes each once escaped
	r := logrecord.New(t0, logrecord.LevelFatal, huge, huge, slog.String(huge, huge))
	r.Error, r.StackTrace = huge, huge
	m := &entryMeta{installID: huge, sessionID: huge, userID: huge, activeRun: &ActiveRun{ThreadID: huge, RunID: huge},
		breadcrumbs: []Breadcrumb{{Time: t0, Logger: huge, Message: huge, Category: "ui"}}}
	e := strictEntry(t, encodeEntry(nil, r, m, MaxEntryBytes), MaxEntryBytes)
	assert.GreaterOrEqual(t, len(str(e, "message")), messageFloor(MaxEntryBytes))
}

func TestTruncateOnRuneBoundary(t *testing.T) {
	tests := []struct {
		name string
		give string
		n    int
		want string
	}{
		{"fits", "héllo", 6, "héllo"},
		{"ascii", "hello", 3, "hel" + truncMarker},
		{"inside two-byte rune", "héllo", 2, "h" + truncMarker},
		{"inside four-byte rune", "a😀b", 3, "a" + truncMarker},
		{"after four-byte rune", "a😀b", 5, "a😀" + truncMarker},
		{"zero", "abc", 0, truncMarker},
		{"negative", "abc", -4, truncMarker},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := truncate(tt.give, tt.n)
			assert.Equal(t, tt.want, got)
			assert.True(t, utf8.ValidString(got))
		})
	}
}

// FuzzEncodeEntry feeds arbitrary records, attribute trees included, to
// the repairs and the encoder, and the result to the reference server's
// strict decoder: never a panic, never an entry the server refuses, never
// a repeated key, never over the limit.
func FuzzEncodeEntry(f *testing.F) {
	f.Add("hello", "Http", "4bf92f3577b34da6a3ce929d0e0e4736", int64(1770379200), []byte("\x00\x05hello\x05\x02"), 1.5)
	f.Add("h\xffé😀", "", "XYZ", int64(-62135596800), []byte("\x0a\x0b\x0c\x13\x20\x05\x05"), math.NaN())
	f.Add(strings.Repeat("é", 300), "a.b", "", int64(253402300800), []byte("\x11\xff\x11\xff\x11\xff\x06\x03"), math.Inf(1))
	f.Fuzz(func(t *testing.T, msg, logger, id string, unix int64, program []byte, num float64) {
		r := logrecord.New(time.Unix(unix, 0), logrecord.Level(int(num)%16), logger, msg, sinktest.Tree(program).Group()...)
		r = r.WithAttrs(slog.Float64("n", num))
		r.Error, r.StackTrace, r.TraceID, r.SpanID = msg, logger+"\n"+msg, id, id
		crumbs := []Breadcrumb{{Time: time.Unix(-unix, 0), Level: logrecord.LevelInfo, Logger: logger, Message: msg, Category: id}}
		r, crumbs = repair(r, crumbs, t0)
		b := encodeEntry(nil, r, &entryMeta{installID: id, sessionID: logger, userID: msg, breadcrumbs: crumbs}, MaxEntryBytes)
		strictEntry(t, b, MaxEntryBytes)
	})
}
