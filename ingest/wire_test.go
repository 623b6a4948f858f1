package ingest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readGolden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func TestDecodeValidPayload(t *testing.T) {
	p, err := ingest.DecodeBytes(readGolden(t, "valid.json"))
	require.NoError(t, err)
	require.Len(t, p.Logs, 2)
	e := p.Logs[0]
	assert.Equal(t, "error", e.Level)
	assert.Equal(t, "HttpException: 500", *e.Error)
	assert.Nil(t, e.SpanID)
	assert.Equal(t, &ingest.ActiveRun{ThreadID: "thread-1", RunID: "run-9"}, e.ActiveRun)
	require.Len(t, e.Breadcrumbs, 1)
	assert.Equal(t, "ui", e.Breadcrumbs[0].Category)
	assert.Equal(t, "500", e.Attributes["status"].(interface{ String() string }).String(), "numbers keep their digits")
	assert.Equal(t, "user-17", *p.Logs[1].UserID)
	assert.Equal(t, "billing", p.Resource["service.name"])
	require.NoError(t, ingest.Validate(p), "a decoded payload validates again")
}

func TestDecodeReportsEveryViolationWithItsPath(t *testing.T) {
	_, err := ingest.DecodeBytes(readGolden(t, "invalid.json"))
	var verr *ingest.ValidationError
	require.ErrorAs(t, err, &verr)
	var got []string
	for _, v := range verr.Violations {
		got = append(got, v.Path)
	}
	want := []string{
		"logs[0].timestamp", "logs[0].level", "logs[0].logger", "logs[0].message",
		"logs[0].session_id", "logs[0].error", "logs[0].span_id", "logs[0].trace_id",
		"logs[0].attributes", "logs[0].active_run.run_id",
		"logs[0].breadcrumbs[0].timestamp", "logs[0].breadcrumbs[0].category",
		"logs[1]", "resource.process.pid",
	}
	assert.ElementsMatch(t, want, got)
	assert.Contains(t, err.Error(), "logs[0].level: must be one of trace, debug, info, warning, error, fatal")
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name string
		give string
		want string
	}{
		{"not JSON", `{"logs": [`, "malformed"},
		{"two values", `{"logs": []} {}`, "malformed"},
		{"not an object", `[]`, "$: must be an object"},
		{"no logs", `{}`, "logs: is required"},
		{"logs not array", `{"logs": {}}`, "logs: must be an array"},
		{"resource not object", `{"logs": [], "resource": "x"}`, "resource: must be an object"},
		{"deep attributes", `{"logs": [{"timestamp": "2026-02-06T12:00:00Z", "level": "info", "logger": "L", "message": "m", "install_id": "i", "session_id": "s", "attributes": ` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40) + `}]}`, "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ingest.DecodeBytes([]byte(tt.give))
			assert.ErrorContains(t, err, tt.want)
		})
	}
	p, err := ingest.DecodeBytes([]byte(`{"logs": []}`))
	require.NoError(t, err, "an empty batch is valid")
	assert.Empty(t, p.Logs)
}

func TestDecodeLimit(t *testing.T) {
	body := readGolden(t, "valid.json")
	_, err := ingest.Decode(strings.NewReader(string(body)), int64(len(body)-1))
	assert.ErrorIs(t, err, ingest.ErrTooLarge)
	_, err = ingest.Decode(strings.NewReader(string(body)), int64(len(body)))
	assert.NoError(t, err)
}

func FuzzDecode(f *testing.F) {
	for _, name := range []string{"valid.json", "invalid.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"logs":[{"attributes":` + strings.Repeat("[", 5000) + `]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ingest.DecodeBytes(body)
		if err == nil {
			if verr := ingest.Validate(p); verr != nil {
				t.Fatalf("decoded payload does not validate again: %v", verr)
			}
		}
	})
}
