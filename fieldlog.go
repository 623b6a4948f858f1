package fieldlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/soliplex/fieldlog/backendsink"
	"github.com/soliplex/fieldlog/breadcrumbs"
	"github.com/soliplex/fieldlog/crash"
	"github.com/soliplex/fieldlog/internal/report"
	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/remotelevel"
	"github.com/soliplex/fieldlog/rum"
	"github.com/soliplex/fieldlog/sanitizer"
	"github.com/soliplex/fieldlog/sink"
)

// EndpointEnv names the environment variable that supplies the ingest URL
// when Options.Endpoint is empty.
const EndpointEnv = "FIELDLOG_ENDPOINT"

// pinnedEndpoint, when set at build time with
//
//	go build -ldflags "-X github.com/soliplex/fieldlog.pinnedEndpoint=https://logs.example.internal/api/v1/logs"
//
// is the only ingest URL the program ships to: Options.Endpoint and the
// environment cannot redirect its logs elsewhere.
var pinnedEndpoint string

// DefaultQueueMaxBytes is the one-call setup's queue cap: a service's disk
// holds an outage of several hours of a busy service. (The diskqueue
// package's own default, 10 MB, is sized for field devices.)
const DefaultQueueMaxBytes = 256 << 20

// Options configures New. The zero value is a working, safe setup: every
// field's default is in its comment.
type Options struct {
	// Service is service.name in every record's resource; default: the
	// program's name.
	Service string
	// Version is service.version; default: the main module's version
	// from the build information.
	Version string
	// Endpoint is the ingest URL (…/api/v1/logs). Default: the
	// FIELDLOG_ENDPOINT environment variable; with neither, records stay
	// in the process (console and breadcrumbs) and nothing is shipped.
	Endpoint string
	// Token, when set, is sent as the bearer token; TokenProvider, when
	// set, is asked for it before each upload instead.
	Token         string
	TokenProvider func(ctx context.Context) (string, error)
	// Dir keeps the queue and the install id; default:
	// os.UserCacheDir()/fieldlog/<Service> (os.TempDir() where there is no
	// cache directory).
	Dir string
	// QueueMaxBytes caps the records waiting on disk; default
	// DefaultQueueMaxBytes (256 MB).
	QueueMaxBytes int64
	// Level is the minimum level exported; default info.
	Level logrecord.Level
	// Console also writes every record to this writer, in text. Default:
	// os.Stderr when nothing is shipped, nothing otherwise. Use io.Discard
	// to silence it.
	Console io.Writer
	// DisableRedaction switches PII redaction off. It is on by default:
	// sensitive keys and values never leave the process.
	DisableRedaction bool
	// Redaction configures the sanitizer when redaction is on; nil means
	// sanitizer.Default().
	Redaction *sanitizer.Options
	// SetDefault makes the client's slog.Logger the default one
	// (slog.SetDefault), so that slog.Info and friends go through it.
	SetDefault bool
	// HandleSignals closes the client (deliver or persist everything) on
	// SIGINT or SIGTERM, then exits with status 128+signal — for programs
	// that have no signal handling of their own.
	HandleSignals bool
	// IncludeHostName adds host.name to the resource. Off by default: a
	// host name can identify a person's machine.
	IncludeHostName bool
	// Resource adds attributes to every record's resource.
	Resource map[string]string
	// UserID is the initial user id of records that carry none of their
	// own (see WithUser).
	UserID string
	// OnError receives the SDK's own failures; default: stderr,
	// rate-limited.
	OnError func(error)
	// RecentRecords is how many sanitized records the status handler
	// shows; default 50.
	RecentRecords int
	// RUM, when set, switches on real-user measurements (package rum):
	// cold start, HTTP timing through Client.RUM().Middleware and
	// .Transport, and the runtime stall sampler. Off by default.
	RUM *rum.Options
	// RemoteLevel, when set and records are shipped, makes the levels
	// follow the ingest server's logging configuration (package
	// remotelevel): an operator turns the detail up from the backend,
	// without a restart. Endpoint and TokenProvider default to the sink's,
	// OnError to Options.OnError. Off by default (a backend without a
	// config endpoint would answer 404).
	RemoteLevel *remotelevel.Options
	// Diagnostics, when set and records are shipped, uploads a goroutine
	// dump (and, if asked, a heap profile) with error and fatal records to
	// the ingest server's attachment endpoint, at most one a minute by
	// default, and puts its id in the record (package crash). Off by
	// default.
	Diagnostics *crash.DiagnosticsOptions
}

