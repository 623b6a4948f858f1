package ingest_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kv is one member of a JSON object, its value as raw JSON text. An empty
// value of active_run, breadcrumbs or logs stands for the nested baseline.
type kv struct{ key, raw string }

// doc is the baseline payload of the differential table, which a case
// mutates once: one entry with every field well-formed, its active run and
// one breadcrumb, and a resource.
type doc struct {
	top, entry, run, crumb []kv
	body                   []byte // sent as is when set
	header                 map[string]string
	gzip                   bool
}

func baseline() *doc {
	return &doc{
		top: []kv{{"logs", ""}, {"resource", `{"service.name":"billing","device.alias":"calm-falcon-ridge"}`}},
		entry: []kv{
			{"timestamp", `"2026-02-06T12:00:00.123Z"`},
			{"level", `"error"`},
			{"logger", `"Http"`},
			{"message", `"Request failed: 500"`},
			{"attributes", `{"url":"/api/v1/chat","status":500,"retry":{"n":2}}`},
			{"error", `"HttpException: 500"`},
			{"stack_trace", `"goroutine 7 [running]:\nmain.main()\n\t/src/app/main.go:42 +0x1d"`},
			{"span_id", `"00f067aa0ba902b7"`},
			{"trace_id", `"4bf92f3577b34da6a3ce929d0e0e4736"`},
			{"install_id", `"install-1"`},
			{"session_id", `"session-1"`},
			{"user_id", `"user-17"`},
			{"active_run", ""},
			{"breadcrumbs", ""},
		},
		run:   []kv{{"thread_id", `"thread-1"`}, {"run_id", `"run-9"`}},
		crumb: []kv{{"timestamp", `"2026-02-06T11:59:59.000Z"`}, {"level", `"info"`}, {"logger", `"Router"`}, {"message", `"Navigated to /chat"`}, {"category", `"ui"`}},
	}
}

func object(members []kv, nested func(key string) string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		raw := m.raw
		if raw == "" {
			raw = nested(m.key)
		}
		fmt.Fprintf(&b, "%q:%s", m.key, raw)
	}
	b.WriteByte('}')
	return b.String()
}

func (d *doc) render() []byte {
	if d.body != nil {
		return d.body
	}
	entry := object(d.entry, func(key string) string {
		if key == "active_run" {
			return object(d.run, nil)
		}
		return "[" + object(d.crumb, nil) + "]"
	})
	return []byte(object(d.top, func(string) string { return "[" + entry + "]" }))
}

// Mutations: each changes the baseline in one place.
type mutation func(*doc)

func replace(members []kv, key, raw string) []kv {
	for i := range members {
		if members[i].key == key {
			members[i].raw = raw
			return members
		}
	}
	return append(members, kv{key, raw})
}

func remove(members []kv, key string) []kv {
	out := members[:0]
	for _, m := range members {
		if m.key != key {
			out = append(out, m)
		}
	}
	return out
}

func set(key, raw string) mutation      { return func(d *doc) { d.entry = replace(d.entry, key, raw) } }
func del(key string) mutation           { return func(d *doc) { d.entry = remove(d.entry, key) } }
func add(key, raw string) mutation      { return func(d *doc) { d.entry = append(d.entry, kv{key, raw}) } }
func setTop(key, raw string) mutation   { return func(d *doc) { d.top = replace(d.top, key, raw) } }
func delTop(key string) mutation        { return func(d *doc) { d.top = remove(d.top, key) } }
func addTop(key, raw string) mutation   { return func(d *doc) { d.top = append(d.top, kv{key, raw}) } }
func setRun(key, raw string) mutation   { return func(d *doc) { d.run = replace(d.run, key, raw) } }
func delRun(key string) mutation        { return func(d *doc) { d.run = remove(d.run, key) } }
func setCrumb(key, raw string) mutation { return func(d *doc) { d.crumb = replace(d.crumb, key, raw) } }
func delCrumb(key string) mutation      { return func(d *doc) { d.crumb = remove(d.crumb, key) } }
func header(k, v string) mutation       { return func(d *doc) { d.header = map[string]string{k: v} } }
func gzipOn() mutation                  { return func(d *doc) { d.gzip = true } }
func both(a, b mutation) mutation       { return func(d *doc) { a(d); b(d) } }

