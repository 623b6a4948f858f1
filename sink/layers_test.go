package sink_test

import (
	"sync"
	"testing"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
)

type levelMap = map[string]logrecord.Level

const (
	trace   = logrecord.LevelTrace
	debug   = logrecord.LevelDebug
	info    = logrecord.LevelInfo
	warning = logrecord.LevelWarning
	errLvl  = logrecord.LevelError
)

func TestRemoteLayerPrecedence(t *testing.T) {
	tests := []struct {
		name   string
		local  func(m *sink.Manager)
		global logrecord.Level // remote
		remote levelMap
		want   levelMap // logger → lowest level it logs
	}{
		{
			name:   "remote global replaces the local one",
			local:  func(m *sink.Manager) { m.SetLevel(warning) },
			global: debug,
			want:   levelMap{"App": debug, "Http.Client": debug},
		},
		{
			name:   "remote logger level covers descendants",
			local:  func(m *sink.Manager) {},
			global: info,
			remote: levelMap{"Http": trace},
			want:   levelMap{"Http": trace, "Http.Client": trace, "HttpClient": info, "App": info},
		},
		{
			name:   "remote replaces the local level of the same name",
			local:  func(m *sink.Manager) { m.SetLoggerLevel("Http", errLvl) },
			global: info,
			remote: levelMap{"http": debug},
			want:   levelMap{"Http.Client": debug},
		},
		{
			name:   "a more specific local level still wins",
			local:  func(m *sink.Manager) { m.SetLoggerLevel("Http.Client", errLvl) },
			global: info,
			remote: levelMap{"Http": trace},
			want:   levelMap{"Http": trace, "Http.Client": errLvl, "Http.Client.Retry": errLvl},
		},
		{
			name:   "local levels the remote layer does not name stay",
			local:  func(m *sink.Manager) { m.SetLoggerLevel("Db", debug) },
			global: errLvl,
			remote: levelMap{"Http": trace},
			want:   levelMap{"Db": debug, "App": errLvl},
		},
		{
			name:   "a pinned global level ignores the remote one, not its loggers",
			local:  func(m *sink.Manager) { m.PinLevel(warning) },
			global: trace,
			remote: levelMap{"Http": debug},
			want:   levelMap{"App": warning, "Http": debug},
		},
		{
			name:   "a pinned logger level ignores the remote one for it and below",
			local:  func(m *sink.Manager) { m.PinLoggerLevel("Audit", warning) },
			global: trace,
			remote: levelMap{"audit": trace, "Audit.Db": trace, "Http": debug},
			want:   levelMap{"Audit": warning, "Audit.Db": warning, "Http": debug, "App": trace},
		},
		{
			name:   "a pin below a remote level protects its subtree only",
			local:  func(m *sink.Manager) { m.PinLoggerLevel("Http.Auth", errLvl) },
			global: info,
			remote: levelMap{"Http": trace},
			want:   levelMap{"Http": trace, "Http.Client": trace, "Http.Auth": errLvl, "Http.Auth.Token": errLvl},
		},
		{
			name: "SetLoggerLevel unpins",
			local: func(m *sink.Manager) {
				m.PinLoggerLevel("Audit", warning)
				m.SetLoggerLevel("Audit", warning)
			},
			global: info,
			remote: levelMap{"Audit": trace},
			want:   levelMap{"Audit": trace},
		},
		{
			name: "SetLevel unpins",
			local: func(m *sink.Manager) {
				m.PinLevel(warning)
				m.SetLevel(warning)
			},
			global: debug,
			want:   levelMap{"App": debug},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sink.NewManager(nil)
			tt.local(m)
			m.SetRemoteLevels(tt.global, tt.remote)
			for logger, lowest := range tt.want {
				assert.True(t, m.Enabled(logger, lowest), "%s logs %s", logger, lowest)
				if lowest > trace {
					assert.False(t, m.Enabled(logger, lowest-4), "%s drops below %s", logger, lowest)
				}
			}
		})
	}
}

func TestRemoteLayerCleared(t *testing.T) {
	m := sink.NewManager(nil)
	m.SetLevel(warning)
	m.SetLoggerLevel("Db", debug)
	m.SetRemoteLevels(trace, levelMap{"Db": errLvl, "Http": debug})
	assert.Equal(t, trace, m.Level())
	assert.Equal(t, levelMap{"db": errLvl, "http": debug}, m.LoggerLevels())

	// An override the remote layer drops brings the local level back.
	m.SetRemoteLevels(trace, levelMap{"Http": debug})
	assert.Equal(t, levelMap{"db": debug, "http": debug}, m.LoggerLevels())

	// A local change made while the remote layer is present survives it.
	m.SetLevel(errLvl)
	m.SetLoggerLevel("Router", info)
	assert.Equal(t, trace, m.Level())

	m.ClearRemoteLevels()
	assert.Equal(t, errLvl, m.Level())
	assert.Equal(t, levelMap{"db": debug, "router": info}, m.LoggerLevels())
	assert.False(t, m.Enabled("Http", info))
	assert.True(t, m.Enabled("Db", debug))
}

func TestRemoteLayerReachesExistingLoggers(t *testing.T) {
	m := sink.NewManager(nil)
	l := m.Logger("Http.Client")
	assert.False(t, l.Enabled(debug))
	m.SetRemoteLevels(info, levelMap{"Http": debug})
	assert.True(t, l.Enabled(debug))
	m.ClearRemoteLevels()
	assert.False(t, l.Enabled(debug))
}

// TestRemoteLayerConcurrentSafe changes local and remote levels while
// other goroutines check them. Run with -race.
func TestRemoteLayerConcurrentSafe(t *testing.T) {
	m := sink.NewManager(nil)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			l := m.Logger("Http.Client")
			for i := range 500 {
				switch (w + i) % 5 {
				case 0:
					m.SetRemoteLevels(trace, levelMap{"http": debug})
				case 1:
					m.ClearRemoteLevels()
				case 2:
					m.PinLoggerLevel("Http", errLvl)
				case 3:
					m.ClearLoggerLevel("Http")
				}
				_ = l.Enabled(debug)
				_ = m.LoggerLevels()
			}
		})
	}
	wg.Wait()
	m.ClearRemoteLevels()
	m.ClearLoggerLevel("Http")
	assert.Equal(t, info, m.Level())
	assert.Empty(t, m.LoggerLevels())
}
