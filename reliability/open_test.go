//go:build unix

package reliability_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/diskqueue"
)

// openArgs lists the queue directories an open child opens, one after
// the other.
type openArgs struct {
	Dirs []string
}

// openResult is what an open child found in one directory.
type openResult struct {
	Dir         string           `json:"dir"`
	OpenErr     string           `json:"open_err,omitempty"`
	PeekErr     string           `json:"peek_err,omitempty"`
	Quarantined bool             `json:"quarantined"`
	Records     int              `json:"records"`
	Bad         int              `json:"bad"`  // records not as numbered wrote them
	Dups        int              `json:"dups"` // records found twice
	IDs         [][2]int         `json:"ids"`  // the numbers found, as ranges [from, to]
	Corrupt     int64            `json:"corrupt"`
	Unreported  map[string]int64 `json:"unreported,omitempty"` // drops kept in the file, by reason
	Reports     []string         `json:"reports,omitempty"`
	WorksAfter  bool             `json:"works_after"` // an append and a sync succeeded afterwards
	WorkErr     string           `json:"work_err,omitempty"`
}

// has reports whether number n was found.
func (r *openResult) has(n int) bool {
	_, found := slices.BinarySearchFunc(r.IDs, n, func(rg [2]int, n int) int {
		switch {
		case rg[1] < n:
			return -1
		case rg[0] > n:
			return 1
		}
		return 0
	})
	return found
}

// childOpen opens each directory in turn and prints "B dir" before, and
// "R {openResult}" after: a child that dies names the file it was opening.
func childOpen(raw []byte) error {
	var a openArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return err
	}
	var o out
	for _, dir := range a.Dirs {
		o.printf("B %s\n", dir)
		r := openOne(dir)
		js, err := json.Marshal(r)
		if err != nil {
			return err
		}
		o.write(append(append([]byte("R "), js...), '\n'))
	}
	return nil
}

func openOne(dir string) openResult {
	r := openResult{Dir: dir}
	var mu sync.Mutex
	q, err := diskqueue.Open(dir, &diskqueue.Options{MaxBytes: 1 << 30, LockTimeout: 100 * time.Millisecond, OnError: func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if len(r.Reports) < 3 {
			r.Reports = append(r.Reports, err.Error())
		}
	}})
	if err != nil {
		r.OpenErr = err.Error()
		return r
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer q.Close(ctx)
	r.Quarantined = q.Stats().Quarantined != ""
	items, err := q.Peek(1<<30, 1<<40)
	if err != nil {
		r.PeekErr = err.Error()
	}
	r.Records = len(items)
	var nums []int
	for _, it := range items {
		n, ok := numberOf(it.Data)
		if !ok {
			r.Bad++
			continue
		}
		nums = append(nums, n)
	}
	slices.Sort(nums)
	for i, n := range nums {
		switch {
		case i > 0 && n == nums[i-1]:
			r.Dups++
		case len(r.IDs) > 0 && r.IDs[len(r.IDs)-1][1] == n-1:
			r.IDs[len(r.IDs)-1][1] = n
		default:
			r.IDs = append(r.IDs, [2]int{n, n})
		}
	}
	if err := q.Append(diskqueue.Normal, numbered(1<<26)); err != nil {
		r.WorkErr = err.Error()
	} else if err := q.Sync(ctx); err != nil {
		r.WorkErr = err.Error()
	} else {
		r.WorksAfter = true
	}
	// Damaged records are counted when their removal commits: after Sync.
	r.Corrupt = q.Stats().Dropped[diskqueue.DropCorrupt]
	if un := q.Unreported(); un.Total() > 0 {
		r.Unreported = map[string]int64{}
		for _, c := range un.Counts {
			r.Unreported[c.Reason] += c.N
		}
	}
	mu.Lock()
	defer mu.Unlock()
	return r
}

// openInChildren opens the directories in child processes, perChild
// directories each, two children at a time. It returns each directory's
// result; a directory whose child died or stalled while opening it gets
// an OpenErr saying so, prefixed "child:", and the rest of its batch goes
// to a new child.
func openInChildren(t *testing.T, dirs []string, perChild int) map[string]openResult {
	t.Helper()
	results := map[string]openResult{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	var openBatch func(batch []string)
	openBatch = func(batch []string) {
		sem <- struct{}{}
		lines, state, stderr := runChild(t, "open", openArgs{Dirs: batch}, 2*time.Minute)
		<-sem
		current := ""
		mu.Lock()
		for _, l := range lines {
			switch {
			case strings.HasPrefix(l, "B "):
				current = l[2:]
			case strings.HasPrefix(l, "R "):
				var r openResult
				if err := json.Unmarshal([]byte(l[2:]), &r); err != nil {
					t.Errorf("child output %q: %v", l, err)
					continue
				}
				results[r.Dir] = r
				current = ""
			}
		}
		var rest []string
		if current != "" {
			results[current] = openResult{Dir: current, OpenErr: fmt.Sprintf("child: ended (%v) while opening: %s", state, stderr)}
			i := slices.Index(batch, current)
			rest = batch[i+1:]
		}
		mu.Unlock()
		if len(rest) > 0 {
			openBatch(rest)
		}
	}
	for len(dirs) > 0 {
		batch := dirs[:min(perChild, len(dirs))]
		dirs = dirs[len(batch):]
		wg.Go(func() { openBatch(batch) })
	}
	wg.Wait()
	return results
}
