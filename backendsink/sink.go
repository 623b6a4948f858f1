package backendsink

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/soliplex/fieldlog/internal/report"
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
	PausedEndpoint = "endpoint" // 404: waiting for a different endpoint
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

	in       chan job
	nudge    chan struct{}
	flushReq chan chan error
	stopEnc  chan struct{}
	encDone  chan struct{}
	stopUp   chan struct{}
	upDone   chan struct{}

	drainCtx    context.Context
	cancelDrain context.CancelFunc

	stats statsState

	// Owned by the uploader goroutine.
	bo             *backoff.ExponentialBackOff
	retryAt        time.Time
	consecutive5xx int
	okCount        int
	suspects       map[uint64]suspect
	lostReport     diskqueue.Unreported // what the lost-records entry being sent covers
	paused         string
	pausedToken    string
	pausedEndpoint string
	heldSince      time.Time
	online         *bool
	bodyBuf        bytes.Buffer
}

type identity struct {
	userID string
	run    *ActiveRun
}

type suspect struct {
	failures int
	okAt     int
}

// A job is one record handed to the encoder, or a barrier (rec unset)
// that Flush uses to know everything before it is queued.
type job struct {
	rec     logrecord.Record
	crumbs  []Breadcrumb
	ident   *identity
	done    chan error // fatal records and barriers: closed or sent when durable
	barrier bool
}

type ownRequestKey struct{}

// IsOwnRequest reports whether ctx belongs to a request the sink itself
// makes. Instrumentation of HTTP clients should not log such requests, and
// the sink drops records written with such a context, so that shipping
// logs never produces more logs to ship.
func IsOwnRequest(ctx context.Context) bool {
	return ctx != nil && ctx.Value(ownRequestKey{}) != nil
}

var _ sink.Sink = (*Sink)(nil)