// A Client owns a service's whole logging pipeline: the Manager, the
// sanitizer, the breadcrumbs, the disk queue and the backend sink. Its
// methods are safe for concurrent use. Close it once, at exit.
type Client struct {
	opts      Options
	manager   *sink.Manager
	crumbs    *breadcrumbs.Buffer
	backend   *backendsink.Sink // nil when nothing is shipped
	recent    *sink.Memory
	installID string
	sessionID string
	alias     string
	resource  map[string]any
	endpoint  string
	stopSig   func()
	closeOnce sync.Once
	closeErr  error
	export    bool
	exportMu  sync.Mutex
	rum       *rum.Monitor        // nil when off; a nil Monitor measures nothing
	remote    *remotelevel.Client // nil when off
	crash     *crash.Guard
	shipping  sink.Sink // the sink SetExport switches: the backend, behind diagnostics
}

// New builds and starts the pipeline. With no endpoint it gives a
// local-only logger (console, breadcrumbs, redaction), so programs and
// tests run without a server.
func New(opts Options) (*Client, error) {
	o := opts
	if o.Service == "" {
		o.Service = serviceName()
	}
	if o.Version == "" {
		o.Version = serviceVersion()
	}
	if o.OnError == nil {
		o.OnError = report.NewLimited("fieldlog: ", nil).Report
	}
	if o.RecentRecords <= 0 {
		o.RecentRecords = 50
	}
	if o.QueueMaxBytes <= 0 {
		o.QueueMaxBytes = DefaultQueueMaxBytes
	}
	endpoint := o.Endpoint
	if endpoint == "" {
		endpoint = os.Getenv(EndpointEnv)
	}
	if pinnedEndpoint != "" {
		endpoint = pinnedEndpoint
	}
	if o.Dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		o.Dir = filepath.Join(base, "fieldlog", o.Service)
	}
	installID, err := loadInstallID(o.Dir)
	if err != nil {
		return nil, err
	}
	c := &Client{
		opts:      o,
		crumbs:    breadcrumbs.New(nil),
		recent:    sink.NewMemory(o.RecentRecords),
		installID: installID,
		sessionID: uuid.NewString(),
		alias:     DeviceAlias(installID),
		endpoint:  endpoint,
		export:    endpoint != "",
	}
	c.resource = buildResource(&o, c.alias)

	var san sink.Sanitizer = sink.SanitizerFunc(func(r logrecord.Record) logrecord.Record { return r })
	if !o.DisableRedaction {
		s := sanitizer.Default()
		if o.Redaction != nil {
			if s, err = sanitizer.New(*o.Redaction); err != nil {
				return nil, fmt.Errorf("fieldlog: Options.Redaction: %w", err)
			}
		}
		san = s
	}

	sinks := []sink.Sink{c.crumbs, c.recent} // breadcrumbs first: they see each record before it is shipped
	tokens := o.TokenProvider
	if tokens == nil && o.Token != "" {
		tok := o.Token
		tokens = func(context.Context) (string, error) { return tok, nil }
	}
	queueDir := filepath.Join(o.Dir, "queue")
	var bopts *backendsink.Options
	if endpoint != "" {
		bopts = &backendsink.Options{
			Endpoint:      endpoint,
			Dir:           queueDir,
			QueueMaxBytes: o.QueueMaxBytes,
			InstallID:     installID,
			SessionID:     c.sessionID,
			UserID:        o.UserID,
			Resource:      c.resource,
			TokenProvider: tokens,
			OnError:       o.OnError,
		}
	}
	// Before the backend opens the queue: earlier sessions' crashes go into it.
	c.crash, err = crash.Install(crash.Options{
		Dir: queueDir, SessionID: c.sessionID, Version: o.Version,
		Breadcrumbs: c.crumbs, Backend: bopts, Sanitizer: san,
		Diagnostics: o.Diagnostics, OnError: o.OnError,
	})
	if err != nil {
		return nil, fmt.Errorf("fieldlog: %w", err)
	}
	if bopts != nil {
		bopts.Breadcrumbs = c.crash.Breadcrumbs()
		if c.backend, err = backendsink.New(*bopts); err != nil {
			_ = c.crash.Close(context.Background())
			return nil, err
		}
		c.shipping = c.crash.Diagnostics(c.backend)
		sinks = append(sinks, c.shipping)
	}
	console := o.Console
	if console == nil && endpoint == "" {
		console = os.Stderr
	}
	if console != nil && console != io.Discard {
		sinks = append(sinks, sink.NewConsole(console, nil))
	}
	mopts := []sink.Option{sink.WithOnError(o.OnError)}
	if o.Level != 0 {
		mopts = append(mopts, sink.WithLevel(o.Level))
	}
	if !o.DisableRedaction {
		mopts = append(mopts, sink.WithSanitizer(san))
	}
	c.manager = sink.NewManager(sinks, mopts...)
	c.crash.Start(c.manager)
	if o.SetDefault {
		slog.SetDefault(c.Slog())
	}
	c.logSessionStart()
	if o.RUM != nil {
		if c.rum, err = rum.New(c.manager.Logger("rum"), *o.RUM); err != nil {
			_ = c.Close(context.Background())
			return nil, fmt.Errorf("fieldlog: Options.RUM: %w", err)
		}
		c.rum.StartSampler()
	}
	if o.RemoteLevel != nil && endpoint != "" {
		ro := *o.RemoteLevel
		ro.Endpoint = endpoint
		if pinnedEndpoint != "" {
			ro.URL = "" // the levels come from where the logs go
		}
		if ro.TokenProvider == nil {
			ro.TokenProvider = tokens
		}
		if ro.OnError == nil {
			ro.OnError = o.OnError
		}
		if c.remote, err = remotelevel.New(c.manager, ro); err != nil {
			_ = c.Close(context.Background())
			return nil, fmt.Errorf("fieldlog: Options.RemoteLevel: %w", err)
		}
	}
	if o.HandleSignals {
		c.handleSignals()
	}
	return c, nil
}

