package backendsink

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/soliplex/fieldlog/diskqueue"
	"github.com/soliplex/fieldlog/internal/ownreq"
	"github.com/soliplex/fieldlog/internal/report"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/sink"
)

// Overflow is what Write does when the hand-over buffer is full.
type Overflow int

const (
	// OverflowWait waits for room up to Options.MaxWait, then drops the
	// record and counts it (buffer_full). A burst is throttled to the
	// pipeline's speed — a healthy disk frees room within milliseconds, so
	// nothing is lost — while a stalled disk costs the application one
	// wait: once a wait has timed out, Write drops at once until the
	// buffer has drained to half, so a stuck pipeline never freezes the
	// program for longer than MaxWait.
	OverflowWait Overflow = iota
	// OverflowDrop never waits: a full buffer drops and counts at once.
	OverflowDrop
	// OverflowBlock waits as long as it takes: nothing is dropped at the
	// hand-over, and a stalled disk stalls the program's log calls.
	OverflowBlock
)

// Defaults of Options.
const (
	DefaultMaxBatch       = 1000
	MaxMaxBatch           = 10000
	DefaultMaxBatchBytes  = 900 << 10
	DefaultFlushInterval  = 30 * time.Second
	DefaultMaxHold        = 5 * time.Minute
	DefaultMaxBreadcrumbs = 20
	DefaultBufferSize     = 8192
	DefaultBufferBytes    = 8 << 20
	DefaultMaxWait        = time.Second
	DefaultMaxInFlight    = 4
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
	// Client makes the uploads; default: a client with a 30 s timeout on
	// a transport of the sink's own. The sink uses a copy that never
	// follows redirects, so the token goes to the configured endpoint
	// only. Close closes the client's idle connections.
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

	// MaxBatch is the records per request: default 1000, at most 10,000.
	// (The original client sent 100; the contract's only server-side
	// limit is 1 MB per request, and larger batches let a service drain
	// its queue at disk speed.)
	MaxBatch      int
	MaxBatchBytes int           // encoded bytes per request; default and cap 900 KB
	FlushInterval time.Duration // longest a record waits before upload when fewer than a batch are queued; default 30 s
	// BufferSize and BufferBytes bound the records handed to Write but not
	// yet queued: default 8192 records and 8 MB (estimated from the
	// record's size). What happens when they are full is Overflow's to
	// say.
	BufferSize  int
	BufferBytes int64
	// MaxInFlight bounds the requests sent at once while every answer is a
	// confirmation; default 4. Any other answer stops them all: the
	// uploader waits for those in flight, then applies the reaction table
	// to the first failure, one request at a time. 1 sends one at a time.
	MaxInFlight int
	// Overflow says what Write does when the hand-over buffer is full;
	// default OverflowWait.
	Overflow Overflow
	// MaxWait bounds how long Write waits for room with OverflowWait;
	// default 1 s. See Overflow for why.
	MaxWait time.Duration

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
		o.Client = ownreq.NewClient(DefaultClientTimeout)
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	o.MaxBatch = min(o.MaxBatch, MaxMaxBatch)
	if o.MaxBatchBytes <= 0 || o.MaxBatchBytes > DefaultMaxBatchBytes {
		o.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.BufferSize <= 0 {
		o.BufferSize = DefaultBufferSize
	}
	if o.BufferBytes <= 0 {
		o.BufferBytes = DefaultBufferBytes
	}
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
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