// withBody replaces the whole body, computed from the baseline's.
func withBody(f func(baseline []byte) []byte) mutation {
	return func(d *doc) { d.body = f(d.render()) }
}

func rawBody(s string) mutation { return func(d *doc) { d.body = []byte(s) } }

func nest(levels int) string {
	return strings.Repeat(`{"a":`, levels) + "1" + strings.Repeat("}", levels)
}

func utf16Body(b []byte, order binary.AppendByteOrder, bom bool) []byte {
	var out []byte
	if bom {
		out = order.AppendUint16(out, 0xFEFF)
	}
	for _, u := range utf16.Encode([]rune(string(b))) {
		out = order.AppendUint16(out, u)
	}
	return out
}

func utf32Body(b []byte, order binary.AppendByteOrder) []byte {
	out := order.AppendUint32(nil, 0xFEFF)
	for _, r := range string(b) {
		out = order.AppendUint32(out, uint32(r))
	}
	return out
}

// padded makes the baseline exactly n bytes long by growing its message.
func padded(n int) mutation {
	return withBody(func(b []byte) []byte {
		return bytes.Replace(b, []byte(`"Request failed: 500"`), []byte(`"Request failed: 500`+strings.Repeat("x", n-len(b))+`"`), 1)
	})
}

// differential is one row of the table: a single mutation of the
// baseline and the verdict of each mode. moved names the field compat
// mode must move to a fieldlog.invalid.* attribute.
type differential struct {
	name           string
	mutate         mutation
	compat, strict int
	moved          string
}

// typeGrid gives, for each field, the verdicts for a value of each JSON
// type, compat/strict, in the order of gridValues; "m" marks a value
// compat mode moves to an attribute.
var gridValues = []struct{ name, raw string }{
	{"string", `"x"`}, {"number", `7`}, {"boolean", `true`}, {"null", `null`},
	{"array", `["x"]`}, {"object", `{"x":1}`}, {"missing", ""},
}

var typeGrid = []struct {
	where, field string
	verdicts     string // string number boolean null array object missing
}{
	{"entry", "timestamp", "200/422 422/422 422/422 422/422 422/422 422/422 422/422"},
	{"entry", "level", "422/422 422/422 422/422 422/422 422/422 422/422 422/422"},
	{"entry", "logger", "200/200 422/422 422/422 422/422 422/422 422/422 422/422"},
	{"entry", "message", "200/200 422/422 422/422 422/422 422/422 422/422 422/422"},
	{"entry", "attributes", "422/422 422/422 422/422 200/200 422/422 200/200 200/200"},
	{"entry", "error", "200/200 200m/422 200m/422 200/200 200m/422 200m/422 200/200"},
	{"entry", "stack_trace", "200/200 200m/422 200m/422 200/200 200m/422 200m/422 200/200"},
	{"entry", "span_id", "200m/422 200m/422 200m/422 200/200 200m/422 200m/422 200/200"},
	{"entry", "trace_id", "200m/422 200m/422 200m/422 200/200 200m/422 200m/422 200/200"},
	{"entry", "install_id", "200/200 422/422 422/422 422/422 422/422 422/422 422/422"},
	{"entry", "session_id", "200/200 422/422 422/422 422/422 422/422 422/422 422/422"},
	{"entry", "user_id", "200/200 422/422 422/422 200/200 422/422 422/422 200/200"},
	{"entry", "active_run", "422/422 422/422 422/422 200/200 422/422 422/422 200/200"},
	{"entry", "breadcrumbs", "200m/422 200m/422 200m/422 200/200 200m/422 200m/422 200/200"},
	{"run", "thread_id", "200/200 422/422 422/422 422/422 422/422 422/422 422/422"},
	{"run", "run_id", "200/200 422/422 422/422 422/422 422/422 422/422 422/422"},
	{"crumb", "timestamp", "200/422 200m/422 200m/422 200m/422 200m/422 200m/422 200m/422"},
	{"crumb", "level", "200m/422 200m/422 200m/422 200m/422 200m/422 200m/422 200m/422"},
	{"crumb", "logger", "200/200 200m/422 200m/422 200m/422 200m/422 200m/422 200m/422"},
	{"crumb", "message", "200/200 200m/422 200m/422 200m/422 200m/422 200m/422 200m/422"},
	{"crumb", "category", "200m/422 200m/422 200m/422 200m/422 200m/422 200m/422 200m/422"},
	{"top", "logs", "422/422 422/422 422/422 422/422 422/422 422/422 422/422"},
	{"top", "resource", "422/422 422/422 422/422 422/422 422/422 422/422 422/422"},
}