// logSessionStart writes the first record of every session: support's
// anchor when reading one.
func (c *Client) logSessionStart() {
	c.manager.Logger("fieldlog").Info("session started",
		"service.name", c.opts.Service, "service.version", c.opts.Version,
		"os.name", runtime.GOOS, "os.version", osVersion(), "host.arch", runtime.GOARCH,
		"go.version", runtime.Version(), "process.pid", os.Getpid(),
		"device.alias", c.alias, "install_id", c.installID, "session_id", c.sessionID,
		"export", c.endpoint != "")
}

func (c *Client) handleSignals() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	c.stopSig = func() { signal.Stop(ch); close(done) }
	go func() {
		select {
		case sig := <-ch:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = c.Close(ctx)
			cancel()
			fmt.Fprintf(os.Stderr, "fieldlog: %v: logs delivered or kept on disk; exiting\n", sig)
			code := 1
			if s, ok := sig.(syscall.Signal); ok {
				code = 128 + int(s)
			}
			os.Exit(code)
		case <-done:
		}
	}()
}

// Logger returns the fieldlog facade for the named logger (dotted names
// form a hierarchy for levels: "Http.Client" follows "Http").
func (c *Client) Logger(name string) *sink.Logger { return c.manager.Logger(name) }

// Handler returns a slog.Handler whose records go through the pipeline,
// logged under the name "app".
func (c *Client) Handler() slog.Handler { return c.manager.Handler("app") }

