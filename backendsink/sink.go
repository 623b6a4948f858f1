package backendsink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/soliplex/fieldlog/internal/ident"
	"github.com/soliplex/fieldlog/internal/ownreq"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
)

// Reasons a record is dropped, as counted in Stats.Dropped and reported in
// the "records dropped" entry.
const (
	DropBufferFull = "buffer_full" // the hand-over buffer was full
	DropShutdown   = "shutdown"    // Close's deadline passed before it reached the queue
	DropPoison     = "poison"      // failed alone with a server error while other requests succeeded
	DropRejected   = "rejected"    // the server rejected it (400, 422, other 4xx)
	DropTooLarge   = "too_large"   // the server answered 413 for it alone
)

// Pause reasons, as in Stats.Paused.
const (
	PausedAuth     = "auth"     // 401 or 403: waiting for a different token
	PausedEndpoint = "endpoint" // 404 or 3xx: waiting for a different endpoint
)

// A Sink ships records to the ingest endpoint. It is a sink.Sink: Write
// only hands the record over (encoding, disk and network happen on the
// sink's own goroutines) and never blocks, except for fatal records, which
// are durable on disk when Write returns.
type Sink struct {
	opts  Options
	store store
	// ownStore is set when the sink opened the store and must close it.
	ownStore bool

	ident    atomic.Pointer[identity]
	endpoint atomic.Pointer[string]

	mu     sync.RWMutex // held for reading while handing over; for writing to close
	closed bool

	in    chan job
	nudge chan struct{} // an error record: upload now
	ready chan struct{} // a batch's worth was queued: upload
	room  chan struct{} // the encoder took a record: a waiting Write may try again

	inBytes atomic.Int64 // estimated bytes of the records in s.in
	queued  int          // records queued since the last ready signal; the encoder's
	stalled atomic.Bool  // a wait for room timed out: drop at once until the buffer drains to half
	flushes chan flushRequest
	stopEnc chan struct{}
	encDone chan struct{}
	stopUp  chan struct{}
	upDone  chan struct{}

	drainCtx    context.Context
	cancelDrain context.CancelFunc

	stats statsState
}

type identity struct {
	userID    string
	run       *ActiveRun
	sessionID string // "" means Options.SessionID
}

// withContext returns the identity of a record written with ctx: what ctx
// carries (fieldlog.WithUser and friends) over the sink's own.
func (id *identity) withContext(ctx context.Context) *identity {
	c := ident.From(ctx)
	if c == nil {
		return id
	}
	out := *id
	if c.HasUser {
		out.userID = c.UserID
	}
	if c.HasRun {
		out.run = &ActiveRun{ThreadID: c.ThreadID, RunID: c.RunID}
	}
	if c.SessionID != "" {
		out.sessionID = c.SessionID
	}
	return &out
}

// IsOwnRequest reports whether ctx belongs to a request the sink itself
// makes. Instrumentation of HTTP clients should not log such requests, and
// the sink drops records written with such a context, so that shipping
// logs never produces more logs to ship.
func IsOwnRequest(ctx context.Context) bool {
	return ownreq.Is(ctx)
}

var _ sink.Sink = (*Sink)(nil)

// New returns a Sink configured by opts and starts its goroutines. With
// opts.Dir, the sink opens the queue there (its trouble, such as a
// damaged file moved aside, goes to opts.OnError) and closes it in Close;
// with opts.Queue, the caller owns the queue.
func New(opts Options) (*Sink, error) {
	if (opts.Queue == nil) == (opts.Dir == "") {
		return nil, errQueueOption
	}
	if err := opts.fill(); err != nil {
		return nil, err
	}
	q := opts.Queue
	own := false
	if q == nil {
		var err error
		q, err = diskqueue.Open(opts.Dir, &diskqueue.Options{MaxBytes: opts.QueueMaxBytes, OnError: opts.OnError})
		if err != nil {
			return nil, err
		}
		own = true
	}
	s, err := newSink(opts, diskStore{q})
	if err != nil {
		if own {
			_ = q.Close(context.Background())
		}
		return nil, err
	}
	s.ownStore = own
	return s, nil
}

