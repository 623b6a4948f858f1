package crash

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/soliplex/fieldlog/backendsink"
	"github.com/soliplex/fieldlog/internal/ownreq"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
)

// Defaults of DiagnosticsOptions.
const (
	DefaultDiagnosticsInterval = time.Minute
	DefaultDiagnosticsWait     = 2 * time.Second
	DefaultMaxDumpBytes        = 4 << 20
	DefaultUploadTimeout       = 30 * time.Second
)

// Attribute keys of diagnostics.
const (
	GoroutinesKey         = "diagnostics.goroutines"     // attachment id of the goroutine dump
	HeapKey               = "diagnostics.heap"           // attachment id of the heap profile
	DiagnosticsErrorKey   = "diagnostics.error"          // why an attachment is missing
	DiagnosticsPendingKey = "diagnostics.pending"        // true: the ids follow in a record of their own
	ForTimeKey            = "diagnostics.record_time"    // in that record: the time of the record they belong to
	ForMessageKey         = "diagnostics.record_message" // and its message
)

// DiagnosticsOptions configures diagnostics on error (see
// Guard.Diagnostics). Every zero field means the default in its comment.
type DiagnosticsOptions struct {
	// URL is the ingest server's attachment endpoint, such as
	// https://logs.example.internal/api/v1/attachments. Default: the
	// backend's endpoint with its last path element "logs" replaced by
	// "attachments".
	URL string
	// Client makes the uploads; default the backend's client, else one
	// with a 30 s timeout. Redirects are never followed, so the token goes
	// to URL only.
	Client    *http.Client
	ownClient bool // Client was made by fill: its idle connections close with the sink
	// TokenProvider returns the bearer token; default the backend's. While
	// it returns "", nothing is uploaded.
	TokenProvider func(ctx context.Context) (string, error)
	// Interval is the least time between two captures: at most one dump a
	// minute by default, however many errors are logged.
	Interval time.Duration
	// Wait is the longest an error record waits for its attachment ids
	// before it goes on without them (the ids then follow in a record of
	// their own); default 2 s. A failed upload does not wait; fatal
	// records never wait.
	Wait time.Duration
	// Heap also uploads a heap profile (pprof's text form).
	Heap bool
	// MaxBytes caps one attachment; default 4 MB (the reference server
	// takes 5 MB). A larger dump is cut at a line.
	MaxBytes int
}

func (o *DiagnosticsOptions) fill(b *backendsink.Options) {
	if b != nil {
		if o.URL == "" {
			o.URL = attachmentURL(b.Endpoint)
		}
		if o.Client == nil {
			o.Client = b.Client
		}
		if o.TokenProvider == nil {
			o.TokenProvider = b.TokenProvider
		}
	}
	if o.Client == nil {
		o.Client = ownreq.NewClient(DefaultUploadTimeout)
		o.ownClient = true
	}
	c := *o.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	o.Client = &c
	if o.Interval <= 0 {
		o.Interval = DefaultDiagnosticsInterval
	}
	if o.Wait <= 0 {
		o.Wait = DefaultDiagnosticsWait
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxDumpBytes
	}
}

// attachmentURL derives the attachment endpoint from the logs endpoint:
// …/api/v1/logs → …/api/v1/attachments; "" when it cannot.
func attachmentURL(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return ""
	}
	dir, last, ok := cutLast(strings.TrimSuffix(u.Path, "/"), "/")
	if !ok || last != "logs" {
		return ""
	}
	u.Path, u.RawPath, u.RawQuery, u.Fragment = dir+"/attachments", "", "", ""
	return u.String()
}

