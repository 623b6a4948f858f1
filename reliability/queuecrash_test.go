//go:build unix

package reliability_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
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

// The queue crash child: producers append records, every syncEvery-th with
// AppendSync, and print "D round producer seq" once AppendSync returned,
// which makes that record and every earlier one of the producer durable.
// A consumer peeks and deletes records as an uploader confirms them,
// printing "X round producer seq" for each before deleting it; it leaves
// a backlog of crashBacklog records, as a slow server does.
const (
	crashProducers  = 2
	crashSyncEvery  = 16
	crashMaxPending = 20000
	crashBacklog    = 3000 // the consumer leaves this many: a backlog to look for after each kill
)

type queueCrashArgs struct {
	Dir   string
	Round int
}

// crashKey identifies a record of the queue crash test.
type crashKey struct{ round, producer, seq int }

func (k crashKey) String() string { return fmt.Sprintf("%04d %d %09d", k.round, k.producer, k.seq) }

// crashRecord is the record with key k: its key, then padding of a length
// and letter that depend on it.
func crashRecord(k crashKey) []byte {
	b := fmt.Appendf(nil, "%04d.%d.%09d|", k.round, k.producer, k.seq)
	return append(b, bytes.Repeat([]byte{byte('a' + k.seq%26)}, k.seq*37%200)...)
}

// parseCrashRecord returns the key of data and whether data is exactly
// crashRecord of it.
func parseCrashRecord(data []byte) (crashKey, bool) {
	head, _, ok := bytes.Cut(data, []byte("|"))
	if !ok {
		return crashKey{}, false
	}
	var k crashKey
	if _, err := fmt.Sscanf(string(head), "%04d.%1d.%09d", &k.round, &k.producer, &k.seq); err != nil {
		return crashKey{}, false
	}
	return k, bytes.Equal(data, crashRecord(k))
}

func parseKeyLine(s string) (crashKey, bool) {
	f := strings.Fields(s)
	if len(f) != 3 || len(f[0]) != 4 || len(f[1]) != 1 || len(f[2]) != 9 {
		return crashKey{}, false
	}
	var k crashKey
	var err1, err2, err3 error
	k.round, err1 = strconv.Atoi(f[0])
	k.producer, err2 = strconv.Atoi(f[1])
	k.seq, err3 = strconv.Atoi(f[2])
	return k, err1 == nil && err2 == nil && err3 == nil
}

func childQueueCrash(raw []byte) error {
	var a queueCrashArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return err
	}
	q, err := diskqueue.Open(a.Dir, &diskqueue.Options{MaxBytes: 1 << 30, OnError: func(err error) {
		fmt.Fprintln(os.Stderr, "queue:", err)
	}})
	if err != nil {
		return err
	}
	ctx := context.Background()
	var o out
	fail := make(chan error, crashProducers+1)
	for p := range crashProducers {
		go func() {
			for seq := 0; ; seq++ {
				k := crashKey{a.Round, p, seq}
				class := diskqueue.Normal
				if seq%7 == 3 {
					class = diskqueue.High
				}
				if seq%crashSyncEvery == crashSyncEvery-1 {
					if err := q.AppendSync(ctx, class, crashRecord(k)); err != nil {
						fail <- err
						return
					}
					o.printf("D %s\n", k)
				} else if err := q.AppendWait(ctx, class, crashRecord(k)); err != nil {
					fail <- err
					return
				}
				for q.Pending() > crashMaxPending {
					time.Sleep(time.Millisecond) // let the consumer catch up
				}
			}
		}()
	}
	go func() {
		var lines []byte
		for {
			items, err := q.Peek(256, 1<<20)
			if err != nil {
				fail <- err
				return
			}
			if len(items) == 0 || q.Pending() < crashBacklog {
				time.Sleep(time.Millisecond)
				continue
			}
			lines = lines[:0]
			for _, it := range items {
				k, ok := parseCrashRecord(it.Data)
				if !ok {
					fail <- fmt.Errorf("record %d is damaged: %q", it.ID, it.Data)
					return
				}
				lines = fmt.Appendf(lines, "X %s\n", k)
			}
			o.write(lines) // before the deletion: a confirmed record may come back, never vanish unannounced
			ids := make([]uint64, len(items))
			for i, it := range items {
				ids[i] = it.ID
			}
			if err := q.Delete(ids...); err != nil {
				fail <- err
				return
			}
		}
	}()
	return <-fail // or SIGKILL
}

// queueCrashResult is what TestQueueSIGKILL reports.
type queueCrashResult struct {
	Part         string   `json:"part"`
	Rounds       int      `json:"rounds"`
	EarlyKills   int      `json:"early_kills"` // killed before its first acknowledgement (during Open, say)
	Durable      int64    `json:"durable"`     // records acknowledged durable
	Confirmed    int64    `json:"confirmed"`   // records deleted as delivered
	Checked      int64    `json:"checked"`     // durable, unconfirmed records looked for after a kill
	Lost         int64    `json:"lost"`        // of those, missing
	LostKeys     []string `json:"lost_keys,omitempty"`
	Reappeared   int64    `json:"reappeared"` // confirmed records back after a kill: sent again (at-least-once)
	Damaged      int64    `json:"damaged"`    // records read back not as written
	Duplicated   int64    `json:"duplicated"` // records stored twice
	OutOfOrder   int64    `json:"out_of_order"`
	Quarantined  int      `json:"quarantined"`
	OpenErrors   int      `json:"open_errors"`
	Corrupt      int64    `json:"corrupt"` // records the queue counted as damaged
	MaxPending   int      `json:"max_pending"`
	FileBytes    int64    `json:"file_bytes"`
	Seed         uint64   `json:"seed"`
	Seconds      float64  `json:"seconds"`
	ChildFailure string   `json:"child_failure,omitempty"`
}

