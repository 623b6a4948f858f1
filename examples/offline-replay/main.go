// Command offline-replay shows what fieldlog is for: records logged while
// the ingest server is unreachable wait on disk, survive a crash, and are
// delivered once the server is back.
//
//	offline-replay [demo]     the guided demo on an embedded ingest server
//	offline-replay log        log synthetic records and ship them
//	offline-replay replay     ship what a queue directory holds
//	offline-replay inspect    show what a queue directory holds
//
// Run "offline-replay <command> -h" for each command's flags. Exit codes:
// 0 all delivered, 3 records remain safely queued at the timeout, 1 misuse
// or failure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitQueued  = 3
)

// errUsage marks errors that are the caller's to fix.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "demo"
	switch {
	case len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help"):
		cmd = "help"
	case len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-':
		cmd, args = args[0], args[1:]
	}
	var code int
	var err error
	switch cmd {
	case "demo":
		code, err = runDemo(ctx, args, stdout, stderr)
	case "log":
		code, err = runLog(ctx, args, stdout, stderr)
	case "replay":
		code, err = runReplay(ctx, args, stdout, stderr)
	case "inspect":
		code, err = runInspect(ctx, args, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "offline-replay: unknown command %q\n\n%s", cmd, usage)
		return exitFailure
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(stderr, "offline-replay:", err)
		}
		return exitFailure
	}
	return code
}

const usage = `offline-replay: records logged while the ingest server is unreachable
wait on disk, survive a crash, and are delivered once the server is back.

Commands:
  demo      (default) the guided demo on an embedded ingest server
  log       log N synthetic records and ship them
  replay    ship whatever a queue directory holds
  inspect   show what a queue directory holds, sending nothing

Examples:
  go run ./examples/offline-replay
  offline-replay log --endpoint http://127.0.0.1:8080/api/v1/logs --token secret --queue ./q --count 1000
  offline-replay replay --endpoint https://logs.example.internal/api/v1/logs --token secret --queue ./copied-queue
  offline-replay inspect --queue ./copied-queue

Exit codes: 0 all delivered, 3 records remain safely queued at the timeout,
1 misuse or failure.
`
