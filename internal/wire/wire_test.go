package wire_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/internal/wire"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// decodeString reads a JSON string back.
func decodeString(t testing.TB, b []byte) string {
	t.Helper()
	var s string
	require.NoError(t, json.Unmarshal(b, &s), "%s", b)
	return s
}

// jsonText is what encoding/json reads back from its own encoding of s:
// every invalid byte replaced by U+FFFD.
func jsonText(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}

func TestAppendString(t *testing.T) {
	tests := []struct {
		name string
		give string
		want string // the exact encoding
	}{
		{"plain", "hello", `"hello"`},
		{"quotes", `he said "hi"`, `"he said \"hi\""`},
		{"windows path", `C:\Users\bob\logs`, `"C:\\Users\\bob\\logs"`},
		{"newline and tab", "a\nb\tc\r", `"a\nb\tc\r"`},
		{"control characters", "\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f" + `"`},
		{"html is left alone", "<a>&</a>", `"<a>&</a>"`},
		{"invalid UTF-8", "caf\xe9 \xff\xfe", `"caf\ufffd \ufffd\ufffd"`},
		{"truncated rune", "a\xe2\x82", `"a\ufffd\ufffd"`},
		{"line separators", "a\u2028b\u2029c", `"a\u2028b\u2029c"`},
		{"multibyte", "é😀日本", `"é😀日本"`},
		{"empty", "", `""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wire.AppendString(nil, tt.give)
			assert.Equal(t, tt.want, string(got))
			assert.Equal(t, jsonText(tt.give), decodeString(t, got), "reads back as encoding/json's own text")
		})
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("he said \"hi\"\\\n\x00\xff\u2028")
	f.Fuzz(func(t *testing.T, s string) {
		b := wire.AppendString([]byte("x"), s)
		require.Equal(t, byte('x'), b[0])
		if _, err := sinktest.CheckJSON(b[1:]); err != nil {
			t.Fatalf("%q: %v: %s", s, err, b)
		}
		if got := decodeString(t, b[1:]); got != jsonText(s) {
			t.Fatalf("%q read back as %q", s, got)
		}
	})
}

func TestAppendNumbers(t *testing.T) {
	tests := []struct {
		give any
		want string
	}{
		{math.NaN(), `"NaN"`},
		{math.Inf(1), `"+Inf"`},
		{math.Inf(-1), `"-Inf"`},
		{1.5, `1.5`},
		{1e21, `1e+21`},
		{int64(math.MinInt64), `-9223372036854775808`},
		{uint64(math.MaxUint64), `18446744073709551615`},
		{json.Number("12.5e3"), `12.5e3`},
		{json.Number("1e400"), `"1e400"`},
		{json.Number("12abc"), `"12abc"`},
		{json.Number("01"), `"01"`},
		{json.Number(strings.Repeat("9", wire.MaxIntDigits+1)), `"` + strings.Repeat("9", wire.MaxIntDigits+1) + `"`},
		{json.Number(strings.Repeat("9", 300)), strings.Repeat("9", 300)},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.give)[:min(20, len(fmt.Sprint(tt.give)))], func(t *testing.T) {
			got := wire.AppendData(nil, tt.give)
			assert.Equal(t, tt.want, string(got))
			assert.True(t, json.Valid(got))
		})
	}
}

func TestAppendAttrsWritesEachKeyOnce(t *testing.T) {
	many := make([]slog.Attr, 0, 40)
	for i := range 40 {
		many = append(many, slog.Int(fmt.Sprint("k", i%20), i))
	}
	tests := []struct {
		name  string
		attrs []slog.Attr
		want  string
	}{
		{"unique", []slog.Attr{slog.Int("a", 1), slog.String("b", "x")}, `{"a":1,"b":"x"}`},
		{"repeated: last wins", []slog.Attr{slog.Int("a", 1), slog.Int("b", 2), slog.Int("a", 3)}, `{"b":2,"a":3}`},
		{"repeated in a group", []slog.Attr{slog.Group("g", slog.Int("x", 1), slog.Int("x", 2))}, `{"g":{"x":2}}`},
		{"empty key", []slog.Attr{slog.Int("", 1), slog.Int("", 2)}, `{"":2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, string(wire.AppendAttrs(nil, tt.attrs)))
		})
	}
	b := wire.AppendAttrs(nil, many)
	_, err := sinktest.CheckJSON(b)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Len(t, m, 20)
	assert.Equal(t, float64(39), m["k19"])
}

func TestAppendValueDepth(t *testing.T) {
	deep := slog.IntValue(1)
	for range 100 {
		deep = slog.GroupValue(slog.Attr{Key: "g", Value: deep})
	}
	b := wire.AppendAttrs(nil, []slog.Attr{{Key: "v", Value: deep}})
	depth, err := sinktest.CheckJSON(b)
	require.NoError(t, err)
	assert.Equal(t, wire.MaxAttributeDepth+1, depth, "the attributes object and MaxAttributeDepth levels below it")
	assert.Contains(t, string(b), `"!DEPTH"`)

	coerced := logrecord.Coerce(deep)
	assert.Equal(t, b, wire.AppendAttrs(nil, []slog.Attr{{Key: "v", Value: coerced}}), "the encoder cuts where coercion does")
}

