package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"
)

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf shipFlags
	sf.register(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: offline-replay replay --endpoint URL [--token T] --queue DIR [--timeout D] [--progress=bar|lines|none]

Ships whatever a queue directory holds, for example one copied from a
machine in the field. Records keep the install, session and user ids they
were logged with. Exit code 0 when everything is delivered, 3 when records
remain queued at the timeout.

Example:
  offline-replay replay --endpoint https://logs.example.internal/api/v1/logs --token secret --queue ./copied-queue

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitFailure, parseErr(err)
	}
	if err := sf.check(fs, stderr); err != nil {
		return exitFailure, err
	}
	s, err := openSink(&sf, newID(), newID(), nil, func(error) {})
	if err != nil {
		return exitFailure, err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = s.Close(closeCtx)
	}()
	total := s.Stats().Pending
	if sf.progress != "none" {
		fmt.Fprintf(stderr, "  %d records queued in %s\n", total, sf.queue)
	}
	return deliver(ctx, s, &sf, total, stdout, stderr), nil
}
