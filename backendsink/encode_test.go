package backendsink

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 2, 6, 12, 0, 0, 123456789, time.UTC)

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	require.True(t, json.Valid(b), "invalid JSON: %s", b)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func TestEncodeEntryMatchesContract(t *testing.T) {
	r := logrecord.New(t0, logrecord.LevelError, "Http", "Request failed: 500",
		slog.String("url", "/api/v1/chat"), slog.Int("status", 500), slog.Group("retry", slog.Int("n", 2)))
	r.Error = "HttpException: 500"
	r.StackTrace = "goroutine 7 [running]:\nmain.main()"
	m := &entryMeta{
		installID: "6f1c", sessionID: "0b8e",
		breadcrumbs: []Breadcrumb{{Time: t0.Add(-time.Second), Level: logrecord.LevelInfo, Logger: "Router", Message: "Navigated to /chat", Category: "ui"}},
	}
	got := decode(t, encodeEntry(nil, r, m, MaxEntryBytes))
	want := map[string]any{
		"timestamp":   "2026-02-06T12:00:00.123Z",
		"level":       "error",
		"logger":      "Http",
		"message":     "Request failed: 500",
		"attributes":  map[string]any{"url": "/api/v1/chat", "status": float64(500), "retry": map[string]any{"n": float64(2)}},
		"error":       "HttpException: 500",
		"stack_trace": "goroutine 7 [running]:\nmain.main()",
		"span_id":     nil,
		"trace_id":    nil,
		"install_id":  "6f1c",
		"session_id":  "0b8e",
		"user_id":     nil,
		"active_run":  nil,
		"breadcrumbs": []any{map[string]any{"timestamp": "2026-02-06T11:59:59.123Z", "level": "info", "logger": "Router", "message": "Navigated to /chat", "category": "ui"}},
	}
	assert.Equal(t, want, got)
}

func TestEncodeEntryIDsAndRun(t *testing.T) {
	r := logrecord.New(t0.In(time.FixedZone("CET", 3600)), logrecord.Level(slog.LevelWarn+1), "Auth", "x")
	r.TraceID, r.SpanID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	m := &entryMeta{installID: "i", sessionID: "s", userID: "u-1", activeRun: &ActiveRun{ThreadID: "t1", RunID: "r1"}}
	got := decode(t, encodeEntry(nil, r, m, MaxEntryBytes))
	assert.Equal(t, "2026-02-06T12:00:00.123Z", got["timestamp"], "always UTC with Z")
	assert.Equal(t, "warning", got["level"])
	assert.Equal(t, "u-1", got["user_id"])
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", got["trace_id"])
	assert.Equal(t, "00f067aa0ba902b7", got["span_id"])
	assert.Equal(t, map[string]any{"thread_id": "t1", "run_id": "r1"}, got["active_run"])
	assert.NotContains(t, got, "breadcrumbs")
	assert.Equal(t, map[string]any{}, got["attributes"])
}

type stringer struct{}

func (stringer) String() string { return "I am a stringer" }

type panicStringer struct{}

func (panicStringer) String() string { panic("String exploded") }

type ptrStringer struct{ s string }

func (p *ptrStringer) String() string { return p.s }

type panicValuer struct{}

func (panicValuer) LogValue() slog.Value { panic("LogValue exploded") }

type textM struct{}

func (textM) MarshalText() ([]byte, error) { return []byte("as text"), nil }

type plain struct {
	A int
	B string
}

