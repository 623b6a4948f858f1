package remotelevel

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseConfig(t *testing.T) {
	until := time.Date(2026, 2, 6, 13, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		give string
		want Config
	}{
		{"min level only", `{"min_level":"warning"}`, Config{MinLevel: logrecord.LevelWarning}},
		{"as the reference server serves it", `{"min_level":"info","modules":{}}`, Config{MinLevel: logrecord.LevelInfo}},
		{"modules lower-cased", `{"min_level":"info","modules":{"Http.Client":"trace","db":"error"}}`,
			Config{MinLevel: logrecord.LevelInfo, Modules: map[string]logrecord.Level{"http.client": logrecord.LevelTrace, "db": logrecord.LevelError}}},
		{"names differing in case: the lower level", `{"min_level":"info","modules":{"Http":"error","HTTP":"debug","http":"warning"}}`,
			Config{MinLevel: logrecord.LevelInfo, Modules: map[string]logrecord.Level{"http": logrecord.LevelDebug}}},
		{"until", `{"min_level":"trace","until":"2026-02-06T14:00:00+01:00"}`, Config{MinLevel: logrecord.LevelTrace, Until: until}},
		{"null until and modules", `{"min_level":"fatal","modules":null,"until":null}`, Config{MinLevel: logrecord.LevelFatal}},
		{"unknown members ignored", `{"min_level":"debug","sampling":{"rate":0.5}}`, Config{MinLevel: logrecord.LevelDebug}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig([]byte(tt.give))
			require.NoError(t, err)
			assert.Equal(t, tt.want.MinLevel, got.MinLevel)
			assert.Equal(t, tt.want.Modules, got.Modules)
			assert.True(t, tt.want.Until.Equal(got.Until), "until %s", got.Until)
		})
	}
}

func TestParseConfigRejects(t *testing.T) {
	tests := []struct{ name, give string }{
		{"empty", ``},
		{"not JSON", `<html>`},
		{"array", `[]`},
		{"null", `null`},
		{"empty object", `{}`},
		{"trailing data", `{"min_level":"info"} {}`},
		{"level in capitals", `{"min_level":"INFO"}`},
		{"level alias", `{"min_level":"warn"}`},
		{"level as number", `{"min_level":9}`},
		{"module level unknown", `{"min_level":"info","modules":{"Http":"verbose"}}`},
		{"module level null", `{"min_level":"info","modules":{"Http":null}}`},
		{"modules not an object", `{"min_level":"info","modules":["Http"]}`},
		{"until not RFC 3339", `{"min_level":"info","until":"2026-02-06"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig([]byte(tt.give))
			assert.ErrorIs(t, err, ErrInvalid)
		})
	}
}

func TestConfigString(t *testing.T) {
	var none *Config
	assert.Equal(t, "local", none.String())
	c := &Config{MinLevel: logrecord.LevelInfo, Modules: map[string]logrecord.Level{"http": logrecord.LevelTrace, "db": logrecord.LevelError}}
	assert.Equal(t, "min_level=info db=error http=trace", c.String())
}

// TestContractAgreesWithIngest holds the names this package shares with
// the reference server to the server's own.
func TestContractAgreesWithIngest(t *testing.T) {
	assert.Equal(t, ingest.ConfigPath, ConfigPath)
	assert.Equal(t, ingest.LogsPath, logsPath)
	for _, name := range ingest.Levels {
		c, err := parseConfig([]byte(`{"min_level":"` + name + `"}`))
		require.NoError(t, err, name)
		want, _ := ingest.ParseLevel(name)
		assert.Equal(t, want, c.MinLevel)
	}
}

// FuzzParseConfig checks that nothing panics, and that whatever the
// reference server accepts as its configuration file, the client reads,
// as the server serves it, with the same meaning.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		`{"min_level":"info","modules":{}}`,
		`{"min_level":"debug","modules":{"Http":"trace","HTTP":"error"},"until":"2026-02-06T13:00:00Z"}`,
		`{"min_level":"trace","until":null}`,
		`{"modules":{"a":"info"}}`,
		`{"min_level":"info","modules":{"":"fatal","a.b.c":"warning"}}`,
		`{"min_level":"info","until":"2026-02-06T13:00:00.123456789-07:00"}`,
		`[1,2]`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, _ = parseConfig(raw) // never panics
		theirs, err := ingest.ParseLoggingConfig(raw)
		if err != nil {
			return
		}
		served, err := json.Marshal(theirs)
		require.NoError(t, err)
		got, err := parseConfig(served)
		require.NoError(t, err, "the client refuses what the server serves: %s", served)

		want, _ := ingest.ParseLevel(theirs.MinLevel)
		assert.Equal(t, want, got.MinLevel)
		wantModules := map[string]logrecord.Level{}
		for name, lvl := range theirs.Modules {
			l, _ := ingest.ParseLevel(lvl)
			key := strings.ToLower(name)
			if old, ok := wantModules[key]; ok {
				l = min(l, old)
			}
			wantModules[key] = l
		}
		if len(wantModules) == 0 {
			wantModules = nil
		}
		assert.Equal(t, wantModules, got.Modules)
		if theirs.Until == nil {
			assert.True(t, got.Until.IsZero())
		} else {
			assert.True(t, theirs.Until.Equal(got.Until))
		}
	})
}
