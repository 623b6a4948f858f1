package ingest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeDesignExample(t *testing.T) {
	for _, m := range modes {
		t.Run(m.String(), func(t *testing.T) {
			p, err := ingest.Decoder{Mode: m}.DecodeBytes(readFile(t, "testdata/accept/design_example.json"))
			require.NoError(t, err)
			require.Len(t, p.Logs, 2)
			e := p.Logs[0]
			assert.Equal(t, "2026-02-06T12:00:00.123Z", e.Timestamp)
			assert.Equal(t, "error", e.Level)
			assert.Equal(t, "Http", e.Logger)
			assert.Equal(t, "HttpException: 500", *e.Error)
			assert.Contains(t, *e.StackTrace, "main.main()")
			assert.Nil(t, e.SpanID)
			assert.Nil(t, e.TraceID)
			assert.Nil(t, e.UserID)
			assert.Equal(t, &ingest.ActiveRun{ThreadID: "thread-1", RunID: "run-9"}, e.ActiveRun)
			assert.Equal(t, []ingest.Breadcrumb{{Timestamp: "2026-02-06T11:59:59.000Z", Level: "info", Logger: "Router",
				Message: "Navigated to /chat", Category: "ui"}}, e.Breadcrumbs)
			assert.Equal(t, json.Number("500"), e.Attributes["status"], "numbers keep their digits")
			assert.Equal(t, map[string]any{"n": json.Number("2")}, e.Attributes["retry"])

			e = p.Logs[1]
			assert.Equal(t, "user-17", *e.UserID)
			assert.Equal(t, "00f067aa0ba902b7", *e.SpanID)
			assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", *e.TraceID)
			assert.Nil(t, e.ActiveRun)
			assert.Nil(t, e.Breadcrumbs)
			assert.Equal(t, map[string]string{"service.name": "billing", "service.version": "1.4.2",
				"os.name": "linux", "device.alias": "calm-falcon-ridge"}, p.Resource)
		})
	}
}

// Compat mode keeps a malformed value of a field production ignores as
// an attribute, takes any timestamp text, and reads what Python's json
// reads.
func TestCompatKeepsWhatProductionIgnores(t *testing.T) {
	const entry = `"level":"error","logger":"L","message":"m","install_id":"i","session_id":"s"`
	body := `{"logs":[{"timestamp":"yesterday",` + entry + `,"attributes":{"nan":NaN,"inf":-Infinity,"` + ingest.InvalidKeyPrefix + `span_id":"client's"},` +
		`"span_id":"XYZ","trace_id":7,"error":{"code":500},"stack_trace":null,` +
		`"breadcrumbs":[{"timestamp":"t","level":"info","logger":"R","message":"m","category":"screen"}],"stackTrace":"lost"}],"resource":{}}`
	p, err := ingest.DecodeBytes([]byte(body))
	require.NoError(t, err)
	e := p.Logs[0]
	assert.Equal(t, "yesterday", e.Timestamp)
	assert.Nil(t, e.SpanID)
	assert.Nil(t, e.TraceID)
	assert.Nil(t, e.Error)
	assert.Nil(t, e.StackTrace)
	assert.Nil(t, e.Breadcrumbs)
	assert.Equal(t, map[string]any{
		"nan": "NaN", "inf": "-Infinity",
		"fieldlog.invalid.span_id":     "XYZ",
		"fieldlog.invalid.trace_id":    json.Number("7"),
		"fieldlog.invalid.error":       map[string]any{"code": json.Number("500")},
		"fieldlog.invalid.breadcrumbs": []any{map[string]any{"timestamp": "t", "level": "info", "logger": "R", "message": "m", "category": "screen"}},
	}, e.Attributes, "the moved value replaces what the client sent under the same key")

	_, err = ingest.Decoder{Mode: ingest.Strict}.DecodeBytes([]byte(body))
	assert.ErrorIs(t, err, ingest.ErrMalformed, "NaN is not JSON")
}

