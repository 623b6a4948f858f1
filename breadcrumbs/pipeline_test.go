package breadcrumbs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/backendsink"
	"github.com/soliplex/fieldlog/breadcrumbs"
	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sanitizer"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With export at info, an error ships with the debug records before it as
// breadcrumbs, and no debug record is shipped on its own.
func TestDebugTrailShipsOnlyAsBreadcrumbs(t *testing.T) {
	ingest := sinktest.NewIngest()
	crumbs := breadcrumbs.New(nil)
	backend, err := backendsink.New(backendsink.Options{
		Endpoint:    "http://127.0.0.1/api/v1/logs",
		Client:      ingest.Client(),
		Dir:         t.TempDir(),
		SessionID:   "s",
		Breadcrumbs: crumbs,
	})
	require.NoError(t, err)
	m := sink.NewManager([]sink.Sink{crumbs, backend}, sink.WithLevel(logrecord.LevelInfo), sink.WithSanitizer(sanitizer.Default()))

	m.Logger("Router").Debug("Opened /cart")
	m.Logger("Http").Debug("GET /api/cart from alice@example.com")
	m.Logger("App").Trace("below the ring's level")
	m.Logger("Http").Info("Checkout started")
	m.Logger("Http").Error("Checkout failed", errors.New("HttpException: 502"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, m.Close(ctx))

	entries := ingest.Entries()
	var levels []string
	var failed map[string]any
	for _, e := range entries {
		levels = append(levels, e["level"].(string))
		if e["message"] == "Checkout failed" {
			failed = e
		}
	}
	assert.NotContains(t, levels, "debug", "debug records never ship on their own")
	assert.NotContains(t, levels, "trace")
	require.NotNil(t, failed, "messages: %v", ingest.Messages())
	var trail []string
	for _, c := range failed["breadcrumbs"].([]any) {
		c := c.(map[string]any)
		trail = append(trail, c["level"].(string)+" "+c["category"].(string)+" "+c["message"].(string))
	}
	assert.Equal(t, []string{
		"debug ui Opened /cart",
		"debug network GET /api/cart from [EMAIL]",
		"info network Checkout started",
	}, trail, "the debug trail, sanitized, in order")
}

func TestLast(t *testing.T) {
	b := breadcrumbs.New(&breadcrumbs.Options{Capacity: 3})
	assert.Empty(t, b.Last(5))
	for i := range 5 {
		require.NoError(t, b.Write(t.Context(), rec(i, "Router")))
	}
	assert.Equal(t, []string{"m2", "m3", "m4"}, msgs(b.Last(10)))
	assert.Equal(t, []string{"m3", "m4"}, msgs(b.Last(2)))
	assert.Nil(t, b.Last(0))
	assert.Equal(t, "ui", b.Last(1)[0].Category())
}
