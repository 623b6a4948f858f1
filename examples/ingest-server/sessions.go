package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/soliplex/fieldlog/ingest"
)

// runSessions is the sessions subcommand: the support view over a store
// directory (a copy, say), opened read-only. It prints the sessions that
// match, or one session's timeline, as text or JSON; or, with -serve,
// serves the same view as the server does, without the logs endpoint.
func runSessions(ctx context.Context, args []string, out io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("ingest-server sessions", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: ingest-server sessions -store DIR [filters] [-session ID] [-json] [-serve ADDR]")
		fs.PrintDefaults()
	}
	store := fs.String("store", "./fieldlog-logs", "directory of the JSONL store (opened read-only)")
	naming := fs.String("naming", "backend", "attribute names the store was written with: backend or otel")
	session := fs.String("session", "", "print this session's timeline")
	asJSON := fs.Bool("json", false, "print JSON, as the server's API answers")
	serve := fs.String("serve", "", "serve the HTML and JSON view of the store on this address (such as 127.0.0.1:8081)")
	token := fs.String("token", "", "with -serve: bearer token callers must send; empty: none, so listen on a loopback address")
	params := map[string]*string{}
	for _, p := range []struct{ name, usage string }{
		{"user", "sessions of this user id (the client's or the authenticated one)"},
		{"install", "sessions of this install id"},
		{"device", "sessions of this device alias"},
		{"fingerprint", "sessions that hit this error fingerprint"},
		{"level", "sessions with an entry at this level or above"},
		{"q", "sessions with an entry whose message or error contains this text"},
		{"from", "sessions active at or after this RFC 3339 time"},
		{"to", "sessions active at or before this RFC 3339 time"},
		{"since", "sessions active within this long before now, such as 24h"},
		{"limit", "at most this many sessions (default 50)"},
	} {
		params[p.name] = fs.String(p.name, "", p.usage)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return flagError{err}
	}
	names, err := ingest.ParseNaming(*naming)
	if err != nil {
		return err
	}
	st, err := ingest.OpenJSONLStoreReadOnly(*store, &ingest.JSONLOptions{Naming: names})
	if err != nil {
		return err
	}
	if *serve != "" {
		return serveSessions(ctx, st, *serve, *token, out, ready)
	}
	if *session != "" {
		tl, err := st.Timeline(ctx, *session)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(out, tl)
		}
		printTimeline(out, tl)
		return nil
	}
	v := url.Values{}
	for k, p := range params {
		if *p != "" {
			v.Set(k, *p)
		}
	}
	q, err := ingest.ParseSessionQuery(v, time.Now())
	if err != nil {
		return err
	}
	found, err := st.FindSessions(ctx, q)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(out, map[string]any{"sessions": found})
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION\tUSER\tDEVICE\tAPP\tFIRST\tLAST\tENTRIES\tERRORS\tFATAL\tNOTES")
	for _, s := range found {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", s.SessionID, strings.Join(s.UserIDs, ","), s.DeviceAlias,
			strings.TrimSpace(s.Service+" "+s.Version), stamp(s.First), stamp(s.Last), s.Entries, s.Errors, s.Fatals, notes(s))
	}
	return tw.Flush()
}

func notes(s ingest.SessionSummary) string {
	var n []string
	if s.UncleanExit {
		n = append(n, "ended uncleanly")
	}
	if s.Dropped > 0 {
		n = append(n, fmt.Sprintf("%d lost", s.Dropped))
	}
	if s.Truncated > 0 {
		n = append(n, fmt.Sprintf("%d cut", s.Truncated))
	}
	return strings.Join(n, ", ")
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printTimeline prints one line per item, breadcrumbs indented under
// their error.
func printTimeline(out io.Writer, tl *ingest.Timeline) {
	s := tl.Session
	fmt.Fprintf(out, "session %s  install %s  user %s  device %s  %s %s  %s\n",
		s.SessionID, s.InstallID, strings.Join(s.UserIDs, ","), s.DeviceAlias, s.Service, s.Version, s.OS)
	for _, it := range tl.Items {
		delay := ""
		if it.ReceivedAt != nil {
			delay = "+" + (time.Duration(it.DelayMillis) * time.Millisecond).String()
			if it.DelayMillis < 0 {
				delay = (time.Duration(it.DelayMillis) * time.Millisecond).String()
			}
		}
		fmt.Fprintf(out, "%s %9s  %-13s %-7s %s", stamp(it.Time), delay, it.Kind, it.Level, it.Message)
		if it.Logger != "" {
			fmt.Fprintf(out, "  [%s]", it.Logger)
		}
		fmt.Fprintln(out)
		for _, line := range []struct{ label, text string }{
			{"error", it.Error}, {"fingerprint", it.Fingerprint}, {"note", it.Note}, {"reported by", it.ReportedBy},
			{"attachments", attachments(it.Attachments)},
		} {
			if line.text != "" {
				fmt.Fprintf(out, "    %s: %s\n", line.label, line.text)
			}
		}
		for _, c := range it.Breadcrumbs {
			fmt.Fprintf(out, "    crumb %s %-7s %-7s %s  [%s]\n", c.Timestamp, c.Category, c.Level, c.Message, c.Logger)
		}
	}
}

// attachments lists a record's attachments: the attribute that names
// each, and the path the server serves it at (the id, when it has none).
func attachments(as []ingest.TimelineAttachment) string {
	var out []string
	for _, a := range as {
		where := a.URL
		if where == "" {
			where = a.ID
		}
		out = append(out, a.Name+" "+where)
	}
	return strings.Join(out, ", ")
}

// serveSessions serves the view of a read-only store until ctx ends.
func serveSessions(ctx context.Context, st *ingest.JSONLStore, addr, token string, out io.Writer, ready chan<- string) error {
	opts := ingest.ServerOptions{Exporter: st, AllowAnonymous: token == "", OnError: func(err error) { fmt.Fprintln(out, "ingest-server:", err) }}
	if token != "" {
		opts.Verifier = ingest.BearerToken(token)
	}
	srv, err := ingest.NewServer(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "ingest-server: sessions of %s on http://%s%s\n", st.Dir(), ln.Addr(), ingest.SessionsPagePath)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	hs := srv.HTTPServer()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = hs.Shutdown(shutdown)
	<-errc
	return err
}