func TestCompatReadsOtherEncodings(t *testing.T) {
	want, err := ingest.DecodeBytes(readFile(t, "testdata/accept/minimal.json"))
	require.NoError(t, err)
	files, err := filepath.Glob("testdata/python_json/*.json")
	require.NoError(t, err)
	for _, path := range files {
		if strings.Contains(path, "nan") || strings.Contains(path, "surrogate") {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			p, err := ingest.DecodeBytes(readFile(t, path))
			require.NoError(t, err)
			require.Len(t, p.Logs, 1)
			assert.Equal(t, "i", p.Logs[0].InstallID)
			assert.Equal(t, "s", p.Logs[0].SessionID)
		})
	}
	assert.Len(t, want.Logs, 1)
	p, err := ingest.DecodeBytes(readFile(t, "testdata/python_json/utf16le.json"))
	require.NoError(t, err)
	assert.Equal(t, "café 😀", p.Logs[0].Message)
	p, err = ingest.DecodeBytes(readFile(t, "testdata/python_json/encoded_surrogate.json"))
	require.NoError(t, err)
	assert.Equal(t, "a\uFFFDb", p.Logs[0].Message, "a surrogate UTF-8 cannot hold becomes U+FFFD")
}

// A payload built in code is checked as it would be on the wire.
func TestValidate(t *testing.T) {
	str := func(s string) *string { return &s }
	valid := func() *ingest.Payload {
		return &ingest.Payload{
			Logs: []ingest.Entry{{
				Timestamp: "2026-02-06T12:00:00.123Z", Level: "error", Logger: "Http", Message: "Request failed: 500",
				Attributes: map[string]any{"status": 500, "retry": map[string]any{"n": 2}},
				Error:      str("HttpException: 500"), StackTrace: str("goroutine 1 [running]:"),
				SpanID: str("00f067aa0ba902b7"), TraceID: str("4bf92f3577b34da6a3ce929d0e0e4736"),
				InstallID: "i", SessionID: "s", UserID: str("u"),
				ActiveRun:   &ingest.ActiveRun{ThreadID: "t", RunID: "r"},
				Breadcrumbs: []ingest.Breadcrumb{{Timestamp: "2026-02-06T11:59:59.000Z", Level: "info", Logger: "Router", Message: "m", Category: "ui"}},
			}},
			Resource: map[string]string{"service.name": "billing"},
		}
	}
	tests := []struct {
		name         string
		modify       func(p *ingest.Payload)
		compat, want []string // violation paths in compat and strict mode; none means valid
	}{
		{"valid", func(*ingest.Payload) {}, nil, nil},
		{"no attributes", func(p *ingest.Payload) { p.Logs[0].Attributes = nil }, nil, nil},
		{"empty resource", func(p *ingest.Payload) { p.Resource = map[string]string{} }, nil, nil},
		{"no resource", func(p *ingest.Payload) { p.Resource = nil }, []string{"resource"}, []string{"resource"}},
		{"level", func(p *ingest.Payload) { p.Logs[0].Level = "warn" }, []string{"logs[0].level"}, []string{"logs[0].level"}},
		{"offset time", func(p *ingest.Payload) { p.Logs[0].Timestamp = "2026-02-06T13:00:00+01:00" }, nil, nil},
		{"local time", func(p *ingest.Payload) { p.Logs[0].Timestamp = "2026-02-06T13:00:00" }, nil, []string{"logs[0].timestamp"}},
		{"upper-case span", func(p *ingest.Payload) { p.Logs[0].SpanID = str("00F067AA0BA902B7") }, nil, []string{"logs[0].span_id"}},
		{"short trace", func(p *ingest.Payload) { p.Logs[0].TraceID = str("4bf9") }, nil, []string{"logs[0].trace_id"}},
		{"category", func(p *ingest.Payload) { p.Logs[0].Breadcrumbs[0].Category = "screen" }, nil, []string{"logs[0].breadcrumbs[0].category"}},
		{"two entries", func(p *ingest.Payload) {
			p.Logs = append(p.Logs, p.Logs[0])
			p.Logs[1].Level = "loud"
			p.Logs[1].Breadcrumbs = []ingest.Breadcrumb{{Level: "info", Category: "ui"}}
		}, []string{"logs[1].level"}, []string{"logs[1].level", "logs[1].breadcrumbs[0].timestamp"}},
	}
	paths := func(t *testing.T, err error) []string {
		if err == nil {
			return nil
		}
		var verr *ingest.ValidationError
		require.ErrorAs(t, err, &verr)
		var got []string
		for _, v := range verr.Violations {
			got = append(got, v.Path)
		}
		return got
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid()
			tt.modify(p)
			assert.Equal(t, tt.compat, paths(t, ingest.Validate(p, ingest.Compat)), "compat")
			assert.Equal(t, tt.want, paths(t, ingest.Validate(p, ingest.Strict)), "strict")
		})
	}
	assert.Error(t, ingest.Validate(nil, ingest.Compat))
	p := valid()
	p.Logs[0].Attributes["ratio"] = math.NaN()
	assert.ErrorContains(t, ingest.Validate(p, ingest.Strict), "encode", "NaN cannot be sent")
}

