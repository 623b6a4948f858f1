package benchmarks

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/soliplex/fieldlog"
	"github.com/soliplex/fieldlog/backendsink"
)

// The crash scenario: a process logs N records while the receiver
// answers 503, so that every record is still waiting, and is killed with
// SIGKILL right after its last log call returns. A second process on the
// same directory starts with the receiver up, and closes. The receiver
// counts the records it got by their attempt attribute, each once.
//
// Halfway through, the first process asks the pipeline for its
// durability boundary where it has one (backendsink's Sync); just before
// the kill it prints how many records the pipeline says are on disk
// (backendsink's Stats().Pending). Records behind either must all
// arrive.

// crashPeer is a pipeline that a second process can open on the same
// directory.
type crashPeer struct {
	name string
	open func(tb testing.TB, endpoint, dir string, n int) pipeline
}

var crashPeers = []crashPeer{
	// The queue cap the one-call setup gives a service, as in the outage.
	{"fieldlog", func(tb testing.TB, endpoint, dir string, _ int) pipeline {
		return openFieldlogWith(tb, endpoint, func(o *backendsink.Options) {
			o.Dir = dir
			o.QueueMaxBytes = fieldlog.DefaultQueueMaxBytes
		})
	}},
	{"jsonl-fsync", func(tb testing.TB, endpoint, dir string, _ int) pipeline { return openJSONLDir(tb, endpoint, dir) }},
	{"otel-no-drop", func(tb testing.TB, endpoint, _ string, n int) pipeline { return openOTel(tb, endpoint, n) }},
	{"naive-batcher", func(tb testing.TB, endpoint, _ string, n int) pipeline { return openNaive(tb, endpoint, n) }},
}

// durabler is a pipeline that keeps records on disk. durable returns how
// many of the records logged so far are on disk by the pipeline's own
// account; with sync it first waits for its durability boundary.
type durabler interface {
	durable(ctx context.Context, sync bool) (int, error)
}

func (p *fieldlogPipeline) durable(ctx context.Context, sync bool) (int, error) {
	if sync {
		if err := p.sink.Sync(ctx); err != nil {
			return 0, err
		}
	}
	return p.sink.Stats().Pending, nil
}

// crashResult is what one crash round measured.
type crashResult struct {
	logged    int // records the first process logged before it was killed
	synced    int // records 0..synced-1 were behind the durability boundary
	onDisk    int // records on disk at the kill, by the pipeline's own account
	delivered int // distinct records the receiver got, over both processes
	dupes     int // records the receiver got more than once
}

// durableLost is how many records the pipeline had said were on disk and
// that never arrived.
func (r crashResult) durableLost(got map[int64]int) int {
	lost := 0
	for i := range r.synced {
		if got[int64(i)] == 0 {
			lost++
		}
	}
	return max(lost, r.onDisk-r.delivered)
}

func BenchmarkCrash(b *testing.B) {
	for _, p := range crashPeers {
		b.Run(p.name, func(b *testing.B) {
			res, got := runCrash(b, p, b.N)
			b.StopTimer()
			b.ReportMetric(100*float64(res.delivered)/float64(b.N), "%delivered")
			b.ReportMetric(100*float64(res.onDisk)/float64(b.N), "%on-disk")
			b.ReportMetric(float64(res.durableLost(got)), "durable-lost")
			b.ReportMetric(float64(res.dupes), "duplicates")
		})
	}
}

// A short crash round for the pipelines that keep records on disk: none
// of the records they said were on disk is lost.
func TestCrashKeepsDurable(t *testing.T) {
	const records = 2000
	for _, p := range crashPeers[:2] {
		t.Run(p.name, func(t *testing.T) {
			res, got := runCrash(t, p, records)
			t.Logf("%+v", res)
			if res.logged != records {
				t.Fatalf("the first process logged %d of %d records", res.logged, records)
			}
			if res.synced != records/2 || res.onDisk < res.synced {
				t.Fatalf("%d records behind the durability boundary and %d on disk at the kill; want %d and at least as many", res.synced, res.onDisk, records/2)
			}
			if lost := res.durableLost(got); lost != 0 {
				t.Fatalf("%d of the %d records on disk at the kill were not delivered after the restart (%d delivered)", lost, res.onDisk, res.delivered)
			}
		})
	}
}

// runCrash runs one crash round of n records and returns what it
// measured and how many times the receiver got each record.
func runCrash(tb testing.TB, p crashPeer, n int) (crashResult, map[int64]int) {
	rcv := newIDReceiver(tb)
	rcv.down.Store(true)
	dir := filepath.Join(tb.TempDir(), "pipeline")
	first := runChild(tb, "log", p.name, dir, rcv.srv.URL, n)
	rcv.down.Store(false)
	second := runChild(tb, "restart", p.name, dir, rcv.srv.URL, n)
	if _, ok := second["closed"]; !ok {
		tb.Fatalf("%s: the second process did not close", p.name)
	}
	got := rcv.counts()
	res := crashResult{logged: first["logged"], synced: first["synced"], onDisk: first["durable"]}
	for id, c := range got {
		if id >= 0 && id < int64(n) {
			res.delivered++
			res.dupes += c - 1
		}
	}
	return res, got
}

const (
	crashPhaseEnv    = "FIELDLOG_BENCH_CRASH_PHASE"
	crashPeerEnv     = "FIELDLOG_BENCH_CRASH_PEER"
	crashDirEnv      = "FIELDLOG_BENCH_CRASH_DIR"
	crashEndpointEnv = "FIELDLOG_BENCH_CRASH_ENDPOINT"
	crashRecordsEnv  = "FIELDLOG_BENCH_CRASH_RECORDS"
)

