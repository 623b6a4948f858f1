package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

func runLog(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("log", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf shipFlags
	sf.register(fs)
	count := fs.Int("count", 100, "number of records to log")
	prefix := fs.String("id-prefix", "rec-", "text before each record's zero-padded sequence number")
	errorEvery := fs.Int("error-every", 50, "log an error record every K records (0: never)")
	maxBytes := registerMaxQueueBytes(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: offline-replay log --endpoint URL [--token T] --queue DIR --count N
       [--id-prefix P] [--error-every K] [--max-queue-bytes SIZE] [--timeout D] [--progress=bar|lines|none]

Logs N synthetic records of a realistic session (navigation, HTTP calls,
warnings, errors, and a failed sign-in whose email, password and bearer
header redaction replaces), each message holding P and its sequence number
(%06d, from 0), then ships them. The queue keeps at most --max-queue-bytes;
past it the oldest records are dropped, and the summary says so.

With --progress=lines it prints "logged <n>: delivered <d>, dropped <x>,
queued <q>" as records reach the disk, then "delivered <n> of <total>".
Trouble (server unreachable, a rejected token) is printed whatever
--progress says; a 401, 403, 404 or redirect stops at once.

Ends with a summary; exit codes as "offline-replay -h" lists them
(0 delivered, 3 still queued, 4 stopped by a permanent answer, 5 some
dropped, 130 interrupted).

Example:
  offline-replay log --endpoint http://127.0.0.1:8080/api/v1/logs --token secret --queue /tmp/fieldlog-q --count 1000

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage, parseErr(err)
	}
	problems := append(sf.problems(), maxBytes.problems()...)
	if *count <= 0 || *errorEvery < 0 {
		problems = append(problems, "--count must be positive and --error-every not negative")
	}
	if err := usageError(fs, stderr, problems); err != nil {
		return exitUsage, err
	}
	p, err := openPipeline(&sf, logQueue(sf.queue), int64(*maxBytes), true)
	if err != nil {
		return exitFailure, err
	}
	d := newDisplay(sf.progress, stdout, stderr)
	written, end := write(ctx, p, d, newSession(p.manager, *prefix, *errorEvery), *count, sf.progress)
	if end.kind == endDone {
		end = deliver(ctx, p, &sf, d)
	}
	budget := closeBudget
	if end.kind == endInterrupted {
		budget = closeBudgetInterrupt
	}
	t := p.close(ctx, budget)
	t.written = written
	return finish(stdout, stderr, &t, "logged by this run", conclude(end, &t, &sf)), nil
}

// write logs count records of the session, making them durable in chunks,
// and returns how many it logged. It stops early when ctx ends, when the
// disk fails, or when the sink is paused by a permanent answer (delivery
// then says which).
func write(ctx context.Context, p *pipeline, d *display, s *session, count int, mode string) (int, delivery) {
	chunk := min(1000, max(25, count/100))
	if mode != "lines" {
		chunk = 1000 // well within the sink's hand-over buffer
	}
	for i := range count {
		if sig, ok := interrupted(ctx); ok {
			d.done()
			return i, delivery{kind: endInterrupted, sig: sig}
		}
		s.emit(i)
		if (i+1)%chunk != 0 && i+1 != count {
			continue
		}
		if err := p.sink.Sync(ctx); err != nil {
			if sig, ok := interrupted(ctx); ok {
				d.done()
				return i + 1, delivery{kind: endInterrupted, sig: sig}
			}
			d.done()
			return i + 1, delivery{kind: endFailed, msg: "writing the queue failed: " + describe(err)}
		}
		st := p.sink.Stats()
		d.logged(i+1, count, st.Confirmed, sum(st.Dropped), st.Pending)
		if st.Paused != "" {
			d.done()
			return i + 1, delivery{kind: endDone} // deliver reports the pause at once
		}
	}
	d.done()
	return count, delivery{kind: endDone}
}