func gridCases(t *testing.T) []differential {
	var out []differential
	for _, row := range typeGrid {
		verdicts := strings.Fields(row.verdicts)
		require.Len(t, verdicts, len(gridValues), row.field)
		for i, v := range gridValues {
			c, st, ok := strings.Cut(verdicts[i], "/")
			require.True(t, ok, verdicts[i])
			c, m := strings.CutSuffix(c, "m")
			compat, err := strconv.Atoi(c)
			require.NoError(t, err, verdicts[i])
			strict, err := strconv.Atoi(st)
			require.NoError(t, err, verdicts[i])
			var mut mutation
			switch row.where {
			case "entry":
				mut = set(row.field, v.raw)
				if v.raw == "" {
					mut = del(row.field)
				}
			case "run":
				mut = setRun(row.field, v.raw)
				if v.raw == "" {
					mut = delRun(row.field)
				}
			case "crumb":
				mut = setCrumb(row.field, v.raw)
				if v.raw == "" {
					mut = delCrumb(row.field)
				}
			case "top":
				mut = setTop(row.field, v.raw)
				if v.raw == "" {
					mut = delTop(row.field)
				}
			}
			moved := ""
			if m {
				moved = row.field
				if row.where == "crumb" {
					moved = "breadcrumbs"
				}
			}
			out = append(out, differential{fmt.Sprintf("type/%s.%s/%s", row.where, row.field, v.name), mut, compat, strict, moved})
		}
	}
	return out
}

func tsCase(ts string, compat, strict int) differential {
	return differential{"timestamp/" + ts, set("timestamp", fmt.Sprintf("%q", ts)), compat, strict, ""}
}

func levelCase(level string, compat, strict int) differential {
	return differential{"level/" + level, set("level", fmt.Sprintf("%q", level)), compat, strict, ""}
}

func contentType(ct string, compat, strict int) differential {
	return differential{"content-type/" + ct, header("Content-Type", ct), compat, strict, ""}
}

