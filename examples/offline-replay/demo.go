package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/soliplex/fieldlog/backendsink"
	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/sanitizer"
)

const demoToken = "demo-token"

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	count := fs.Int("count", 300, "records in the offline session")
	keep := fs.Bool("keep", false, "keep the temporary directory with the queue and the stored logs")
	maxBytes := registerMaxQueueBytes(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: offline-replay [demo] [--count N] [--max-queue-bytes SIZE] [--keep]

The guided demo: a program logs a session while its ingest server is
unreachable, and its queue grows on disk (redaction has already replaced
the email, password and bearer token the session logs); the program is
killed (SIGKILL) before it can deliver anything; then the ingest server
comes up, the queue is replayed, and a summary accounts for every record.
The queue keeps at most --max-queue-bytes: a session larger than that
loses its oldest records, and the summary says so (exit code 5).

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage, parseErr(err)
	}
	var problems []string
	if *count <= 0 {
		problems = append(problems, "--count must be positive")
	}
	if err := usageError(fs, stderr, append(problems, maxBytes.problems()...)); err != nil {
		return exitUsage, err
	}
	start := time.Now()
	tmp, err := os.MkdirTemp("", "fieldlog-demo-")
	if err != nil {
		return exitFailure, err
	}
	if !*keep {
		defer os.RemoveAll(tmp)
	}
	queueDir, storeDir := filepath.Join(tmp, "queue"), filepath.Join(tmp, "ingest-store")

	// A port where nothing listens yet: the server is "down".
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return exitFailure, err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	endpoint := "http://" + addr + ingest.LogsPath

	say := func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) }
	say("fieldlog offline-replay demo")
	say("")
	say("1. The ingest server at %s is down. A program logs a session of %s records", endpoint, num(*count))
	say("   (navigation, HTTP calls, warnings, errors, and failed sign-ins that carry an email address,")
	say("   a password and a bearer token: redaction replaces them before anything reaches the disk).")
	say("   Each record is on disk within milliseconds; the queue keeps at most %s.", maxBytes)

	if err := offlineSession(ctx, endpoint, queueDir, *count, int64(*maxBytes), stdout); err != nil {
		if sig, ok := interrupted(ctx); ok {
			return interruptCode(sig), interruption{sig}
		}
		return exitFailure, err
	}
	say("2. The program is killed with SIGKILL before it could deliver anything: a crash.")
	q, err := diskqueue.OpenReadOnly(queueDir, nil)
	if err != nil {
		return exitFailure, openError(queueDir, err)
	}
	st := q.Stats()
	_ = q.Close(ctx)
	say("   Left on disk in %s: %s records (%s errors in the high class, read first), %s.",
		queueDir, num(st.Pending), num(st.PendingHigh), formatBytes(st.Bytes))
	if n := st.DroppedTotal[diskqueue.DropCap]; n > 0 {
		say("   To stay under its %s cap the queue dropped the oldest %s records; it keeps the count", maxBytes, num(n))
		say("   and ships it with the next delivery (raise --max-queue-bytes to keep more).")
	}

	say("3. The ingest server comes up, storing what it accepts in %s.", storeDir)
	store, err := ingest.NewJSONLStore(storeDir, nil)
	if err != nil {
		return exitFailure, err
	}
	srv, err := ingest.NewServer(ingest.ServerOptions{Exporter: store, Verifier: ingest.BearerToken(demoToken), RatePerSecond: 1000, RateBurst: 1000})
	if err != nil {
		return exitFailure, err
	}
	sl, err := net.Listen("tcp", addr)
	if err != nil { // the port was taken meanwhile: use another
		if sl, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return exitFailure, err
		}
		endpoint = "http://" + sl.Addr().String() + ingest.LogsPath
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan struct{})
	go func() { defer close(served); _ = hs.Serve(sl) }()
	defer func() {
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(shut)
		<-served
		_ = store.Close(shut)
	}()

	say("4. The program starts again on the same queue and replays it:")
	replayStart := time.Now()
	sf := shipFlags{endpoint: endpoint, token: demoToken, queue: queueDir, progress: "bar", timeout: 40 * time.Second}
	p, err := openPipeline(&sf, queueDir, 0, false)
	if err != nil {
		return exitFailure, err
	}
	end := deliver(ctx, p, &sf, newDisplay("bar", stdout, stdout))
	replayed := p.close(ctx, closeBudget)
	replayTime := time.Since(replayStart)

	got, err := collect(context.WithoutCancel(ctx), store, *count)
	if err != nil {
		return exitFailure, err
	}
	// The demo's queue was new: everything it dropped, in the crashed run
	// or now, belongs to this session.
	dropped := map[string]int64{}
	for _, m := range []map[string]int64{replayed.earlier, replayed.dropped} {
		for k, n := range m {
			dropped[k] += n
		}
	}
	t := tally{
		dir: queueDir, written: *count, delivered: int64(got.delivered), queued: replayed.queued,
		dropped: dropped, maxBytes: int64(*maxBytes), diskError: replayed.diskError,
		reported: replayed.reported, unreported: replayed.unreported, closeErr: replayed.closeErr,
		// what never reached the file was dropped on the way for one of these reasons
		committed: int64(*count) - dropped[diskqueue.DropBufferFull] - dropped[diskqueue.DropDiskError] - dropped[backendsink.DropShutdown],
	}

	say("")
	t.print(stdout, "logged by the program before it was killed")
	info := func(label, value, note string) {
		fmt.Fprintln(stdout, strings.TrimRight(fmt.Sprintf("  %-16s %11s   %s", label, value, note), " "))
	}
	info("duplicates", num(got.duplicates), "delivery is at-least-once: a crash between delivery and confirmation sends again")
	info("replay time", replayTime.Round(time.Millisecond).String(), num(int64(float64(got.delivered)/replayTime.Seconds()))+" records/s")
	info("total time", time.Since(start).Round(time.Millisecond).String(), "")
	if *keep {
		info("stored logs", "", storeDir+" (one JSON object per line)")
	} else {
		info("stored logs", "", storeDir+" (removed at exit; run with --keep to keep them)")
	}
	if got.dropReport != "" {
		info("drop report", "", "the server stored the queue's own: \""+got.dropReport+"\"")
	}
	showSample(stdout, got.sample)
	v := conclude(end, &t, &sf)
	if v.msg != "" {
		fmt.Fprintln(stderr, "offline-replay:", v.msg)
	}
	return v.code, nil
}