func TestDecodeErrorKinds(t *testing.T) {
	tests := []struct {
		name         string
		give         string
		compat, want error
	}{
		{"truncated", `{"logs": [`, ingest.ErrMalformed, ingest.ErrMalformed},
		{"two values", `{"logs": []} {}`, ingest.ErrMalformed, ingest.ErrMalformed},
		{"empty", ``, ingest.ErrMalformed, ingest.ErrMalformed},
		{"garbage", `logs=1`, ingest.ErrMalformed, ingest.ErrMalformed},
		{"trailing comma", `{"logs": [],}`, ingest.ErrMalformed, ingest.ErrMalformed},
		{"NaN", `{"logs": [], "resource": {}, "n": NaN}`, nil, ingest.ErrMalformed},
		{"byte order mark", "\xef\xbb\xbf{\"logs\": [], \"resource\": {}}", nil, ingest.ErrMalformed},
		{"deep arrays", `{"logs":[{"attributes":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}]}`, ingest.ErrUnreadable, ingest.ErrUnreadable},
		{"deep objects", strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat(`}`, 20000), ingest.ErrUnreadable, ingest.ErrUnreadable},
		{"long integer", `{"logs": [], "resource": {}, "n": ` + strings.Repeat("1", 4301) + `}`, ingest.ErrUnreadable, ingest.ErrUnreadable},
		{"not UTF-8 and not JSON", "{\"logs\": \xff", ingest.ErrUnreadable, ingest.ErrUnreadable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ingest.DecodeBytes([]byte(tt.give))
			if tt.compat == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.compat)
			}
			_, err = ingest.Decoder{Mode: ingest.Strict}.DecodeBytes([]byte(tt.give))
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

func TestDecodeLimit(t *testing.T) {
	body := readFile(t, "testdata/accept/design_example.json")
	tests := []struct {
		name  string
		limit int64
		want  error
	}{
		{"one byte over", int64(len(body) - 1), ingest.ErrTooLarge},
		{"exactly", int64(len(body)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte per read: the limit holds however the body arrives.
			_, err := ingest.Decode(iotest.OneByteReader(bytes.NewReader(body)), tt.limit)
			assert.ErrorIs(t, err, tt.want)
		})
	}
	_, err := ingest.Decode(iotest.ErrReader(iotest.ErrTimeout), 100)
	assert.ErrorIs(t, err, iotest.ErrTimeout)
}

// Too many valid entries is ErrTooManyEntries; too many invalid ones
// get their violations.
func TestDecodeEntryLimit(t *testing.T) {
	const e = `{"timestamp":"2026-02-06T12:00:00Z","level":"info","logger":"L","message":"m","install_id":"i","session_id":"s"}`
	valid := `{"logs":[` + strings.Repeat(e+",", 10) + e + `],"resource":{}}`
	_, err := ingest.Decoder{MaxEntries: 10}.DecodeBytes([]byte(valid))
	assert.ErrorIs(t, err, ingest.ErrTooManyEntries)
	p, err := ingest.Decoder{MaxEntries: 11}.DecodeBytes([]byte(valid))
	require.NoError(t, err)
	assert.Len(t, p.Logs, 11)

	invalid := `{"logs":[` + strings.Repeat(e+",", 10) + `{}],"resource":{}}`
	_, err = ingest.Decoder{MaxEntries: 10}.DecodeBytes([]byte(invalid))
	var verr *ingest.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, "logs[10].timestamp", verr.Violations[0].Path)
}