var differentials = []differential{
	{"baseline", func(*doc) {}, 200, 200, ""},

	// Timestamps: production takes any string; strict wants RFC 3339 with an offset.
	tsCase("2026-02-06T12:00:00Z", 200, 200),
	tsCase("2026-02-06T12:00:00.1Z", 200, 200),
	tsCase("2026-02-06T12:00:00.123456Z", 200, 200),
	tsCase("2026-02-06T12:00:00.123456789Z", 200, 200),
	tsCase("2026-02-06T12:00:00.123456+00:00", 200, 200),
	tsCase("2026-02-06T14:00:00+02:00", 200, 200),
	tsCase("2026-02-06T07:00:00-05:00", 200, 200),
	tsCase("2026-02-06T12:00:00-00:00", 200, 200),
	tsCase("2026-02-06t12:00:00z", 200, 200),
	tsCase("2016-12-31T23:59:60Z", 200, 200),
	tsCase("2024-02-29T00:00:00Z", 200, 200),
	tsCase("2023-02-29T00:00:00Z", 200, 422),
	tsCase("2026-02-30T12:00:00Z", 200, 422),
	tsCase("2026-13-01T00:00:00Z", 200, 422),
	tsCase("2026-02-06T24:00:00Z", 200, 422),
	tsCase("2026-02-06T12:60:00Z", 200, 422),
	tsCase("2026-02-06T12:00:00.123", 200, 422),
	tsCase("2026-02-06 12:00:00Z", 200, 422),
	tsCase("2026-02-06T12:00:00+0200", 200, 422),
	tsCase("2026-02-06T12:00:00+02", 200, 422),
	tsCase("2026-02-06T12:00:00.Z", 200, 422),
	tsCase("2026-02-06T12:00Z", 200, 422),
	tsCase("2026-02-06", 200, 422),
	tsCase("", 200, 422),
	tsCase("yesterday", 200, 422),
	tsCase("1770379200123", 200, 422),
	tsCase("Fri, 06 Feb 2026 12:00:00 GMT", 200, 422),
	{"timestamp/10 KB", set("timestamp", `"`+strings.Repeat("9", 10_000)+`"`), 200, 422, ""},

	// Ids: well-formed or null are kept; anything else compat moves.
	{"span_id/all zero", set("span_id", `"0000000000000000"`), 200, 200, ""},
	{"span_id/upper case", set("span_id", `"00F067AA0BA902B7"`), 200, 422, "span_id"},
	{"span_id/15 digits", set("span_id", `"00f067aa0ba902b"`), 200, 422, "span_id"},
	{"span_id/17 digits", set("span_id", `"00f067aa0ba902b70"`), 200, 422, "span_id"},
	{"span_id/empty", set("span_id", `""`), 200, 422, "span_id"},
	{"span_id/not hex", set("span_id", `"zzf067aa0ba902b7"`), 200, 422, "span_id"},
	{"span_id/0x prefix", set("span_id", `"0x00f067aa0ba902"`), 200, 422, "span_id"},
	{"trace_id/all zero", set("trace_id", `"00000000000000000000000000000000"`), 200, 200, ""},
	{"trace_id/upper case", set("trace_id", `"4BF92F3577B34DA6A3CE929D0E0E4736"`), 200, 422, "trace_id"},
	{"trace_id/uuid", set("trace_id", `"4bf92f35-77b3-4da6-a3ce-929d0e0e4736"`), 200, 422, "trace_id"},
	{"trace_id/31 digits", set("trace_id", `"4bf92f3577b34da6a3ce929d0e0e473"`), 200, 422, "trace_id"},
	{"trace_id/span length", set("trace_id", `"00f067aa0ba902b7"`), 200, 422, "trace_id"},
	{"trace_id/w3c traceparent", set("trace_id", `"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"`), 200, 422, "trace_id"},
	{"user_id/empty", set("user_id", `""`), 200, 200, ""},
	{"install_id/empty", set("install_id", `""`), 200, 200, ""},
	{"session_id/long", set("session_id", `"`+strings.Repeat("s", 5000)+`"`), 200, 200, ""},

	// Levels: exactly the six lower-case names, in both modes.
	levelCase("trace", 200, 200),
	levelCase("debug", 200, 200),
	levelCase("info", 200, 200),
	levelCase("warning", 200, 200),
	levelCase("fatal", 200, 200),
	levelCase("warn", 422, 422),
	levelCase("INFO", 422, 422),
	levelCase("Error", 422, 422),
	levelCase(" info", 422, 422),
	levelCase("info ", 422, 422),
	levelCase("information", 422, 422),
	levelCase("critical", 422, 422),
	levelCase("", 422, 422),
	{"level/escaped", set("level", `"\u0069nfo"`), 200, 200, ""},

	// Breadcrumb categories: the four; compat moves any other.
	{"category/network", setCrumb("category", `"network"`), 200, 200, ""},
	{"category/system", setCrumb("category", `"system"`), 200, 200, ""},
	{"category/user", setCrumb("category", `"user"`), 200, 200, ""},
	{"category/screen", setCrumb("category", `"screen"`), 200, 422, "breadcrumbs"},
	{"category/UI", setCrumb("category", `"UI"`), 200, 422, "breadcrumbs"},
	{"category/navigation", setCrumb("category", `"navigation"`), 200, 422, "breadcrumbs"},
	{"category/empty", setCrumb("category", `""`), 200, 422, "breadcrumbs"},
	{"breadcrumbs/empty", set("breadcrumbs", `[]`), 200, 200, ""},
	{"breadcrumbs/crumb not an object", set("breadcrumbs", `["Navigated to /chat"]`), 200, 422, "breadcrumbs"},
	{"breadcrumbs/crumb null", set("breadcrumbs", `[null]`), 200, 422, "breadcrumbs"},
	{"breadcrumbs/offset timestamp", setCrumb("timestamp", `"2026-02-06T12:59:59+01:00"`), 200, 200, ""},
	{"breadcrumbs/extra key", both(setCrumb("category", `"ui"`), func(d *doc) { d.crumb = append(d.crumb, kv{"data", `{}`}) }), 200, 422, ""},
	{"breadcrumbs/on an info entry", set("level", `"info"`), 200, 200, ""},

	// Unknown and misspelled names: production ignores them; strict names them.
	{"unknown/stackTrace", add("stackTrace", `"goroutine 1"`), 200, 422, ""},
	{"unknown/stacktrace", add("stacktrace", `"goroutine 1"`), 200, 422, ""},
	{"unknown/breadCrumbs", add("breadCrumbs", `[]`), 200, 422, ""},
	{"unknown/msg", add("msg", `"hello"`), 200, 422, ""},
	{"unknown/Level beside level", add("Level", `"info"`), 200, 422, ""},
	{"unknown/extra object", add("extra", `{"x":[1,2]}`), 200, 422, ""},
	{"unknown/sequence", add("sequence", `7`), 200, 422, ""},
	{"unknown/installId instead of install_id", both(del("install_id"), add("installId", `"i"`)), 422, 422, ""},
	{"unknown/Message instead of message", both(del("message"), add("Message", `"m"`)), 422, 422, ""},
	{"unknown/payload key", addTop("client", `"fieldlog-go/0.1"`), 200, 422, ""},
	{"unknown/Resource beside resource", addTop("Resource", `{}`), 200, 422, ""},
	{"unknown/Logs instead of logs", both(delTop("logs"), addTop("Logs", `[]`)), 422, 422, ""},
	{"unknown/active_run key", setRun("step", `3`), 200, 422, ""},
	{"unknown/threadId instead of thread_id", both(delRun("thread_id"), setRun("threadId", `"t"`)), 422, 422, ""},
	{"unknown/runId beside run_id", setRun("runId", `"r"`), 200, 422, ""},

	// Resource: an object of strings, required.
	{"resource/empty", setTop("resource", `{}`), 200, 200, ""},
	{"resource/empty key", setTop("resource", `{"":"x"}`), 200, 200, ""},
	{"resource/number value", setTop("resource", `{"process.pid":4242}`), 422, 422, ""},
	{"resource/null value", setTop("resource", `{"host.name":null}`), 422, 422, ""},
	{"resource/nested", setTop("resource", `{"os":{"name":"linux"}}`), 422, 422, ""},
	{"resource/bool value", setTop("resource", `{"debug":true}`), 422, 422, ""},

	// Nesting: production reads several hundred levels; strict caps attributes at 32.
	{"nesting/attributes 1", set("attributes", `{"a":1}`), 200, 200, ""},
	{"nesting/attributes 16", set("attributes", `{"a":`+nest(16)+`}`), 200, 200, ""},
	{"nesting/attributes 32", set("attributes", `{"a":`+nest(32)+`}`), 200, 200, ""},
	{"nesting/attributes 33", set("attributes", `{"a":`+nest(33)+`}`), 200, 422, ""},
	{"nesting/attributes 100", set("attributes", `{"a":`+nest(100)+`}`), 200, 422, ""},
	{"nesting/arrays in attributes 32", set("attributes", `{"a":`+strings.Repeat("[", 32)+strings.Repeat("]", 32)+`}`), 200, 200, ""},
	{"nesting/body 512", set("attributes", `{"a":`+nest(508)+`}`), 200, 422, ""},
	{"nesting/body 513", set("attributes", `{"a":`+nest(509)+`}`), 400, 400, ""},
	{"nesting/body 5000", set("attributes", `{"a":`+nest(4996)+`}`), 400, 400, ""},
	{"nesting/unknown field 512", addTop("x", strings.Repeat("[", 511)+strings.Repeat("]", 511)), 200, 422, ""},
	{"nesting/unknown field 513", addTop("x", strings.Repeat("[", 512)+strings.Repeat("]", 512)), 400, 400, ""},
	{"nesting/moved value", set("trace_id", nest(100)), 200, 422, "trace_id"},

	// Numbers: Python's rules.
	{"number/zero", set("attributes", `{"n":0}`), 200, 200, ""},
	{"number/negative zero", set("attributes", `{"n":-0}`), 200, 200, ""},
	{"number/exponent", set("attributes", `{"n":-1.5E+10}`), 200, 200, ""},
	{"number/overflowing float", set("attributes", `{"n":1e999}`), 200, 200, ""},
	{"number/4300 digits", set("attributes", `{"n":`+strings.Repeat("7", 4300)+`}`), 200, 200, ""},
	{"number/-4300 digits", set("attributes", `{"n":-`+strings.Repeat("7", 4300)+`}`), 200, 200, ""},
	{"number/4301 digits", set("attributes", `{"n":`+strings.Repeat("7", 4301)+`}`), 400, 400, ""},
	{"number/4301 digits in an ignored field", add("seq", strings.Repeat("7", 4301)), 400, 400, ""},
	{"number/4301 digits of a float", set("attributes", `{"n":`+strings.Repeat("7", 4301)+`.5}`), 200, 200, ""},
	{"number/NaN", set("attributes", `{"n":NaN}`), 200, 400, ""},
	{"number/Infinity", set("attributes", `{"n":Infinity}`), 200, 400, ""},
	{"number/-Infinity", set("attributes", `{"n":-Infinity}`), 200, 400, ""},
	{"number/nan", set("attributes", `{"n":nan}`), 422, 400, ""},
	{"number/leading zero", set("attributes", `{"n":01}`), 422, 400, ""},
	{"number/trailing dot", set("attributes", `{"n":1.}`), 422, 400, ""},
	{"number/leading dot", set("attributes", `{"n":.5}`), 422, 400, ""},
	{"number/plus sign", set("attributes", `{"n":+1}`), 422, 400, ""},
	{"number/hex", set("attributes", `{"n":0x10}`), 422, 400, ""},

	// Strings and encodings.
	{"string/escapes", set("message", `"\" \\ \/ \b \f \n \r \t"`), 200, 200, ""},
	{"string/unicode escape", set("message", `"caf\u00e9"`), 200, 200, ""},
	{"string/surrogate pair", set("message", `"\ud83d\ude00"`), 200, 200, ""},
	{"string/lone surrogate", set("message", `"\ud800"`), 200, 200, ""},
	{"string/nul escape", set("message", `"a\u0000b"`), 200, 200, ""},
	{"string/raw emoji", set("message", `"😀 中 é"`), 200, 200, ""},
	{"string/raw tab", set("message", "\"a\tb\""), 422, 400, ""},
	{"string/raw newline", set("message", "\"a\nb\""), 422, 400, ""},
	{"string/bad escape", set("message", `"\x41"`), 422, 400, ""},
	{"string/short unicode escape", set("message", `"\u00e"`), 422, 400, ""},
	{"string/single quotes", set("message", `'m'`), 422, 400, ""},
	{"encoding/utf-8 bom", withBody(func(b []byte) []byte { return append([]byte("\xef\xbb\xbf"), b...) }), 200, 400, ""},
	{"encoding/two boms", withBody(func(b []byte) []byte { return append([]byte("\xef\xbb\xbf\xef\xbb\xbf"), b...) }), 422, 400, ""},
	{"encoding/utf-16le bom", withBody(func(b []byte) []byte { return utf16Body(b, binary.LittleEndian, true) }), 200, 400, ""},
	{"encoding/utf-16be bom", withBody(func(b []byte) []byte { return utf16Body(b, binary.BigEndian, true) }), 200, 400, ""},
	{"encoding/utf-16le", withBody(func(b []byte) []byte { return utf16Body(b, binary.LittleEndian, false) }), 200, 400, ""},
	{"encoding/utf-16be", withBody(func(b []byte) []byte { return utf16Body(b, binary.BigEndian, false) }), 200, 400, ""},
	{"encoding/utf-16 odd length", withBody(func(b []byte) []byte { return append(utf16Body(b, binary.LittleEndian, true), ' ') }), 400, 400, ""},
	{"encoding/utf-32le", withBody(func(b []byte) []byte { return utf32Body(b, binary.LittleEndian) }), 200, 400, ""},
	{"encoding/utf-32be", withBody(func(b []byte) []byte { return utf32Body(b, binary.BigEndian) }), 200, 400, ""},
	{"encoding/latin-1 in a string", set("message", "\"caf\xe9\""), 400, 400, ""},
	{"encoding/latin-1 in an ignored field", add("note", "\"caf\xe9\""), 400, 400, ""},
	{"encoding/latin-1 in a moved field", set("trace_id", "\"\xe9\""), 400, 400, ""},
	{"encoding/byte after the value", withBody(func(b []byte) []byte { return append(b, 0xff) }), 400, 400, ""},
	{"encoding/overlong slash", set("message", "\"\xc0\xaf\""), 400, 400, ""},
	{"encoding/encoded surrogate", set("message", "\"\xed\xa0\x80\""), 200, 400, ""},
	{"encoding/truncated rune", set("message", "\"\xe4\xb8\""), 400, 400, ""},
	{"encoding/nul byte between tokens", withBody(func(b []byte) []byte { return append([]byte{0}, b...) }), 400, 400, ""},
	{"encoding/nul byte after the value", withBody(func(b []byte) []byte { return append(b, 0) }), 422, 400, ""},

	// Content types: production reads none and the JSON ones; 422 otherwise.
	contentType("application/json; charset=utf-8", 200, 200),
	contentType("application/json;charset=latin-1", 200, 200),
	contentType("APPLICATION/JSON", 200, 200),
	contentType("application/vnd.api+json", 200, 415),
	contentType("application/problem+json", 200, 415),
	contentType("", 200, 415),
	contentType("text/plain", 422, 415),
	contentType("text/json", 422, 415),
	contentType("application/x-www-form-urlencoded", 422, 415),
	contentType("application/octet-stream", 422, 415),
	contentType("multipart/form-data; boundary=x", 422, 415),
	contentType("json", 422, 415),
	{"content-encoding/gzip", gzipOn(), 200, 200, ""},
	{"content-encoding/identity", header("Content-Encoding", "identity"), 200, 200, ""},
	{"content-encoding/br", header("Content-Encoding", "br"), 415, 415, ""},
	{"content-encoding/gzip header, plain body", header("Content-Encoding", "gzip"), 400, 400, ""},

	// Sizes.
	{"size/exactly 1 MB", padded(1 << 20), 200, 200, ""},
	{"size/1 MB and a byte", padded(1<<20 + 1), 413, 413, ""},
	{"size/1 MB and a byte, gzip", both(padded(1<<20+1), gzipOn()), 413, 413, ""},
	{"size/100 entries", withBody(func(b []byte) []byte {
		entry := b[bytes.Index(b, []byte("[{"))+1 : bytes.LastIndex(b, []byte("}]"))+1]
		many := bytes.Repeat(append(append([]byte{}, entry...), ','), 100)
		return bytes.Replace(b, entry, many[:len(many)-1], 1)
	}), 200, 200, ""},
	{"size/no entries", setTop("logs", `[]`), 200, 200, ""},
	{"size/349k empty objects", rawBody(`{"logs":[` + strings.Repeat(`{},`, 349_517) + `{}]}`), 422, 422, ""},

	// Top level and repeated keys.
	{"top/null", rawBody(`null`), 422, 422, ""},
	{"top/array", rawBody(`[]`), 422, 422, ""},
	{"top/string", rawBody(`"logs"`), 422, 422, ""},
	{"top/number", rawBody(`7`), 422, 422, ""},
	{"top/empty object", rawBody(`{}`), 422, 422, ""},
	{"top/no resource", rawBody(`{"logs":[]}`), 422, 422, ""},
	{"top/no logs", rawBody(`{"resource":{}}`), 422, 422, ""},
	{"top/empty body", rawBody(``), 422, 400, ""},
	{"top/white space", rawBody(" \r\n\t"), 422, 400, ""},
	{"top/truncated", withBody(func(b []byte) []byte { return b[:len(b)-1] }), 422, 400, ""},
	{"top/trailing comma", withBody(func(b []byte) []byte { return append(b[:len(b)-1], []byte(",}")...) }), 422, 400, ""},
	{"top/two values", withBody(func(b []byte) []byte { return append(b, []byte(" {}")...) }), 422, 400, ""},
	{"repeat/level, last valid", both(set("level", `"loud"`), add("level", `"info"`)), 200, 200, ""},
	{"repeat/level, last invalid", add("level", `"loud"`), 422, 422, ""},
	{"repeat/timestamp, last string", both(set("timestamp", `7`), add("timestamp", `"2026-02-06T12:00:00Z"`)), 200, 200, ""},
	{"repeat/logs, last valid", withBody(func(b []byte) []byte { return append([]byte(`{"logs":[{}],`), b[1:]...) }), 200, 200, ""},
	{"repeat/resource, last invalid", addTop("resource", `{"a":1}`), 422, 422, ""},
	{"repeat/resource value, last valid", setTop("resource", `{"a":1,"a":"x"}`), 200, 200, ""},
	{"repeat/attribute key", set("attributes", `{"k":1,"k":"last"}`), 200, 200, ""},
	{"repeat/trace_id, last valid", both(set("trace_id", `"XYZ"`), add("trace_id", `null`)), 200, 200, ""},
}

