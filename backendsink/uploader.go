package backendsink

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/soliplex/fieldlog/diskqueue"
)

// An uploader sends batches from the store to the ingest endpoint and
// reacts to each answer as the reaction table says. Its state (backoff,
// suspects, pauses, what it has reported) belongs to whoever runs it: the
// sink's upload goroutine (run), or a test calling cycle directly. It
// starts no goroutine and talks to the network only through its poster.
type uploader struct {
	opts     *Options // filled; read only
	store    store
	post     poster
	stats    *statsState
	report   func(error)
	endpoint *atomic.Pointer[string]
	ident    *atomic.Pointer[identity]
	resource []byte // the encoded resource object
	now      func() time.Time

	bo             *backoff.ExponentialBackOff
	retryAt        time.Time
	lastErr        error // the failure the current backoff is for
	consecutive5xx int
	okCount        int
	suspects       map[uint64]suspect
	lostReport     diskqueue.Unreported // what the lost-records entry being sent covers
	paused         string
	pausedToken    string
	pausedEndpoint string
	pauseErr       error
	heldSince      time.Time
	online         *bool
	plain          map[string]bool // endpoints that refused a gzip body
	stopKey        string          // the kind of the last stop that is worth telling about
	told           string          // the stop last reported or returned; "" after a success
	body           bytes.Buffer
	enc            encoder
}

type suspect struct {
	failures int
	okAt     int
}

func newUploader(opts *Options, st store, p poster, stats *statsState, report func(error),
	endpoint *atomic.Pointer[string], ident *atomic.Pointer[identity]) *uploader {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = opts.BackoffInitial
	bo.MaxInterval = opts.BackoffMax
	bo.Multiplier = 2
	bo.RandomizationFactor = 0.2
	bo.MaxElapsedTime = 0
	bo.Reset()
	return &uploader{
		opts: opts, store: st, post: p, stats: stats, report: report, endpoint: endpoint, ident: ident,
		resource: encodeResource(opts.Resource), now: time.Now,
		bo: bo, suspects: map[uint64]suspect{}, plain: map[string]bool{},
	}
}

// A flushRequest asks the uploader for an upload now; the upload runs
// with ctx (and ends with it), and its outcome is sent to reply.
type flushRequest struct {
	ctx   context.Context
	reply chan error // buffered: the uploader never waits for the caller
}

// run is the upload goroutine: it uploads every FlushInterval, when
// nudged (an error record arrived), when a backoff ends and when Flush
// asks, until stop is closed; then it makes a final upload that ignores
// backoff and the gate, with drain, which Close cancels at its deadline.
func (u *uploader) run(drain context.Context, stop, nudge, ready <-chan struct{}, flushes <-chan flushRequest) {
	tick := time.NewTimer(u.opts.FlushInterval)
	defer tick.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		select {
		case <-stop:
			u.background(drain, trigger{final: true})
			return
		case <-tick.C:
			u.background(drain, trigger{})
			tick.Reset(u.opts.FlushInterval)
		case <-nudge:
			u.background(drain, trigger{urgent: true})
		case <-ready:
			u.background(drain, trigger{fullOnly: true})
		case <-retry.C:
			u.background(drain, trigger{})
		case req := <-flushes:
			ctx, cancel := context.WithCancel(req.ctx)
			unlink := context.AfterFunc(drain, cancel)
			err := u.cycle(ctx, trigger{explicit: true})
			unlink()
			cancel()
			if u.stopKey != "" {
				u.told = u.stopKey // returned: not to be reported as well
			}
			req.reply <- err
		}
		if d := u.retryAt.Sub(u.now()); !u.retryAt.IsZero() && d > 0 {
			retry.Reset(d)
		}
	}
}

// background runs a cycle nobody waits for, and reports why it stopped
// when that is news.
func (u *uploader) background(ctx context.Context, tr trigger) {
	err := u.cycle(ctx, tr)
	if err != nil && u.stopKey != "" && u.stopKey != u.told {
		u.told = u.stopKey
		u.report(err)
	}
}

type trigger struct {
	urgent   bool // an error or fatal record arrived
	explicit bool // Flush
	final    bool // Close: ignore backoff and the gate
	fullOnly bool // a batch's worth was queued: send full batches only, leave a remainder for later
}

// cycle uploads batches until the queue is empty or something stops it,
// and says why it stopped (nil: empty).
func (u *uploader) cycle(ctx context.Context, tr trigger) error {
	u.stopKey = ""
	if err := ctx.Err(); err != nil {
		return err
	}
	if !tr.final && u.now().Before(u.retryAt) {
		return u.backoffErr()
	}
	token, err := u.gates(ctx, tr)
	if err != nil {
		return err
	}
	if tr.urgent || tr.explicit || tr.final {
		if err := u.store.Sync(ctx); err != nil {
			return err
		}
	}
	for {
		lost := u.lostEntry() // sets u.lostReport
		budget := u.opts.MaxBatchBytes - envelopeReserve - len(u.resource) - len(lost)
		items, err := u.store.Peek(u.opts.MaxBatch, budget)
		if err != nil {
			u.stopKey = "store"
			return err
		}
		if len(items) == 0 && len(lost) == 0 {
			return nil
		}
		if tr.fullOnly && !u.full(items, budget) {
			return nil
		}
		if u.opts.MaxInFlight > 1 && len(lost) == 0 && u.consecutive5xx == 0 && len(u.suspects) == 0 && u.full(items, budget) {
			// Healthy and a backlog: several requests at once.
			if u.pipeline(ctx, token, items, budget) == resultStop {
				return u.stopErr(ctx)
			}
			continue
		}
		switch u.send(ctx, token, items, lost, false) {
		case resultStop:
			return u.stopErr(ctx)
		case resultOK:
			if len(items) == 0 {
				return nil
			}
		}
	}
}

