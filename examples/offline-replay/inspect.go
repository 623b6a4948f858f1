package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/soliplex/fieldlog/diskqueue"
)

func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	queue := fs.String("queue", "", "queue directory (required)")
	first := fs.Int("first", 5, "how many of the first records to show")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: offline-replay inspect --queue DIR [--first N]

Shows what a queue directory holds, changing nothing: pending records by
class, bytes, oldest and newest timestamps, records dropped over the
queue's life by reason, and the first records in delivery order. DIR may
also be the directory a service gave fieldlog.New (its queue is in
DIR/queue). A path that holds no queue is an error (exit code 1).

Example:
  offline-replay inspect --queue /tmp/copied-queue

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage, parseErr(err)
	}
	if *queue == "" {
		return exitUsage, usageError(fs, stderr, []string{"--queue is required"})
	}
	// Read-only: inspecting never changes or creates anything, and a
	// mistyped path is an error rather than a new, empty queue.
	dir, err := findQueue(*queue)
	if err != nil {
		return exitFailure, err
	}
	q, err := diskqueue.OpenReadOnly(dir, &diskqueue.Options{OnError: func(err error) { fmt.Fprintln(stderr, "offline-replay: warning:", describe(err)) }})
	if err != nil {
		return exitFailure, openError(dir, err)
	}
	defer q.Close(context.WithoutCancel(ctx))
	st := q.Stats()
	items, err := q.Peek(st.Pending+1, 1<<40)
	if err != nil {
		return exitFailure, fmt.Errorf("reading the queue in %s failed: %s", dir, describe(err))
	}
	type head struct {
		Timestamp string `json:"timestamp"`
		Level     string `json:"level"`
		Logger    string `json:"logger"`
		Message   string `json:"message"`
	}
	var oldest, newest time.Time
	heads := make([]head, 0, min(len(items), *first))
	for i, it := range items {
		var h head
		if json.Unmarshal(it.Data, &h) != nil {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, h.Timestamp); err == nil {
			if oldest.IsZero() || t.Before(oldest) {
				oldest = t
			}
			if t.After(newest) {
				newest = t
			}
		}
		if i < *first {
			heads = append(heads, h)
		}
	}
	fmt.Fprintf(stdout, "queue:    %s\n", dir)
	fmt.Fprintf(stdout, "pending:  %d (high %d, normal %d)\n", st.Pending, st.PendingHigh, st.Pending-st.PendingHigh)
	fmt.Fprintf(stdout, "bytes:    %d\n", st.Bytes)
	if !oldest.IsZero() {
		fmt.Fprintf(stdout, "oldest:   %s\n", oldest.UTC().Format(time.RFC3339Nano))
		fmt.Fprintf(stdout, "newest:   %s\n", newest.UTC().Format(time.RFC3339Nano))
	}
	fmt.Fprintf(stdout, "dropped:  %s\n", formatCounts(st.DroppedTotal))
	if u := q.Unreported(); u.Total() > 0 {
		fmt.Fprintf(stdout, "not yet reported to the server: %d, dropped between %s and %s\n",
			u.Total(), u.From.UTC().Format(time.RFC3339), u.To.UTC().Format(time.RFC3339))
	}
	if len(heads) > 0 {
		fmt.Fprintf(stdout, "first %d records (delivery order):\n", len(heads))
		for _, h := range heads {
			fmt.Fprintf(stdout, "  %s %-7s %s: %s\n", h.Timestamp, h.Level, h.Logger, h.Message)
		}
	}
	return exitOK, nil
}

func formatCounts(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+" "+num(m[k]))
	}
	return strings.Join(parts, ", ")
}
