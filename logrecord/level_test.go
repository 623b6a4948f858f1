package logrecord_test

import (
	"log/slog"
	"testing"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLevelNames(t *testing.T) {
	tests := []struct {
		give         logrecord.Level
		wantName     string
		wantSeverity int
		wantText     string
	}{
		{logrecord.LevelTrace, "trace", 1, "TRACE"},
		{logrecord.LevelDebug, "debug", 5, "DEBUG"},
		{logrecord.LevelInfo, "info", 9, "INFO"},
		{logrecord.LevelWarning, "warning", 13, "WARN"},
		{logrecord.LevelError, "error", 17, "ERROR"},
		{logrecord.LevelFatal, "fatal", 21, "FATAL"},
	}
	for _, tt := range tests {
		t.Run(tt.wantName, func(t *testing.T) {
			assert.Equal(t, tt.wantName, tt.give.String())
			assert.Equal(t, tt.wantSeverity, tt.give.Severity())
			assert.Equal(t, tt.wantText, tt.give.SeverityText())
			back, err := logrecord.ParseLevel(tt.wantName)
			require.NoError(t, err)
			assert.Equal(t, tt.give, back)
		})
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		give string
		want logrecord.Level
	}{
		{"WARN", logrecord.LevelWarning},
		{"warn", logrecord.LevelWarning},
		{"Warning", logrecord.LevelWarning},
		{" Error ", logrecord.LevelError},
		{"TRACE", logrecord.LevelTrace},
		{"fAtAl", logrecord.LevelFatal},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got, err := logrecord.ParseLevel(tt.give)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	_, err := logrecord.ParseLevel("verbose")
	assert.ErrorContains(t, err, `"verbose"`)
}

func TestLevelBetweenNames(t *testing.T) {
	tests := []struct {
		give     slog.Level
		want     logrecord.Level
		wantName string
	}{
		{slog.LevelInfo + 2, logrecord.LevelInfo, "info+2"},
		{slog.LevelWarn, logrecord.LevelWarning, "warning"},
		{slog.LevelError + 1, logrecord.LevelError, "error+1"},
		{slog.LevelError + 4, logrecord.LevelFatal, "fatal"},
		{slog.Level(40), logrecord.LevelFatal, "fatal+28"},
		{slog.Level(-20), logrecord.LevelTrace, "trace-12"},
	}
	for _, tt := range tests {
		t.Run(tt.wantName, func(t *testing.T) {
			assert.Equal(t, tt.want, logrecord.FromSlog(tt.give))
			assert.Equal(t, tt.wantName, logrecord.Level(tt.give).String())
		})
	}
}

func TestLevelText(t *testing.T) {
	var l logrecord.Level
	require.NoError(t, l.UnmarshalText([]byte("WARN")))
	assert.Equal(t, logrecord.LevelWarning, l)
	b, err := logrecord.Level(slog.LevelError + 2).MarshalText()
	require.NoError(t, err)
	assert.Equal(t, "error", string(b))
	assert.Error(t, l.UnmarshalText([]byte("loud")))
	assert.Equal(t, logrecord.LevelWarning, l, "a failed unmarshal leaves the level alone")
}
