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

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/soliplex/fieldlog/ingest"
)

const demoToken = "demo-token"

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	count := fs.Int("count", 300, "records in the offline session")
	keep := fs.Bool("keep", false, "keep the temporary directory with the queue and the stored logs")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: offline-replay [demo] [--count N] [--keep]

The guided demo: a program logs a session while its ingest server is
unreachable, and its queue grows on disk; the program is killed (SIGKILL)
before it can deliver anything; then the ingest server comes up, the queue
is replayed, and a summary shows that nothing was lost.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitFailure, parseErr(err)
	}
	if *count <= 0 {
		return exitFailure, fmt.Errorf("--count must be positive")
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
	say("1. The ingest server at %s is down. A program logs a session of %d records", endpoint, *count)
	say("   (navigation, HTTP calls, warnings, errors); each is on disk within milliseconds.")

	persisted, err := offlineSession(ctx, endpoint, queueDir, *count, stdout)
	if err != nil {
		return exitFailure, err
	}
	say("2. The program is killed with SIGKILL before it could deliver anything: a crash.")
	q, err := diskqueue.Open(queueDir, nil)
	if err != nil {
		return exitFailure, err
	}
	st := q.Stats()
	_ = q.Close(ctx)
	say("   Left on disk in %s: %d records (%d errors in the high class), %d KB.", queueDir, st.Pending, st.PendingHigh, st.Bytes/1024)

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
	go func() { _ = hs.Serve(sl) }()
	defer func() {
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(shut)
		_ = store.Close(shut)
	}()

	say("4. The program starts again on the same queue and replays it:")
	replayStart := time.Now()
	sf := shipFlags{endpoint: endpoint, token: demoToken, queue: queueDir, progress: "bar", timeout: 40 * time.Second}
	s, err := openSink(&sf, newID(), newID(), nil, func(error) {})
	if err != nil {
		return exitFailure, err
	}
	code := deliver(ctx, s, &sf, st.Pending, stdout, stdout)
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	_ = s.Close(closeCtx)
	cancel()
	replayTime := time.Since(replayStart)

	// What arrived: every sequence number of the session, once or more.
	seen := map[int]int{}
	var sampleError *ingest.StoredEntry
	err = store.Query(ctx, ingest.Filter{}, func(e ingest.StoredEntry) bool {
		if n, ok := seqOf(e.Message, "demo-"); ok {
			seen[n]++
			if e.Level == "error" && sampleError == nil {
				c := e
				sampleError = &c
			}
		}
		return true
	})
	if err != nil {
		return exitFailure, err
	}
	delivered, dups := 0, 0
	for i := range *count {
		if seen[i] > 0 {
			delivered++
			dups += seen[i] - 1
		}
	}
	lost := *count - delivered
	say("")
	say("Summary")
	say("  records written     %d (%d reported on disk before the crash)", *count, persisted)
	say("  delivered           %d", delivered)
	say("  duplicates          %d (delivery is at-least-once)", dups)
	say("  lost                %d", lost)
	say("  replay time         %s (%.0f records/s)", replayTime.Round(time.Millisecond), float64(delivered)/replayTime.Seconds())
	say("  total time          %s", time.Since(start).Round(time.Millisecond))
	if *keep {
		say("  stored logs         %s (grep them; one JSON object per line)", storeDir)
	} else {
		say("  stored logs         %s (removed at exit; run with --keep to keep them)", storeDir)
	}
	if sampleError != nil {
		if n := len(sampleError.Breadcrumbs); n > 3 {
			say("")
			say("One stored error record, as a support engineer sees it (the last 3 of its %d breadcrumbs shown):", n)
			sampleError.Breadcrumbs = sampleError.Breadcrumbs[n-3:]
		} else {
			say("")
			say("One stored error record, as a support engineer sees it:")
		}
		b, _ := json.MarshalIndent(sampleError, "  ", "  ")
		say("  %s", b)
	}
	if code != exitOK || lost > 0 {
		return exitFailure, fmt.Errorf("%d records were not delivered", lost)
	}
	return exitOK, nil
}

// offlineSession runs "log" in a child process against the unreachable
// endpoint, shows the queue growing, and kills the child once every record
// is on disk. It returns how many records the child reported durable.
func offlineSession(ctx context.Context, endpoint, queueDir string, count int, stdout io.Writer) (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, self, "log", "--endpoint", endpoint, "--token", demoToken, "--queue", queueDir,
		"--count", strconv.Itoa(count), "--id-prefix", "demo-", "--error-every", "97", "--progress=lines", "--timeout", "10m")
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	persisted := -1
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		n, ok := strings.CutPrefix(sc.Text(), "persisted ")
		if !ok {
			continue
		}
		if v, err := strconv.Atoi(n); err == nil {
			persisted = v
			if step := max(count/4, 1); (persisted+1)%step == 0 || persisted == count-1 {
				fmt.Fprintf(stdout, "   queued on disk: %d records\n", persisted+1)
			}
		}
		if persisted == count-1 {
			break
		}
	}
	if persisted != count-1 {
		return persisted + 1, errors.New("the logging process stopped early")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return 0, err
	}
	_ = cmd.Wait()
	return persisted + 1, nil
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