// TestDifferential posts the baseline and its single mutations to the
// reference handler in both modes and checks each verdict written above:
// compat mode must answer as the production backend does, strict mode
// as the client contract says.
func TestDifferential(t *testing.T) {
	cases := append(gridCases(t), differentials...)
	require.Greater(t, len(cases), 300)
	handlers := map[ingest.Mode]*ingest.Server{}
	exporters := map[ingest.Mode]*ingest.MemoryExporter{}
	for _, m := range modes {
		handlers[m], exporters[m] = newHandler(t, m)
	}
	seen := map[string]bool{}
	for _, tt := range cases {
		require.False(t, seen[tt.name], "duplicate case %s", tt.name)
		seen[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			d := baseline()
			tt.mutate(d)
			raw := d.render()
			hdr := d.header
			if d.gzip {
				raw = gzipped(t, raw).Bytes()
				hdr = map[string]string{"Content-Encoding": "gzip"}
			}
			for _, m := range modes {
				want := map[ingest.Mode]int{ingest.Compat: tt.compat, ingest.Strict: tt.strict}[m]
				before := len(exporters[m].Entries())
				w := serve(handlers[m], raw, hdr)
				require.Equal(t, want, w.Code, "%s mode: %s", m, w.Body.String())
				if m != ingest.Compat || w.Code != 200 {
					continue
				}
				stored := exporters[m].Entries()[before:]
				if len(stored) == 0 {
					continue
				}
				invalid := map[string]bool{}
				for k := range stored[0].Attributes {
					if strings.HasPrefix(k, ingest.InvalidKeyPrefix) {
						invalid[strings.TrimPrefix(k, ingest.InvalidKeyPrefix)] = true
					}
				}
				if tt.moved == "" {
					assert.Empty(t, invalid, "nothing moved")
				} else {
					assert.Equal(t, map[string]bool{tt.moved: true}, invalid)
				}
			}
		})
	}
}