func TestTooManyViolationsAreCapped(t *testing.T) {
	body := `{"logs":[` + strings.Repeat(`{},`, 500) + `{}]}`
	_, err := ingest.DecodeBytes([]byte(body))
	var verr *ingest.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Len(t, verr.Violations, 1001)
	assert.Equal(t, "$", verr.Violations[1000].Path)
}

// A client's long value is quoted in a message only as a short prefix.
func TestViolationsQuoteShortPrefixes(t *testing.T) {
	long := strings.Repeat("é", 1000)
	body := `{"logs":[{"timestamp":"2026-02-06T12:00:00Z","level":"` + long + `","logger":"L","message":"m","install_id":"i","session_id":"s"}],"resource":{"` + long + `":1}}`
	_, err := ingest.DecodeBytes([]byte(body))
	var verr *ingest.ValidationError
	require.ErrorAs(t, err, &verr)
	require.Len(t, verr.Violations, 2)
	for _, v := range verr.Violations {
		assert.Less(t, len(v.String()), 200, v.String())
		assert.Contains(t, v.String(), "é")
		assert.Contains(t, v.String(), "…")
	}
}

func TestLevelsAreLogrecordNames(t *testing.T) {
	var names []string
	for _, l := range logrecord.Levels() {
		names = append(names, l.String())
	}
	assert.Equal(t, names, ingest.Levels)
	tests := []struct {
		give   string
		want   logrecord.Level
		wantOK bool
	}{
		{"trace", logrecord.LevelTrace, true},
		{"warning", logrecord.LevelWarning, true},
		{"fatal", logrecord.LevelFatal, true},
		{"warn", logrecord.LevelInfo, false},
		{"Error", logrecord.LevelInfo, false},
		{" info", logrecord.LevelInfo, false},
		{"info+2", logrecord.LevelInfo, false},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got, ok := ingest.ParseLevel(tt.give)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
	assert.Equal(t, []string{logrecord.CategoryUI, logrecord.CategoryNetwork, logrecord.CategorySystem, logrecord.CategoryUser}, ingest.Categories)
}

func TestParseTimestamp(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	tests := []struct {
		give string
		want time.Time // zero: not a timestamp
	}{
		{"2026-02-06T12:00:00.123Z", utc(2026, 2, 6, 12, 0, 0, 123e6)},
		{"2026-02-06T12:00:00Z", utc(2026, 2, 6, 12, 0, 0, 0)},
		{"2026-02-06T12:00:00.123456789123Z", utc(2026, 2, 6, 12, 0, 0, 123456789)},
		{"2026-02-06T14:00:00.5+02:00", utc(2026, 2, 6, 12, 0, 0, 5e8)},
		{"2026-02-06T07:00:00-05:00", utc(2026, 2, 6, 12, 0, 0, 0)},
		{"2026-02-06t12:00:00z", utc(2026, 2, 6, 12, 0, 0, 0)},
		{"2016-12-31T23:59:60Z", utc(2017, 1, 1, 0, 0, 0, 0)},
		{"2024-02-29T00:00:00Z", utc(2024, 2, 29, 0, 0, 0, 0)},
		{"2023-02-29T00:00:00Z", time.Time{}},
		{"2026-02-06T12:00:00", time.Time{}},
		{"2026-02-06 12:00:00Z", time.Time{}},
		{"2026-02-06T12:00:00+0200", time.Time{}},
		{"2026-02-06T12:00:00+24:00", time.Time{}},
		{"2026-02-06T12:00:00.Z", time.Time{}},
		{"2026-02-06T12:00:00Zjunk", time.Time{}},
		{"+2026-02-06T12:00:00Z", time.Time{}},
		{"", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got, ok := ingest.ParseTimestamp(tt.give)
			assert.Equal(t, !tt.want.IsZero(), ok)
			assert.True(t, tt.want.Equal(got), "%v", got)
		})
	}
}