// offlineSession runs "log" in a child process against the unreachable
// endpoint, shows the queue growing, and kills the child once every record
// is on disk or counted as dropped.
func offlineSession(ctx context.Context, endpoint, queueDir string, count int, maxBytes int64, stdout io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, self, "log", "--endpoint", endpoint, "--token", demoToken, "--queue", queueDir,
		"--count", strconv.Itoa(count), "--id-prefix", "demo-", "--error-every", "97", "--progress=lines", "--timeout", "10m",
		"--max-queue-bytes", strconv.FormatInt(maxBytes, 10))
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	logged, step := 0, max(count/4, 1)
	sc := bufio.NewScanner(out)
	for logged < count && sc.Scan() {
		p, ok := parseLogged(sc.Text())
		if !ok {
			continue
		}
		if p.logged/step > logged/step || p.logged == count {
			line := fmt.Sprintf("   logged %s records: %s queued on disk", num(p.logged), num(p.queued))
			if p.dropped > 0 {
				line += fmt.Sprintf(", %s dropped by the cap", num(p.dropped))
			}
			fmt.Fprintln(stdout, line)
		}
		logged = p.logged
	}
	if logged != count {
		return errors.New("the logging process stopped early")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	_ = cmd.Wait()
	return nil
}

// A loggedLine is log's "logged <n>: delivered <d>, dropped <x>, queued <q>".
type loggedLine struct{ logged, delivered, dropped, queued int }

