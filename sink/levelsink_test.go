package sink_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
)

// ringSink is a Memory sink with a minimum level of its own.
type ringSink struct {
	*sink.Memory
	min logrecord.Level
}

func (s ringSink) MinLevel() logrecord.Level { return s.min }

// A LevelSink takes records below the global level that no other sink
// gets; per-logger overrides and per-sink levels still apply to the
// others.
func TestLevelSinkIgnoresGlobalAndLoggerLevels(t *testing.T) {
	ring := ringSink{sink.NewMemory(0), logrecord.LevelDebug}
	export := sink.NewMemory(0)
	m := sink.NewManager([]sink.Sink{ring, export})
	m.SetLoggerLevel("Http", logrecord.LevelTrace)
	m.SetLoggerLevel("Chatty", logrecord.LevelError)

	log := m.Logger("App")
	log.Trace("app trace")
	log.Debug("app debug")
	log.Info("app info")
	m.Logger("Http.Client").Trace("http trace")
	m.Logger("Http.Client").Debug("http debug")
	m.Logger("Chatty").Debug("chatty debug")
	m.Logger("Chatty").Warn("chatty warning")
	m.Log(context.Background(), logrecord.New(time.Now(), logrecord.LevelDebug, "Forwarded", "forwarded debug"))
	m.Logger("App").Error("app error", errors.New("boom"))

	assert.Equal(t, []string{"app debug", "app info", "http debug", "chatty debug", "chatty warning", "forwarded debug", "app error"},
		messages(ring.Records()), "the ring takes debug and above from every logger")
	assert.Equal(t, []string{"app info", "http trace", "http debug", "app error"}, messages(export.Records()),
		"the other sink follows the global and per-logger levels")

	assert.True(t, m.Enabled("App", logrecord.LevelDebug))
	assert.False(t, m.Enabled("App", logrecord.LevelTrace))
	assert.True(t, m.Logger("Http").Enabled(logrecord.LevelTrace))
	assert.True(t, m.Handler("App").Enabled(context.Background(), slog.LevelDebug))
}

func TestLevelSinkLevelChanges(t *testing.T) {
	ring := ringSink{sink.NewMemory(0), logrecord.LevelDebug}
	export := sink.NewMemory(0)
	m := sink.NewManager([]sink.Sink{export})
	m.AddSink(ring)
	log := m.Logger("App")
	log.Debug("one")
	m.SetSinkLevel(ring, logrecord.LevelWarning)
	log.Debug("two")
	log.Info("three")
	m.SetLevel(logrecord.LevelTrace)
	log.Trace("four")
	assert.Equal(t, []string{"one"}, messages(ring.Records()))
	assert.Equal(t, []string{"three", "four"}, messages(export.Records()))

	// Only LevelSinks: the levels no longer matter.
	only := ringSink{sink.NewMemory(0), logrecord.LevelInfo}
	m2 := sink.NewManager([]sink.Sink{only}, sink.WithLevel(logrecord.LevelError))
	m2.Logger("App").Info("kept")
	m2.Logger("App").Debug("not kept")
	assert.Equal(t, []string{"kept"}, messages(only.Records()))
}

// A debug call that only a LevelSink takes is sanitized like any other.
func TestLevelSinkRecordsAreSanitized(t *testing.T) {
	ring := ringSink{sink.NewMemory(0), logrecord.LevelDebug}
	m := sink.NewManager([]sink.Sink{ring, sink.NewMemory(0)}, sink.WithSanitizer(sink.SanitizerFunc(func(r logrecord.Record) logrecord.Record {
		r.Message = "clean"
		return r
	})))
	m.Logger("App").Debug("secret")
	assert.Equal(t, []string{"clean"}, messages(ring.Records()))
}