func TestStoredEntryTime(t *testing.T) {
	received := map[string]any{ingest.ReceivedAtKey: "2026-02-06T12:00:05.000Z"}
	tests := []struct {
		name  string
		entry ingest.StoredEntry
		want  time.Time
	}{
		{"RFC 3339", ingest.StoredEntry{Entry: ingest.Entry{Timestamp: "2026-02-06T14:00:00+02:00", Attributes: received}},
			time.Date(2026, 2, 6, 12, 0, 0, 0, time.UTC)},
		{"Python isoformat without offset", ingest.StoredEntry{Entry: ingest.Entry{Timestamp: "2026-02-06 12:00:00.250000", Attributes: received}},
			time.Date(2026, 2, 6, 12, 0, 0, 25e7, time.UTC)},
		{"unparsable: received", ingest.StoredEntry{Entry: ingest.Entry{Timestamp: "yesterday", Attributes: received}},
			time.Date(2026, 2, 6, 12, 0, 5, 0, time.UTC)},
		{"nothing", ingest.StoredEntry{Entry: ingest.Entry{Timestamp: "yesterday"}}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.entry.Time()
			assert.True(t, tt.want.Equal(got), "%v", got)
		})
	}
}

func TestNewBreadcrumb(t *testing.T) {
	at := time.Date(2026, 2, 6, 13, 0, 0, 123456789, time.FixedZone("", 3600))
	got := ingest.NewBreadcrumb(at, logrecord.LevelWarning+1, "Router", "Navigated", "ui")
	assert.Equal(t, ingest.Breadcrumb{Timestamp: "2026-02-06T12:00:00.123Z", Level: "warning", Logger: "Router", Message: "Navigated", Category: "ui"}, got)
	p := &ingest.Payload{Logs: []ingest.Entry{{Timestamp: got.Timestamp, Level: "error", Breadcrumbs: []ingest.Breadcrumb{got}}}, Resource: map[string]string{}}
	assert.NoError(t, ingest.Validate(p, ingest.Strict))
}

func TestParseMode(t *testing.T) {
	for _, m := range modes {
		got, err := ingest.ParseMode(m.String())
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
	_, err := ingest.ParseMode("lenient")
	assert.Error(t, err)
}

// FuzzDecode holds the decoder to its invariants on any input, in both
// modes: no panic; an error of a known kind; an accepted payload validates
// again after encoding and decodes to the same value; what strict mode
// accepts, compat mode accepts the same.
func FuzzDecode(f *testing.F) {
	for _, v := range goldenVerdicts {
		files, _ := filepath.Glob(filepath.Join("testdata", v.dir, "*.json"))
		for _, path := range files {
			f.Add(readFile(f, path))
		}
	}
	f.Add([]byte(`{"logs":[{"attributes":` + strings.Repeat("[", 5000) + `]}]}`))
	f.Add([]byte(`{"logs":[{"timestamp":"2026-02-06T12:00:00Z","level":"info","logger":"\ud800","message":"\u0000",` +
		`"install_id":"i","session_id":"s","attributes":{"n":1e999,"m":-0,"k":12345678901234567890}}],"resource":{}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var strictP *ingest.Payload
		for _, m := range []ingest.Mode{ingest.Strict, ingest.Compat} {
			p, err := ingest.Decoder{Mode: m}.DecodeBytes(body)
			if err != nil {
				var verr *ingest.ValidationError
				if !errors.As(err, &verr) && !errors.Is(err, ingest.ErrMalformed) && !errors.Is(err, ingest.ErrUnreadable) && !errors.Is(err, ingest.ErrTooManyEntries) {
					t.Fatalf("%s: unexpected error kind %T: %v", m, err, err)
				}
				require.Nil(t, strictP, "compat rejected what strict accepted: %v", err)
				continue
			}
			require.NoError(t, ingest.Validate(p, m), "%s: a decoded payload validates again", m)
			again, err := json.Marshal(p)
			require.NoError(t, err)
			p2, err := ingest.Decoder{Mode: m}.DecodeBytes(again)
			require.NoError(t, err)
			require.Equal(t, p, p2, "%s: decode(encode(p)) == p", m)
			if m == ingest.Strict {
				strictP = p
			} else if strictP != nil {
				require.Equal(t, strictP, p, "compat and strict read a valid payload alike")
			}
		}
	})
}