func TestAppendDataCoercesOtherValues(t *testing.T) {
	type point struct{ X, Y int }
	list := []any{1, nil}
	list[1] = list
	assert.Equal(t, `{"X":1,"Y":2}`, string(wire.AppendData(nil, point{1, 2})))
	assert.Equal(t, `[1,"!CYCLE"]`, string(wire.AppendValue(nil, logrecord.Coerce(slog.AnyValue(list)))))
	assert.Equal(t, `{"L":[1,"!CYCLE"]}`, string(wire.AppendData(nil, struct{ L []any }{list})), "a struct is coerced, cycles and all")
	assert.Equal(t, `{"a":[1,"x"],"b":{}}`, string(wire.AppendData(nil, map[string]any{"b": map[string]any{}, "a": []any{1, "x"}})))
}

func TestAppendEntry(t *testing.T) {
	errText, user := "HttpException: 500", "user-1"
	e := wire.Entry{
		Time: time.Date(2026, 2, 6, 12, 0, 0, 123456789, time.FixedZone("CET", 3600)), Level: wire.LevelName(logrecord.LevelError),
		Logger: "Http", Message: "Request failed", Attributes: wire.AppendAttrs(nil, []slog.Attr{slog.Int("status", 500)}),
		Error: &errText, InstallID: "i", SessionID: "s", UserID: &user, ActiveRun: &wire.ActiveRun{ThreadID: "t", RunID: "r"},
		Breadcrumbs: []wire.Breadcrumb{{Time: time.Date(2026, 2, 6, 10, 59, 59, 0, time.UTC), Level: "info", Logger: "Router", Message: "Navigated", Category: "ui"}},
	}
	assert.Equal(t, `{"timestamp":"2026-02-06T11:00:00.123Z","level":"error","logger":"Http","message":"Request failed",`+
		`"attributes":{"status":500},"error":"HttpException: 500","stack_trace":null,"span_id":null,"trace_id":null,`+
		`"install_id":"i","session_id":"s","user_id":"user-1","active_run":{"thread_id":"t","run_id":"r"},`+
		`"breadcrumbs":[{"timestamp":"2026-02-06T10:59:59.000Z","level":"info","logger":"Router","message":"Navigated","category":"ui"}]}`,
		string(wire.AppendEntry(nil, &e)))

	stored := wire.Entry{Timestamp: "whatever the client sent", Level: "info", Resource: map[string]string{"b": "2", "a": `"1"`}}
	assert.Equal(t, `{"timestamp":"whatever the client sent","level":"info","logger":"","message":"","attributes":null,`+
		`"error":null,"stack_trace":null,"span_id":null,"trace_id":null,"install_id":"","session_id":"","user_id":null,`+
		`"active_run":null,"resource":{"a":"\"1\"","b":"2"}}`, string(wire.AppendEntry(nil, &stored)))
}

func TestParseAck(t *testing.T) {
	tests := []struct {
		give   string
		want   int
		wantOK bool
	}{
		{`{"accepted":3}`, 3, true},
		{` {"accepted": 0, "detail": "ok"} `, 0, true},
		{string(wire.AppendAck(nil, 100)), 100, true},
		{``, 0, false},
		{`<html>Sign in to the Wi-Fi</html>`, 0, false},
		{`{"accepted":"3"}`, 0, false},
		{`{"accepted":3.5}`, 0, false},
		{`{"accepted":-1}`, 0, false},
		{`{"ok":true}`, 0, false},
		{`[3]`, 0, false},
		{`{"accepted":3`, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			n, ok := wire.ParseAck([]byte(tt.give))
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, n)
		})
	}
}

func TestValidTimeAndIDs(t *testing.T) {
	assert.False(t, wire.ValidTime(time.Time{}))
	assert.False(t, wire.ValidTime(time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC)))
	assert.False(t, wire.ValidTime(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)))
	assert.False(t, wire.ValidTime(time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("W", -3*3600))), "year 10000 in UTC")
	assert.True(t, wire.ValidTime(time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)))
	assert.True(t, wire.ValidTime(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)))
	assert.True(t, wire.ValidTraceID("4bf92f3577b34da6a3ce929d0e0e4736"))
	assert.False(t, wire.ValidTraceID("4BF92F3577B34DA6A3CE929D0E0E4736"))
	assert.False(t, wire.ValidSpanID("00f067aa0ba902b"))
	assert.True(t, wire.LowerHex([]byte("00f067aa0ba902b7"), 16))
	for _, l := range logrecord.Levels() {
		back, ok := wire.ParseLevel(wire.LevelName(l))
		assert.True(t, ok)
		assert.Equal(t, l, back)
	}
	assert.Equal(t, "info", wire.LevelName(logrecord.Level(slog.LevelInfo+2)))
	_, ok := wire.ParseLevel("WARN")
	assert.False(t, ok)
	assert.True(t, wire.IsCategory("ui"))
	assert.False(t, wire.IsCategory("UI"))
}

// FuzzAppendAttrs feeds arbitrary attribute trees, coerced as records
// hold them, to the attribute encoder: always valid JSON, each key once,
// never deeper than the contract allows.
func FuzzAppendAttrs(f *testing.F) {
	f.Add([]byte("\x00\x05hello\x05\x02\x00\x13\x0a\x13\x07"))
	f.Fuzz(func(t *testing.T, program []byte) {
		attrs := logrecord.CoerceAttrs(sinktest.Tree(program).Group())
		b := wire.AppendAttrs(nil, attrs)
		depth, err := sinktest.CheckJSON(b)
		if err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		if depth > wire.MaxAttributeDepth+1 {
			t.Fatalf("attributes nest %d deep", depth-1)
		}
	})
}
