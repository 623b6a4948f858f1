package sink_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemoryKeepsLastN(t *testing.T) {
	mem := sink.NewMemory(3)
	assert.Empty(t, mem.Records())
	for i := range 5 {
		require.NoError(t, mem.Write(t.Context(), logrecord.New(time.Time{}, logrecord.LevelInfo, "L", fmt.Sprint(i))))
	}
	assert.Equal(t, []string{"2", "3", "4"}, messages(mem.Records()))
	assert.Equal(t, 3, mem.Len())
	mem.Clear()
	assert.Zero(t, mem.Len())
	require.NoError(t, mem.Write(t.Context(), logrecord.New(time.Time{}, logrecord.LevelInfo, "L", "after clear")))
	assert.Equal(t, []string{"after clear"}, messages(mem.Records()))

	require.NoError(t, mem.Flush(t.Context()))
	require.NoError(t, mem.Close(t.Context()))
	assert.ErrorIs(t, mem.Write(t.Context(), logrecord.Record{}), sink.ErrClosed)
	assert.Equal(t, 1, mem.Len(), "records stay readable after Close")
}

func TestMemoryDefaultCapacity(t *testing.T) {
	mem := sink.NewMemory(0)
	for range sink.DefaultMemoryCapacity + 1 {
		require.NoError(t, mem.Write(t.Context(), logrecord.Record{}))
	}
	assert.Equal(t, sink.DefaultMemoryCapacity, mem.Len())
}
