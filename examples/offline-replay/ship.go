package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/soliplex/fieldlog/backendsink"
	"github.com/soliplex/fieldlog/breadcrumbs"
	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/soliplex/fieldlog/sanitizer"
	"github.com/soliplex/fieldlog/sink"
)

// shipFlags are the flags log and replay share.
type shipFlags struct {
	endpoint, token, queue, progress string
	timeout                          time.Duration
}

func (f *shipFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.endpoint, "endpoint", "", "ingest URL, such as http://127.0.0.1:8080/api/v1/logs (required)")
	fs.StringVar(&f.token, "token", "", "bearer token for the ingest server")
	fs.StringVar(&f.queue, "queue", "", "queue directory (required)")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Minute, "give up delivering after this long; records stay queued")
	fs.StringVar(&f.progress, "progress", "bar", "progress output: bar, lines or none")
}

func (f *shipFlags) check(fs *flag.FlagSet, stderr io.Writer) error {
	var problems []string
	if f.endpoint == "" {
		problems = append(problems, "--endpoint is required")
	} else if !strings.HasPrefix(f.endpoint, "http://") && !strings.HasPrefix(f.endpoint, "https://") {
		problems = append(problems, "--endpoint must be an http:// or https:// URL")
	}
	if f.queue == "" {
		problems = append(problems, "--queue is required")
	}
	if f.progress != "bar" && f.progress != "lines" && f.progress != "none" {
		problems = append(problems, "--progress must be bar, lines or none")
	}
	if f.timeout <= 0 {
		problems = append(problems, "--timeout must be positive")
	}
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "offline-replay %s: %s\n\n", fs.Name(), strings.Join(problems, "; "))
		fs.Usage()
		return errUsage
	}
	return nil
}

// openSink opens the backend sink on a queue directory, explaining the
// errors a person can act on.
func openSink(f *shipFlags, installID, sessionID string, crumbs *breadcrumbs.Buffer, onError func(error)) (*backendsink.Sink, error) {
	opts := backendsink.Options{
		Endpoint:       f.endpoint,
		Dir:            f.queue,
		InstallID:      installID,
		SessionID:      sessionID,
		Resource:       map[string]any{"service.name": "offline-replay", "service.version": "1.0.0"},
		FlushInterval:  time.Second,
		BackoffInitial: 200 * time.Millisecond,
		BackoffMax:     2 * time.Second,
		Client:         &http.Client{Timeout: 10 * time.Second},
		OnError:        onError,
	}
	if crumbs != nil {
		opts.Breadcrumbs = crumbs
	}
	if f.token != "" {
		token := f.token
		opts.TokenProvider = func(context.Context) (string, error) { return token, nil }
	}
	s, err := backendsink.New(opts)
	if errors.Is(err, diskqueue.ErrLocked) {
		return nil, fmt.Errorf("queue %s is in use by another process (is a log or replay still running?)", f.queue)
	}
	return s, err
}

// deliver flushes until the queue is empty or the timeout passes,
// reporting progress. It returns exitOK or exitQueued.
func deliver(ctx context.Context, s *backendsink.Sink, f *shipFlags, total int, stdout, stderr io.Writer) int {
	deadline := time.Now().Add(f.timeout)
	bar := newProgress(f.progress, stdout, stderr, total)
	lastReason := ""
	for {
		err := s.Flush(ctx)
		st := s.Stats()
		bar.delivered(int(st.Confirmed))
		if st.Pending == 0 && err == nil {
			bar.done()
			return exitOK
		}
		if reason := explain(err, st); reason != lastReason && reason != "" {
			bar.note(reason)
			lastReason = reason
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			bar.done()
			fmt.Fprintf(stderr, "offline-replay: %d records remain safely queued in %s; run replay later\n", st.Pending, f.queue)
			return exitQueued
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(100+rand.IntN(100)) * time.Millisecond):
		}
	}
}

// explain turns a flush result into advice.
func explain(err error, st backendsink.Stats) string {
	var se *backendsink.StatusError
	switch {
	case err == nil:
		return ""
	case st.Paused == backendsink.PausedAuth:
		return "the ingest server rejected the token (401/403): check --token"
	case st.Paused == backendsink.PausedEndpoint:
		return "the ingest server answered 404: check the --endpoint path (usually /api/v1/logs)"
	case errors.As(err, &se):
		return fmt.Sprintf("the ingest server answered %d; retrying with backoff", se.Code)
	case strings.Contains(err.Error(), "refused"), strings.Contains(err.Error(), "no such host"), strings.Contains(err.Error(), "timeout"):
		return "the ingest server is unreachable; records stay queued and are retried"
	}
	return "upload failed: " + err.Error() + "; retrying"
}

// progress prints delivery progress as a bar, as lines, or not at all.
type progress struct {
	mode           string
	stdout, stderr io.Writer
	total, last    int
	drawn          bool
}

func newProgress(mode string, stdout, stderr io.Writer, total int) *progress {
	return &progress{mode: mode, stdout: stdout, stderr: stderr, total: total, last: -1}
}

func (p *progress) delivered(n int) {
	if n == p.last {
		return
	}
	p.last = n
	switch p.mode {
	case "lines":
		fmt.Fprintf(p.stdout, "delivered %d\n", n)
	case "bar":
		const width = 30
		filled := width
		if p.total > 0 {
			filled = min(width, n*width/p.total)
		}
		fmt.Fprintf(p.stderr, "\r  delivering [%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat("-", width-filled), n, p.total)
		p.drawn = true
	}
}

func (p *progress) note(msg string) {
	if p.mode == "none" {
		return
	}
	if p.drawn {
		fmt.Fprintln(p.stderr)
		p.drawn = false
	}
	fmt.Fprintln(p.stderr, "  "+msg)
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprintln(p.stderr)
		p.drawn = false
	}
}

// newManager wires the sanitizer, breadcrumbs and the backend sink.
func newManager(crumbs *breadcrumbs.Buffer, s *backendsink.Sink) *sink.Manager {
	return sink.NewManager([]sink.Sink{crumbs, s}, sink.WithLevel(-4), sink.WithOnError(func(error) {}),
		sink.WithSanitizer(sanitizer.Default()))
}

func newID() string { return uuid.NewString() }

// parseErr keeps -h a request for help and makes any other flag error a
// usage error (the flag package has printed it).
func parseErr(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return errUsage
}
