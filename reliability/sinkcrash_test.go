//go:build unix

package reliability_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/backendsink"
	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type sinkCrashArgs struct {
	Dir      string
	Endpoint string
	Round    int
}

func sinkMessage(round, i int) string { return fmt.Sprintf("crash %04d %08d", round, i) }

// crashSinkOptions are the sink's options in the sink crash test: the
// defaults, with short intervals.
func crashSinkOptions(dir, endpoint, session string) backendsink.Options {
	return backendsink.Options{
		Endpoint: endpoint, Dir: dir, QueueMaxBytes: 1 << 30,
		InstallID: "reliability", SessionID: session,
		FlushInterval: 20 * time.Millisecond, BackoffInitial: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		OnError: func(err error) { fmt.Fprintln(os.Stderr, "sink:", err) },
	}
}

// childSinkCrash logs through a backend sink as fast as it can and prints
// "D round i" once record i and every one before it is on disk: after a
// fatal record's Write (durable when Write returns), and after Sync every
// 100 records. It runs until it is killed.
func childSinkCrash(raw []byte) error {
	var a sinkCrashArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return err
	}
	s, err := backendsink.New(crashSinkOptions(a.Dir, a.Endpoint, fmt.Sprintf("run-%04d", a.Round)))
	if err != nil {
		return err
	}
	ctx := context.Background()
	var o out
	for i := 0; ; i++ {
		level := logrecord.LevelInfo
		switch {
		case i%1000 == 999:
			level = logrecord.LevelFatal
		case i%25 == 24:
			level = logrecord.LevelError
		}
		r := logrecord.New(time.Now(), level, "Crash", sinkMessage(a.Round, i),
			slog.Int("i", i), slog.String("pad", strings.Repeat("p", i*13%300)))
		if err := s.Write(ctx, r); err != nil {
			return err
		}
		switch {
		case level == logrecord.LevelFatal:
			o.printf("D %04d %08d\n", a.Round, i)
		case i%100 == 99:
			if err := s.Sync(ctx); err != nil {
				return err
			}
			o.printf("D %04d %08d\n", a.Round, i)
		}
	}
}

// sinkCrashResult is what TestSinkSIGKILL reports.
type sinkCrashResult struct {
	Part         string           `json:"part"`
	Rounds       int              `json:"rounds"`
	Durable      int64            `json:"durable"`   // records acknowledged durable
	Delivered    int64            `json:"delivered"` // distinct records that reached the server
	Lost         int64            `json:"lost"`      // durable records missing, less the drops reported
	LostKeys     []string         `json:"lost_keys,omitempty"`
	Duplicates   int64            `json:"duplicates"` // deliveries beyond the first (at-least-once)
	DupRecords   int64            `json:"dup_records"`
	Unacked      int64            `json:"unacked_delivered"` // delivered though the child was killed before acknowledging them
	Dropped      map[string]int64 `json:"dropped"`           // reported to the server in "records dropped" entries
	DrainSeconds float64          `json:"drain_seconds"`
	Seed         uint64           `json:"seed"`
	Seconds      float64          `json:"seconds"`
	ChildFailure string           `json:"child_failure,omitempty"`
}

// TestSinkSIGKILL kills a child logging through the backend sink to a
// local ingest server, round after round on the same queue directory; each
// new child delivers what the killed one left, and a final sink delivers
// the rest. Every record acknowledged durable reaches the server.
func TestSinkSIGKILL(t *testing.T) {
	parallel(t)
	rounds := param(t, "SINK_ROUNDS", defaultSinkRounds)
	rng, seed := newRand(t, 2)
	base, recv := startIngest(t, ingest.Compat, nil)
	endpoint := base + ingest.LogsPath
	dir := filepath.Join(t.TempDir(), "q")
	res := sinkCrashResult{Part: "sink_sigkill", Rounds: rounds, Seed: seed}
	start := time.Now()

	durableTo := make([]int, rounds)
	for round := range rounds {
		durableTo[round] = -1
		c := startChild(t, "sink-crash", sinkCrashArgs{Dir: dir, Endpoint: endpoint, Round: round}, "D ")
		select {
		case <-c.seen:
		case <-c.done:
		case <-time.After(30 * time.Second):
		}
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		lines, state := c.wait()
		if ws, ok := state.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			res.ChildFailure = fmt.Sprintf("round %d: child ended by itself (%v): %s", round, state, c.stderr.String())
			break
		}
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) != 3 || f[0] != "D" {
				continue
			}
			if i, err := strconv.Atoi(f[2]); err == nil {
				durableTo[round] = max(durableTo[round], i)
			}
		}
		res.Durable += int64(durableTo[round] + 1)
	}

	// A sink on the same directory after the last kill delivers the rest.
	drainStart := time.Now()
	s, err := backendsink.New(crashSinkOptions(dir, endpoint, "drain"))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		err := s.Flush(ctx)
		if err == nil || !errors.Is(err, backendsink.ErrBackoff) {
			require.NoError(t, err, "the final sink delivers")
			break
		}
		time.Sleep(20 * time.Millisecond) // wait out the backoff; ctx bounds it
	}
	require.NoError(t, s.Close(ctx))
	res.DrainSeconds = time.Since(drainStart).Seconds()

	seen, reported := recv.snapshot()
	res.Dropped = reported
	for round, to := range durableTo {
		for i := 0; i <= to; i++ {
			if seen[sinkMessage(round, i)] == 0 {
				res.Lost++
				if len(res.LostKeys) < 20 {
					res.LostKeys = append(res.LostKeys, sinkMessage(round, i))
				}
			}
		}
	}
	res.Lost = max(0, res.Lost-sumValues(reported))
	for msg, n := range seen {
		var round, i int
		if _, err := fmt.Sscanf(msg, "crash %04d %08d", &round, &i); err != nil {
			continue
		}
		res.Delivered++
		if n > 1 {
			res.Duplicates += int64(n - 1)
			res.DupRecords++
		}
		if round < len(durableTo) && i > durableTo[round] {
			res.Unacked++
		}
	}
	res.Seconds = time.Since(start).Seconds()
	emit(t, res)
	assert.Empty(t, res.ChildFailure)
	assert.Zero(t, res.Lost, "durable records lost: %v", res.LostKeys)
	assert.Empty(t, reported, "nothing is dropped when the server is up")
	assert.Positive(t, res.Durable)
}
