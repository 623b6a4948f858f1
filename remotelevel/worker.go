package remotelevel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/soliplex/fieldlog/internal/ownreq"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
)

// Reasons a log_level_changed record gives.
const (
	reasonConfig  = "config"  // the server's configuration changed
	reasonExpired = "expired" // its until passed
	reasonClosed  = "closed"  // the Client was closed
)

// maxDrain is how much of an answer's remaining body is read to let the
// connection be reused.
const maxDrain = 64 << 10

// A worker is the state of the fetching, owned by the Client's goroutine
// (and by Close, once that goroutine has returned).
type worker struct {
	m    *sink.Manager
	opts Options
	http *http.Client // never follows redirects
	bo   *backoff.ExponentialBackOff

	etag    string      // of good
	good    *Config     // the last valid configuration received; nil: none yet
	applied *Config     // what the Manager's remote layer holds; nil: none
	expiry  *time.Timer // fires at good.Until while it is applied; nil when none is due
	fetched time.Time   // the last valid answer (200 or 304)
	lastErr error       // of the last fetch; nil when it succeeded
	told    string      // kind of the last failure reported; "" since a success

	pauseErr    error  // non-nil while paused after a 401 or 403
	pausedToken string // the token that was refused
}

func newWorker(m *sink.Manager, opts Options, hc *http.Client) *worker {
	bo := &backoff.ExponentialBackOff{
		InitialInterval:     opts.BackoffInitial,
		RandomizationFactor: backoff.DefaultRandomizationFactor,
		Multiplier:          2,
		MaxInterval:         opts.Interval,
		Stop:                backoff.Stop,
		Clock:               backoff.SystemClock,
	}
	bo.Reset()
	return &worker{m: m, opts: opts, http: hc, bo: bo}
}

// poll fetches once and returns how long to wait before the next fetch:
// Options.Interval, jittered, after a success; after a failure the
// backoff (never above the jittered interval), raised by a Retry-After.
func (w *worker) poll(ctx context.Context) (time.Duration, error) {
	err := w.fetch(ctx)
	w.lastErr = err
	if err == nil {
		w.bo.Reset()
		w.told = ""
		return w.interval(), nil
	}
	wait := min(w.bo.NextBackOff(), w.interval())
	var se *StatusError
	if errors.As(err, &se) {
		wait = max(wait, se.RetryAfter)
	}
	return wait, err
}

// interval returns Options.Interval × (1 ± Options.Jitter).
func (w *worker) interval() time.Duration {
	f := 1 + w.opts.Jitter*(2*rand.Float64()-1)
	return time.Duration(float64(w.opts.Interval) * f)
}

// fetch asks the server for the configuration and applies what it
// answers.
func (w *worker) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	token := ""
	if w.opts.TokenProvider != nil {
		t, err := w.callToken(ctx)
		if err != nil {
			return fmt.Errorf("remotelevel: token provider: %w", err)
		}
		if t == "" {
			return ErrNoToken
		}
		token = t
	}
	if w.pauseErr != nil {
		if token == w.pausedToken {
			return w.pauseErr
		}
		w.pauseErr, w.pausedToken = nil, ""
	}
	req, err := http.NewRequestWithContext(ownreq.With(ctx), http.MethodGet, w.opts.URL, nil)
	if err != nil {
		return fmt.Errorf("remotelevel: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if w.good != nil && w.etag != "" {
		req.Header.Set("If-None-Match", w.etag)
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return fmt.Errorf("remotelevel: %w", err) // a *url.Error, its URL's password redacted
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, MaxConfigBytes+1))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))

	switch code := resp.StatusCode; {
	case code == http.StatusNotModified:
		if w.good == nil || w.etag == "" {
			return fmt.Errorf("%w: 304 Not Modified to a request without If-None-Match", ErrInvalid)
		}
		w.fetched = time.Now()
		return nil
	case code == http.StatusOK:
		if readErr != nil {
			return fmt.Errorf("remotelevel: reading the configuration: %w", readErr)
		}
		if len(body) > MaxConfigBytes {
			return fmt.Errorf("%w: longer than %d bytes", ErrInvalid, MaxConfigBytes)
		}
		c, err := parseConfig(body)
		if err != nil {
			return err
		}
		w.good, w.etag, w.fetched = &c, resp.Header.Get("ETag"), time.Now()
		w.settle(reasonConfig)
		return nil
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		w.pauseErr = fmt.Errorf("%w: %w", ErrPaused, statusError(resp))
		w.pausedToken = token
		return w.pauseErr
	case code >= 200 && code < 300:
		return fmt.Errorf("%w: status %d", ErrInvalid, code)
	default:
		return statusError(resp)
	}
}