// runChild runs TestCrashChild in a new process of this test binary and
// returns the numbers it printed, by name ("synced 10000"). In the "log"
// phase it kills the process with SIGKILL as soon as it prints "logged".
func runChild(tb testing.TB, phase, peer, dir, endpoint string, n int) map[string]int {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(),
		crashPhaseEnv+"="+phase, crashPeerEnv+"="+peer, crashDirEnv+"="+dir,
		crashEndpointEnv+"="+endpoint, crashRecordsEnv+"="+strconv.Itoa(n))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	got := map[string]int{}
	var transcript []string
	killed, timedOut := false, false
	deadline := time.NewTimer(3 * time.Minute)
	defer deadline.Stop()
	for open := true; open; {
		select {
		case l, ok := <-lines:
			if !ok {
				open = false
				break
			}
			transcript = append(transcript, l)
			name, v, _ := strings.Cut(l, " ")
			if num, err := strconv.Atoi(v); err == nil {
				got[name] = num
			} else if name == "closed" {
				got[name] = 0
			}
			if phase == "log" && name == "logged" && !killed {
				killed = true
				_ = cmd.Process.Kill() // SIGKILL
			}
		case <-deadline.C:
			timedOut = true
			_ = cmd.Process.Kill()
		}
	}
	err = cmd.Wait()
	switch {
	case timedOut:
		tb.Fatalf("%s %s: no answer within 3 minutes:\n%s\n%s", peer, phase, strings.Join(transcript, "\n"), stderr.String())
	case phase == "log" && !killed:
		tb.Fatalf("%s %s: exited before logging all records (%v):\n%s\n%s", peer, phase, err, strings.Join(transcript, "\n"), stderr.String())
	case phase != "log" && err != nil:
		tb.Fatalf("%s %s: %v:\n%s\n%s", peer, phase, err, strings.Join(transcript, "\n"), stderr.String())
	}
	return got
}

// TestCrashChild is the process runCrash starts: in the "log" phase it
// logs the records and waits to be killed; in the "restart" phase it
// opens the pipeline on the same directory and closes it.
func TestCrashChild(t *testing.T) {
	phase := os.Getenv(crashPhaseEnv)
	if phase == "" {
		t.Skip("started by the crash scenario")
	}
	var peer crashPeer
	for _, p := range crashPeers {
		if p.name == os.Getenv(crashPeerEnv) {
			peer = p
		}
	}
	n, err := strconv.Atoi(os.Getenv(crashRecordsEnv))
	if peer.open == nil || err != nil {
		t.Fatalf("no crash peer %q or record count %q", os.Getenv(crashPeerEnv), os.Getenv(crashRecordsEnv))
	}
	pl := peer.open(t, os.Getenv(crashEndpointEnv), os.Getenv(crashDirEnv), n)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	switch phase {
	case "log":
		for i := range n / 2 {
			pl.log(i)
		}
		synced := 0
		if d, ok := pl.(durabler); ok {
			if _, err := d.durable(ctx, true); err != nil {
				t.Fatal(err)
			}
			synced = n / 2
		}
		fmt.Printf("synced %d\n", synced)
		for i := n / 2; i < n; i++ {
			pl.log(i)
		}
		onDisk := 0
		if d, ok := pl.(durabler); ok {
			if onDisk, err = d.durable(ctx, false); err != nil {
				t.Fatal(err)
			}
		}
		fmt.Printf("durable %d\nlogged %d\n", onDisk, n)
		<-ctx.Done() // SIGKILL comes first
		t.Fatal("not killed")
	case "restart":
		pl.close(ctx)
		fmt.Println("closed")
	}
}

// idReceiver is a loopback receiver, for the ingest contract and for
// OTLP/HTTP, that counts the records it gets by their attempt attribute
// and answers 503 while down.
type idReceiver struct {
	srv  *httptest.Server
	down atomic.Bool
	mu   sync.Mutex
	seen map[int64]int
}

func newIDReceiver(tb testing.TB) *idReceiver {
	r := &idReceiver{seen: map[int64]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/logs", func(w http.ResponseWriter, req *http.Request) {
		var body struct {
			Logs []struct {
				Attributes struct {
					Attempt *int64 `json:"attempt"`
				} `json:"attributes"`
			} `json:"logs"`
		}
		if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		for _, e := range body.Logs {
			if e.Attributes.Attempt != nil {
				r.seen[*e.Attributes.Attempt]++
			}
		}
		r.mu.Unlock()
		fmt.Fprintf(w, `{"accepted":%d}`, len(body.Logs))
	})
	mux.HandleFunc("POST /v1/logs", func(w http.ResponseWriter, req *http.Request) {
		raw, err := io.ReadAll(req.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		body := plogotlp.NewExportRequest()
		if err := body.UnmarshalProto(raw); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		rls := body.Logs().ResourceLogs()
		for i := range rls.Len() {
			sls := rls.At(i).ScopeLogs()
			for j := range sls.Len() {
				lrs := sls.At(j).LogRecords()
				for k := range lrs.Len() {
					if v, ok := lrs.At(k).Attributes().Get("attempt"); ok {
						r.seen[v.Int()]++
					}
				}
			}
		}
		r.mu.Unlock()
		out, _ := plogotlp.NewExportResponse().MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	})
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, req)
	}))
	tb.Cleanup(r.srv.Close)
	return r
}

// counts returns how many times each record arrived, by attempt.
func (r *idReceiver) counts() map[int64]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[int64]int, len(r.seen))
	for k, v := range r.seen {
		out[k] = v
	}
	return out
}
