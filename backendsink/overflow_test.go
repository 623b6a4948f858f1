package backendsink

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/soliplex/fieldlog/internal/sinktest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stalledSink is a sink whose store blocks every Append until unblock is
// called: a stalled disk. One record sits in the encoder, bufferSize in
// the hand-over buffer.
func stalledSink(t *testing.T, opts Options) (s *Sink, st *memStore, in *sinktest.Ingest, unblock func()) {
	block := make(chan struct{})
	st = newMemStore()
	st.appendFn = func([]byte) error { <-block; return nil }
	in = sinktest.NewIngest()
	opts.Client = in.Client()
	opts.FlushInterval = time.Hour
	s, _ = newTestSink(t, opts, st)
	require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, "in the encoder")))
	synctest.Wait()
	for i := range cap(s.in) {
		require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, fmt.Sprint("buffered ", i))))
	}
	return s, st, in, func() {
		close(block)
		st.mu.Lock()
		st.appendFn = nil
		st.mu.Unlock()
	}
}

// TestOverflowWaitThenDrop: with a stalled disk, Write waits MaxWait for
// room, then drops and counts; after that it drops at once until the
// buffer has drained, so the program pays one wait per stall.
func TestOverflowWaitThenDrop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, st, in, unblock := stalledSink(t, Options{BufferSize: 4, MaxWait: 200 * time.Millisecond})
		start := time.Now()
		require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, "waits, then dropped")))
		assert.Equal(t, 200*time.Millisecond, time.Since(start), "one bounded wait")
		start = time.Now()
		for range 100 {
			require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, "dropped at once")))
		}
		assert.Zero(t, time.Since(start), "a stalled pipeline costs no further waits")
		assert.EqualValues(t, 101, st.Lost()[DropBufferFull])

		unblock()
		require.NoError(t, s.Flush(t.Context()))
		// Drained: the next full buffer is waited for again, and room comes.
		for i := range 50 {
			require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, fmt.Sprint("after ", i))))
		}
		require.NoError(t, s.Close(t.Context()))
		assert.EqualValues(t, 101, s.Stats().Dropped[DropBufferFull], "nothing dropped once the disk works")
		assert.Len(t, in.Messages(), 1+5+50, "the report of the drops, and every record kept")
	})
}

func TestOverflowDropNeverWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, st, _, unblock := stalledSink(t, Options{BufferSize: 4, Overflow: OverflowDrop})
		start := time.Now()
		for range 10 {
			require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, "dropped")))
		}
		assert.Zero(t, time.Since(start))
		assert.EqualValues(t, 10, st.Lost()[DropBufferFull])
		unblock()
		require.NoError(t, s.Close(t.Context()))
	})
}

func TestOverflowBlockWaitsForRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, st, in, unblock := stalledSink(t, Options{BufferSize: 4, Overflow: OverflowBlock})
		go func() {
			time.Sleep(time.Hour)
			unblock()
		}()
		start := time.Now()
		require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, "waits for the disk")))
		assert.Equal(t, time.Hour, time.Since(start))
		require.NoError(t, s.Close(t.Context()))
		assert.Empty(t, st.Lost())
		assert.Len(t, in.Messages(), 6)
	})
}

// TestBufferIsBoundedInBytes: large records fill the hand-over buffer by
// their size, long before its record count.
func TestBufferIsBoundedInBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		block := make(chan struct{})
		st := newMemStore()
		st.appendFn = func([]byte) error { <-block; return nil }
		in := sinktest.NewIngest()
		s, _ := newTestSink(t, Options{Client: in.Client(), BufferBytes: 10_000, Overflow: OverflowDrop, FlushInterval: time.Hour}, st)
		big := strings.Repeat("x", 3000)
		require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, big)))
		synctest.Wait() // the encoder holds it, blocked on the disk
		for range 19 {
			require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, big)))
		}
		// One in the encoder, three of ~3.3 KB in the 10 KB buffer.
		assert.EqualValues(t, 16, st.Lost()[DropBufferFull])
		close(block)
		st.mu.Lock()
		st.appendFn = nil
		st.mu.Unlock()
		require.NoError(t, s.Close(t.Context()))
		assert.Equal(t, 1+4, len(in.Messages()), "the report of the drops, and the four kept")
	})
}

// TestFullBatchUploadsWithoutWaitingForTheTick: a batch's worth of
// records is uploaded at once; the remainder waits for the tick.
func TestFullBatchUploadsWithoutWaitingForTheTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := sinktest.NewIngest()
		st := newMemStore()
		s, _ := newTestSink(t, Options{Client: in.Client(), MaxBatch: 100, FlushInterval: time.Hour}, st)
		for i := range 250 {
			require.NoError(t, s.Write(t.Context(), rec(logrecord.LevelInfo, fmt.Sprint("m", i))))
		}
		synctest.Wait()
		assert.Len(t, in.Messages(), 200, "two full batches shipped, no Flush, no tick")
		assert.Equal(t, 50, st.Pending())
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Len(t, in.Messages(), 250, "the remainder at the tick")
		require.NoError(t, s.Close(t.Context()))
	})
}
