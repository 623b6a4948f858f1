package main

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/soliplex/fieldlog/backendsink"
	"github.com/soliplex/fieldlog/breadcrumbs"
	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sanitizer"
	"github.com/soliplex/fieldlog/sink"
)

// A pipeline is the queue and the backend sink that log and replay ship
// through. The command owns the queue, so that the summary can account
// for every record: what was in it, what reached it, what left it and why.
type pipeline struct {
	dir      string
	queue    *diskqueue.Queue
	sink     *backendsink.Sink
	manager  *sink.Manager // log: redaction and breadcrumbs in front of the sink; nil for replay
	before   int           // records in the queue when it was opened
	maxBytes int64         // the queue's cap; 0: none
	open     diskqueue.Stats
}

// replayMaxBytes is the cap replay opens a queue with: none to speak of,
// so that replaying a queue written under a larger cap drops nothing.
const replayMaxBytes = 1 << 62

// openPipeline opens the queue in dir (maxBytes 0: no cap, for replay)
// and a sink that ships it to f.endpoint. With logging, records go through
// a Manager with redaction and breadcrumbs, as in an application.
func openPipeline(f *shipFlags, dir string, maxBytes int64, logging bool) (*pipeline, error) {
	qmax := maxBytes
	if qmax == 0 {
		qmax = replayMaxBytes
	}
	// The queue's own reports (drops, failed commits) reach the summary
	// through its counters and the errors Sync returns; printing them as
	// well would say the same thing twice.
	q, err := diskqueue.Open(dir, &diskqueue.Options{MaxBytes: qmax, OnError: func(error) {}})
	if err != nil {
		return nil, openError(dir, err)
	}
	p := &pipeline{dir: dir, queue: q, maxBytes: maxBytes, open: q.Stats()}
	p.before = p.open.Pending
	opts := backendsink.Options{
		Endpoint:       f.endpoint,
		Queue:          q,
		InstallID:      uuid.NewString(),
		SessionID:      uuid.NewString(),
		Resource:       map[string]any{"service.name": "offline-replay", "service.version": "1.0.0"},
		FlushInterval:  time.Second,
		BackoffInitial: 200 * time.Millisecond,
		BackoffMax:     2 * time.Second,
		Client:         &http.Client{Timeout: 10 * time.Second},
		// What Flush does not return (a pause found by a background
		// upload, drops) is read from Stats and the queue by the
		// delivery loop and the summary.
		OnError: func(error) {},
	}
	if f.token != "" {
		token := f.token
		opts.TokenProvider = func(context.Context) (string, error) { return token, nil }
	}
	var crumbs *breadcrumbs.Buffer
	if logging {
		crumbs = breadcrumbs.New(nil)
		opts.Breadcrumbs = crumbs
	}
	if p.sink, err = backendsink.New(opts); err != nil {
		_ = q.Close(context.Background())
		return nil, err
	}
	if logging {
		p.manager = sink.NewManager([]sink.Sink{crumbs, p.sink}, sink.WithLevel(logrecord.LevelTrace), sink.WithOnError(func(error) {}),
			sink.WithSanitizer(sanitizer.Default()))
	}
	return p, nil
}

// closeBudget bounds the final upload when a command ends; everything
// handed over is on disk before it starts, so a short budget loses
// nothing.
const (
	closeBudget          = 5 * time.Second
	closeBudgetInterrupt = 2 * time.Second
)

// close makes what was handed over durable, stops the sink (with at most
// budget for its final upload) and the queue, and accounts for every
// record.
func (p *pipeline) close(ctx context.Context, budget time.Duration) tally {
	base := context.WithoutCancel(ctx)
	syncCtx, cancel := context.WithTimeout(base, 10*time.Second)
	syncErr := p.sink.Sync(syncCtx)
	cancel()
	closeCtx, cancel := context.WithTimeout(base, budget)
	if p.manager != nil {
		_ = p.manager.Close(closeCtx) // closes the sink
	} else {
		_ = p.sink.Close(closeCtx)
	}
	cancel()
	qerr := p.queue.Close(base)
	st, qs := p.sink.Stats(), p.queue.Stats()
	t := tally{
		dir:        p.dir,
		before:     p.before,
		committed:  qs.Committed,
		delivered:  st.Confirmed,
		dropped:    qs.Dropped,
		queued:     qs.Pending,
		maxBytes:   p.maxBytes,
		diskError:  qs.LastError,
		unreported: qs.Unreported,
		earlier:    maps.Clone(p.open.DroppedTotal),
	}
	t.reported = max(p.open.Unreported+sum(qs.Dropped)-qs.Unreported, 0)
	if syncErr != nil && !errors.Is(syncErr, context.DeadlineExceeded) {
		t.closeErr = syncErr
	}
	if qerr != nil {
		t.closeErr = errors.Join(t.closeErr, qerr)
	}
	return t
}
