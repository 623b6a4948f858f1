package logrecord_test

import (
	"log/slog"
	"testing"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
)

type panicky struct{}

func (panicky) LogValue() slog.Value { panic("no value") }

type loop struct{}

func (loop) LogValue() slog.Value { return slog.AnyValue(loop{}) }

type user struct{ name string }

func (u user) LogValue() slog.Value { return slog.GroupValue(slog.String("name", u.name)) }

func TestResolve(t *testing.T) {
	tests := []struct {
		name string
		give slog.Value
		want string
	}{
		{"plain", slog.IntValue(3), "3"},
		{"valuer", slog.AnyValue(user{"ada"}), "[name=ada]"},
		{"panics", slog.AnyValue(panicky{}), "!PANIC in LogValue: no value"},
		{"endless", slog.AnyValue(loop{}), "!ERROR LogValue: too many nested LogValuers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, logrecord.Resolve(tt.give).String())
		})
	}
}