func TestAttributeCoercion(t *testing.T) {
	var nilStringer *ptrStringer
	var nilErr *json.SyntaxError
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	tests := []struct {
		name string
		give slog.Value
		want any
	}{
		{"NaN", slog.Float64Value(math.NaN()), "NaN"},
		{"+Inf", slog.Float64Value(math.Inf(1)), "+Inf"},
		{"-Inf", slog.Float64Value(math.Inf(-1)), "-Inf"},
		{"float32 NaN in any", slog.AnyValue(float32(math.NaN())), "NaN"},
		{"float", slog.Float64Value(1.5), 1.5},
		{"invalid UTF-8", slog.StringValue("ok\xffok\xc3"), "ok\ufffdok\ufffd"},
		{"control characters", slog.StringValue("a\x00b\x1fc\n\"\\"), "a\x00b\x1fc\n\"\\"},
		{"line separator", slog.StringValue("a\u2028b"), "a\u2028b"},
		{"error", slog.AnyValue(errors.New("boom")), "boom"},
		{"time", slog.TimeValue(t0.In(time.FixedZone("X", -7200))), "2026-02-06T12:00:00.123456789Z"},
		{"time in any", slog.AnyValue(t0), "2026-02-06T12:00:00.123456789Z"},
		{"duration", slog.DurationValue(1500 * time.Millisecond), "1.5s"},
		{"stringer", slog.AnyValue(stringer{}), "I am a stringer"},
		{"panicking stringer", slog.AnyValue(panicStringer{}), "!PANIC: backendsink.panicStringer: String exploded"},
		{"panicking LogValuer", slog.AnyValue(panicValuer{}), "!PANIC in LogValue: LogValue exploded"},
		{"nil pointer stringer", slog.AnyValue(nilStringer), nil},
		{"nil pointer error", slog.AnyValue(nilErr), nil},
		{"nil", slog.AnyValue(nil), nil},
		{"channel", slog.AnyValue(make(chan int)), "0x"},
		{"func", slog.AnyValue(func() {}), "0x"},
		{"struct", slog.AnyValue(plain{A: 1, B: "x"}), "{1 x}"},
		{"text marshaler", slog.AnyValue(textM{}), "as text"},
		{"bytes", slog.AnyValue([]byte("raw")), "raw"},
		{"JSON-shaped map", slog.AnyValue(map[string]any{"b": []any{1, "x", true, nil}, "a": json.Number("12345678901234567890")}), map[string]any{"a": float64(12345678901234567890), "b": []any{float64(1), "x", true, nil}}},
		{"bad json.Number", slog.AnyValue(json.Number("12abc")), "12abc"},
		{"string slice", slog.AnyValue([]string{"a", "b"}), []any{"a", "b"}},
		{"uint64", slog.Uint64Value(math.MaxUint64), float64(math.MaxUint64)},
		{"ints in any", slog.AnyValue([]any{int8(-1), uint16(2), int32(3), uint(4)}), []any{float64(-1), float64(2), float64(3), float64(4)}},
		{"cycle", slog.AnyValue(cyclic), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := logrecord.New(t0, logrecord.LevelInfo, "L", "m", slog.Attr{Key: "v", Value: tt.give})
			var b []byte
			require.NotPanics(t, func() { b = encodeEntry(nil, r, &entryMeta{}, MaxEntryBytes) })
			got := decode(t, b)["attributes"].(map[string]any)["v"]
			switch want := tt.want.(type) {
			case string:
				if want == "0x" {
					assert.Contains(t, got, "0x")
					return
				}
			case nil:
				if tt.name == "cycle" {
					assert.Contains(t, fmt.Sprint(got), "!DEPTH")
					return
				}
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestAttributeGroupsAndEmpties(t *testing.T) {
	r := logrecord.New(t0, logrecord.LevelInfo, "L", "m",
		slog.Attr{}, slog.Group("empty"), slog.Group("", slog.Int("inlined", 1)),
		slog.Group("g", slog.Group("h", slog.String("k", "v"))))
	got := decode(t, encodeEntry(nil, r, &entryMeta{}, MaxEntryBytes))
	assert.Equal(t, map[string]any{"inlined": float64(1), "g": map[string]any{"h": map[string]any{"k": "v"}}}, got["attributes"])
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := truncate(tt.give, tt.n)
			assert.Equal(t, tt.want, got)
			assert.True(t, utf8.ValidString(got))
		})
	}
}

func TestSizeGuardOrder(t *testing.T) {
	big := func(ch string, n int) string { return strings.Repeat(ch, n) }
	base := func() logrecord.Record {
		r := logrecord.New(t0, logrecord.LevelError, "Http", "short message", slog.String("payload", "small"))
		r.Error = "HttpException: 500"
		r.StackTrace = "goroutine 1 [running]:\nmain.main()"
		return r
	}
	tests := []struct {
		name        string
		mutate      func(*logrecord.Record)
		wantCut     []string // fields that end with the marker
		wantIntact  []string
		wantDropped bool
	}{
		{
			name:       "message cut first",
			mutate:     func(r *logrecord.Record) { r.Message = big("é", 40000) },
			wantCut:    []string{"message"},
			wantIntact: []string{"error", "stack_trace", "payload"},
		},
		{
			name: "then attributes",
			mutate: func(r *logrecord.Record) {
				r.Message = big("m", 1000)
				*r = r.WithAttrs(slog.String("blob", big("😀", 20000)))
			},
			wantCut:    []string{"message", "blob"},
			wantIntact: []string{"error", "stack_trace"},
		},
		{
			name: "then the stack",
			mutate: func(r *logrecord.Record) {
				r.Message = big("m", 1000)
				r.StackTrace = big("s", 70000)
			},
			wantCut:    []string{"message", "stack_trace"},
			wantIntact: []string{"error"},
		},
		{
			name: "error last",
			mutate: func(r *logrecord.Record) {
				r.StackTrace = big("s", 70000)
				r.Error = big("e", 70000)
			},
			wantCut: []string{"message", "stack_trace", "error"},
		},
		{
			name: "many small attributes dropped",
			mutate: func(r *logrecord.Record) {
				attrs := make([]slog.Attr, 0, 10000)
				for i := range 10000 {
					attrs = append(attrs, slog.Int(fmt.Sprintf("key_%05d", i), i))
				}
				*r = r.ReplaceAttrs(attrs)
			},
			wantIntact:  []string{"error", "stack_trace"},
			wantDropped: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base()
			tt.mutate(&r)
			b := encodeEntry(nil, r, &entryMeta{installID: "i", sessionID: "s"}, MaxEntryBytes)
			require.LessOrEqual(t, len(b), MaxEntryBytes)
			got := decode(t, b)
			attrs := got["attributes"].(map[string]any)
			field := func(name string) string {
				if v, ok := got[name].(string); ok {
					return v
				}
				s, _ := attrs[name].(string)
				return s
			}
			for _, f := range tt.wantCut {
				assert.True(t, strings.HasSuffix(field(f), truncMarker), "%s should be cut", f)
				assert.True(t, utf8.ValidString(field(f)))
			}
			for _, f := range tt.wantIntact {
				assert.NotContains(t, field(f), truncMarker, "%s should be intact", f)
				assert.NotEmpty(t, field(f), f)
			}
			if tt.wantDropped {
				assert.Contains(t, attrs, "fieldlog.truncated")
			}
		})
	}
}

