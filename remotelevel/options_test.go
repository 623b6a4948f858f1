package remotelevel_test

import (
	"context"
	"encoding/json"
	"testing"
	"testing/synctest"

	"github.com/soliplex/fieldlog/remotelevel"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigURLDerivedFromEndpoint(t *testing.T) {
	tests := []struct{ name, give, want string }{
		{"same origin", "https://logs.example.internal/api/v1/logs", "https://logs.example.internal/api/v1/config/logging"},
		{"port kept", "http://127.0.0.1:8080/api/v1/logs", "http://127.0.0.1:8080/api/v1/config/logging"},
		{"path prefix kept", "https://example.internal/fieldlog/api/v1/logs/", "https://example.internal/fieldlog/api/v1/config/logging"},
		{"other path: the origin's", "https://example.internal/ingest", "https://example.internal/api/v1/config/logging"},
		{"query dropped", "https://example.internal/api/v1/logs?tenant=a", "https://example.internal/api/v1/config/logging"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, err := remotelevel.New(sink.NewManager(nil), remotelevel.Options{Endpoint: tt.give, Client: newServer("").client()})
				require.NoError(t, err)
				defer c.Close(context.Background())
				assert.Equal(t, tt.want, c.Status().URL)
			})
		})
	}
}

func TestOptionsErrors(t *testing.T) {
	m := sink.NewManager(nil)
	tests := []struct {
		name string
		m    *sink.Manager
		opts remotelevel.Options
		want string
	}{
		{"no manager", nil, remotelevel.Options{Endpoint: "https://a.example"}, "Manager"},
		{"no endpoint", m, remotelevel.Options{}, "Options.Endpoint"},
		{"endpoint not http", m, remotelevel.Options{Endpoint: "ftp://a.example/api/v1/logs"}, "Options.Endpoint"},
		{"endpoint without host", m, remotelevel.Options{Endpoint: "https:///api/v1/logs"}, "Options.Endpoint"},
		{"bad URL", m, remotelevel.Options{URL: "logs.example/config"}, "Options.URL"},
		{"jitter too large", m, remotelevel.Options{Endpoint: "https://a.example", Jitter: 0.8}, "Options.Jitter"},
		{"negative interval", m, remotelevel.Options{Endpoint: "https://a.example", Interval: -1}, "Options.Interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := remotelevel.New(tt.m, tt.opts)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestStatusJSON(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(`{"min_level":"debug","modules":{"Http":"trace"},"until":"2000-01-01T02:00:00Z"}`)
		f := newFixture(t, srv, remotelevel.Options{URL: "https://logs.example.internal/config"}, nil)
		synctest.Wait()
		b, err := json.Marshal(f.c.Status())
		require.NoError(t, err)
		assert.JSONEq(t, `{
			"url": "https://logs.example.internal/config",
			"level": "debug",
			"loggers": {"http": "trace"},
			"remote": {"min_level": "debug", "modules": {"http": "trace"}, "until": "2000-01-01T02:00:00Z"},
			"etag": `+jsonString(etagOf(srv.config))+`,
			"fetched": "2000-01-01T00:00:00Z"
		}`, string(b))

		// The status is a copy.
		st := f.c.Status()
		st.Remote.Modules["http"] = 0
		st.Loggers["http"] = 0
		assert.Equal(t, f.m.LoggerLevels(), f.c.Status().Loggers)
		assert.NotEqual(t, st.Remote.Modules, f.c.Status().Remote.Modules)
	})
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
