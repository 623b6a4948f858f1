package diskqueue_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/stretchr/testify/require"
)

// numbered is record i: its number and some padding.
func numbered(i int) []byte { return fmt.Appendf(nil, "%08d|%s", i, strings.Repeat("x", 40)) }

// fillQueue writes n numbered records to a queue in dir and closes it.
func fillQueue(t *testing.T, dir string, n int) {
	t.Helper()
	q, err := diskqueue.Open(dir, &diskqueue.Options{MaxBytes: 1 << 30, OnError: func(err error) { t.Error(err) }})
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, q.AppendWait(t.Context(), diskqueue.Class(i%3/2), numbered(i)))
	}
	require.NoError(t, q.Close(t.Context()))
}

func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
