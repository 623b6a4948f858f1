package backendsink

import (
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOnLifecycleFlushes(t *testing.T) {
	tests := []struct {
		state     LifecycleState
		wantFlush bool
	}{
		{Resumed, false},
		{Inactive, true},
		{Hidden, true},
		{Paused, true},
		{Detached, true},
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			ingest := sinktest.NewIngest()
			s, _ := newTestSink(t, Options{Client: ingest.Client(), FlushInterval: time.Hour}, newMemStore())
			require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, "x")))
			require.NoError(t, s.OnLifecycle(t.Context(), tt.state))
			assert.Equal(t, tt.wantFlush, ingest.Requests() == 1, "state %d", tt.state)
			require.NoError(t, s.Close(t.Context()))
		})
	}
}

func TestCloseOnSignal(t *testing.T) {
	ingest := sinktest.NewIngest()
	st := newMemStore()
	s, _ := newTestSink(t, Options{Client: ingest.Client(), FlushInterval: time.Hour}, st)
	got := make(chan os.Signal, 1)
	stop := s.CloseOnSignal(time.Second, func(sig os.Signal) { got <- sig }, syscall.SIGUSR1)
	defer stop()
	require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, "shipped on SIGUSR1")))

	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGUSR1))
	select {
	case sig := <-got:
		assert.Equal(t, syscall.SIGUSR1, sig)
	case <-time.After(10 * time.Second):
		t.Fatal("no signal handled")
	}
	assert.Equal(t, []string{"shipped on SIGUSR1"}, ingest.Messages())
	assert.Zero(t, st.Pending())
	stop()
	stop() // idempotent
}

func TestCloseOnSignalStopWithoutSignal(t *testing.T) {
	s, _ := newTestSink(t, Options{Client: sinktest.NewIngest().Client()}, newMemStore())
	stop := s.CloseOnSignal(time.Second, func(os.Signal) { t.Error("no signal was sent") }, syscall.SIGUSR2)
	stop()
	require.NoError(t, s.Close(t.Context()))
}
