//go:build unix

package reliability_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fsizeAfter is how many records the disk-full child appends once it has
// lifted the limit.
const fsizeAfter = 200

type fsizeArgs struct {
	Dir     string
	Limit   int64
	Records int
	Lift    bool // lift the limit, append fsizeAfter more and sync; else close under the limit
}

// fsizeChildResult is what the disk-full child prints.
type fsizeChildResult struct {
	OpenErr      string           `json:"open_err,omitempty"`
	Appended     int64            `json:"appended"`
	AppendErrs   int              `json:"append_errs"`
	SyncFailures int              `json:"sync_failures"`
	AfterErr     string           `json:"after_err,omitempty"` // the sync once the limit was lifted
	CloseErr     string           `json:"close_err,omitempty"`
	Dropped      map[string]int64 `json:"dropped"` // after Close
	Reports      int              `json:"reports"`
}

// childFileSizeLimit appends numbered records to a queue under a file size
// limit (RLIMIT_FSIZE), syncing every 250, then, with Lift, lifts the
// limit, appends more and syncs; it closes the queue and reports.
func childFileSizeLimit(raw []byte) error {
	var a fsizeArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return err
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		return err
	}
	low := lim
	low.Cur = uint64(a.Limit)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &low); err != nil {
		return err
	}
	var res fsizeChildResult
	var mu sync.Mutex
	var o out
	q, err := diskqueue.Open(a.Dir, &diskqueue.Options{MaxBytes: 1 << 30, OnError: func(error) {
		mu.Lock()
		defer mu.Unlock()
		res.Reports++
	}})
	if err != nil {
		res.OpenErr = err.Error()
		return o.result(res)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range a.Records {
		if err := q.AppendWait(ctx, diskqueue.Class(i%5/4), numbered(i)); err != nil {
			res.AppendErrs++
		}
		if i%250 == 249 && q.Sync(ctx) != nil {
			res.SyncFailures++
		}
	}
	if a.Lift {
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
			return err
		}
		for i := a.Records; i < a.Records+fsizeAfter; i++ {
			if err := q.AppendWait(ctx, diskqueue.Normal, numbered(i)); err != nil {
				res.AppendErrs++
			}
		}
		if err := q.Sync(ctx); err != nil {
			res.AfterErr = err.Error()
		}
	}
	if err := q.Close(ctx); err != nil {
		res.CloseErr = err.Error()
	}
	st := q.Stats()
	res.Appended, res.Dropped = st.Appended, st.Dropped
	mu.Lock()
	defer mu.Unlock()
	return o.result(res)
}

// diskFullResult is what TestDiskFullSweep reports for one limit.
type diskFullResult struct {
	Part      string           `json:"part"`
	Limit     int64            `json:"limit"`
	Lift      bool             `json:"lift"`
	Records   int              `json:"records"`   // appended by the child
	Stored    int              `json:"stored"`    // found in the queue afterwards
	Dropped   int64            `json:"dropped"`   // counted by the child's queue
	Persisted map[string]int64 `json:"persisted"` // drop counts found in the file
	Lost      int64            `json:"lost"`      // neither stored nor counted
	Double    int64            `json:"double"`    // counted as dropped, yet stored
	AfterLift int              `json:"after_lift_missing"`
	Outcome   string           `json:"outcome"`
	Child     fsizeChildResult `json:"child"`
	Reopen    openResult       `json:"reopen"`
}

// parseLimits parses "48K:lift,256K:hold".
func parseLimits(t *testing.T, s string) []fsizeArgs {
	t.Helper()
	var out []fsizeArgs
	for _, f := range strings.Split(s, ",") {
		size, mode, _ := strings.Cut(strings.TrimSpace(f), ":")
		mult := int64(1)
		switch {
		case strings.HasSuffix(size, "K"):
			mult, size = 1<<10, strings.TrimSuffix(size, "K")
		case strings.HasSuffix(size, "M"):
			mult, size = 1<<20, strings.TrimSuffix(size, "M")
		}
		n, err := strconv.ParseInt(size, 10, 64)
		require.NoError(t, err, "limit %q", f)
		require.Contains(t, []string{"lift", "hold"}, mode, "limit %q: lift or hold", f)
		out = append(out, fsizeArgs{Limit: n * mult, Lift: mode == "lift"})
	}
	return out
}

