package benchmarks

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/soliplex/fieldlog/backendsink"
	"github.com/soliplex/fieldlog/sink"
)

// A burst: a program logs b.N records (a message and three attributes) in
// a tight loop, then closes its logging pipeline, which delivers what it
// can. Run with -benchtime=200000x for the published figures. Each peer
// is measured through its public API only, as a user gets it; delivered
// records are counted by the receiving server.

// pipeline is one logging library set up as its documentation recommends.
type pipeline interface {
	log(i int)
	close(ctx context.Context)
	dropped() string // what the library says it dropped, by reason; "" if it does not say
}

type peer struct {
	name string
	open func(b testing.TB, endpoint string, n int) pipeline
}

var peers = []peer{
	{"fieldlog", openFieldlog},
	{"fieldlog-one-request", func(b testing.TB, endpoint string, n int) pipeline {
		return openFieldlogWith(b, endpoint, func(o *backendsink.Options) { o.MaxInFlight = 1 })
	}},
	{"otel-defaults", func(b testing.TB, endpoint string, n int) pipeline { return openOTel(b, endpoint, 0) }},
	{"otel-no-drop", func(b testing.TB, endpoint string, n int) pipeline { return openOTel(b, endpoint, n) }},
	{"naive-batcher", openNaive},
	{"jsonl-fsync", openJSONL},
}

func BenchmarkBurst(b *testing.B) {
	for _, p := range peers {
		for _, producers := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/goroutines=%d", p.name, producers), func(b *testing.B) {
				runBurst(b, p, producers)
			})
		}
	}
}

// BenchmarkBurstServerDown is a burst with the server down for all of it:
// what is kept, what is dropped and why, and the slowest log call.
func BenchmarkBurstServerDown(b *testing.B) {
	b.Run("fieldlog", func(b *testing.B) {
		endpoint := "http://127.0.0.1:1/api/v1/logs" // nothing listens there
		resetPeakRSS()
		p := openFieldlog(b, endpoint, b.N).(*fieldlogPipeline)
		worst := produce(b, p, 1)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		p.close(ctx)
		cancel()
		st := p.sink.Stats()
		b.ReportMetric(float64(st.PendingAtClose), "stored")
		var dropped int64
		for _, n := range st.Dropped {
			dropped += n
		}
		b.ReportMetric(float64(dropped), "dropped")
		b.ReportMetric(float64(worst.Microseconds())/1000, "worst-call-ms")
		b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
		b.Logf("%d records: stored %d, dropped %s", b.N, st.PendingAtClose, p.dropped())
	})
}

func runBurst(b *testing.B, p peer, producers int) {
	srv, delivered := receiver(b)
	resetPeakRSS()
	written := diskWritten()
	pl := p.open(b, srv.URL, b.N)
	start := time.Now()
	worst := produce(b, pl, producers)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	pl.close(ctx)
	cancel()
	elapsed := time.Since(start)
	b.StopTimer()
	got := delivered.Load()
	b.ReportMetric(100*float64(got)/float64(b.N), "%delivered")
	b.ReportMetric(float64(got)/elapsed.Seconds(), "delivered/s")
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-call-ms")
	b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
	b.ReportMetric(float64(diskWritten()-written)/float64(b.N), "disk-B/record")
	if d := pl.dropped(); d != "" {
		b.Logf("%s: %d of %d delivered; dropped %s", p.name, got, b.N, d)
	}
}

// produce logs b.N records from the given number of goroutines and
// returns the slowest single call.
func produce(b *testing.B, pl pipeline, producers int) time.Duration {
	b.ResetTimer()
	var worst atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	for range producers {
		wg.Go(func() {
			var slowest time.Duration
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					break
				}
				t0 := time.Now()
				pl.log(i)
				if d := time.Since(t0); d > slowest {
					slowest = d
				}
			}
			for {
				w := worst.Load()
				if int64(slowest) <= w || worst.CompareAndSwap(w, int64(slowest)) {
					break
				}
			}
		})
	}
	wg.Wait()
	return time.Duration(worst.Load())
}

// receiver is a loopback server for every peer: the ingest contract at
// /api/v1/logs (it answers {"accepted": N} with the true N) and OTLP/HTTP
// at /v1/logs; it counts the records it receives.
func receiver(tb testing.TB) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	marker := []byte(`"logger":"Http"`)
	// Every entry has one active_run key of its own; the session marker
	// also names install_id among its attributes, breadcrumbs name neither.
	entries := []byte(`"active_run":`)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/logs", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		n.Add(int64(bytes.Count(body, marker)))
		fmt.Fprintf(w, `{"accepted":%d}`, bytes.Count(body, entries))
	})
	mux.HandleFunc("POST /v1/logs", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		req := plogotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		n.Add(int64(req.Logs().LogRecordCount()))
		out, _ := plogotlp.NewExportResponse().MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	})
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv, &n
}

// fieldlog: the Manager and the backend sink with default options.
type fieldlogPipeline struct {
	m    *sink.Manager
	sink *backendsink.Sink
	log_ *sink.Logger
}

