package backendsink

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/soliplex/fieldlog/internal/report"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
)

// Defaults of Options.
const (
	DefaultMaxBatch       = 100
	DefaultMaxBatchBytes  = 900 << 10
	DefaultFlushInterval  = 30 * time.Second
	DefaultMaxHold        = 5 * time.Minute
	DefaultMaxBreadcrumbs = 20
	DefaultBufferSize     = 4096
	DefaultBackoffInitial = time.Second
	DefaultBackoffMax     = 60 * time.Second
	DefaultClientTimeout  = 30 * time.Second
	poisonAttempts        = 3
	maxRetryAfter         = 10 * time.Minute
)

// A BreadcrumbSource returns at most n records that came before r, oldest
// first; *breadcrumbs.Buffer is one.
type BreadcrumbSource interface {
	Before(r logrecord.Record, n int) []logrecord.Record
}

// Options configures a Sink. Endpoint and one of Queue or Dir are
// required; every other zero field means the default in its comment.
// The sink writes Resource values as strings; its own failures never
// re-enter the logging pipeline: they go to OnError and Stats.
type Options struct {
	Endpoint string // ingest URL, such as https://logs.example.internal/api/v1/logs; required
	// Client makes the uploads; default: a client with a 30 s timeout.
	// The sink uses a copy that never follows redirects, so the token
	// goes to the configured endpoint only.
	Client *http.Client

	InstallID string           // identifies the installation; required on the wire, may be empty
	SessionID string           // identifies this run of the program
	UserID    string           // initial user id; change it with SetUserID
	Resource  map[string]any   // resource attributes (service.name, …); a value that is not a string is written as its text
	Queue     *diskqueue.Queue // the durable queue, owned by the caller; or set Dir
	Dir       string           // directory of a queue the sink opens and closes itself
	// QueueMaxBytes caps the queue opened in Dir; default
	// diskqueue.DefaultMaxBytes (10 MB), sized for field devices. A
	// service sets what an outage of its ingest server should survive
	// (diskqueue.ServiceMaxBytes, say). Past it the oldest records are
	// dropped, counted and reported.
	QueueMaxBytes int64

	MaxBatch      int           // records per request; default and cap 100
	MaxBatchBytes int           // encoded bytes per request; default and cap 900 KB
	FlushInterval time.Duration // longest a record waits before upload; default 30 s
	BufferSize    int           // records handed over but not yet queued; default 4096; when full, records are dropped and counted

	// TokenProvider returns the bearer token. While it returns "", records
	// stay on disk and nothing is sent (buffering before login). Nil means
	// no Authorization header.
	TokenProvider func(ctx context.Context) (string, error)
	// Network reports connectivity; while offline, uploads are skipped.
	// Every change it reports is logged once through Events as an info
	// record "network_changed" with attributes online and type. Nil means
	// always online.
	Network func(ctx context.Context) (online bool, kind string)
	// Gate may hold uploads (a metered network, a foreground app); error
	// and fatal records, explicit flushes and holds longer than MaxHold
	// bypass it. Nil means never held.
	Gate    func() bool
	MaxHold time.Duration // default 5 min

	Breadcrumbs    BreadcrumbSource // breadcrumbs attached to error and fatal records; nil for none
	MaxBreadcrumbs int              // default 20

	// Events receives the sink's own informational records
	// (network_changed); typically a Logger of the same Manager. Nil
	// discards them.
	Events *sink.Logger
	// OnError receives the sink's own failures (and, with Dir, the
	// queue's): dropped records, a pause, answers that are no
	// acknowledgement, a damaged queue file. Each is reported once, and
	// never when Flush returns it. Default: stderr, rate-limited. It must
	// not log through the sink's Manager.
	OnError func(error)

	BackoffInitial time.Duration // first retry delay; default 1 s
	BackoffMax     time.Duration // longest retry delay; default 60 s
	// Gzip compresses request bodies; off by default (the production
	// backend does not decode gzip). An endpoint that answers 400 or 415
	// to a compressed body gets it again uncompressed, and no compressed
	// body after that.
	Gzip bool

	// Classify maps an answer to an action; default Classify, which
	// confirms only a 2xx acknowledging the records sent.
	Classify func(Answer) Action
	// ConfirmAny2xx confirms on any 2xx, for servers that answer without
	// {"accepted": N}. Off by default: with it, a captive portal's or a
	// proxy's 200 deletes the batch.
	ConfirmAny2xx bool
}

var errQueueOption = errors.New("backendsink: set exactly one of Options.Queue and Options.Dir")

// checkEndpoint returns an error naming what is wrong with endpoint, or
// nil for an http(s) URL with a host.
func checkEndpoint(endpoint string) error {
	if endpoint == "" {
		return errors.New("backendsink: Options.Endpoint is required")
	}
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("backendsink: Options.Endpoint %q is not an http(s) URL", endpoint)
	}
	return nil
}

func (o *Options) fill() error {
	if err := checkEndpoint(o.Endpoint); err != nil {
		return err
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: DefaultClientTimeout}
	}
	if o.MaxBatch <= 0 || o.MaxBatch > DefaultMaxBatch {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.MaxBatchBytes <= 0 || o.MaxBatchBytes > DefaultMaxBatchBytes {
		o.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.BufferSize <= 0 {
		o.BufferSize = DefaultBufferSize
	}
	if o.MaxHold <= 0 {
		o.MaxHold = DefaultMaxHold
	}
	if o.MaxBreadcrumbs <= 0 {
		o.MaxBreadcrumbs = DefaultMaxBreadcrumbs
	}
	if o.BackoffInitial <= 0 {
		o.BackoffInitial = DefaultBackoffInitial
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = DefaultBackoffMax
	}
	if o.BackoffMax < o.BackoffInitial {
		return fmt.Errorf("backendsink: Options.BackoffMax %s is below BackoffInitial %s", o.BackoffMax, o.BackoffInitial)
	}
	if o.Classify == nil {
		o.Classify = Classify
	}
	if o.OnError == nil {
		// Every error the sink reports carries its package's prefix.
		o.OnError = report.NewLimited("", nil).Report
	}
	return nil
}