func cutLast(s, sep string) (before, after string, ok bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// Diagnostics returns a sink that passes records to next (the backend
// sink) and, with Options.Diagnostics, adds diagnostics to error and fatal
// records, at most one every Interval: a goroutine dump (and a heap
// profile with Heap), redacted by the Sanitizer's rules (home directories
// and the rest, line by line as in a stack), uploaded to the attachment
// endpoint, its id put in the record's diagnostics.goroutines attribute.
//
// The dump is taken and uploaded on the sink's own goroutine, never the
// caller's. An error record waits for the id at most Wait, off the
// caller's goroutine; a failed upload does not hold it at all, and it goes
// on with diagnostics.error instead. When the id comes later than Wait,
// the record goes on with diagnostics.pending and the ids follow in an
// info record, "diagnostics attached", naming the record's time and
// message. A fatal record goes to next at once, as Recover needs it on
// disk; its ids follow the same way. Nothing is ever dropped for
// diagnostics' sake.
//
// Without Options.Diagnostics, Diagnostics returns next. Add the returned
// sink to the Manager in next's place (and set sink levels on it), and
// give the backend Guard.Breadcrumbs, so that a record held back keeps
// the breadcrumbs it had when it was logged. Closing the sink closes next.
func (g *Guard) Diagnostics(next sink.Sink) sink.Sink {
	if g == nil || g.core == nil || g.opts.Diagnostics == nil || next == nil {
		return next
	}
	o := *g.opts.Diagnostics
	o.fill(g.opts.Backend)
	if o.URL == "" {
		g.opts.OnError(errors.New("crash: diagnostics are off: DiagnosticsOptions.URL is not set"))
		return next
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &diagSink{
		c: g.core, next: next, opts: o,
		jobs: make(chan diagJob, 1), stop: make(chan struct{}), done: make(chan struct{}),
		ctx: ctx, cancel: cancel,
	}
	go d.run()
	return d
}

// A diagSink adds diagnostics to error records on their way to next.
type diagSink struct {
	c    *core
	next sink.Sink
	opts DiagnosticsOptions

	nextAt atomic.Int64 // Unix nanoseconds before which no capture starts

	mu     sync.RWMutex // held for reading while handing over a job; for writing to close
	closed bool
	jobs   chan diagJob // one waits while one is worked on; more pass by without diagnostics
	stop   chan struct{}
	done   chan struct{}
	ctx    context.Context // the uploads': canceled by Close
	cancel context.CancelFunc

	held    sync.Mutex // guards the two below
	holding int        // records handed to the worker and not yet forwarded
	idle    chan struct{}
}

var _ sink.Sink = (*diagSink)(nil)

type diagJob struct {
	ctx context.Context // the Write's, without its cancellation
	rec logrecord.Record
}

func (j *diagJob) fatal() bool { return j.rec.Level >= logrecord.LevelFatal }

// Write passes r to next, or, for an error record chosen for
// diagnostics, hands it to the worker, which forwards it.
func (d *diagSink) Write(ctx context.Context, r logrecord.Record) error {
	if r.Level < logrecord.LevelError || !d.allow(time.Now()) {
		return d.next.Write(ctx, r)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	j := diagJob{ctx: context.WithoutCancel(ctx), rec: r}
	if !j.fatal() && d.c.opts.Breadcrumbs != nil {
		d.c.held.hold(&r, d.c.opts.Breadcrumbs.Before(r, d.c.opts.MaxBreadcrumbs))
	}
	queued := false
	d.mu.RLock()
	if !d.closed {
		if !j.fatal() {
			d.begin()
		}
		select {
		case d.jobs <- j:
			queued = true
		default:
			if !j.fatal() {
				d.end()
			}
		}
	}
	d.mu.RUnlock()
	if !queued {
		d.c.held.release(&r)
		return d.next.Write(ctx, r)
	}
	if j.fatal() {
		return d.next.Write(ctx, r)
	}
	return nil
}

// allow takes the capture slot of the current Interval, if it is free.
func (d *diagSink) allow(now time.Time) bool {
	t := now.UnixNano()
	for {
		n := d.nextAt.Load()
		if t < n {
			return false
		}
		if d.nextAt.CompareAndSwap(n, t+int64(d.opts.Interval)) {
			return true
		}
	}
}

func (d *diagSink) begin() {
	d.held.Lock()
	defer d.held.Unlock()
	if d.holding == 0 {
		d.idle = make(chan struct{})
	}
	d.holding++
}

func (d *diagSink) end() {
	d.held.Lock()
	defer d.held.Unlock()
	if d.holding--; d.holding == 0 {
		close(d.idle)
	}
}

// run is the worker: one capture and upload at a time, until Close.
func (d *diagSink) run() {
	defer close(d.done)
	for {
		select {
		case j := <-d.jobs:
			d.process(j)
		case <-d.stop:
			for {
				select {
				case j := <-d.jobs:
					if !j.fatal() {
						d.forward(j, []slog.Attr{slog.String(DiagnosticsErrorKey, "closing")})
					}
				default:
					return
				}
			}
		}
	}
}

type uploaded struct {
	attrs []slog.Attr // ids, or the error
	ok    bool        // at least one id
}

func (d *diagSink) process(j diagJob) {
	res := make(chan uploaded, 1)
	go func() { res <- d.collect(d.ctx) }() // waited for below, whatever happens
	if j.fatal() {
		d.followUp(j, <-res)
		return
	}
	wait := time.NewTimer(d.opts.Wait)
	defer wait.Stop()
	select {
	case u := <-res:
		d.forward(j, u.attrs)
	case <-wait.C:
		d.forward(j, []slog.Attr{slog.Bool(DiagnosticsPendingKey, true)})
		d.followUp(j, <-res)
	case <-d.stop:
		d.cancel()
		d.forward(j, (<-res).attrs)
	}
}

// forward writes a held record to next with attrs.
func (d *diagSink) forward(j diagJob, attrs []slog.Attr) {
	err := d.next.Write(j.ctx, j.rec.WithAttrs(attrs...))
	d.c.held.release(&j.rec)
	d.end()
	if err != nil && !errors.Is(err, sink.ErrClosed) {
		d.c.opts.OnError(fmt.Errorf("crash: forward a record: %w", err))
	}
}

// followUp logs the ids of a record that went on without them.
func (d *diagSink) followUp(j diagJob, u uploaded) {
	m := d.c.manager.Load()
	if !u.ok || m == nil {
		return
	}
	r := logrecord.New(time.Now(), logrecord.LevelInfo, d.c.opts.Logger, "diagnostics attached", append(u.attrs,
		slog.Time(ForTimeKey, j.rec.Time), slog.String(ForMessageKey, j.rec.Message))...)
	m.Log(j.ctx, r)
}

// collect takes the dumps, redacts and uploads them.
func (d *diagSink) collect(ctx context.Context) uploaded {
	var u uploaded
	dumps := []struct {
		key  string
		take func(int) []byte
	}{{GoroutinesKey, captureGoroutines}}
	if d.opts.Heap {
		dumps = append(dumps, struct {
			key  string
			take func(int) []byte
		}{HeapKey, captureHeap})
	}
	for _, dump := range dumps {
		id, err := d.upload(ctx, dump.take(d.opts.MaxBytes))
		if err != nil {
			d.c.opts.OnError(fmt.Errorf("crash: diagnostics: %w", err))
			u.attrs = append(u.attrs, slog.String(DiagnosticsErrorKey, d.c.shortError(err)))
			continue
		}
		u.attrs = append(u.attrs, slog.String(dump.key, id))
		u.ok = true
	}
	return u
}

// Flush waits until the records held for diagnostics have gone on (or ctx
// ends), then flushes next.
func (d *diagSink) Flush(ctx context.Context) error {
	d.held.Lock()
	idle := d.idle
	busy := d.holding > 0
	d.held.Unlock()
	if busy {
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return d.next.Flush(ctx)
}

// Close ends the uploads under way, forwards the records held for them
// at once, stops the worker and closes next. A second Close returns nil.
func (d *diagSink) Close(ctx context.Context) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	close(d.stop)
	var err error
	select {
	case <-d.done:
	case <-ctx.Done():
		err = ctx.Err()
		<-d.done // uploads end with their context: this is short
	}
	if d.opts.ownClient {
		d.opts.Client.CloseIdleConnections()
	}
	return errors.Join(err, d.next.Close(ctx))
}
