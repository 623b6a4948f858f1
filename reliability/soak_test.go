//go:build unix

package reliability_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soliplex/fieldlog/backendsink"
	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type soakArgs struct {
	Dir       string
	Endpoints [2]string // the sink moves to the other one when a redirect paused it
	Records   int
	MaxBatch  int
	DeadlineS int
}

// Timing of the soak's sink: the defaults but for the backoff, scaled down
// so that the run takes minutes, not hours, and a client timeout
// (soakClientTimeout) shorter than the injector's long stalls.
const (
	soakBackoffInitial = 50 * time.Millisecond
	soakBackoffMax     = time.Second
)

// soakMessage is record i's message; the poison records carry their
// marker.
func soakMessage(i, records int) string {
	switch i {
	case records / 3:
		return fmt.Sprintf("soak %07d %s", i, poison500)
	case records / 2:
		return fmt.Sprintf("soak %07d %s", i, poison422)
	case records * 2 / 3:
		return fmt.Sprintf("soak %07d %s", i, poison413)
	}
	return fmt.Sprintf("soak %07d", i)
}

// soakRecord is record i: mostly info, some errors (the high class), now and
// then a fatal one (durable when Write returns), and some the sink must
// repair before a strict server takes them (a zero time, a malformed trace
// id).
func soakRecord(i, records int) logrecord.Record {
	level := logrecord.LevelInfo
	switch {
	case i%20011 == 20010:
		level = logrecord.LevelFatal
	case i%50 == 49:
		level = logrecord.LevelError
	}
	t := time.Now()
	if i%997 == 996 {
		t = time.Time{}
	}
	r := logrecord.New(t, level, "Soak", soakMessage(i, records),
		slog.Int("i", i), slog.String("user", "u-4711"), slog.Bool("retry", i%3 == 0),
		slog.String("pad", strings.Repeat("x", i*7%400)))
	if i%991 == 990 {
		r.TraceID = "not-a-trace-id"
	}
	if level >= logrecord.LevelError {
		r.Error = "HttpException: 500"
		r.StackTrace = "goroutine 7 [running]:\nmain.handler()\n\t/app/main.go:42 +0x1d"
	}
	return r
}

// soakChildResult is what the soak child prints.
type soakChildResult struct {
	Written          int64            `json:"written"`
	WriteErrors      int              `json:"write_errors"`
	Requests         int64            `json:"requests"`
	Sent             int64            `json:"sent"`
	Confirmed        int64            `json:"confirmed"`
	Retries          int64            `json:"retries"`
	Dropped          map[string]int64 `json:"dropped"`
	PendingAtClose   int              `json:"pending_at_close"`
	EndpointSwitches int              `json:"endpoint_switches"`
	TimedOut         bool             `json:"timed_out"`
	CloseErr         string           `json:"close_err,omitempty"`
	Reports          int              `json:"reports"` // OnError calls
	SampleReports    []string         `json:"sample_reports,omitempty"`
	GoroutinesBefore int              `json:"goroutines_before"`
	GoroutinesLeft   int              `json:"goroutines_left"`
	Leftover         []string         `json:"leftover,omitempty"`
	PeakHeapInuse    uint64           `json:"peak_heap_inuse"`
	PeakRSS          int64            `json:"peak_rss"`
	WriteSeconds     float64          `json:"write_seconds"`
	Seconds          float64          `json:"seconds"`
}

