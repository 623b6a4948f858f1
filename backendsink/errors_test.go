package backendsink

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFatalAppendFailureIsReturnedNotReported: the caller of Write gets
// the error; OnError does not get it as well.
func TestFatalAppendFailureIsReturnedNotReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		diskFull := errors.New("disk full")
		st.appendFn = func([]byte) error { return diskFull }
		s, reported := newTestSink(t, Options{Client: sinktest.NewIngest().Client()}, st)
		assert.ErrorIs(t, s.Write(t.Context(), rec(logrecord.LevelFatal, "crash")), diskFull)
		require.NoError(t, s.Close(t.Context()))
		assert.Empty(t, reported.All())
	})
}

// TestDamagedQueueIsReportedToOnError: the queue the sink opens reports
// through the sink's OnError.
func TestDamagedQueueIsReportedToOnError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "q")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	garbage := make([]byte, 64<<10)
	for i := range garbage {
		garbage[i] = byte(i * 7)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, diskqueue.FileName), garbage, 0o600))
	reported := &sinktest.Errors{}
	s, err := New(Options{Endpoint: "http://127.0.0.1:1/api/v1/logs", Dir: dir, OnError: reported.Add, FlushInterval: time.Hour})
	require.NoError(t, err)
	require.NoError(t, s.Close(t.Context()))
	require.Len(t, reported.All(), 1)
	assert.Contains(t, reported.Text(), "damaged")
	assert.Regexp(t, `^diskqueue: `, reported.Text(), "one prefix")
}

// TestTokenProviderFailure: returned by Flush, reported once by timer
// uploads.
func TestTokenProviderFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		vault := errors.New("vault sealed")
		s, reported := newTestSink(t, Options{
			Client: sinktest.NewIngest().Client(), FlushInterval: time.Second,
			TokenProvider: func(context.Context) (string, error) { return "", vault },
		}, newMemStore())
		err := s.Flush(t.Context())
		assert.ErrorIs(t, err, vault)
		assert.Equal(t, "backendsink: token provider failed; records stay queued: vault sealed", err.Error())
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Empty(t, reported.All(), "Flush returned it: the same episode is not reported as well")
		require.NoError(t, s.Close(t.Context()))
	})
}

func TestFlushSentinels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newTestSink(t, Options{
			Client:  sinktest.NewIngest().Client(),
			Network: func(context.Context) (bool, string) { return false, "none" },
		}, newMemStore())
		require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, "x")))
		assert.ErrorIs(t, s.Flush(t.Context()), ErrOffline)
		require.NoError(t, s.Close(t.Context()))
		assert.ErrorIs(t, s.Flush(t.Context()), sink.ErrClosed)
	})
}
