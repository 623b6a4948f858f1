package remotelevel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/soliplex/fieldlog/internal/ownreq"
	"github.com/soliplex/fieldlog/internal/report"
	"github.com/soliplex/fieldlog/sink"
)

// Paths of the ingest contract the configuration URL is derived from.
const (
	// ConfigPath is where an ingest server serves the logging
	// configuration.
	ConfigPath = "/api/v1/config/logging"
	// logsPath is the suffix of an ingest endpoint's path.
	logsPath = "/api/v1/logs"
)

// Defaults and limits of Options.
const (
	DefaultInterval       = 10 * time.Minute
	DefaultJitter         = 0.1
	MaxJitter             = 0.5
	DefaultBackoffInitial = 5 * time.Second
	DefaultClientTimeout  = 30 * time.Second
	// MaxConfigBytes is the largest configuration body read; a longer one
	// is invalid.
	MaxConfigBytes = 64 << 10
	// maxRetryAfter bounds how long a Retry-After answer delays the next
	// fetch.
	maxRetryAfter = time.Hour
	// fetchTimeout bounds one fetch, whatever the HTTP client's timeout.
	fetchTimeout = DefaultClientTimeout
)

// Options configures a Client. One of Endpoint and URL is required; every
// other zero field means the default in its comment. Share Endpoint,
// Client and TokenProvider with the backend sink: the configuration comes
// from the same server, with the same credentials.
type Options struct {
	// Endpoint is the ingest URL the sink ships to, such as
	// https://logs.example.internal/api/v1/logs. The configuration is
	// fetched from the same origin: the endpoint's path with its
	// /api/v1/logs suffix replaced by ConfigPath (so a server behind a
	// path prefix is found), or ConfigPath itself when the path has no
	// such suffix.
	Endpoint string
	// URL is the configuration's URL; default: derived from Endpoint.
	URL string
	// Client makes the requests; default: a client with a 30 s timeout.
	// The Client uses a copy that never follows redirects, so the token
	// goes to the configured origin only.
	Client    *http.Client
	ownClient bool // Client was made by fill: its idle connections close with the Client
	// TokenProvider returns the bearer token, as the sink's does: while it
	// returns "", nothing is fetched (it is asked again at the backoff's
	// pace, or by Refresh). Nil means no Authorization header.
	TokenProvider func(ctx context.Context) (string, error)

	// Interval is the time between fetches; default 10 min.
	Interval time.Duration
	// Jitter spreads the fetches of many programs: each wait is
	// Interval × (1 ± Jitter), chosen at random. Default 0.1, at most
	// MaxJitter; negative means none.
	Jitter float64
	// BackoffInitial is the wait after a failed fetch; it doubles, with
	// jitter, after each further failure, up to Interval. Default 5 s.
	BackoffInitial time.Duration

	// Events receives the info record log_level_changed for each applied
	// change; default: the Manager's logger "fieldlog".
	Events *sink.Logger
	// OnError receives the Client's failures: each kind once, until a
	// fetch succeeds again. Default: stderr, rate-limited. It must not
	// log through the Manager.
	OnError func(error)
}

func (o *Options) fill(m *sink.Manager) error {
	if m == nil {
		return errors.New("remotelevel: a Manager is required")
	}
	if o.URL == "" {
		u, err := configURL(o.Endpoint)
		if err != nil {
			return err
		}
		o.URL = u
	} else if err := checkURL(o.URL); err != nil {
		return fmt.Errorf("remotelevel: Options.URL: %w", err)
	}
	if o.Client == nil {
		o.Client = ownreq.NewClient(DefaultClientTimeout)
		o.ownClient = true
	}
	if o.Interval < 0 || o.BackoffInitial < 0 {
		return errors.New("remotelevel: Options.Interval and BackoffInitial must not be negative")
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.BackoffInitial == 0 {
		o.BackoffInitial = DefaultBackoffInitial
	}
	o.BackoffInitial = min(o.BackoffInitial, o.Interval)
	switch {
	case o.Jitter == 0:
		o.Jitter = DefaultJitter
	case o.Jitter < 0:
		o.Jitter = 0
	case o.Jitter > MaxJitter:
		return fmt.Errorf("remotelevel: Options.Jitter %g is above %g", o.Jitter, MaxJitter)
	}
	if o.Events == nil {
		o.Events = m.Logger("fieldlog")
	}
	if o.OnError == nil {
		// Every error the Client reports carries its package's prefix.
		o.OnError = report.NewLimited("", nil).Report
	}
	return nil
}

// configURL derives the configuration's URL from an ingest endpoint.
func configURL(endpoint string) (string, error) {
	if endpoint == "" {
		return "", errors.New("remotelevel: Options.Endpoint or Options.URL is required")
	}
	if err := checkURL(endpoint); err != nil {
		return "", fmt.Errorf("remotelevel: Options.Endpoint: %w", err)
	}
	u, _ := url.Parse(endpoint)
	prefix := ""
	if p := strings.TrimSuffix(u.Path, "/"); strings.HasSuffix(p, logsPath) {
		prefix = strings.TrimSuffix(p, logsPath)
	}
	c := url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host, Path: prefix + ConfigPath}
	return c.String(), nil
}

// checkURL returns an error unless s is an http(s) URL with a host.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}