func parseLogged(s string) (loggedLine, bool) {
	var l loggedLine
	_, err := fmt.Sscanf(s, "logged %d: delivered %d, dropped %d, queued %d", &l.logged, &l.delivered, &l.dropped, &l.queued)
	return l, err == nil
}

// received is what the server stored of the demo's session.
type received struct {
	delivered, duplicates int
	sample                *ingest.StoredEntry // an error record redaction changed
	dropReport            string              // the queue's "records dropped" entry
}

func collect(ctx context.Context, store *ingest.JSONLStore, count int) (received, error) {
	var r received
	seen := make([]int, count)
	var fallback *ingest.StoredEntry
	err := store.Query(ctx, ingest.Filter{}, func(e ingest.StoredEntry) bool {
		n, ok := seqOf(e.Message, "demo-")
		switch {
		case !ok:
			if e.Logger == "fieldlog" && strings.HasPrefix(e.Message, "dropped ") {
				r.dropReport = e.Message
			}
			return true
		case n >= count:
			return true
		}
		seen[n]++
		if e.Level == "error" {
			c := e
			if _, scrubbed := e.Attributes[sanitizer.ScrubbedKey]; scrubbed {
				r.sample = &c // the last one: the most breadcrumbs
			} else if fallback == nil {
				fallback = &c
			}
		}
		return true
	})
	for _, k := range seen {
		if k > 0 {
			r.delivered++
			r.duplicates += k - 1
		}
	}
	if r.sample == nil {
		r.sample = fallback
	}
	return r, err
}

// showSample prints one stored record as a support engineer sees it,
// and what its markers and the server's stamps mean.
func showSample(w io.Writer, e *ingest.StoredEntry) {
	if e == nil {
		return
	}
	c := *e
	var shortened []string
	if n := len(c.Breadcrumbs); n > 3 {
		c.Breadcrumbs = c.Breadcrumbs[n-3:]
		shortened = append(shortened, fmt.Sprintf("the last 3 of its %d breadcrumbs", n))
	}
	if c.StackTrace != nil {
		if lines := strings.Split(*c.StackTrace, "\n"); len(lines) > 5 {
			top := strings.Join(lines[:5], "\n") + "\n…"
			c.StackTrace = &top
			shortened = append(shortened, "the top of its stack")
		}
	}
	fmt.Fprintln(w)
	header := "One stored record, as a support engineer sees it"
	if _, scrubbed := c.Attributes[sanitizer.ScrubbedKey]; scrubbed {
		header += ": a failed sign-in whose email, password and bearer token became markers on the device"
	}
	if len(shortened) > 0 {
		header += " (" + strings.Join(shortened, " and ") + " shown)"
	}
	fmt.Fprintln(w, header+":")
	b, _ := json.MarshalIndent(c, "  ", "  ")
	fmt.Fprintf(w, "  %s\n", b)
	fmt.Fprintln(w, "Markers: [EMAIL] an email address, [REDACTED] the value of a sensitive key (password), [TOKEN] a bearer credential; "+
		sanitizer.ScrubbedKey+" lists where each rule fired, never the values.")
	fmt.Fprintln(w, "Legend: high class = error and fatal records, uploaded before any backlog; "+
		"error.fingerprint = the server's hash of the error type and top stack frames, the same for every occurrence of one bug; "+
		"server.received_at = when the server accepted the record.")
}

// seqOf finds "[<prefix><number>]" in a message.
func seqOf(msg, prefix string) (int, bool) {
	i := strings.Index(msg, "["+prefix)
	if i < 0 {
		return 0, false
	}
	rest := msg[i+1+len(prefix):]
	j := strings.IndexByte(rest, ']')
	if j < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(rest[:j])
	return n, err == nil
}
