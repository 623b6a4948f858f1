//go:build unix

package diskqueue_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/soliplex/fieldlog/diskqueue"
)

// sweepResult is what childOpen prints.
type sweepResult struct {
	Records     int
	Bad         int
	Quarantined bool
	Error       string
}

// openInChildren opens each of the damaged files in a child process,
// several files per child to spare start-up time: a child that dies names
// the file it was opening. It checks that no child died from a signal and
// that each file either opened with intact records or was moved aside.
func openInChildren(t *testing.T, files map[string][]byte, original int) (opened, quarantined int) {
	t.Helper()
	names := map[string]string{} // directory → description
	var dirs []string
	for name, data := range files {
		dir := filepath.Join(t.TempDir(), "q")
		require.NoError(t, os.MkdirAll(dir, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, diskqueue.FileName), data, 0o600))
		names[dir] = name
		dirs = append(dirs, dir)
	}
	const perChild = 40
	var batches [][]string
	for len(dirs) > 0 {
		n := min(perChild, len(dirs))
		batches = append(batches, dirs[:n])
		dirs = dirs[n:]
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, batch := range batches {
		wg.Go(func() {
			list := filepath.Join(t.TempDir(), fmt.Sprintf("batch-%d", i))
			if err := os.WriteFile(list, []byte(strings.Join(batch, "\n")), 0o600); err != nil {
				t.Error(err)
				return
			}
			out, state := runChild(t, "", "open", list, nil)
			current := ""
			for _, line := range strings.Split(out, "\n") {
				if d, ok := strings.CutPrefix(line, "begin "); ok {
					current = d
					continue
				}
				js, ok := strings.CutPrefix(line, "result ")
				if !ok {
					continue
				}
				var r sweepResult
				if err := json.Unmarshal([]byte(js), &r); err != nil {
					t.Errorf("%s: %v in %q", names[current], err, line)
					continue
				}
				if r.Error != "" {
					t.Errorf("%s: Open or Peek failed: %s", names[current], r.Error)
					continue
				}
				assert.Zero(t, r.Bad, "%s: every record returned is intact", names[current])
				assert.LessOrEqual(t, r.Records, original, names[current])
				mu.Lock()
				if r.Quarantined {
					quarantined++
				} else {
					opened++
				}
				mu.Unlock()
				current = ""
			}
			if ws := state.Sys().(syscall.WaitStatus); ws.Signaled() || !state.Success() {
				t.Errorf("child ended with %v while opening %s: %s", state, names[current], out)
			}
		})
	}
	wg.Wait()
	return opened, quarantined
}

// TestTruncationSweep cuts a queue file of thousands of records at every
// page boundary and at random offsets: no cut can make Open fault.
func TestTruncationSweep(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "q")
	const records = 2000
	fillQueue(t, dir, records)
	whole := fileBytes(t, filepath.Join(dir, diskqueue.FileName))
	const page = 4096
	files := map[string][]byte{}
	for off := page; off < len(whole); off += page {
		files[fmt.Sprintf("cut at %d", off)] = whole[:off]
	}
	rng := rand.New(rand.NewPCG(uint64(len(whole)), 1))
	for range 50 {
		off := 1 + rng.IntN(len(whole)-1)
		files[fmt.Sprintf("cut at %d", off)] = whole[:off]
	}
	opened, quarantined := openInChildren(t, files, records)
	t.Logf("%d pages; %d cuts: %d opened, %d quarantined", len(whole)/page, len(files), opened, quarantined)
	assert.Positive(t, quarantined)
}

// TestDamageSweep flips bytes in the pages of a queue file: whatever the
// damage, Open never faults and never returns a damaged record.
func TestDamageSweep(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "q")
	const records = 2000
	fillQueue(t, dir, records)
	whole := fileBytes(t, filepath.Join(dir, diskqueue.FileName))
	rng := rand.New(rand.NewPCG(uint64(len(whole)), 2))
	files := map[string][]byte{}
	for i := range 60 {
		damaged := append([]byte(nil), whole...)
		// Damage a page header, or a few random bytes of one page.
		pg := rng.IntN(len(whole) / 4096)
		var where []int
		if i%2 == 0 {
			where = []int{pg*4096 + rng.IntN(16)}
		} else {
			for range 4 {
				where = append(where, pg*4096+rng.IntN(4096))
			}
		}
		for _, at := range where {
			damaged[at] ^= byte(1 + rng.IntN(255))
		}
		files[fmt.Sprintf("page %d bytes %v", pg, where)] = damaged
	}
	opened, quarantined := openInChildren(t, files, records)
	t.Logf("%d damaged files: %d opened, %d quarantined", len(files), opened, quarantined)
	require.Positive(t, opened+quarantined)
}
