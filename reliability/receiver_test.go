//go:build unix

package reliability_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/soliplex/fieldlog/ingest"
)

// A counter is the ingest server's exporter in these tests: it counts how
// often each message arrived, and adds up the "records dropped" entries
// the sink sends (logger "fieldlog") by reason.
type counter struct {
	mu       sync.Mutex
	seen     map[string]int
	entries  int
	reported map[string]int64 // dropped.<reason> of the "records dropped" entries
}

func newCounter() *counter {
	return &counter{seen: map[string]int{}, reported: map[string]int64{}}
}

func (c *counter) Export(_ context.Context, entries []ingest.StoredEntry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range entries {
		c.entries++
		if e.Logger == "fieldlog" && strings.HasPrefix(e.Message, "dropped ") {
			for k, v := range e.Attributes {
				reason, ok := strings.CutPrefix(k, "dropped.")
				if !ok {
					continue
				}
				if n, ok := v.(json.Number); ok {
					if i, err := n.Int64(); err == nil {
						c.reported[reason] += i
					}
				}
			}
			continue
		}
		c.seen[e.Message]++
	}
	return nil
}

func (c *counter) Close(context.Context) error { return nil }

// snapshot returns the counts by message and the reported drops.
func (c *counter) snapshot() (map[string]int, map[string]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := make(map[string]int, len(c.seen))
	for k, v := range c.seen {
		seen[k] = v
	}
	rep := map[string]int64{}
	for k, v := range c.reported {
		rep[k] = v
	}
	return seen, rep
}

// startIngest runs the reference ingest server on 127.0.0.1 in mode,
// without authentication or rate limits, exporting to a counter, behind
// wrap (nil: none). It returns the server's base URL.
func startIngest(t *testing.T, mode ingest.Mode, wrap func(http.Handler) http.Handler) (string, *counter) {
	t.Helper()
	c := newCounter()
	var mu sync.Mutex
	var serverErrs []string
	s, err := ingest.NewServer(ingest.ServerOptions{
		Exporter: c, AllowAnonymous: true, Mode: mode,
		RatePerSecond: 1e9, RateBurst: 1 << 30, UserRatePerSecond: -1,
		OnError: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			serverErrs = append(serverErrs, err.Error())
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = s
	if wrap != nil {
		h = wrap(s)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		_ = s.Close(context.Background())
		mu.Lock()
		defer mu.Unlock()
		if len(serverErrs) > 0 {
			t.Logf("ingest server reported: %q", serverErrs[:min(5, len(serverErrs))])
		}
	})
	return srv.URL, c
}
