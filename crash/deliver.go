package crash

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/soliplex/fieldlog/backendsink"
	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/soliplex/fieldlog/internal/ident"
	"github.com/soliplex/fieldlog/logrecord"
)

// deliverTimeout bounds the delivery of one report into the queue.
const deliverTimeout = 10 * time.Second

// A pastReport is the record of an earlier session's crash or unclean exit.
type pastReport struct {
	session string
	rec     logrecord.Record // sanitized, carrying its report id
	crumbs  []logrecord.Record
	token   []byte // the report id as it appears in the encoded record
	sending bool   // an earlier delivery may have put it in the queue
}

// context returns the context to write the report with: it ships under
// the crashed session's id.
func (r *pastReport) context() context.Context {
	return ident.WithSession(context.Background(), r.session)
}

// earlier is what a session that is not running left in Dir.
type earlier struct {
	id   string
	exts map[string]bool
}

// reportEarlier reads what earlier sessions left in Dir and delivers
// their reports (or keeps them for Start). Failures go to OnError; the
// files stay for the next start.
func (c *core) reportEarlier() {
	sessions, err := c.scan()
	if err != nil {
		c.opts.OnError(err)
		return
	}
	var reports []pastReport
	for _, s := range sessions {
		rep, ok := c.build(s)
		if !ok {
			if err := removeSession(c.opts.Dir, s.id); err != nil {
				c.opts.OnError(err)
			}
			continue
		}
		reports = append(reports, rep)
	}
	if len(reports) == 0 {
		return
	}
	if c.opts.Backend == nil {
		c.mu.Lock()
		c.pending = reports
		c.mu.Unlock()
		return
	}
	if err := c.deliver(reports); err != nil {
		c.opts.OnError(err)
	}
}

// scan groups the files in Dir by session, leaving out this session and
// sessions whose process still runs (their marker is locked).
func (c *core) scan() ([]earlier, error) {
	entries, err := os.ReadDir(c.opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("crash: read %s: %w", c.opts.Dir, err)
	}
	byID := map[string]*earlier{}
	var order []string
	for _, e := range entries {
		id, ext, ok := splitName(e.Name())
		if !ok || id == c.opts.SessionID || !e.Type().IsRegular() {
			continue
		}
		s := byID[id]
		if s == nil {
			s = &earlier{id: id, exts: map[string]bool{}}
			byID[id] = s
			order = append(order, id)
		}
		s.exts[ext] = true
	}
	sort.Strings(order)
	var out []earlier
	for _, id := range order {
		s := byID[id]
		if s.exts[extSession] && c.running(id) {
			continue
		}
		out = append(out, *s)
	}
	return out, nil
}

// running reports whether the process of session id still holds its
// marker.
func (c *core) running(id string) bool {
	f, err := os.Open(filepath.Join(c.opts.Dir, id+extSession))
	if err != nil {
		return false
	}
	defer f.Close()
	locked, err := lockFile(f)
	return err == nil && !locked
}

// build makes the report of an earlier session, if it needs one: its
// crash output, else an unclean exit (a session marker without a clean
// one).
func (c *core) build(s earlier) (pastReport, bool) {
	base := filepath.Join(c.opts.Dir, s.id)
	var info sessionInfo
	if b, _, err := readCapped(base+extSession, 64<<10); err == nil {
		_ = json.Unmarshal(b, &info)
	}
	var crumbs []savedCrumb
	if b, _, err := readCapped(base+extCrumbs, 1<<20); err == nil {
		crumbs = decodeCrumbs(b)
	}
	var rec logrecord.Record
	kind := ""
	if b, fi, err := readCapped(base+extCrash, maxCrashRead); err == nil {
		if out, ok := parseCrashOutput(b); ok {
			if out.repanicked && readRepanics(base + extRepanic)[out.goroutine] {
				return pastReport{}, false // Recover reported it before raising it again
			}
			kind = KindUnrecovered
			rec = crashRecord(c.opts.Logger, fi.ModTime(), out)
		}
	}
	if kind == "" {
		if s.exts[extClean] || !s.exts[extSession] {
			return pastReport{}, false
		}
		kind = KindUncleanExit
		rec = uncleanRecord(c.opts.Logger, info, crumbs)
	}
	attrs := []slog.Attr{slog.String(KindKey, kind), slog.String(SessionKey, s.id)}
	if !info.Started.IsZero() {
		attrs = append(attrs, slog.Time(StartedKey, info.Started))
	}
	if info.Version != "" {
		attrs = append(attrs, slog.String(VersionKey, info.Version))
	}
	if info.PID > 0 {
		attrs = append(attrs, slog.Int(PIDKey, info.PID))
	}
	rec = c.sanitize(rec.WithAttrs(attrs...))
	id := "fieldlog-report:" + kind + ":" + s.id
	rec = rec.WithAttrs(slog.String(ReportIDKey, id)) // after the sanitizer: the queue is searched for it
	rep := pastReport{session: s.id, rec: rec, token: []byte(id), sending: s.exts[extSending]}
	for _, cr := range crumbs {
		r := logrecord.New(cr.Time, cr.Level, cr.Logger, cr.Message, slog.String(logrecord.CategoryKey, cr.Category))
		rep.crumbs = append(rep.crumbs, r)
	}
	return rep, true
}

// crashRecord is the fatal record of crash output.
func crashRecord(logger string, when time.Time, out crashOutput) logrecord.Record {
	attrs := []slog.Attr{}
	if out.goroutine > 0 {
		attrs = append(attrs, slog.Int64(GoroutineKey, out.goroutine))
	}
	if out.inferred {
		attrs = append(attrs, slog.Bool(InferredKey, true))
	}
	r := logrecord.New(when, logrecord.LevelFatal, logger, firstLine(out.message), attrs...)
	r.Error = out.text
	if r.Error == "" {
		r.Error = out.message
	}
	r.StackTrace = out.stack
	return r
}

