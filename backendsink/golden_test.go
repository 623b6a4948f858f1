package backendsink

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestWireGolden pins the exact bytes of a request body: field order,
// null handling, escaping and coercion.
func TestWireGolden(t *testing.T) {
	t0 := time.Date(2026, 2, 6, 12, 0, 0, 123e6, time.UTC)
	u := &uploader{resource: encodeResource(map[string]any{"service.name": "billing", "service.version": "1.4.2", "os.name": "linux",
		"process.pid": 4242, "device.alias": "calm-falcon-ridge", "host.note": "he said \"hi\"", "app.dir": `C:\Program Files\app`,
		"build.info": "line 1\nline 2\x00", "process.ratio": 0.5, "process.started": time.Date(2026, 2, 6, 11, 0, 0, 0, time.UTC)})}

	failed := logrecord.New(t0, logrecord.LevelError, "Http", "Request failed: 500",
		slog.String("url", "/api/v1/chat"), slog.Int("status", 500), slog.Group("retry", slog.Int("n", 2)),
		slog.Float64("ratio", math.NaN()), slog.String("raw", "caf\xe9 \"quoted\"\n"), slog.Any("cause", errors.New("EOF")),
		slog.Duration("elapsed", 1500*time.Millisecond))
	failed.Error = "HttpException: 500"
	failed.StackTrace = "goroutine 7 [running]:\nmain.main()\n\t/src/app/main.go:42 +0x1d"
	failed.TraceID, failed.SpanID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	info := logrecord.New(t0.Add(time.Second), logrecord.LevelInfo, "Router", "Navigated to /chat")

	e1 := encodeEntry(nil, failed, &entryMeta{
		installID: "6f1c2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e", sessionID: "0b8e2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e", userID: "user-17",
		activeRun:   &ActiveRun{ThreadID: "thread-1", RunID: "run-9"},
		breadcrumbs: []Breadcrumb{{Time: t0.Add(-time.Second), Level: logrecord.LevelInfo, Logger: "Router", Message: "Navigated to /chat", Category: "ui"}},
	}, MaxEntryBytes)
	e2 := encodeEntry(nil, info, &entryMeta{installID: "6f1c2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e", sessionID: "0b8e2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e"}, MaxEntryBytes)
	body := u.buildBody([]item{{id: 1, data: e1}, {id: 2, data: e2}}, nil)

	var pretty bytes.Buffer
	require.NoError(t, json.Indent(&pretty, body, "", "  "))
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", "batch.golden.json")
	if *update {
		require.NoError(t, os.WriteFile(path, pretty.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run TestWireGolden -update to create it")
	assert.Equal(t, string(want), pretty.String())
}
