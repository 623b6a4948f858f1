package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math"
	"net/http"
	"os"
	"sync"
	"time"
)

// ServerOptions configures a Server. Exporter is required, and so is
// Verifier unless AllowAnonymous is set; every other zero field means the
// default in its comment. Negative numbers are errors unless a comment
// says otherwise.
type ServerOptions struct {
	Exporter       Exporter // where accepted entries go; required
	Verifier       Verifier // who may call; see BearerToken, AnyOf and the oidcauth module
	AllowAnonymous bool     // with no Verifier, accept every request
	PublicConfig   bool     // serve ConfigPath without the Verifier; default: it checks this endpoint too

	Mode         Mode  // Compat (the default) or Strict
	MaxBodyBytes int64 // per request, counted while reading, before and after gzip; default 1 MB
	MaxEntries   int   // entries per request; default DefaultMaxEntries

	// Limits against hostile or broken clients. The first four apply to
	// the connections of HTTPServer; the others to any server the
	// handler runs in.
	HeaderTimeout      time.Duration // to read a request's headers; default 10s
	IdleTimeout        time.Duration // a keep-alive connection may wait for its next request; default 60s
	MaxHeaderBytes     int           // request line and headers; default 32 KB
	MaxConnections     int           // open connections; past it the longest idle is closed, or the new one; default 1024
	BodyTimeout        time.Duration // to read a logs body, else 408; default 30s
	AttachmentTimeout  time.Duration // to read an attachment, else 408; default 2m
	MaxConcurrentReads int           // request bodies being read at once, else 503; default 128
	MaxDecodeBytes     int64         // body bytes being read and decoded at once, server-wide, else 503; default 64 MB

	RatePerSecond float64 // requests per second per install id and per session id; default 10
	RateBurst     int     // requests a quiet install or session may send at once; default 20

	// Requests per second per authenticated user (the Verifier's), across
	// all their installs; default 50, negative: no limit per user. A
	// shared token names no user and is not charged.
	UserRatePerSecond float64
	UserRateBurst     int // default 100

	ConfigFile string // JSON served at ConfigPath, re-read when it changes; default {"min_level":"info","modules":{}}

	FingerprintWindow time.Duration // alert window of error fingerprints; default 1h; Top looks back 24 windows
	AlertThreshold    int           // occurrences of one fingerprint within the window that call OnAlert; 0: no alerts
	OnAlert           func(Alert)   // called in the request's goroutine; must not block
	MaxFingerprints   int           // fingerprints counted at once; the longest unseen go first; default 10,000

	AttachmentsDir string // directory for POST and GET AttachmentsPath; empty: both answer 404

	// Sessions answers SessionsPath and SessionsPagePath; default: the
	// Exporter when it is a SessionFinder (a JSONLStore is), else those
	// endpoints answer 404.
	Sessions           SessionFinder
	MaxAttachmentBytes int64 // default 5 MB

	OnError func(error)      // the server's own trouble (exporter, config file); default: the standard logger
	Now     func() time.Time // default time.Now
}

// Defaults of ServerOptions.
const (
	defaultHeaderTimeout      = 10 * time.Second
	defaultIdleTimeout        = 60 * time.Second
	defaultMaxHeaderBytes     = 32 << 10
	defaultMaxConnections     = 1024
	defaultBodyTimeout        = 30 * time.Second
	defaultAttachmentTimeout  = 2 * time.Minute
	defaultMaxConcurrentReads = 128
	defaultMaxDecodeBytes     = 64 << 20
	defaultMaxFingerprints    = 10_000
	defaultMaxAttachmentBytes = 5 << 20
	// responseTimeout is how long a client may take to read an answer,
	// after the time allowed for its body.
	responseTimeout = 10 * time.Second
	// refuseDrain is how long the rest of a refused request's body is
	// read and dropped before its connection closes.
	refuseDrain = time.Second
)

// A Server is the reference ingest HTTP handler:
//
//	POST LogsPath         a Payload → 200 {"accepted": N}; 400, 401, 408, 413, 415, 422, 429, 503
//	GET  ConfigPath       the logging configuration, with ETag; 304 on If-None-Match
//	GET  ErrorsTopPath    ?window=1h&limit=50: the most frequent error fingerprints
//	POST AttachmentsPath  a diagnostic blob → 201 {"id": …, "bytes": N}; 408, 413 over the cap
//	GET  AttachmentsPath/{id}   a stored blob, as the timeline links it; 404 when unknown
//	GET  HealthPath       200 {"status": "ok"}
//	GET  SessionsPath     ?user=&install=&device=&fingerprint=&from=&to=&level=&q=&limit=: matching sessions
//	GET  SessionsPath/{id}      one session's timeline
//	GET  SessionsPagePath[/{id}] the same as HTML pages
//
// Every endpoint but the health check runs the Verifier first (401);
// the configuration too unless PublicConfig is set.
// Errors are JSON objects with a "detail" field; for 422 it is a list of
// Violations. A Server is safe for concurrent use.
type Server struct {
	opts   ServerOptions
	mux    *http.ServeMux
	rate   *limiter
	fps    *counts
	guard  *guard
	decode Decoder

	undecided reportLimiter // verifier failures reported

	confMu sync.Mutex
	conf   loggingConfig
}

