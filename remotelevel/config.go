package remotelevel

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/soliplex/fieldlog/internal/wire"
	"github.com/soliplex/fieldlog/logrecord"
)

// A Config is a remote logging configuration, as served at ConfigPath:
//
//	{"min_level": "info", "modules": {"Http": "trace"}, "until": "2026-02-06T13:00:00Z"}
//
// min_level is required; modules and until are optional; other members
// are ignored, so a newer server can add some. Level names are the six of
// the wire contract, lower-case.
type Config struct {
	MinLevel logrecord.Level            `json:"min_level"`
	Modules  map[string]logrecord.Level `json:"modules,omitempty"` // logger name, lower-cased → level
	Until    time.Time                  `json:"until,omitzero"`    // zero: no expiry
}

// rawConfig is the configuration as it travels; a missing member stays
// nil.
type rawConfig struct {
	MinLevel *string           `json:"min_level"`
	Modules  map[string]string `json:"modules"`
	Until    *time.Time        `json:"until"`
}

// parseConfig reads a configuration body. Logger names match
// case-insensitively, as in the Manager; of two that differ only in case,
// the lower level applies.
func parseConfig(body []byte) (Config, error) {
	var raw rawConfig
	if err := json.Unmarshal(body, &raw); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if raw.MinLevel == nil {
		return Config{}, fmt.Errorf("%w: min_level is missing", ErrInvalid)
	}
	var c Config
	var ok bool
	if c.MinLevel, ok = wire.ParseLevel(*raw.MinLevel); !ok {
		return Config{}, fmt.Errorf("%w: min_level %q is not one of %s", ErrInvalid, *raw.MinLevel, strings.Join(wire.Levels, ", "))
	}
	for name, v := range raw.Modules {
		l, ok := wire.ParseLevel(v)
		if !ok {
			return Config{}, fmt.Errorf("%w: modules[%q]: %q is not one of %s", ErrInvalid, name, v, strings.Join(wire.Levels, ", "))
		}
		if c.Modules == nil {
			c.Modules = make(map[string]logrecord.Level, len(raw.Modules))
		}
		key := strings.ToLower(name)
		if old, dup := c.Modules[key]; dup {
			l = min(l, old)
		}
		c.Modules[key] = l
	}
	if raw.Until != nil {
		c.Until = *raw.Until
	}
	return c, nil
}

// String describes the levels c sets, modules sorted by name, as in
// "min_level=info http=trace": the form log_level_changed records use.
func (c *Config) String() string {
	if c == nil {
		return "local"
	}
	var b strings.Builder
	b.WriteString("min_level=")
	b.WriteString(wire.LevelName(c.MinLevel))
	for _, name := range slices.Sorted(maps.Keys(c.Modules)) {
		b.WriteByte(' ')
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(wire.LevelName(c.Modules[name]))
	}
	return b.String()
}
