package backendsink

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
)

// Defaults of Options.
const (
	DefaultMaxBatch         = 100
	DefaultMaxBatchBytes    = 900 << 10
	DefaultFlushInterval    = 30 * time.Second
	DefaultMaxHold          = 5 * time.Minute
	DefaultMaxBreadcrumbs   = 20
	DefaultBufferSize       = 4096
	DefaultBackoffInitial   = time.Second
	DefaultBackoffMax       = 60 * time.Second
	DefaultClientTimeout    = 30 * time.Second
	poisonAttempts          = 3
	maxRetryAfter           = 10 * time.Minute
	maxResponseBodyReported = 512
)

// A BreadcrumbSource returns at most n records that came before r, oldest
// first; *breadcrumbs.Buffer is one.
type BreadcrumbSource interface {
	Before(r logrecord.Record, n int) []logrecord.Record
}

// Options configures a Sink. Endpoint and one of Queue or Dir are
// required; every other zero field means the default in its comment.
// The sink stringifies Resource values; its own failures never re-enter
// the logging pipeline: they go to OnError and Stats.
type Options struct {
	Endpoint string       // ingest URL, such as https://logs.example.internal/api/v1/logs; required
	Client   *http.Client // default: a client with a 30 s timeout

	InstallID string           // identifies the installation; required on the wire, may be empty
	SessionID string           // identifies this run of the program
	UserID    string           // initial user id; change it with SetUserID
	Resource  map[string]any   // resource attributes, stringified on the wire (service.name, …)
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
	// OnError receives the sink's own failures; default: stderr,
	// rate-limited. It must not log through the sink's Manager.
	OnError func(error)

	BackoffInitial time.Duration // first retry delay; default 1 s
	BackoffMax     time.Duration // longest retry delay; default 60 s
	Gzip           bool          // compress request bodies; off by default

	// Classify maps an answer to an action; default Classify.
	Classify func(statusCode int, err error) Action
}

var errQueueOption = errors.New("backendsink: set exactly one of Options.Queue and Options.Dir")

func (o *Options) fill() error {
	if o.Endpoint == "" {
		return errors.New("backendsink: Options.Endpoint is required")
	}
	if u, err := url.Parse(o.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("backendsink: Options.Endpoint %q is not an http(s) URL", o.Endpoint)
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
	return nil
}
