package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
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

Shows what a queue directory holds without sending anything: pending
records by class, bytes, oldest and newest timestamps, records dropped over
the queue's life, and the first records in delivery order.

Example:
  offline-replay inspect --queue ./copied-queue

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitFailure, parseErr(err)
	}
	if *queue == "" {
		fmt.Fprintln(stderr, "offline-replay inspect: --queue is required")
		fs.Usage()
		return exitFailure, errUsage
	}
	// Read-only: inspecting never changes the queue, and a mistyped path
	// is an error rather than a new, empty queue.
	q, err := diskqueue.OpenReadOnly(*queue, &diskqueue.Options{OnError: func(err error) { fmt.Fprintln(stderr, "  warning:", err) }})
	if errors.Is(err, diskqueue.ErrLocked) {
		return exitFailure, fmt.Errorf("queue %s is in use by another process", *queue)
	}
	if errors.Is(err, diskqueue.ErrNotExist) {
		return exitFailure, fmt.Errorf("no queue at %s", *queue)
	}
	if err != nil {
		return exitFailure, err
	}
	defer q.Close(context.WithoutCancel(ctx))
	st := q.Stats()
	items, err := q.Peek(st.Pending+1, 1<<40)
	if err != nil {
		return exitFailure, err
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
	fmt.Fprintf(stdout, "queue:    %s\n", *queue)
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
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %d", k, m[k])
	}
	return s
}