// childSoak writes the records through a backend sink as fast as it can,
// waits until they are delivered or dropped (moving the sink to the other
// endpoint whenever a redirect pauses it), closes it, and reports.
func childSoak(raw []byte) error {
	var a soakArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return err
	}
	var res soakChildResult
	baseline := goroutineTops()
	res.GoroutinesBefore = len(baseline)
	mem := startMemSampler()
	start := time.Now()

	var mu sync.Mutex
	s, err := backendsink.New(backendsink.Options{
		Endpoint: a.Endpoints[0], Dir: a.Dir, QueueMaxBytes: 1 << 30,
		Client:    &http.Client{Timeout: soakClientTimeout},
		InstallID: "reliability", SessionID: "soak", MaxBatch: a.MaxBatch,
		FlushInterval: 50 * time.Millisecond, BackoffInitial: soakBackoffInitial, BackoffMax: soakBackoffMax,
		OnError: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			res.Reports++
			if len(res.SampleReports) < 8 {
				res.SampleReports = append(res.SampleReports, err.Error())
			}
		},
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(a.DeadlineS)*time.Second)
	defer cancel()

	// An operator's fix for a redirect: point the sink at the other
	// endpoint.
	ep := 0
	unpause := func() {
		if s.Stats().Paused == backendsink.PausedEndpoint {
			ep = 1 - ep
			res.EndpointSwitches++
			_ = s.SetEndpoint(a.Endpoints[ep])
		}
	}
	watchDone := make(chan struct{})
	stopWatch := make(chan struct{})
	go func() {
		defer close(watchDone)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopWatch:
				return
			case <-tick.C:
				unpause()
			}
		}
	}()
	for i := range a.Records {
		if err := s.Write(ctx, soakRecord(i, a.Records)); err != nil {
			res.WriteErrors++
		}
	}
	res.WriteSeconds = time.Since(start).Seconds()
	for {
		err := s.Flush(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			res.TimedOut = true
			break
		}
		if !errors.Is(err, backendsink.ErrBackoff) && !errors.Is(err, backendsink.ErrPaused) {
			return fmt.Errorf("flush: %w", err)
		}
		time.Sleep(10 * time.Millisecond) // backing off or paused: the watcher and the backoff timer move it on
	}
	close(stopWatch)
	<-watchDone
	closeCtx, closeCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer closeCancel()
	if err := s.Close(closeCtx); err != nil {
		res.CloseErr = err.Error()
	}
	res.Seconds = time.Since(start).Seconds()
	st := s.Stats()
	res.Written, res.Requests, res.Sent, res.Confirmed, res.Retries = st.Written, st.Requests, st.Sent, st.Confirmed, st.Retries
	res.Dropped, res.PendingAtClose = st.Dropped, st.PendingAtClose
	res.PeakHeapInuse = mem.stop()
	res.GoroutinesLeft, res.Leftover = goroutinesLeft(baseline, 3*time.Second)
	res.PeakRSS = vmHWM()
	mu.Lock()
	defer mu.Unlock()
	var o out
	return o.result(res)
}

// soakResult is what TestFaultSoak reports.
type soakResult struct {
	Part             string           `json:"part"`
	Records          int              `json:"records"`
	MaxBatch         int              `json:"max_batch"`
	Delivered        int              `json:"delivered"` // distinct records the server accepted
	Lost             int              `json:"lost"`      // neither delivered nor counted as dropped
	Duplicates       int              `json:"duplicates"`
	DupRecords       int              `json:"dup_records"`
	Dropped          map[string]int64 `json:"dropped"`          // the sink's count, by reason
	DroppedReported  map[string]int64 `json:"dropped_reported"` // as the "records dropped" entries told the server
	DroppedGood      int              `json:"dropped_good"`     // of the dropped, records that were not poison
	Faults           map[string]int   `json:"faults"`
	RedirectFollowed int              `json:"redirect_followed"`
	ClientTimeoutMS  int64            `json:"client_timeout_ms"`
	StallMS          int64            `json:"stall_ms"`
	ShortStallMS     int64            `json:"short_stall_ms"`
	FaultRate        float64          `json:"fault_rate"`
	BackoffMS        [2]int64         `json:"backoff_ms"` // initial, cap
	Child            soakChildResult  `json:"child"`
	Seed             uint64           `json:"seed"`
	Seconds          float64          `json:"seconds"`
	ChildFailure     string           `json:"child_failure,omitempty"`
}