// newSink builds a Sink on st and starts its goroutines.
func newSink(opts Options, st store) (*Sink, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	s := &Sink{
		opts:    opts,
		store:   st,
		in:      make(chan job, opts.BufferSize),
		nudge:   make(chan struct{}, 1),
		ready:   make(chan struct{}, 1),
		room:    make(chan struct{}, 1),
		flushes: make(chan flushRequest),
		stopEnc: make(chan struct{}),
		encDone: make(chan struct{}),
		stopUp:  make(chan struct{}),
		upDone:  make(chan struct{}),
	}
	s.ident.Store(&identity{userID: opts.UserID})
	ep := opts.Endpoint
	s.endpoint.Store(&ep)
	s.drainCtx, s.cancelDrain = context.WithCancel(context.Background())
	up := newUploader(&s.opts, st, newHTTPPoster(opts.Client), &s.stats, opts.OnError, &s.endpoint, &s.ident)
	go s.encodeLoop()
	go func() {
		defer close(s.upDone)
		up.run(s.drainCtx, s.stopUp, s.nudge, s.ready, s.flushes)
	}()
	return s, nil
}

// SetUserID sets the user id of records written from now on; "" clears it.
func (s *Sink) SetUserID(id string) {
	old := s.ident.Load()
	s.ident.Store(&identity{userID: id, run: old.run})
}

// SetActiveRun sets the active run of records written from now on; nil
// clears it.
func (s *Sink) SetActiveRun(run *ActiveRun) {
	old := s.ident.Load()
	if run != nil {
		r := *run
		run = &r
	}
	s.ident.Store(&identity{userID: old.userID, run: run})
}

// SetEndpoint changes the ingest URL. It ends a pause caused by a 404 or
// a redirect, and compresses again if Options.Gzip is set. It returns an
// error, and changes nothing, when endpoint is not an http(s) URL.
func (s *Sink) SetEndpoint(endpoint string) error {
	if err := checkEndpoint(endpoint); err != nil {
		return err
	}
	s.endpoint.Store(&endpoint)
	s.kick()
	return nil
}

// kick asks the uploader for an upload now, without waiting.
func (s *Sink) kick() {
	select {
	case s.nudge <- struct{}{}:
	default:
	}
}

