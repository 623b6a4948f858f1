package backendsink

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 2, 6, 12, 0, 0, 123456789, time.UTC)

func decode(t testing.TB, b []byte) map[string]any {
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

type code int

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
		{"channel", slog.AnyValue(make(chan int)), "<chan int>"},
		{"func", slog.AnyValue(func() {}), "<func()>"},
		{"struct", slog.AnyValue(plain{A: 1, B: "x"}), map[string]any{"A": float64(1), "B": "x"}},
		{"named int", slog.AnyValue(code(404)), float64(404)},
		{"string map", slog.AnyValue(map[string]string{"b": "2", "a": "1"}), map[string]any{"a": "1", "b": "2"}},
		{"int slice", slog.AnyValue([]int{1, 2, 3}), []any{float64(1), float64(2), float64(3)}},
		{"slice of maps", slog.AnyValue([]map[string]any{{"k": "v"}}), []any{map[string]any{"k": "v"}}},
		{"text marshaler", slog.AnyValue(textM{}), "as text"},
		{"bytes", slog.AnyValue([]byte("raw")), "raw"},
		{"JSON-shaped map", slog.AnyValue(map[string]any{"b": []any{1, "x", true, nil}, "a": json.Number("12345678901234567890")}), map[string]any{"a": float64(12345678901234567890), "b": []any{float64(1), "x", true, nil}}},
		{"bad json.Number", slog.AnyValue(json.Number("12abc")), "12abc"},
		{"string slice", slog.AnyValue([]string{"a", "b"}), []any{"a", "b"}},
		{"uint64", slog.Uint64Value(math.MaxUint64), float64(math.MaxUint64)},
		{"ints in any", slog.AnyValue([]any{int8(-1), uint16(2), int32(3), uint(4)}), []any{float64(-1), float64(2), float64(3), float64(4)}},
		{"cycle", slog.AnyValue(cyclic), map[string]any{"self": "!CYCLE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b []byte
			require.NotPanics(t, func() {
				r := logrecord.New(t0, logrecord.LevelInfo, "L", "m", slog.Attr{Key: "v", Value: tt.give})
				b = encodeEntry(nil, r, &entryMeta{}, MaxEntryBytes)
			})
			got := decode(t, b)["attributes"].(map[string]any)["v"]
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

// TestResourceValuesAreExact: a resource value arrives as exactly the
// string it was, or as the text of a value that is not a string.
func TestResourceValuesAreExact(t *testing.T) {
	res := map[string]any{
		"quotes": `he said "hi"`, "path": `C:\Users\bob\app.exe`, "lines": "one\ntwo\r\n\tthree\x00\x1f",
		"utf8": "é😀", "int": 4242, "float": 0.25, "bool": true, "nil": nil, "duration": 1500 * time.Millisecond,
		"code": code(7), "list": []string{"a", `"b"`},
	}
	var got map[string]string
	require.NoError(t, json.Unmarshal(encodeResource(res), &got))
	want := map[string]string{
		"quotes": `he said "hi"`, "path": `C:\Users\bob\app.exe`, "lines": "one\ntwo\r\n\tthree\x00\x1f",
		"utf8": "é😀", "int": "4242", "float": "0.25", "bool": "true", "nil": "", "duration": "1.5s",
		"code": "7", "list": `["a","\"b\""]`,
	}
	assert.Equal(t, want, got)
}