func statusError(resp *http.Response) *StatusError {
	se := &StatusError{Code: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now(), maxRetryAfter)}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		se.Location = resp.Header.Get("Location")
	}
	return se
}

func (w *worker) callToken(ctx context.Context) (tok string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %s", logrecord.Coerce(slog.AnyValue(p)).String())
		}
	}()
	return w.opts.TokenProvider(ctx)
}

// report hands err to OnError unless a failure of the same kind was the
// last one reported since the last success.
func (w *worker) report(err error) {
	k := kind(err)
	if k == "" || k == w.told {
		return
	}
	w.told = k
	w.opts.OnError(err)
}

// kind classifies a failure for report; "" is never reported.
func kind(err error) string {
	var se *StatusError
	switch {
	case errors.Is(err, ErrNoToken), errors.Is(err, context.Canceled):
		return ""
	case errors.Is(err, ErrPaused):
		return "paused"
	case errors.Is(err, ErrInvalid):
		return "invalid"
	case errors.As(err, &se):
		return fmt.Sprintf("status %d", se.Code)
	default:
		return "unreachable"
	}
}

// settle sets the remote layer from the last valid configuration: that
// configuration until its until passes, none after it.
func (w *worker) settle(reason string) {
	w.stopExpiry()
	want := w.good
	if want != nil && !want.Until.IsZero() {
		if d := time.Until(want.Until); d > 0 {
			w.expiry = time.NewTimer(d)
		} else {
			want, reason = nil, reasonExpired
		}
	}
	w.set(want, reason)
}

func (w *worker) stopExpiry() {
	if w.expiry != nil {
		w.expiry.Stop()
		w.expiry = nil
	}
}

// expiryC returns the channel that fires when the applied configuration
// expires, or nil (never ready) when none is due.
func (w *worker) expiryC() <-chan time.Time {
	if w.expiry == nil {
		return nil
	}
	return w.expiry.C
}

// set makes want the Manager's remote layer (nil: none) and, when that
// changes its levels, logs log_level_changed once. The record is written
// before the change if the Events logger logs info now, else after it, so
// that it is kept whenever either side of the change lets it through.
func (w *worker) set(want *Config, reason string) {
	if sameLevels(w.applied, want) {
		w.applied = want
		return
	}
	attrs := []any{"reason", reason, "old", w.applied.String(), "new", want.String()}
	if want != nil && !want.Until.IsZero() {
		attrs = append(attrs, "until", want.Until.UTC().Format(time.RFC3339))
	}
	ev := w.opts.Events
	before := ev.Enabled(logrecord.LevelInfo)
	if before {
		ev.Info("log_level_changed", attrs...)
	}
	if want == nil {
		w.m.ClearRemoteLevels()
	} else {
		w.m.SetRemoteLevels(want.MinLevel, want.Modules)
	}
	w.applied = want
	if !before {
		ev.Info("log_level_changed", attrs...)
	}
}

// sameLevels reports whether a and b set the same levels; until aside.
func sameLevels(a, b *Config) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.MinLevel == b.MinLevel && maps.Equal(a.Modules, b.Modules)
}