var _ http.Handler = (*Server)(nil)

// NewServer validates opts, fills the defaults and returns a Server. It
// reads ConfigFile and creates AttachmentsDir, and fails if it cannot.
func NewServer(opts ServerOptions) (*Server, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	opts.fill()
	s := &Server{
		opts:   opts,
		mux:    http.NewServeMux(),
		rate:   newLimiter(opts),
		fps:    newCounts(opts.FingerprintWindow, opts.AlertThreshold, opts.MaxFingerprints, opts.OnAlert),
		guard:  &guard{maxReads: int64(opts.MaxConcurrentReads), maxBytes: opts.MaxDecodeBytes},
		decode: Decoder{Mode: opts.Mode, MaxBytes: opts.MaxBodyBytes, MaxEntries: opts.MaxEntries},
	}
	if _, err := s.config(); err != nil {
		return nil, fmt.Errorf("ingest: ServerOptions.ConfigFile: %w", err)
	}
	if opts.AttachmentsDir != "" {
		if err := os.MkdirAll(opts.AttachmentsDir, 0o700); err != nil {
			return nil, fmt.Errorf("ingest: ServerOptions.AttachmentsDir: %w", err)
		}
	}
	s.mux.HandleFunc("POST "+LogsPath, s.handleLogs)
	s.mux.HandleFunc("GET "+ConfigPath, s.handleConfig)
	s.mux.HandleFunc("GET "+ErrorsTopPath, s.handleTop)
	s.mux.HandleFunc("POST "+AttachmentsPath, s.handleAttachment)
	s.mux.HandleFunc(attachmentRoute, s.handleAttachmentDownload)
	if opts.Sessions == nil {
		s.opts.Sessions, _ = opts.Exporter.(SessionFinder)
	}
	s.mux.HandleFunc("GET "+SessionsPath, s.handleSessions)
	s.mux.HandleFunc("GET "+SessionsPath+"/{id}", s.handleTimeline)
	s.mux.HandleFunc("GET "+SessionsPagePath, s.handleSessionsPage)
	s.mux.HandleFunc("GET "+SessionsPagePath+"/{id}", s.handleTimelinePage)
	s.mux.HandleFunc("GET "+HealthPath, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return s, nil
}

func (o *ServerOptions) check() error {
	negative := func(name string, bad bool) error {
		if bad {
			return fmt.Errorf("ingest: ServerOptions.%s must not be negative", name)
		}
		return nil
	}
	switch {
	case o.Exporter == nil:
		return errors.New("ingest: ServerOptions.Exporter is required")
	case o.Verifier == nil && !o.AllowAnonymous:
		return errors.New("ingest: ServerOptions.Verifier is required unless AllowAnonymous is set")
	case o.Mode != Compat && o.Mode != Strict:
		return errors.New("ingest: ServerOptions.Mode must be Compat or Strict")
	case o.RatePerSecond < 0 || math.IsNaN(o.RatePerSecond) || math.IsInf(o.RatePerSecond, 0):
		return errors.New("ingest: ServerOptions.RatePerSecond must be a positive number")
	case math.IsNaN(o.UserRatePerSecond) || math.IsInf(o.UserRatePerSecond, 0):
		return errors.New("ingest: ServerOptions.UserRatePerSecond must be a number")
	}
	return errors.Join(
		negative("MaxBodyBytes", o.MaxBodyBytes < 0),
		negative("MaxEntries", o.MaxEntries < 0),
		negative("HeaderTimeout", o.HeaderTimeout < 0),
		negative("IdleTimeout", o.IdleTimeout < 0),
		negative("MaxHeaderBytes", o.MaxHeaderBytes < 0),
		negative("MaxConnections", o.MaxConnections < 0),
		negative("BodyTimeout", o.BodyTimeout < 0),
		negative("AttachmentTimeout", o.AttachmentTimeout < 0),
		negative("MaxConcurrentReads", o.MaxConcurrentReads < 0),
		negative("MaxDecodeBytes", o.MaxDecodeBytes < 0),
		negative("RateBurst", o.RateBurst < 0),
		negative("UserRateBurst", o.UserRateBurst < 0),
		negative("FingerprintWindow", o.FingerprintWindow < 0),
		negative("AlertThreshold", o.AlertThreshold < 0),
		negative("MaxFingerprints", o.MaxFingerprints < 0),
		negative("MaxAttachmentBytes", o.MaxAttachmentBytes < 0),
	)
}

func (o *ServerOptions) fill() {
	orDefault(&o.MaxBodyBytes, DefaultMaxBody)
	orDefault(&o.MaxEntries, DefaultMaxEntries)
	orDefault(&o.HeaderTimeout, defaultHeaderTimeout)
	orDefault(&o.IdleTimeout, defaultIdleTimeout)
	orDefault(&o.MaxHeaderBytes, defaultMaxHeaderBytes)
	orDefault(&o.MaxConnections, defaultMaxConnections)
	orDefault(&o.BodyTimeout, defaultBodyTimeout)
	orDefault(&o.AttachmentTimeout, defaultAttachmentTimeout)
	orDefault(&o.MaxConcurrentReads, defaultMaxConcurrentReads)
	orDefault(&o.MaxDecodeBytes, defaultMaxDecodeBytes)
	orDefault(&o.RatePerSecond, 10)
	orDefault(&o.RateBurst, 20)
	orDefault(&o.UserRatePerSecond, 50)
	orDefault(&o.UserRateBurst, 100)
	orDefault(&o.FingerprintWindow, time.Hour)
	orDefault(&o.MaxFingerprints, defaultMaxFingerprints)
	orDefault(&o.MaxAttachmentBytes, defaultMaxAttachmentBytes)
	// A body must fit the budget, or it could never be read.
	o.MaxDecodeBytes = max(o.MaxDecodeBytes, o.MaxBodyBytes)
	if o.OnError == nil {
		o.OnError = func(err error) { log.Print(err) }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

func orDefault[T int | int64 | float64 | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// HTTPServer returns an http.Server that serves s with the connection
// limits of its options: HeaderTimeout, IdleTimeout, MaxHeaderBytes and
// MaxConnections. Its own errors go to OnError. Start it with Serve on a
// listener, stop it with Shutdown, then Close s.
func (s *Server) HTTPServer() *http.Server {
	conns := &connLimiter{max: s.opts.MaxConnections, idle: map[connKey]time.Time{}}
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.opts.HeaderTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    s.opts.MaxHeaderBytes,
		ConnState:         conns.track,
		ErrorLog:          log.New(errorWriter(s.opts.OnError), "ingest: ", 0),
	}
}

// errorWriter passes each line the http.Server logs to OnError.
type errorWriter func(error)

func (f errorWriter) Write(p []byte) (int, error) {
	f(errors.New(string(trimNewline(p))))
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && p[len(p)-1] == '\n' {
		p = p[:len(p)-1]
	}
	return p
}

// ServeHTTP routes a request. A panic in a handler, which no input should
// cause, is reported to OnError and answered with 500. A client has
// responseTimeout to read an answer (endpoints that read a body add the
// time allowed for it).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(responseTimeout))
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.opts.OnError(fmt.Errorf("ingest: panic serving %s %s: %v", r.Method, r.URL.Path, p))
			writeDetail(w, http.StatusInternalServerError, "internal error")
		}
	}()
	s.mux.ServeHTTP(w, r)
}

// Close closes the exporter.
func (s *Server) Close(ctx context.Context) error { return s.opts.Exporter.Close(ctx) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeDetail(w http.ResponseWriter, status int, detail string) {
	writeJSON(w, status, map[string]string{"detail": detail})
}

// refuse answers without using the body and closes the connection. What
// the client sends meanwhile is drained for at most refuseDrain, so that a
// client that sends its whole body before reading reads the answer rather
// than a reset, and a client sending slowly cannot hold the connection.
func refuse(w http.ResponseWriter, status int, detail string) {
	refuseJSON(w, status, map[string]string{"detail": detail})
}

// timeout answers a request whose body did not arrive in time: its read
// deadline has passed, so the connection closes at once.
func timeout(w http.ResponseWriter, detail string) {
	w.Header().Set("Connection", "close")
	writeDetail(w, http.StatusRequestTimeout, detail)
}

func refuseJSON(w http.ResponseWriter, status int, v any) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(refuseDrain))
	w.Header().Set("Connection", "close")
	writeJSON(w, status, v)
}