// TestDiskFullSweep runs a child appending under a file size limit, at
// each limit of RELIABILITY_FSIZE_LIMITS ("48K:lift,256K:hold": lift the
// limit before closing, or close under it). Afterwards the queue opens,
// every record the child's queue accepted is stored or counted as
// dropped, records appended after the limit was lifted are all stored,
// and the queue works.
func TestDiskFullSweep(t *testing.T) {
	parallel(t)
	limits := defaultFsizeLimits
	if v := getenv("RELIABILITY_FSIZE_LIMITS"); v != "" {
		limits = v
	}
	records := param(t, "FSIZE_RECORDS", defaultFsizeRecords)
	cases := parseLimits(t, limits)
	results := make([]diskFullResult, len(cases))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i, c := range cases {
		c.Dir = filepath.Join(t.TempDir(), "q")
		c.Records = records
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			res := diskFullResult{Part: "disk_full", Limit: c.Limit, Lift: c.Lift}
			lines, state, stderr := runChild(t, "fsize", c, 2*time.Minute)
			err := resultLine(lines, &res.Child)
			res.Child.OpenErr = strings.ReplaceAll(res.Child.OpenErr, c.Dir, "<dir>")
			if err != nil || !state.Success() {
				res.Outcome = fmt.Sprintf("child failed (%v, %v): %s", state, err, stderr)
				results[i] = res
				return
			}
			if res.Child.OpenErr != "" {
				res.Outcome = "open refused: " + res.Child.OpenErr
				results[i] = res
				return
			}
			res.Reopen = openInChildren(t, []string{c.Dir}, 1)[c.Dir]
			results[i] = res
		})
	}
	wg.Wait()

	for i, c := range cases {
		res := &results[i]
		if res.Outcome != "" && res.Child.OpenErr == "" {
			t.Errorf("limit %d: %s", c.Limit, res.Outcome)
			emit(t, res)
			continue
		}
		if res.Child.OpenErr != "" {
			// Too small for the file to be created: an error, nothing accepted.
			assert.Zero(t, res.Child.Appended)
			emit(t, res)
			continue
		}
		r := res.Reopen
		total := int(res.Child.Appended)
		res.Records = total
		res.Stored = r.Records
		res.Dropped = sumValues(res.Child.Dropped)
		res.Persisted = r.Unreported
		switch {
		case r.OpenErr != "":
			res.Outcome = "reopen failed: " + r.OpenErr
		case r.Quarantined:
			res.Outcome = "file moved aside on reopen"
		case res.Dropped == 0:
			res.Outcome = "all stored"
		default:
			res.Outcome = "stored or counted"
		}
		stored := int64(r.Records - r.Bad)
		if d := int64(total) - stored - res.Dropped; d > 0 {
			res.Lost = d
		} else {
			res.Double = -d
		}
		if c.Lift {
			for n := records; n < records+fsizeAfter; n++ {
				if !r.has(n) {
					res.AfterLift++
				}
			}
			assert.Empty(t, res.Child.AfterErr, "limit %d: the queue commits once the limit is lifted", c.Limit)
			assert.Zero(t, res.AfterLift, "limit %d: records appended after the lift are stored", c.Limit)
			if len(res.Child.Dropped)+len(res.Persisted) > 0 {
				assert.Equal(t, res.Child.Dropped, res.Persisted, "limit %d: the drop counts reached the file", c.Limit)
			}
		}
		emit(t, res)
		assert.Empty(t, r.OpenErr, "limit %d: reopen", c.Limit)
		assert.False(t, r.Quarantined, "limit %d: a full disk does not damage the file", c.Limit)
		assert.Zero(t, r.Bad, "limit %d: damaged records", c.Limit)
		assert.Zero(t, r.Dups, "limit %d: records stored twice", c.Limit)
		assert.Zero(t, res.Lost, "limit %d: records neither stored nor counted", c.Limit)
		assert.True(t, r.WorksAfter, "limit %d: the reopened queue commits: %s", c.Limit, r.WorkErr)
		assert.Equal(t, records+fsizeAfter*btoi(c.Lift), total, "limit %d: every append accepted", c.Limit)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