// Slog returns a slog.Logger on Handler.
func (c *Client) Slog() *slog.Logger { return slog.New(c.Handler()) }

// RUM returns the real-user measurements, or nil when Options.RUM is not
// set; a nil Monitor is safe to use and measures nothing, so
// client.RUM().Middleware(mux) works either way.
func (c *Client) RUM() *rum.Monitor { return c.rum }

// Crash returns the crash guard: defer client.Crash().Recover() in a
// goroutine, client.Crash().Go(f), client.Crash().Middleware(mux) (inside
// RUM's middleware). A panic it sees is a fatal record on disk before the
// panic goes on; crashes it cannot see are reported by the next start.
func (c *Client) Crash() *crash.Guard { return c.crash }

// Manager returns the Manager, for levels per logger and per sink.
func (c *Client) Manager() *sink.Manager { return c.manager }

// SetUser sets the process-wide user id of records that carry none of
// their own; "" clears it.
func (c *Client) SetUser(id string) {
	if c.backend != nil {
		c.backend.SetUserID(id)
	}
}

// InstallID, SessionID and DeviceAlias return this process's identity.
func (c *Client) InstallID() string   { return c.installID }
func (c *Client) SessionID() string   { return c.sessionID }
func (c *Client) DeviceAlias() string { return c.alias }

// SetExport switches shipping off and on at run time, like the Telemetry
// switch of an app: while off, records are neither queued nor shipped
// (they still reach the console and the breadcrumbs). It reports whether
// the client ships at all.
func (c *Client) SetExport(on bool) bool {
	if c.backend == nil {
		return false
	}
	c.exportMu.Lock()
	defer c.exportMu.Unlock()
	c.export = on
	level := logrecord.LevelTrace
	if !on {
		level = exportOff
	}
	c.manager.SetSinkLevel(c.shipping, level)
	return true
}

// exportOff is a sink level no record reaches.
const exportOff = logrecord.LevelFatal + 100

// Exporting reports whether records are being shipped.
func (c *Client) Exporting() bool {
	c.exportMu.Lock()
	defer c.exportMu.Unlock()
	return c.backend != nil && c.export
}

// Stats is the connection status; zero when nothing is shipped.
func (c *Client) Stats() backendsink.Stats {
	if c.backend == nil {
		return backendsink.Stats{}
	}
	return c.backend.Stats()
}

// Flush ships what is queued, by ctx's deadline.
func (c *Client) Flush(ctx context.Context) error { return c.manager.Flush(ctx) }

// CloseTimeout bounds Close when its context has no deadline.
const CloseTimeout = 10 * time.Second

// Close delivers what it can by ctx's deadline (CloseTimeout when ctx has
// none) and keeps the rest on disk for the next run. Call it once, at exit
// (defer it in main); later calls return the first call's result.
func (c *Client) Close(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, CloseTimeout)
		defer cancel()
	}
	c.closeOnce.Do(func() {
		if c.stopSig != nil {
			c.stopSig()
		}
		var rumErr, remoteErr error
		if c.rum != nil {
			rumErr = c.rum.Close(ctx) // its last summaries are shipped below
		}
		if c.remote != nil {
			remoteErr = c.remote.Close(ctx)
		}
		c.closeErr = errors.Join(rumErr, remoteErr, c.manager.Close(ctx))
		c.closeErr = errors.Join(c.closeErr, c.crash.Close(ctx)) // last: the session ended cleanly
		if errors.Is(c.closeErr, context.DeadlineExceeded) {
			c.opts.OnError(fmt.Errorf("fieldlog: close: %w; undelivered records stay on disk in %s", c.closeErr, c.opts.Dir))
		}
	})
	return c.closeErr
}
