// Command offline-replay shows what fieldlog is for: records logged while
// the ingest server is unreachable wait on disk, survive a crash, and are
// delivered once the server is back.
//
//	offline-replay [demo]     the guided demo on an embedded ingest server
//	offline-replay log        log synthetic records and ship them
//	offline-replay replay     ship what a queue directory holds
//	offline-replay inspect    show what a queue directory holds
//
// Run "offline-replay <command> -h" for each command's flags. Every
// command but inspect ends with a summary that accounts for every record:
// queued before, written, delivered, dropped by reason and still queued.
//
// Exit codes:
//
//	0    every record was delivered (inspect: the queue was read)
//	1    failure: no queue at the path, or the queue could not be read or written
//	2    usage: bad flags or arguments
//	3    records remain safely queued: the server stayed unreachable or failing until --timeout
//	4    stopped by a permanent answer (401/403 token rejected, 404 wrong path, 3xx moved):
//	     fix --token or --endpoint, then replay
//	5    everything was delivered or dropped, and some records were dropped: the summary says why
//	130  interrupted by SIGINT (143: SIGTERM); the summary says what is safely queued
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes, as the package documentation lists them.
const (
	exitOK        = 0
	exitFailure   = 1
	exitUsage     = 2
	exitQueued    = 3
	exitStopped   = 4
	exitDropped   = 5
	exitInterrupt = 128 // plus the signal's number
)

// errUsage marks errors that are the caller's to fix; the message has
// been printed.
var errUsage = errors.New("usage")

// An interruption is the cause of the context's end when a signal
// stopped the command.
type interruption struct{ sig os.Signal }

func (i interruption) Error() string { return "interrupted by " + sigName(i.sig) }

func sigName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// interrupted reports the signal that ended ctx, if one did.
func interrupted(ctx context.Context) (os.Signal, bool) {
	if ctx.Err() == nil {
		return nil, false
	}
	var i interruption
	if errors.As(context.Cause(ctx), &i) {
		return i.sig, true
	}
	return os.Interrupt, true
}

// interruptCode is the exit code for an interruption by sig.
func interruptCode(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return exitInterrupt + int(s)
	}
	return exitInterrupt + int(syscall.SIGINT)
}

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			signal.Stop(sigs) // a second signal ends the process at once
			cancel(interruption{sig})
		case <-done:
		}
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	close(done)
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "demo"
	switch {
	case len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help"):
		fmt.Fprint(stdout, usage)
		return exitOK
	case len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-':
		cmd, args = args[0], args[1:]
	}
	commands := map[string]func(context.Context, []string, io.Writer, io.Writer) (int, error){
		"demo": runDemo, "log": runLog, "replay": runReplay, "inspect": runInspect,
	}
	f, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "offline-replay: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	code, err := f(ctx, args, stdout, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errUsage):
		return exitUsage
	case err != nil:
		fmt.Fprintln(stderr, "offline-replay:", describe(err))
		if code == exitOK {
			code = exitFailure
		}
	}
	return code
}

const usage = `offline-replay: records logged while the ingest server is unreachable
wait on disk, survive a crash, and are delivered once the server is back.

Commands:
  demo      (default) the guided demo on an embedded ingest server
  log       log N synthetic records and ship them
  replay    ship whatever a queue directory holds
  inspect   show what a queue directory holds, changing nothing

Examples (queues and logs under a temporary directory):
  go run ./examples/offline-replay
  offline-replay log --endpoint http://127.0.0.1:8080/api/v1/logs --token secret --queue /tmp/fieldlog-q --count 1000
  offline-replay inspect --queue /tmp/copied-queue
  offline-replay replay --endpoint https://logs.example.internal/api/v1/logs --token secret --queue /tmp/copied-queue

log, replay and the demo end with a summary that accounts for every record.
Exit codes:
  0    every record was delivered (inspect: the queue was read)
  1    failure: no queue at the path, or the queue could not be read or written
  2    usage: bad flags or arguments
  3    records remain safely queued: the server stayed unreachable or failing until --timeout
  4    stopped by a permanent answer (401/403 token rejected, 404 wrong path, 3xx moved):
       fix --token or --endpoint, then replay
  5    everything was delivered or dropped, and some records were dropped: the summary says why
  130  interrupted by SIGINT (143: SIGTERM); the summary says what is safely queued
`

// describe gives an error's text without the package prefixes of the
// layers it passed through: the command prints its own, once.
func describe(err error) string { return withoutPrefixes(err.Error()) }

func withoutPrefixes(s string) string {
	for {
		cut := false
		for _, p := range []string{"diskqueue: ", "backendsink: ", "fieldlog: ", "offline-replay: "} {
			if rest, ok := strings.CutPrefix(s, p); ok {
				s, cut = rest, true
			}
		}
		if !cut {
			return s
		}
	}
}