// uncleanRecord is the warning that a session ended without crash output
// and without Close, naming its last known activity.
func uncleanRecord(logger string, info sessionInfo, crumbs []savedCrumb) logrecord.Record {
	when := info.Started
	var attrs []slog.Attr
	msg := "session ended without a clean shutdown (killed, out of memory or power lost); no activity recorded"
	if n := len(crumbs); n > 0 {
		last := crumbs[n-1]
		when = last.Time
		attrs = append(attrs, slog.Time(LastSeenKey, last.Time),
			slog.String(LastRecordKey, last.Level.String()+" "+last.Logger+": "+last.Message))
		msg = "session ended without a clean shutdown (killed, out of memory or power lost); last activity at " +
			last.Time.UTC().Format(time.RFC3339) + ": " + firstLine(last.Message)
	}
	if when.IsZero() {
		when = time.Now()
	}
	return logrecord.New(when, logrecord.LevelWarning, logger, msg, attrs...)
}

// sanitize runs the Sanitizer, which must not stop the report: a panic
// keeps only what identifies the report.
func (c *core) sanitize(r logrecord.Record) (out logrecord.Record) {
	defer func() {
		if p := recover(); p != nil {
			c.opts.OnError(fmt.Errorf("crash: sanitizer panicked: %s", panicText(p)))
			out = logrecord.New(r.Time, r.Level, r.Logger, "crash report (redaction failed)")
			if v, ok := r.Attr(SessionKey); ok {
				out = out.WithAttrs(slog.Attr{Key: SessionKey, Value: v})
			}
		}
	}()
	return c.opts.Sanitizer.Sanitize(r)
}

// deliver puts the reports into the backend's queue before the backend
// sink starts, each exactly once: a sending marker is on disk before a
// report is written, and removed with the session's files once the report
// is durable. A start that finds the marker looks for the report in the
// queue first. Nothing uploads the queue meanwhile, so a report that is
// not there was never written.
func (c *core) deliver(reports []pastReport) error {
	b := *c.opts.Backend
	q := b.Queue
	if q == nil {
		var err error
		if q, err = diskqueue.Open(b.Dir, &diskqueue.Options{MaxBytes: b.QueueMaxBytes, OnError: b.OnError}); err != nil {
			return fmt.Errorf("crash: reports of earlier sessions stay in %s: %w", c.opts.Dir, err)
		}
		defer q.Close(context.Background())
	}
	src := &fixedCrumbs{}
	b.Dir, b.Queue = "", q
	b.TokenProvider = func(context.Context) (string, error) { return "", nil } // keep everything on disk
	b.Network, b.Gate, b.Events = nil, nil, nil
	b.Breadcrumbs = src
	if b.OnError == nil {
		b.OnError = c.opts.OnError
	}
	s, err := backendsink.New(b)
	if err != nil {
		return fmt.Errorf("crash: reports of earlier sessions stay in %s: %w", c.opts.Dir, err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), deliverTimeout)
		defer cancel()
		_ = s.Close(ctx) // uploads nothing: the caller's sink ships the reports
	}()
	var errs []error
	for _, rep := range reports {
		if err := c.deliverOne(q, s, src, &rep); err != nil {
			errs = append(errs, fmt.Errorf("crash: report of session %s stays in %s: %w", rep.session, c.opts.Dir, err))
		}
	}
	return errors.Join(errs...)
}

func (c *core) deliverOne(q *diskqueue.Queue, s *backendsink.Sink, src *fixedCrumbs, rep *pastReport) error {
	base := filepath.Join(c.opts.Dir, rep.session)
	if rep.sending {
		found, err := findInQueue(q, rep.token)
		if err != nil {
			return err
		}
		if found {
			return removeSession(c.opts.Dir, rep.session)
		}
	}
	if err := writeFileSync(base+extSending, rep.token, true); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(rep.context(), deliverTimeout)
	defer cancel()
	src.crumbs = rep.crumbs
	err := s.Write(ctx, rep.rec) // a fatal record is on disk when Write returns
	if err == nil && rep.rec.Level < logrecord.LevelFatal {
		err = s.Sync(ctx)
	}
	if err != nil {
		return err
	}
	if c.opts.afterDurable != nil {
		c.opts.afterDurable()
	}
	return removeSession(c.opts.Dir, rep.session)
}

// findInQueue reports whether a record holding token is in the queue,
// reading it one batch at a time.
func findInQueue(q *diskqueue.Queue, token []byte) (bool, error) {
	var seen []uint64
	for {
		items, err := q.PeekExcluding(1000, 8<<20, seen)
		if err != nil {
			return false, err
		}
		if len(items) == 0 {
			return false, nil
		}
		ids := make([]uint64, 0, len(items))
		for _, it := range items {
			if bytes.Contains(it.Data, token) {
				return true, nil
			}
			ids = append(ids, it.ID)
		}
		slices.Sort(ids)
		seen = mergeSorted(seen, ids)
	}
}

func mergeSorted(a, b []uint64) []uint64 {
	out := make([]uint64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if a[i] <= b[j] {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// fixedCrumbs serves the breadcrumbs of the report being written.
type fixedCrumbs struct{ crumbs []logrecord.Record }

func (f *fixedCrumbs) Before(_ logrecord.Record, n int) []logrecord.Record {
	return f.crumbs[max(0, len(f.crumbs)-n):]
}