func TestSizeGuardDropsBreadcrumbsLast(t *testing.T) {
	crumbs := make([]Breadcrumb, 20)
	for i := range crumbs {
		crumbs[i] = Breadcrumb{Time: t0, Level: logrecord.LevelInfo, Logger: "L", Message: strings.Repeat("x", 4000), Category: "system"}
	}
	r := logrecord.New(t0, logrecord.LevelError, "Http", "m")
	b := encodeEntry(nil, r, &entryMeta{breadcrumbs: crumbs}, MaxEntryBytes)
	require.LessOrEqual(t, len(b), MaxEntryBytes)
	assert.NotContains(t, decode(t, b), "breadcrumbs")
}

func FuzzEncodeEntry(f *testing.F) {
	f.Add("hello", "k", "v", 1.5, 100)
	f.Add("h\xffé😀", "", "\x00", math.NaN(), 10)
	f.Add(strings.Repeat("é", 300), "a.b", "x\u2028", math.Inf(1), 200)
	f.Fuzz(func(t *testing.T, msg, key, val string, num float64, limit int) {
		limit = 1200 + (limit&0xffff)%4000
		r := logrecord.New(t0, logrecord.LevelError, key, msg, slog.String(key, val), slog.Float64("n", num), slog.Group(val, slog.String(msg, key)))
		r.Error, r.StackTrace = val, msg
		b := encodeEntry(nil, r, &entryMeta{installID: val, sessionID: key, breadcrumbs: []Breadcrumb{{Message: msg, Logger: key}}}, limit)
		if !json.Valid(b) {
			t.Fatalf("invalid JSON: %q", b)
		}
		if len(b) > limit {
			t.Fatalf("entry of %d bytes over limit %d", len(b), limit)
		}
		for n := range min(len(msg)+1, 64) {
			if s := truncate(msg, n); !utf8.ValidString(s) && utf8.ValidString(msg) {
				t.Fatalf("truncate(%q, %d) = %q is not valid UTF-8", msg, n, s)
			}
		}
	})
}