// TestFaultSoak sends records through the backend sink, in a child
// process, to the reference ingest server (strict mode) behind a fault
// injector. Every record but the poison ones arrives, at least once; the
// poison ones are dropped and counted with their reasons, and the server
// is told; no redirect is followed; no goroutine outlives Close.
func TestFaultSoak(t *testing.T) {
	parallel(t)
	records := param(t, "SOAK_RECORDS", defaultSoakRecords)
	batch := param(t, "SOAK_BATCH", defaultSoakBatch)
	deadline := param(t, "SOAK_DEADLINE_S", defaultSoakDeadlineS)
	require.GreaterOrEqual(t, records, 100)
	_, seed := newRand(t, 4)
	var inj *injector
	base, recv := startIngest(t, ingest.Strict, func(next http.Handler) http.Handler {
		inj = newInjector(next, seed)
		return inj
	})
	args := soakArgs{
		Dir:       filepath.Join(t.TempDir(), "q"),
		Endpoints: [2]string{base + ingest.LogsPath, base + altPrefix + ingest.LogsPath},
		Records:   records, MaxBatch: batch, DeadlineS: deadline,
	}
	start := time.Now()
	lines, state, stderr := runChild(t, "soak", args, time.Duration(deadline+60)*time.Second)
	res := soakResult{Part: "soak", Records: records, MaxBatch: batch, Seed: seed,
		ClientTimeoutMS: soakClientTimeout.Milliseconds(), StallMS: stallFor.Milliseconds(), ShortStallMS: shortStall.Milliseconds(), FaultRate: faultRate,
		BackoffMS: [2]int64{soakBackoffInitial.Milliseconds(), soakBackoffMax.Milliseconds()}}
	if err := resultLine(lines, &res.Child); err != nil || !state.Success() {
		res.ChildFailure = fmt.Sprintf("%v (%v): %s", state, err, stderr)
	}
	res.Seconds = time.Since(start).Seconds()
	res.Faults = inj.snapshot()
	res.RedirectFollowed = res.Faults["redirect followed"]
	seen, reported := recv.snapshot()
	res.DroppedReported = reported
	res.Dropped = res.Child.Dropped
	poison := map[int]bool{records / 3: true, records / 2: true, records * 2 / 3: true}
	missing := 0
	for i := range records {
		n := seen[soakMessage(i, records)]
		switch {
		case n == 0:
			missing++
			if !poison[i] {
				res.DroppedGood++
			}
		case n > 1:
			res.Duplicates += n - 1
			res.DupRecords++
		}
	}
	res.Delivered = records - missing
	res.Lost = max(0, missing-int(sumValues(res.Dropped)))
	res.DroppedGood = max(0, res.DroppedGood-res.Lost)
	emit(t, res)

	require.Empty(t, res.ChildFailure)
	assert.False(t, res.Child.TimedOut, "delivered within %d s", deadline)
	assert.Zero(t, res.Lost, "records neither delivered nor counted")
	assert.EqualValues(t, records, res.Child.Written, "every Write accepted")
	for i := range poison {
		assert.Zero(t, seen[soakMessage(i, records)], "poison record %d is never accepted", i)
	}
	assert.Equal(t, int64(1), res.Dropped[backendsink.DropPoison], "the 500 poison pill")
	assert.Equal(t, int64(1), res.Dropped[backendsink.DropRejected], "the 422 record")
	assert.Equal(t, int64(1), res.Dropped[backendsink.DropTooLarge], "the 413 record")
	assert.Zero(t, res.DroppedGood, "records dropped that the server would have taken")
	for reason, n := range res.Dropped {
		// At least once: a "records dropped" entry may arrive twice, as any other.
		assert.GreaterOrEqual(t, res.DroppedReported[reason], n, "the server is told of every drop (%s)", reason)
	}
	assert.Zero(t, res.RedirectFollowed, "redirects are never followed")
	assert.Zero(t, res.Child.PendingAtClose)
	assert.Empty(t, res.Child.CloseErr)
	assert.Zero(t, res.Child.GoroutinesLeft, "goroutines left after Close: %q", res.Child.Leftover)
	for f, n := range res.Faults {
		t.Logf("%5d × %s", n, f)
	}
	t.Logf("%d records in %.1f s: %d requests, %d retries, %d duplicates, peak heap %.1f MB, peak RSS %.1f MB",
		records, res.Child.Seconds, res.Child.Requests, res.Child.Retries, res.Duplicates,
		float64(res.Child.PeakHeapInuse)/(1<<20), float64(res.Child.PeakRSS)/(1<<20))
}