// newSink builds a Sink on st and starts its goroutines.
func newSink(opts Options, st store) (*Sink, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	if opts.OnError == nil {
		opts.OnError = report.NewLimited("fieldlog: backendsink: ", nil).Report
	}
	s := &Sink{
		opts:     opts,
		store:    st,
		in:       make(chan job, opts.BufferSize),
		nudge:    make(chan struct{}, 1),
		flushReq: make(chan chan error),
		stopEnc:  make(chan struct{}),
		encDone:  make(chan struct{}),
		stopUp:   make(chan struct{}),
		upDone:   make(chan struct{}),
		suspects: map[uint64]suspect{},
	}
	s.ident.Store(&identity{userID: opts.UserID})
	ep := opts.Endpoint
	s.endpoint.Store(&ep)
	s.bo = backoff.NewExponentialBackOff()
	s.bo.InitialInterval = opts.BackoffInitial
	s.bo.MaxInterval = opts.BackoffMax
	s.bo.Multiplier = 2
	s.bo.RandomizationFactor = 0.2
	s.bo.MaxElapsedTime = 0
	s.bo.Reset()
	s.drainCtx, s.cancelDrain = context.WithCancel(context.Background())
	go s.encodeLoop()
	go s.uploadLoop()
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

// SetEndpoint changes the ingest URL. It ends a pause caused by 404.
func (s *Sink) SetEndpoint(endpoint string) error {
	o := Options{Endpoint: endpoint}
	if err := o.fill(); err != nil && strings.Contains(err.Error(), "Endpoint") {
		return err
	}
	s.endpoint.Store(&endpoint)
	s.kick()
	return nil
}

// Write hands r to the sink. It returns sink.ErrClosed after Close. A
// record that finds the hand-over buffer full is dropped and counted.
// Error and fatal records carry breadcrumbs and start an upload at once;
// a fatal record is durable on disk when Write returns (or when ctx ends,
// whichever is first; the record is kept either way).
func (s *Sink) Write(ctx context.Context, r logrecord.Record) error {
	if IsOwnRequest(ctx) {
		return nil
	}
	j := job{rec: r, ident: s.ident.Load()}
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
	if j.done != nil {
		s.in <- j // fatal: wait for room rather than drop
	} else {
		select {
		case s.in <- j:
		default:
			s.mu.RUnlock()
			s.store.CountDrop(DropBufferFull, r.Level >= logrecord.LevelError, 1)
			return nil
		}
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

func (s *Sink) breadcrumbsBefore(r logrecord.Record) (out []Breadcrumb) {
	defer func() {
		if p := recover(); p != nil {
			s.opts.OnError(fmt.Errorf("backendsink: breadcrumb source panicked: %v", p))
			out = nil
		}
	}()
	for _, c := range s.opts.Breadcrumbs.Before(r, s.opts.MaxBreadcrumbs) {
		out = append(out, Breadcrumb{Time: c.Time, Level: c.Level, Logger: c.Logger, Message: c.Message, Category: c.Category()})
	}
	return out
}

// kick asks the uploader for an upload now, without waiting.
func (s *Sink) kick() {
	select {
	case s.nudge <- struct{}{}:
	default:
	}
}

// encodeLoop turns handed-over records into wire JSON and appends them to
// the store, off the callers' goroutines.
func (s *Sink) encodeLoop() {
	defer close(s.encDone)
	var buf []byte
	for {
		select {
		case j := <-s.in:
			buf = s.encodeJob(buf, j)
		case <-s.stopEnc:
			for {
				select {
				case j := <-s.in:
					buf = s.encodeJob(buf, j)
				default:
					return
				}
			}
		}
	}
}

func (s *Sink) encodeJob(buf []byte, j job) []byte {
	if j.barrier {
		j.done <- s.store.Sync(s.drainCtx)
		return buf
	}
	meta := entryMeta{installID: s.opts.InstallID, sessionID: s.opts.SessionID, userID: j.ident.userID, activeRun: j.ident.run, breadcrumbs: j.crumbs}
	buf = encodeEntry(buf[:0], j.rec, &meta, MaxEntryBytes)
	data := bytes.Clone(buf)
	if cap(buf) > 4*MaxEntryBytes {
		buf = nil
	}
	high := j.rec.Level >= logrecord.LevelError
	if j.done != nil {
		err := s.store.AppendSync(s.drainCtx, high, data)
		if err != nil {
			s.opts.OnError(fmt.Errorf("backendsink: store fatal record: %w", err))
		}
		j.done <- err
	} else if err := s.store.Append(s.drainCtx, high, data); err != nil {
		if !errors.Is(err, diskqueue.ErrTooLarge) { // the queue counted that one
			s.store.CountDrop(DropShutdown, high, 1)
		}
		s.opts.OnError(fmt.Errorf("backendsink: queue record: %w", err))
	}
	if high {
		s.kick()
	}
	return buf
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

// Flush uploads everything written before it. It returns nil when the
// queue is empty, ErrPaused when export is paused, a *StatusError or
// network error when backoff is in force or the network or token gate is
// closed, or ctx's error when ctx ends first.
func (s *Sink) Flush(ctx context.Context) error {
	if err := s.Sync(ctx); err != nil {
		return err
	}
	reply := make(chan error, 1)
	select {
	case s.flushReq <- reply:
	case <-s.upDone:
		return sink.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting records, queues what was handed over, makes a
// best-effort final upload that ignores backoff, and closes the queue if
// the sink opened it. It returns by ctx's deadline, leaving what was not
// delivered on disk; no goroutine outlives it. A second Close returns nil.
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
	s.stats.mu.Lock()
	s.stats.deliveredDuringClose = s.stats.confirmed.Load() - confirmedBefore
	s.stats.pendingAtClose = s.store.Pending()
	s.stats.mu.Unlock()
	if s.ownStore {
		err = errors.Join(err, s.store.Close(context.WithoutCancel(ctx)))
	}
	return err
}

// uploadLoop is the one goroutine that talks to the ingest endpoint.
func (s *Sink) uploadLoop() {
	defer close(s.upDone)
	tick := time.NewTimer(s.opts.FlushInterval)
	defer tick.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		var err error
		select {
		case <-s.stopUp:
			s.cycle(trigger{final: true})
			return
		case <-tick.C:
			s.cycle(trigger{})
			tick.Reset(s.opts.FlushInterval)
		case <-s.nudge:
			s.cycle(trigger{urgent: true})
		case <-retry.C:
			s.cycle(trigger{})
		case reply := <-s.flushReq:
			replies := []chan error{reply}
			for more := true; more; {
				select {
				case r := <-s.flushReq:
					replies = append(replies, r)
				default:
					more = false
				}
			}
			err = s.cycle(trigger{explicit: true})
			for _, r := range replies {
				r <- err
			}
		}
		if d := time.Until(s.retryAt); !s.retryAt.IsZero() && d > 0 {
			retry.Reset(d)
		}
	}
}

type trigger struct {
	urgent   bool // an error or fatal record arrived
	explicit bool // Flush
	final    bool // Close: ignore backoff and the gate
}

var (
	errBackoff = errors.New("backendsink: backing off after a failed upload")
	errOffline = errors.New("backendsink: offline")
	errNoToken = errors.New("backendsink: no token yet; records stay queued")
	errHeld    = errors.New("backendsink: upload held by the gate")
)

// cycle uploads batches until the queue is empty or something stops it,
// and says why it stopped (nil: empty).
func (s *Sink) cycle(tr trigger) error {
	ctx := s.drainCtx
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if !tr.final && time.Now().Before(s.retryAt) {
		return s.lastErrOr(errBackoff)
	}
	token, err := s.checkGates(ctx, tr)
	if err != nil {
		return err
	}
	if tr.urgent || tr.explicit || tr.final {
		if err := s.store.Sync(ctx); err != nil {
			return err
		}
	}
	for {
		lost := s.unreportedLost() // sets s.lostReport
		budget := s.opts.MaxBatchBytes - envelopeReserve - len(lost)
		items, err := s.store.Peek(s.opts.MaxBatch, budget)
		if err != nil {
			s.opts.OnError(fmt.Errorf("backendsink: read queue: %w", err))
			return err
		}
		if len(items) == 0 && len(lost) == 0 {
			return nil
		}
		switch s.send(ctx, token, items, lost, false) {
		case resultStop:
			if s.paused != "" {
				return ErrPaused
			}
			return s.lastErrOr(errBackoff)
		case resultOK:
			if len(items) == 0 {
				return nil
			}
		}
	}
}

// envelopeReserve is room kept in a batch for {"logs":[…],"resource":{…}}.
const envelopeReserve = 16 << 10

func (s *Sink) lastErrOr(err error) error {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	if s.stats.lastErr != nil {
		return s.stats.lastErr
	}
	return err
}

// checkGates decides whether to upload now and returns the token to use.
func (s *Sink) checkGates(ctx context.Context, tr trigger) (string, error) {
	var token string
	if s.opts.TokenProvider != nil {
		t, err := s.callToken(ctx)
		if err != nil {
			s.opts.OnError(fmt.Errorf("backendsink: token provider: %w", err))
			return "", err
		}
		if t == "" {
			return "", errNoToken
		}
		token = t
	}
	switch s.paused {
	case PausedAuth:
		if token == s.pausedToken {
			return "", ErrPaused
		}
		s.setPaused("", "", "")
	case PausedEndpoint:
		if *s.endpoint.Load() == s.pausedEndpoint {
			return "", ErrPaused
		}
		s.setPaused("", "", "")
	}
	if s.opts.Network != nil {
		online, kind := s.callNetwork(ctx)
		if s.online == nil || *s.online != online {
			first := s.online == nil
			s.online = &online
			if s.opts.Events != nil && (!first || !online) {
				s.opts.Events.Info("network_changed", "online", online, "type", kind)
			}
		}
		if !online {
			return "", errOffline
		}
	}
	if s.opts.Gate != nil && !tr.urgent && !tr.explicit && !tr.final && !s.callGate() {
		now := time.Now()
		if s.heldSince.IsZero() {
			s.heldSince = now
		}
		if now.Sub(s.heldSince) < s.opts.MaxHold {
			return "", errHeld
		}
	}
	s.heldSince = time.Time{}
	return token, nil
}

func (s *Sink) callToken(ctx context.Context) (tok string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return s.opts.TokenProvider(ctx)
}

func (s *Sink) callNetwork(ctx context.Context) (online bool, kind string) {
	defer func() {
		if p := recover(); p != nil {
			s.opts.OnError(fmt.Errorf("backendsink: network checker panicked: %v", p))
			online, kind = true, "unknown"
		}
	}()
	return s.opts.Network(ctx)
}

func (s *Sink) callGate() (open bool) {
	defer func() {
		if p := recover(); p != nil {
			s.opts.OnError(fmt.Errorf("backendsink: gate panicked: %v", p))
			open = true
		}
	}()
	return s.opts.Gate()
}

func (s *Sink) setPaused(reason, token, endpoint string) {
	s.paused, s.pausedToken, s.pausedEndpoint = reason, token, endpoint
	s.stats.mu.Lock()
	s.stats.paused = reason
	s.stats.mu.Unlock()
}

type result int

const (
	resultOK        result = iota // everything given was confirmed or dropped
	resultStop                    // pause or backoff: stop this cycle
	resultFailed5xx               // isolating: the request got a server error
)

// send posts items (plus, at the top level, the lost-records entry) and
// reacts to the answer as the reaction table says. isolating is set while
// bisecting a batch that keeps failing with server errors: a 5xx is then
// returned to the caller instead of backing off.
func (s *Sink) send(ctx context.Context, token string, items []item, lost []byte, isolating bool) result {
	act, serr := s.post(ctx, token, items, lost)
	switch act {
	case Confirm:
		s.confirm(items, lost, isolating)
		return resultOK
	case PauseAuth:
		s.setPaused(PausedAuth, token, "")
		s.opts.OnError(fmt.Errorf("backendsink: export paused until the token changes: %w", serr))
		return resultStop
	case PauseEndpoint:
		s.setPaused(PausedEndpoint, "", *s.endpoint.Load())
		s.opts.OnError(fmt.Errorf("backendsink: export paused until the endpoint changes: %w", serr))
		return resultStop
	case Split, Reject:
		reason := DropRejected
		if act == Split {
			reason = DropTooLarge
		}
		if len(items) <= 1 {
			if len(items) == 1 {
				s.dropItems(items, reason, serr)
			} else if len(lost) > 0 {
				s.store.MarkReported(s.lostReport) // the lost-records entry itself is refused: do not retry it forever
			}
			return resultOK
		}
		if len(lost) > 0 {
			if r := s.send(ctx, token, nil, lost, isolating); r != resultOK {
				return r
			}
		}
		h := len(items) / 2
		if r := s.send(ctx, token, items[:h], nil, isolating); r != resultOK {
			return r
		}
		return s.send(ctx, token, items[h:], nil, isolating)
	case RateLimited:
		s.backoffFor(retryAfterOf(serr))
		return resultStop
	case ServerError:
		if isolating {
			return resultFailed5xx
		}
		s.consecutive5xx++
		if s.consecutive5xx < poisonAttempts || len(items) == 0 {
			s.backoffFor(retryAfterOf(serr))
			return resultStop
		}
		return s.isolate(ctx, token, items)
	default: // Unreachable
		s.backoffFor(retryAfterOf(serr))
		return resultStop
	}
}

func retryAfterOf(err error) time.Duration {
	var se *StatusError
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	return 0
}

// isolate bisects items, which just failed with a server error, to find
// the records the server cannot take. A half that succeeds is confirmed; a
// half that fails is halved again; when both halves fail, the server is
// failing in general and the sink backs off on the whole batch.
func (s *Sink) isolate(ctx context.Context, token string, items []item) result {
	if len(items) == 1 {
		return s.failedAlone(ctx, token, items[0])
	}
	h := len(items) / 2
	ra := s.send(ctx, token, items[:h], nil, true)
	if ra == resultStop {
		return ra
	}
	rb := s.send(ctx, token, items[h:], nil, true)
	if rb == resultStop {
		return rb
	}
	switch {
	case ra == resultFailed5xx && rb == resultFailed5xx:
		s.consecutive5xx = 0
		s.backoffFor(0)
		return resultStop
	case ra == resultFailed5xx:
		return s.isolate(ctx, token, items[:h])
	case rb == resultFailed5xx:
		return s.isolate(ctx, token, items[h:])
	}
	return resultOK
}

// failedAlone counts a server error for a record sent on its own. It is
// the poison pill once it has failed alone poisonAttempts times, each time
// with another request succeeding since its previous failure. When nothing
// has succeeded since, an empty batch probes the server: if that fails
// too, the server is failing in general, which never costs a record.
func (s *Sink) failedAlone(ctx context.Context, token string, it item) result {
	sp, seen := s.suspects[it.id]
	if (seen && sp.okAt == s.okCount) || (!seen && s.okCount == 0) {
		if r := s.send(ctx, token, nil, nil, true); r != resultOK {
			if r == resultFailed5xx {
				s.backoffFor(0)
			}
			return resultStop
		}
	}
	sp.failures++
	sp.okAt = s.okCount
	s.suspects[it.id] = sp
	if sp.failures >= poisonAttempts {
		delete(s.suspects, it.id)
		s.dropItems([]item{it}, DropPoison, fmt.Errorf("failed alone %d times while other requests succeeded", sp.failures))
		return resultOK
	}
	s.backoffFor(0)
	return resultStop
}

func (s *Sink) backoffFor(retryAfter time.Duration) {
	d := max(s.bo.NextBackOff(), retryAfter)
	s.retryAt = time.Now().Add(d)
	s.stats.retries.Add(1)
	s.stats.mu.Lock()
	s.stats.backoffUntil = s.retryAt
	s.stats.mu.Unlock()
}

func (s *Sink) confirm(items []item, lost []byte, isolating bool) {
	if len(items) > 0 {
		if err := s.store.Delete(ids(items)); err != nil {
			s.opts.OnError(fmt.Errorf("backendsink: confirm %d records: %w", len(items), err))
		}
	}
	if len(lost) > 0 {
		s.store.MarkReported(s.lostReport)
	}
	for _, it := range items {
		delete(s.suspects, it.id)
	}
	s.okCount++
	if !isolating {
		s.consecutive5xx = 0
	}
	s.bo.Reset()
	s.retryAt = time.Time{}
	s.stats.confirmed.Add(int64(len(items)))
	s.stats.mu.Lock()
	s.stats.lastSuccess = time.Now()
	s.stats.lastErr = nil
	s.stats.backoffUntil = time.Time{}
	s.stats.mu.Unlock()
}

func (s *Sink) dropItems(items []item, reason string, cause error) {
	if err := s.store.Discard(reason, ids(items)); err != nil {
		s.opts.OnError(fmt.Errorf("backendsink: drop %d records: %w", len(items), err))
	}
	s.opts.OnError(fmt.Errorf("backendsink: dropped %d record(s) (%s): %w", len(items), reason, cause))
}

func ids(items []item) []uint64 {
	out := make([]uint64, len(items))
	for i, it := range items {
		out[i] = it.id
	}
	return out
}

// post sends one request and classifies the answer.
func (s *Sink) post(ctx context.Context, token string, items []item, lost []byte) (Action, error) {
	body := s.buildBody(items, lost)
	ctx = context.WithValue(ctx, ownRequestKey{}, true)
	var rd io.Reader = bytes.NewReader(body)
	if s.opts.Gzip {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		_, _ = zw.Write(body)
		_ = zw.Close()
		rd = &zb
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, *s.endpoint.Load(), rd)
	if err != nil {
		s.setLastErr(err)
		return Unreachable, err
	}
	req.Header.Set("Content-Type", "application/json")
	if s.opts.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	s.stats.requests.Add(1)
	s.stats.sent.Add(int64(len(items)))
	resp, err := s.client().Do(req)
	if err != nil {
		act := s.opts.Classify(0, err)
		s.setLastErr(err)
		return act, err
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBodyReported))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	act := s.opts.Classify(resp.StatusCode, nil)
	if act == Confirm {
		return act, nil
	}
	text := strings.TrimSpace(strings.ToValidUTF8(string(snippet), "\uFFFD"))
	if token != "" {
		// A server that echoes the request must not leak the token into
		// error reports.
		text = strings.ReplaceAll(text, token, "[REDACTED]")
	}
	serr := &StatusError{
		Code:       resp.StatusCode,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now(), maxRetryAfter),
		Body:       text,
	}
	s.setLastErr(serr)
	return act, serr
}

func (s *Sink) client() *http.Client { return s.opts.Client }

func (s *Sink) setLastErr(err error) {
	s.stats.mu.Lock()
	s.stats.lastErr = err
	s.stats.mu.Unlock()
}

// buildBody assembles {"logs":[…],"resource":{…}} from encoded entries.
func (s *Sink) buildBody(items []item, lost []byte) []byte {
	b := &s.bodyBuf
	b.Reset()
	b.WriteString(`{"logs":[`)
	n := 0
	if len(lost) > 0 {
		b.Write(lost)
		n++
	}
	for _, it := range items {
		if n > 0 {
			b.WriteByte(',')
		}
		b.Write(it.data)
		n++
	}
	b.WriteString(`],"resource":{`)
	for i, k := range slices.Sorted(maps.Keys(s.opts.Resource)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(appendString(nil, k))
		b.WriteByte(':')
		b.Write(appendString(nil, stringify(s.opts.Resource[k])))
	}
	b.WriteString(`}}`)
	return b.Bytes()
}

// stringify renders a resource value as the string the wire requires.
func stringify(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	return string(bytes.Trim(appendAny(nil, v, 0), `"`))
}

// unreportedLost returns the encoded "records dropped" entry for the
// store's drops not yet reported to the server, or nil, and keeps in
// s.lostReport what it covers, to be marked reported once the server
// confirms the batch that carries it (a crash before then reports it
// again, never not at all).
func (s *Sink) unreportedLost() []byte {
	u := s.store.Unreported()
	s.lostReport = u
	total := u.Total()
	if total == 0 {
		return nil
	}
	byReason := map[string]int64{}
	var high int64
	for _, c := range u.Counts {
		byReason[c.Reason] += c.N
		if c.Class == diskqueue.High {
			high += c.N
		}
	}
	attrs := []slog.Attr{slog.Int64("dropped_total", total), slog.Int64("dropped_high", high)}
	for _, k := range slices.Sorted(maps.Keys(byReason)) {
		attrs = append(attrs, slog.Int64("dropped."+k, byReason[k]))
	}
	msg := "dropped " + strconv.FormatInt(total, 10) + " records before delivery"
	if !u.From.IsZero() {
		from, to := u.From.UTC().Format(time.RFC3339Nano), u.To.UTC().Format(time.RFC3339Nano)
		attrs = append(attrs, slog.String("dropped_from", from), slog.String("dropped_to", to))
		msg += " between " + from + " and " + to
	}
	r := logrecord.New(time.Now(), logrecord.LevelWarning, "fieldlog", msg, attrs...)
	id := s.ident.Load()
	meta := entryMeta{installID: s.opts.InstallID, sessionID: s.opts.SessionID, userID: id.userID, activeRun: id.run}
	return encodeEntry(nil, r, &meta, MaxEntryBytes)
}
