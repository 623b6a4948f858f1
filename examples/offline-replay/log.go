package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/soliplex/fieldlog/breadcrumbs"
	"github.com/soliplex/fieldlog/sink"
)

func runLog(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("log", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf shipFlags
	sf.register(fs)
	count := fs.Int("count", 100, "number of records to log")
	prefix := fs.String("id-prefix", "rec-", "text before each record's zero-padded sequence number")
	errorEvery := fs.Int("error-every", 50, "log an error record every K records (0: never)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: offline-replay log --endpoint URL [--token T] --queue DIR --count N
       [--id-prefix P] [--error-every K] [--timeout D] [--progress=bar|lines|none]

Logs N synthetic records of a realistic session (navigation, HTTP calls,
warnings, errors), each message holding P and its sequence number (%06d,
from 0), then ships them. With --progress=lines it prints "persisted <n>"
once records up to n are on disk and "delivered <n>" as batches are
confirmed.

Example:
  offline-replay log --endpoint http://127.0.0.1:8080/api/v1/logs --token secret --queue ./q --count 1000 --progress=lines

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
	if *count <= 0 || *errorEvery < 0 {
		fmt.Fprintln(stderr, "offline-replay log: --count must be positive and --error-every not negative")
		return exitFailure, errUsage
	}
	crumbs := breadcrumbs.New(nil)
	s, err := openSink(&sf, newID(), newID(), crumbs, func(error) {})
	if err != nil {
		return exitFailure, err
	}
	m := newManager(crumbs, s)
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = m.Close(closeCtx)
	}()

	session := newSession(m, *prefix, *errorEvery)
	for i := range *count {
		session.emit(i)
		if i%25 == 24 || i == *count-1 {
			if err := s.Sync(ctx); err != nil {
				return exitFailure, fmt.Errorf("write queue: %w", err)
			}
			if sf.progress == "lines" {
				fmt.Fprintf(stdout, "persisted %d\n", i)
			}
		}
		if ctx.Err() != nil {
			return exitQueued, nil
		}
	}
	return deliver(ctx, s, &sf, *count, stdout, stderr), nil
}

// session produces a plausible stream of records: a user moving through
// an app that talks to its backend, with the odd warning and error.
type session struct {
	prefix     string
	errorEvery int
	router     *sink.Logger
	http       *sink.Logger
	auth       *sink.Logger
	lifecycle  *sink.Logger
	ui         *sink.Logger
}

func newSession(m *sink.Manager, prefix string, errorEvery int) *session {
	return &session{
		prefix: prefix, errorEvery: errorEvery,
		router: m.Logger("Router"), http: m.Logger("Http.Client"), auth: m.Logger("Auth"),
		lifecycle: m.Logger("Lifecycle"), ui: m.Logger("UI.Chat"),
	}
}

var routes = []string{"/home", "/chat", "/chat/thread-7", "/settings", "/billing"}

func (s *session) emit(i int) {
	tag := fmt.Sprintf("[%s%06d]", s.prefix, i)
	route := routes[i%len(routes)]
	switch {
	case s.errorEvery > 0 && i%s.errorEvery == s.errorEvery-1:
		s.http.Error("Request failed: 500 "+tag, errors.New("HttpException: 500 Internal Server Error"),
			"method", "POST", "url", "/api/v1/chat", "status", 500, "attempt", 1+i%3)
	case i == 0:
		s.lifecycle.Info("App started "+tag, "version", "1.4.2", "build", 1402, "cold_start_ms", 812)
	case i%17 == 16:
		s.http.Warn("Slow response "+tag, "url", "/api/v1/history", "duration", 2310*time.Millisecond)
	case i%11 == 10:
		s.auth.Info("Token refreshed "+tag, "expires_in_s", 3600)
	case i%5 == 0:
		s.router.Info("Navigated to "+route+" "+tag, "route", route)
	case i%5 == 2:
		s.ui.Debug("Tapped Send "+tag, slog.Group("draft", "chars", 40+i%200, "attachments", i%2))
	default:
		s.http.Info("POST /api/v1/chat 200 "+tag, "method", "POST", "url", "/api/v1/chat", "status", 200,
			"duration_ms", 120+i%90, "bytes", 512+i%4096)
	}
}