// TestQueueSIGKILL kills a child appending to and confirming from one
// queue file with SIGKILL, round after round: after every kill the queue
// opens, and every record acknowledged durable and not confirmed is there,
// once, intact, in order within its class.
func TestQueueSIGKILL(t *testing.T) {
	parallel(t)
	rounds := param(t, "QUEUE_ROUNDS", defaultQueueRounds)
	rng, seed := newRand(t, 1)
	dir := filepath.Join(t.TempDir(), "q")
	res := queueCrashResult{Part: "queue_sigkill", Rounds: rounds, Seed: seed}
	start := time.Now()

	outstanding := map[crashKey]bool{} // durable and not confirmed: must be found
	confirmedEver := map[crashKey]bool{}
	for round := range rounds {
		c := startChild(t, "queue-crash", queueCrashArgs{Dir: dir, Round: round}, "D ")
		// The moment of the kill is what the test varies: at random, after
		// the first acknowledgement, or early (during Open or the first
		// commits) in one round of ten.
		if round > 0 && rng.IntN(10) == 0 {
			res.EarlyKills++
			time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		} else {
			select {
			case <-c.seen:
			case <-c.done:
			case <-time.After(30 * time.Second):
			}
			time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
		}
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		lines, state := c.wait()
		if ws, ok := state.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			res.ChildFailure = fmt.Sprintf("round %d: child ended by itself (%v): %s", round, state, c.stderr.String())
			break
		}

		durableTo := [crashProducers]int{}
		for p := range durableTo {
			durableTo[p] = -1
		}
		for _, l := range lines {
			kind, rest, _ := strings.Cut(l, " ")
			k, ok := parseKeyLine(rest)
			if !ok {
				continue
			}
			switch kind {
			case "D":
				durableTo[k.producer] = max(durableTo[k.producer], k.seq)
			case "X":
				if !confirmedEver[k] {
					res.Confirmed++
				}
				confirmedEver[k] = true
				delete(outstanding, k)
			}
		}
		for p, to := range durableTo {
			res.Durable += int64(to + 1)
			for seq := 0; seq <= to; seq++ {
				if k := (crashKey{round, p, seq}); !confirmedEver[k] {
					outstanding[k] = true
				}
			}
		}

		var mu sync.Mutex
		var reports []string
		q, err := diskqueue.Open(dir, &diskqueue.Options{MaxBytes: 1 << 30, OnError: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			reports = append(reports, err.Error())
		}})
		if !assert.NoError(t, err, "round %d: reopen after SIGKILL", round) {
			res.OpenErrors++
			continue
		}
		st := q.Stats()
		if !assert.Empty(t, st.Quarantined, "round %d: a kill made the file look damaged", round) {
			res.Quarantined++
		}
		items, err := q.Peek(1<<30, 1<<40)
		require.NoError(t, err)
		res.Corrupt += q.Stats().Dropped[diskqueue.DropCorrupt]
		res.MaxPending = max(res.MaxPending, len(items))
		present := map[crashKey]bool{}
		last := map[[3]int]int{} // round, producer, class → last seq
		for _, it := range items {
			k, ok := parseCrashRecord(it.Data)
			if !ok {
				res.Damaged++
				continue
			}
			if present[k] {
				res.Duplicated++
			}
			present[k] = true
			lk := [3]int{k.round, k.producer, int(it.Class)}
			if prev, ok := last[lk]; ok && prev >= k.seq {
				res.OutOfOrder++
			}
			last[lk] = k.seq
			if confirmedEver[k] {
				res.Reappeared++
			}
		}
		res.Checked += int64(len(outstanding))
		for k := range outstanding {
			if !present[k] {
				res.Lost++
				if len(res.LostKeys) < 20 {
					res.LostKeys = append(res.LostKeys, k.String())
				}
				delete(outstanding, k) // counted once
			}
		}
		require.NoError(t, q.Close(context.Background()))
		mu.Lock()
		if len(reports) > 0 {
			t.Logf("round %d: the queue reported %q", round, reports)
		}
		mu.Unlock()
	}
	if info, err := os.Stat(filepath.Join(dir, diskqueue.FileName)); err == nil {
		res.FileBytes = info.Size()
	}
	res.Seconds = time.Since(start).Seconds()
	emit(t, res)
	assert.Empty(t, res.ChildFailure)
	assert.Zero(t, res.Lost, "durable records lost: %v", res.LostKeys)
	assert.Zero(t, res.Damaged, "records read back damaged")
	assert.Zero(t, res.Duplicated, "records stored twice")
	assert.Zero(t, res.OutOfOrder, "records out of order within their class")
	assert.Zero(t, res.Corrupt, "records counted as damaged after a kill")
	assert.Positive(t, res.Durable, "the child acknowledged records")
}
