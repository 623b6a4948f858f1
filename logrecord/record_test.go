package logrecord_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
)

func attrs(r logrecord.Record) []slog.Attr {
	var out []slog.Attr
	for a := range r.Attrs {
		out = append(out, a)
	}
	return out
}

func TestNewCopiesAttrs(t *testing.T) {
	in := []slog.Attr{slog.String("a", "1")}
	r := logrecord.New(time.Time{}, logrecord.LevelInfo, "L", "m", in...)
	in[0] = slog.String("a", "changed")
	v, ok := r.Attr("a")
	assert.True(t, ok)
	assert.Equal(t, "1", v.String())
}

func TestWithAttrsDoesNotAlias(t *testing.T) {
	base := logrecord.New(time.Time{}, logrecord.LevelInfo, "L", "m", slog.Int("a", 1), slog.Int("b", 2))
	// Derive two children from the same parent: appending to one must not
	// show up in the other, even if the parent's slice had spare capacity.
	c1 := base.WithAttrs(slog.Int("c", 3))
	c2 := base.WithAttrs(slog.Int("d", 4))
	assert.Equal(t, 2, base.NumAttrs())
	assert.Equal(t, "c", attrs(c1)[2].Key)
	assert.Equal(t, "d", attrs(c2)[2].Key)

	replaced := base.ReplaceAttrs(append(make([]slog.Attr, 0, 8), slog.Int("x", 9)))
	r2 := replaced.WithAttrs(slog.Int("y", 1))
	r3 := replaced.WithAttrs(slog.Int("z", 1))
	assert.Equal(t, "y", attrs(r2)[1].Key)
	assert.Equal(t, "z", attrs(r3)[1].Key)
	assert.Equal(t, 1, replaced.NumAttrs())
	assert.Equal(t, 2, base.NumAttrs())
}

func TestAttrsStopsEarly(t *testing.T) {
	r := logrecord.New(time.Time{}, logrecord.LevelInfo, "L", "m", slog.Int("a", 1), slog.Int("b", 2), slog.Int("c", 3))
	var seen []string
	for a := range r.Attrs {
		seen = append(seen, a.Key)
		if a.Key == "b" {
			break
		}
	}
	assert.Equal(t, []string{"a", "b"}, seen)
	s := r.AttrsSlice()
	s[0] = slog.Int("mutated", 0)
	assert.Equal(t, "a", attrs(r)[0].Key, "AttrsSlice returns a copy")
	_, ok := r.Attr("missing")
	assert.False(t, ok)
}

func TestFieldCopyLeavesOriginal(t *testing.T) {
	r := logrecord.New(time.Time{}, logrecord.LevelError, "Http", "Request failed")
	r.Error = "HttpException: 500"
	c := r
	c.Message = "[REDACTED]"
	assert.Equal(t, "Request failed", r.Message)
	assert.Equal(t, "HttpException: 500", c.Error)
}
