package remotelevel

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/soliplex/fieldlog/sink"
)

// A Client keeps a Manager's remote level layer (see
// [sink.Manager.SetRemoteLevels]) in step with the configuration an ingest
// server serves. One goroutine, started by New and stopped by Close, owns
// the fetching. Its methods are safe for concurrent use.
type Client struct {
	m       *sink.Manager
	url     string
	refresh chan refreshRequest
	ctx     context.Context // canceled by Close: ends the worker and its fetch
	cancel  context.CancelFunc
	done    chan struct{} // closed when the worker has returned
	closed  atomic.Bool
	w       *worker // the worker goroutine's, until done is closed

	closeIdle func() // closes the default client's idle connections; nil for the caller's client

	mu     sync.Mutex
	status Status // published by the worker
}

type refreshRequest struct {
	ctx   context.Context
	reply chan error // size 1: the worker never waits for the caller
}

// New returns a Client for m and starts its goroutine, which fetches the
// configuration at once and then every Options.Interval. New does not
// wait for the first fetch (call Refresh for that): until a configuration
// arrives, m keeps its local levels.
func New(m *sink.Manager, opts Options) (*Client, error) {
	if err := opts.fill(m); err != nil {
		return nil, err
	}
	hc := *opts.Client
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		m:       m,
		url:     opts.URL,
		refresh: make(chan refreshRequest),
		ctx:     ctx,
		cancel:  cancel,
		done:    make(chan struct{}),
	}
	if opts.ownClient {
		c.closeIdle = opts.Client.CloseIdleConnections
	}
	c.w = newWorker(m, opts, &hc)
	c.publish()
	go c.run()
	return c, nil
}

// run is the worker goroutine: it fetches when its timer fires or Refresh
// asks, and reverts when the configuration's until passes.
func (c *Client) run() {
	defer close(c.done)
	w := c.w
	defer w.stopExpiry()
	next := time.NewTimer(0) // the first fetch, at start
	defer next.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-next.C:
			wait, err := w.poll(c.ctx)
			if err != nil && c.ctx.Err() == nil {
				w.report(err)
			}
			next.Reset(wait)
		case req := <-c.refresh:
			ctx, cancel := context.WithCancel(c.ctx)
			stop := context.AfterFunc(req.ctx, cancel)
			wait, err := w.poll(ctx)
			stop()
			cancel()
			req.reply <- err
			next.Reset(wait)
		case <-w.expiryC():
			w.settle(reasonExpired)
		}
		c.publish()
	}
}

// Refresh fetches the configuration now, applies it, and returns the
// fetch's error, if any, instead of reporting it; it returns by ctx's
// deadline. It does not wait out a backoff, but a pause (ErrPaused,
// ErrNoToken) holds for it too. After Close it returns ErrClosed.
func (c *Client) Refresh(ctx context.Context) error {
	if c.closed.Load() {
		return ErrClosed
	}
	req := refreshRequest{ctx: ctx, reply: make(chan error, 1)}
	select {
	case c.refresh <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return ErrClosed
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the goroutine, aborting a fetch in flight, and removes the
// remote layer: with nobody left to follow the server or honour until,
// the local levels apply again (logged as log_level_changed when a remote
// layer was in effect). It returns by ctx's deadline; no goroutine
// outlives it. A second Close returns nil.
func (c *Client) Close(ctx context.Context) error {
	if c.closed.Swap(true) {
		return nil
	}
	c.cancel()
	var err error
	select {
	case <-c.done:
	case <-ctx.Done():
		<-c.done // now bounded: the fetch in flight was canceled
		err = ctx.Err()
	}
	if c.closeIdle != nil {
		c.closeIdle() // no connection goroutine outlives the Client
	}
	c.w.set(nil, reasonClosed)
	c.publish()
	return err
}