func openFieldlog(b testing.TB, endpoint string, _ int) pipeline {
	return openFieldlogWith(b, endpoint, nil)
}

// openFieldlogWith is openFieldlog with options changed by set.
func openFieldlogWith(b testing.TB, endpoint string, set func(*backendsink.Options)) pipeline {
	if !strings.Contains(endpoint, "/api/") {
		endpoint += "/api/v1/logs"
	}
	opts := backendsink.Options{
		Endpoint:  endpoint,
		InstallID: "6f1c2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e", SessionID: "0b8e2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e",
		OnError: func(error) {},
	}
	if set != nil {
		set(&opts)
	}
	if opts.Dir == "" {
		opts.Dir = b.TempDir()
	}
	s, err := backendsink.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	m := sink.NewManager([]sink.Sink{s})
	return &fieldlogPipeline{m: m, sink: s, log_: m.Logger("Http")}
}

func (p *fieldlogPipeline) log(i int) {
	p.log_.Info("Request sent", "url", "/api/v1/chat", "status", 200, "attempt", i)
}

func (p *fieldlogPipeline) close(ctx context.Context) { _ = p.m.Close(ctx) }

func (p *fieldlogPipeline) dropped() string { return fmt.Sprint(p.sink.Stats().Dropped) }

// otel: the logs SDK's batch processor and OTLP/HTTP exporter; queue 0
// means the documented defaults, otherwise a queue that holds the whole
// burst.
type otelPipeline struct {
	provider *sdklog.LoggerProvider
	logger   otellog.Logger
}

func openOTel(b testing.TB, endpoint string, queue int) pipeline {
	exp, err := otlploghttp.New(context.Background(), otlploghttp.WithEndpointURL(endpoint+"/v1/logs"))
	if err != nil {
		b.Fatal(err)
	}
	var opts []sdklog.BatchProcessorOption
	if queue > 0 {
		opts = append(opts, sdklog.WithMaxQueueSize(queue))
	}
	provider := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp, opts...)))
	return &otelPipeline{provider: provider, logger: provider.Logger("Http")}
}

func (p *otelPipeline) log(i int) {
	var r otellog.Record
	r.SetTimestamp(time.Now())
	r.SetSeverity(otellog.SeverityInfo)
	r.SetBody(attribute.StringValue("Request sent"))
	r.AddAttributes(attribute.String("url", "/api/v1/chat"), attribute.Int("status", 200), attribute.Int("attempt", i))
	p.logger.Emit(context.Background(), r)
}

func (p *otelPipeline) close(ctx context.Context) { _ = p.provider.Shutdown(ctx) }

func (p *otelPipeline) dropped() string { return "" }

// naive: a blocking channel of 1,024 records and one goroutine that POSTs
// arrays of 100; nothing on disk.
type naivePipeline struct {
	ch   chan []byte
	done chan struct{}
}

func openNaive(_ testing.TB, endpoint string, _ int) pipeline {
	p := &naivePipeline{ch: make(chan []byte, 1024), done: make(chan struct{})}
	client := &http.Client{Timeout: 30 * time.Second}
	go func() {
		defer close(p.done)
		batch := make([][]byte, 0, 100)
		send := func() {
			if len(batch) == 0 {
				return
			}
			var body bytes.Buffer
			body.WriteString(`{"logs":[`)
			for i, e := range batch {
				if i > 0 {
					body.WriteByte(',')
				}
				body.Write(e)
			}
			body.WriteString(`],"resource":{}}`)
			resp, err := client.Post(endpoint+"/api/v1/logs", "application/json", &body)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			batch = batch[:0]
		}
		for e := range p.ch {
			if batch = append(batch, e); len(batch) == 100 {
				send()
			}
		}
		send()
	}()
	return p
}

func (p *naivePipeline) log(i int) {
	p.ch <- fmt.Appendf(nil, `{"timestamp":%q,"level":"info","logger":"Http","message":"Request sent","attributes":{"url":"/api/v1/chat","status":200,"attempt":%d},"install_id":"i","session_id":"s"}`,
		time.Now().UTC().Format(time.RFC3339Nano), i)
}

func (p *naivePipeline) close(ctx context.Context) {
	close(p.ch)
	select {
	case <-p.done:
	case <-ctx.Done():
	}
}

func (p *naivePipeline) dropped() string { return "" }

// resetPeakRSS returns freed memory to the OS and starts the process's
// peak resident set size afresh (Linux; elsewhere a no-op), so that each
// sub-benchmark reports its own. Memory the runtime keeps still counts:
// run one peer per process (-bench with its full name) for figures to
// publish.
func resetPeakRSS() {
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSSMB returns the process's peak resident set size since the last
// reset, in MB, or 0 where /proc is missing.
func peakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

// diskWritten returns the bytes this process has caused to be written to
// storage (write_bytes in /proc/self/io), or 0 where /proc is missing.
func diskWritten() int64 {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "write_bytes:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}