// pipeline sends first and the further full batches behind it, up to
// MaxInFlight requests at once, for as long as every answer confirms. The
// first other answer stops it: the requests still in flight land (what
// they confirm is confirmed), and the reaction table is applied to that
// answer alone, as if its batch had been sent by itself.
func (u *uploader) pipeline(ctx context.Context, token string, first []item, budget int) result {
	type landed struct {
		items []item
		req   *request
		ans   Answer
	}
	done := make(chan landed, u.opts.MaxInFlight)
	inFlight := 0
	var sending []uint64 // ids in flight, sorted
	launch := func(items []item) {
		req := u.prepare(token, items, nil)
		req.body = bytes.Clone(req.body) // prepare reuses one buffer; each request in flight needs its own
		inFlight++
		sending = append(sending, ids(items)...)
		slices.Sort(sending)
		go func() { done <- landed{items, req, u.post.post(ctx, req)} }()
	}
	land := func() landed {
		l := <-done
		inFlight--
		gone := make(map[uint64]bool, len(l.items))
		for _, it := range l.items {
			gone[it.id] = true
		}
		sending = slices.DeleteFunc(sending, func(id uint64) bool { return gone[id] })
		return l
	}
	launch(first)
	more := true
	for inFlight > 0 {
		for more && inFlight < u.opts.MaxInFlight && ctx.Err() == nil {
			items, err := u.store.PeekExcluding(u.opts.MaxBatch, budget, sending)
			if err != nil || len(items) == 0 || !u.full(items, budget) {
				more = false
				break
			}
			launch(items)
		}
		l := land()
		if l.ans.Err == nil && u.action(l.ans) == Confirm {
			u.confirm(l.items, nil, false)
			continue
		}
		// The first answer that is not a confirmation stops the pipeline:
		// what is still in flight lands, and the table applies to this one.
		for inFlight > 0 {
			if o := land(); o.ans.Err == nil && u.action(o.ans) == Confirm {
				u.confirm(o.items, nil, false)
			}
		}
		return u.react(ctx, token, l.req, l.ans, l.items, nil, false)
	}
	return resultOK
}

// full reports whether items make a full batch: the record cap, or most
// of the byte budget.
func (u *uploader) full(items []item, budget int) bool {
	if len(items) >= u.opts.MaxBatch {
		return true
	}
	n := 0
	for _, it := range items {
		n += len(it.data)
	}
	return n >= budget*3/4
}

// envelopeReserve is room kept in a batch for {"logs":[…],"resource":…}.
const envelopeReserve = 1 << 10

// stopErr says why send stopped the cycle.
func (u *uploader) stopErr(ctx context.Context) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case u.paused != "":
		return u.pauseErr
	}
	return u.backoffErr()
}

func (u *uploader) backoffErr() error {
	if u.lastErr == nil {
		return ErrBackoff
	}
	return &stopError{kind: ErrBackoff, what: "backing off after a failed upload", cause: u.lastErr}
}

// gates decides whether to upload now and returns the token to use.
func (u *uploader) gates(ctx context.Context, tr trigger) (string, error) {
	var token string
	if u.opts.TokenProvider != nil {
		t, err := u.callToken(ctx)
		if err != nil {
			u.stopKey = "token"
			return "", &stopError{what: "token provider failed; records stay queued", cause: err}
		}
		if t == "" {
			return "", ErrNoToken
		}
		token = t
	}
	switch u.paused {
	case PausedAuth:
		if token == u.pausedToken {
			return "", u.pauseErr
		}
		u.setPaused("", "", "", nil)
	case PausedEndpoint:
		if *u.endpoint.Load() == u.pausedEndpoint {
			return "", u.pauseErr
		}
		u.setPaused("", "", "", nil)
	}
	if u.opts.Network != nil {
		online, kind := u.callNetwork(ctx)
		if u.online == nil || *u.online != online {
			first := u.online == nil
			u.online = &online
			if u.opts.Events != nil && (!first || !online) {
				u.opts.Events.Info("network_changed", "online", online, "type", kind)
			}
		}
		if !online {
			return "", ErrOffline
		}
	}
	if u.opts.Gate != nil && !tr.urgent && !tr.explicit && !tr.final && !u.callGate() {
		now := u.now()
		if u.heldSince.IsZero() {
			u.heldSince = now
		}
		if now.Sub(u.heldSince) < u.opts.MaxHold {
			return "", errHeld
		}
	}
	u.heldSince = time.Time{}
	return token, nil
}

func (u *uploader) callToken(ctx context.Context) (tok string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %s", panicText(p))
		}
	}()
	return u.opts.TokenProvider(ctx)
}

func (u *uploader) callNetwork(ctx context.Context) (online bool, kind string) {
	defer func() {
		if p := recover(); p != nil {
			u.report(fmt.Errorf("backendsink: network checker panicked: %s", panicText(p)))
			online, kind = true, "unknown"
		}
	}()
	return u.opts.Network(ctx)
}

func (u *uploader) callGate() (open bool) {
	defer func() {
		if p := recover(); p != nil {
			u.report(fmt.Errorf("backendsink: gate panicked: %s", panicText(p)))
			open = true
		}
	}()
	return u.opts.Gate()
}

// setPaused records a pause (reason "" ends it) and its error.
func (u *uploader) setPaused(reason, token, endpoint string, err error) {
	u.paused, u.pausedToken, u.pausedEndpoint, u.pauseErr = reason, token, endpoint, err
	if reason == "" {
		u.told = ""
	}
	u.stats.mu.Lock()
	u.stats.paused = reason
	u.stats.mu.Unlock()
}
