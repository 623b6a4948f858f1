package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/soliplex/fieldlog/diskqueue"
)

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf shipFlags
	sf.register(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: offline-replay replay --endpoint URL [--token T] --queue DIR [--timeout D] [--progress=bar|lines|none]

Ships whatever a queue directory holds, for example one copied from a
machine in the field (DIR may also be the directory a service gave
fieldlog.New, which keeps its queue in DIR/queue). Records keep the
install, session and user ids they were logged with; nothing in the queue
is dropped to make room. A path that holds no queue is an error.

Trouble (server unreachable, a rejected token) is printed whatever
--progress says; a 401, 403, 404 or redirect stops at once. Ends with a
summary; exit codes as "offline-replay -h" lists them (0 delivered, 1 no
queue, 3 still queued, 4 stopped by a permanent answer, 5 some dropped,
130 interrupted).

Example:
  offline-replay replay --endpoint https://logs.example.internal/api/v1/logs --token secret --queue /tmp/copied-queue

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage, parseErr(err)
	}
	if err := usageError(fs, stderr, sf.problems()); err != nil {
		return exitUsage, err
	}
	dir, err := findQueue(sf.queue)
	if err != nil {
		return exitFailure, err
	}
	// A damaged file is reported as it is: opening it for writing would
	// move it aside and replay an empty queue.
	probe, err := diskqueue.OpenReadOnly(dir, nil)
	if err != nil {
		return exitFailure, openError(dir, err)
	}
	_ = probe.Close(context.Background())
	p, err := openPipeline(&sf, dir, 0, false)
	if err != nil {
		return exitFailure, err
	}
	d := newDisplay(sf.progress, stdout, stderr)
	if sf.progress != "none" {
		fmt.Fprintf(stderr, "  %s records queued in %s\n", num(p.before), dir)
	}
	end := deliver(ctx, p, &sf, d)
	budget := closeBudget
	if end.kind == endInterrupted {
		budget = closeBudgetInterrupt
	}
	t := p.close(ctx, budget)
	return finish(stdout, stderr, &t, "", conclude(end, &t, &sf)), nil
}
