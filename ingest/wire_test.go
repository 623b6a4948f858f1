package ingest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the .want files of testdata/invalid")

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func goldenFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

// Every payload under testdata/valid decodes, validates again after a
// round trip through its Go form, and keeps what it said.
func TestGoldenValidPayloads(t *testing.T) {
	for _, path := range goldenFiles(t, "valid") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw := readFile(t, path)
			p, err := ingest.DecodeBytes(raw)
			require.NoError(t, err)
			require.NoError(t, ingest.Validate(p))

			var generic map[string]any
			require.NoError(t, json.Unmarshal(raw, &generic))
			assert.Len(t, p.Logs, len(generic["logs"].([]any)))
		})
	}
}

func TestDecodeDesignExample(t *testing.T) {
	p, err := ingest.DecodeBytes(readFile(t, "testdata/valid/design_example.json"))
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
}

// Every payload under testdata/invalid is rejected with exactly the
// violations in its .want file, one "path: message" a line. Run with
// -update to rewrite them after a deliberate change.
func TestGoldenInvalidPayloads(t *testing.T) {
	for _, path := range goldenFiles(t, "invalid") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			_, err := ingest.DecodeBytes(readFile(t, path))
			var verr *ingest.ValidationError
			require.ErrorAs(t, err, &verr)
			var got strings.Builder
			for _, v := range verr.Violations {
				got.WriteString(v.String() + "\n")
			}
			wantPath := strings.TrimSuffix(path, ".json") + ".want"
			if *update {
				require.NoError(t, os.WriteFile(wantPath, []byte(got.String()), 0o644))
			}
			assert.Equal(t, string(readFile(t, wantPath)), got.String())
		})
	}
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
		name   string
		modify func(p *ingest.Payload)
		want   []string // paths; none means valid
	}{
		{"valid", func(*ingest.Payload) {}, nil},
		{"no attributes", func(p *ingest.Payload) { p.Logs[0].Attributes = nil }, nil},
		{"level", func(p *ingest.Payload) { p.Logs[0].Level = "warn" }, []string{"logs[0].level"}},
		{"local time", func(p *ingest.Payload) { p.Logs[0].Timestamp = "2026-02-06T13:00:00+01:00" }, []string{"logs[0].timestamp"}},
		{"upper-case span", func(p *ingest.Payload) { p.Logs[0].SpanID = str("00F067AA0BA902B7") }, []string{"logs[0].span_id"}},
		{"short trace", func(p *ingest.Payload) { p.Logs[0].TraceID = str("4bf9") }, []string{"logs[0].trace_id"}},
		{"category", func(p *ingest.Payload) { p.Logs[0].Breadcrumbs[0].Category = "screen" }, []string{"logs[0].breadcrumbs[0].category"}},
		{"two entries", func(p *ingest.Payload) {
			p.Logs = append(p.Logs, p.Logs[0])
			p.Logs[1].Level = "loud"
			p.Logs[1].Breadcrumbs = []ingest.Breadcrumb{{Level: "info", Category: "ui"}}
		}, []string{"logs[1].level", "logs[1].breadcrumbs[0].timestamp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid()
			tt.modify(p)
			err := ingest.Validate(p)
			var verr *ingest.ValidationError
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorAs(t, err, &verr)
			var got []string
			for _, v := range verr.Violations {
				got = append(got, v.Path)
			}
			assert.Equal(t, tt.want, got)
		})
	}
	assert.Error(t, ingest.Validate(nil))
	p := valid()
	p.Logs[0].Attributes["ratio"] = math.NaN()
	assert.ErrorContains(t, ingest.Validate(p), "encode", "NaN cannot be sent")
}

func TestDecodeRejectsMalformed(t *testing.T) {
	tests := []struct {
		name string
		give string
	}{
		{"truncated", `{"logs": [`},
		{"two values", `{"logs": []} {}`},
		{"empty", ``},
		{"garbage", `logs=1`},
		{"trailing comma", `{"logs": [],}`},
		{"deep arrays", `{"logs":[{"attributes":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}]}`},
		{"deep objects", strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat(`}`, 20000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ingest.DecodeBytes([]byte(tt.give))
			assert.ErrorIs(t, err, ingest.ErrMalformed)
		})
	}
}

func TestDecodeLimit(t *testing.T) {
	body := readFile(t, "testdata/valid/design_example.json")
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

func TestTooManyViolationsAreCapped(t *testing.T) {
	body := `{"logs":[` + strings.Repeat(`{},`, 500) + `{}]}`
	_, err := ingest.DecodeBytes([]byte(body))
	var verr *ingest.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Len(t, verr.Violations, 1001)
	assert.Equal(t, "$", verr.Violations[1000].Path)
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
}

// FuzzDecode holds the decoder to its invariants on any input: no panic;
// an accepted payload validates again after encoding, and encodes to a
// payload that decodes to the same value; a rejected one says why.
func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"valid", "invalid"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		for _, path := range files {
			f.Add(readFile(f, path))
		}
	}
	f.Add([]byte(`{"logs":[{"attributes":` + strings.Repeat("[", 5000) + `]}]}`))
	f.Add([]byte(`{"logs":[{"timestamp":"2026-02-06T12:00:00Z","level":"info","logger":"\ud800","message":"\u0000",` +
		`"install_id":"i","session_id":"s","attributes":{"n":1e999,"m":-0,"k":12345678901234567890}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ingest.DecodeBytes(body)
		if err != nil {
			var verr *ingest.ValidationError
			if !errors.As(err, &verr) && !errors.Is(err, ingest.ErrMalformed) {
				t.Fatalf("unexpected error kind %T: %v", err, err)
			}
			return
		}
		require.NoError(t, ingest.Validate(p), "a decoded payload validates again")
		again, err := json.Marshal(p)
		require.NoError(t, err)
		p2, err := ingest.DecodeBytes(again)
		require.NoError(t, err)
		require.Equal(t, p, p2, "decode(encode(p)) == p")
	})
}