// Write hands r to the sink. It returns sink.ErrClosed after Close. A
// record that finds the hand-over buffer full is dropped and counted.
// Error and fatal records carry breadcrumbs and start an upload at once;
// a fatal record is durable on disk when Write returns (or when ctx ends,
// whichever is first; the record is kept either way), and an error in
// making it durable is returned, not reported.
func (s *Sink) Write(ctx context.Context, r logrecord.Record) error {
	if IsOwnRequest(ctx) {
		return nil
	}
	j := job{rec: r, ident: s.ident.Load().withContext(ctx)}
	j.stamp()
	if r.Level >= logrecord.LevelError && s.opts.Breadcrumbs != nil {
		j.crumbs = s.breadcrumbsBefore(r)
	}
	if r.Level >= logrecord.LevelFatal {
		j.done = make(chan error, 1)
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return sink.ErrClosed
	}
	j.size = estimateSize(&j.rec)
	if j.done != nil {
		s.inBytes.Add(j.size)
		s.in <- j // fatal: wait for room rather than drop
	} else if !s.handOver(j) {
		s.mu.RUnlock()
		s.store.CountDrop(DropBufferFull, r.Level >= logrecord.LevelError, 1)
		return nil
	}
	s.mu.RUnlock()
	s.stats.written.Add(1)
	if j.done == nil {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// handOver puts j in the hand-over buffer, as Options.Overflow says, and
// reports whether it did.
func (s *Sink) handOver(j job) bool {
	if s.tryHandOver(j) {
		return true
	}
	switch s.opts.Overflow {
	case OverflowDrop:
		return false
	case OverflowWait:
		if s.stalled.Load() {
			return false
		}
	}
	var timeout <-chan time.Time
	if s.opts.Overflow == OverflowWait {
		t := time.NewTimer(s.opts.MaxWait)
		defer t.Stop()
		timeout = t.C
	}
	for {
		select {
		case <-s.room:
			if s.tryHandOver(j) {
				return true
			}
		case <-timeout:
			s.stalled.Store(true)
			return false
		}
	}
}

// tryHandOver puts j in the hand-over buffer if there is room for it, in
// records and in bytes, without waiting.
func (s *Sink) tryHandOver(j job) bool {
	if !s.fits(j.size) {
		return false
	}
	select {
	case s.in <- j:
		return true
	default:
		s.inBytes.Add(-j.size)
		return false
	}
}

// fits reserves size bytes of the hand-over buffer if they fit (a record
// always fits in an empty buffer).
func (s *Sink) fits(size int64) bool {
	n := s.inBytes.Add(size)
	if n <= s.opts.BufferBytes || n == size {
		return true
	}
	s.inBytes.Add(-size)
	return false
}

// estimateSize is a cheap guess at a record's encoded size, for the
// hand-over buffer's byte bound.
func estimateSize(r *logrecord.Record) int64 {
	n := 256 + len(r.Message) + len(r.Error) + len(r.StackTrace)
	n += 48 * r.NumAttrs()
	return int64(n)
}

func (s *Sink) breadcrumbsBefore(r logrecord.Record) (out []Breadcrumb) {
	defer func() {
		if p := recover(); p != nil {
			s.opts.OnError(fmt.Errorf("backendsink: breadcrumb source panicked: %s", panicText(p)))
			out = nil
		}
	}()
	for _, c := range s.opts.Breadcrumbs.Before(r, s.opts.MaxBreadcrumbs) {
		out = append(out, Breadcrumb{Time: c.Time, Level: c.Level, Logger: c.Logger, Message: c.Message, Category: c.Category()})
	}
	return out
}

// Sync returns once every record written before it is on disk (or was
// dropped and counted), without uploading anything.
func (s *Sink) Sync(ctx context.Context) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return sink.ErrClosed
	}
	barrier := job{barrier: true, done: make(chan error, 1)}
	select {
	case s.in <- barrier:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	select {
	case err := <-barrier.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Flush uploads everything written before it, with ctx: the upload ends
// when ctx does. It returns nil when the queue is empty; an error
// matching ErrPaused, ErrOffline, ErrNoToken or ErrBackoff (and the
// *StatusError of the answer that caused it) when it could not upload;
// ctx's error when ctx ended first; sink.ErrClosed after Close. What it
// returns is not also reported to Options.OnError.
func (s *Sink) Flush(ctx context.Context) error {
	if err := s.Sync(ctx); err != nil {
		return err
	}
	req := flushRequest{ctx: ctx, reply: make(chan error, 1)}
	select {
	case s.flushes <- req:
	case <-s.upDone:
		return sink.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting records, queues what was handed over, makes a
// best-effort final upload that ignores backoff, and closes the queue if
// the sink opened it. It returns by ctx's deadline, leaving what was not
// delivered on disk; no goroutine outlives it, nor do the idle
// connections of its HTTP client. A second Close returns nil.
// Stats tells what happened.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()

	confirmedBefore := s.stats.confirmed.Load()
	var err error
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		close(s.stopEnc)
		<-s.encDone
		close(s.stopUp)
		<-s.upDone
	}()
	select {
	case <-stopped:
	case <-ctx.Done():
		s.cancelDrain() // abort the drain and its request; records stay on disk
		<-stopped
		err = ctx.Err()
	}
	s.cancelDrain()
	// No connection goroutine outlives the sink: its kept-alive
	// connections close, whoever's client made them (on a shared
	// transport, other idle connections close too and are dialed again
	// when needed).
	s.opts.Client.CloseIdleConnections()
	s.stats.mu.Lock()
	s.stats.deliveredDuringClose = s.stats.confirmed.Load() - confirmedBefore
	s.stats.pendingAtClose = s.store.Pending()
	s.stats.mu.Unlock()
	if s.ownStore {
		err = errors.Join(err, s.store.Close(context.WithoutCancel(ctx)))
	}
	return err
}
