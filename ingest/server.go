package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ServerOptions configures a Server. Exporter is required, and so is
// Verifier unless AllowAnonymous is set; every other zero field means the
// default in its comment. Negative numbers are errors.
type ServerOptions struct {
	Exporter       Exporter                    // where accepted entries go; required
	Verifier       func(r *http.Request) error // nil error: the request may proceed; see BearerToken
	AllowAnonymous bool                        // with no Verifier, accept every request

	MaxBodyBytes int64 // per request, counted while reading, before and after gzip; default 1 MB

	RatePerSecond float64 // requests per second per install id and per session id; default 10
	RateBurst     int     // requests a quiet install or session may send at once; default 20

	ConfigFile string // JSON served at ConfigPath, re-read when it changes; default {"min_level":"info","modules":{}}

	FingerprintWindow time.Duration // alert window of error fingerprints; default 1h; Top looks back 24 windows
	AlertThreshold    int           // occurrences of one fingerprint within the window that call OnAlert; 0: no alerts
	OnAlert           func(Alert)   // called in the request's goroutine; must not block

	AttachmentsDir     string // directory for POST AttachmentsPath; empty: the endpoint answers 404
	MaxAttachmentBytes int64  // default 5 MB

	OnError func(error)      // the server's own trouble (exporter, config file); default: the standard logger
	Now     func() time.Time // default time.Now
}

// A Server is the reference ingest HTTP handler:
//
//	POST LogsPath         a Payload → 200 {"accepted": N}; 400, 401, 413, 415, 422, 429, 503
//	GET  ConfigPath       the logging configuration, with ETag; 304 on If-None-Match
//	GET  ErrorsTopPath    ?window=1h&limit=50: the most frequent error fingerprints
//	POST AttachmentsPath  a diagnostic blob → 201 {"id": …, "bytes": N}; 413 over the cap
//	GET  HealthPath       200 {"status": "ok"}
//
// Every endpoint but the health check runs the Verifier first (401).
// Errors are JSON objects with a "detail" field; for 422 it is the list of
// Violations. A Server is safe for concurrent use.
type Server struct {
	opts ServerOptions
	mux  *http.ServeMux
	rate *limiter
	fps  *counts

	confMu sync.Mutex
	conf   loggingConfig
}

var _ http.Handler = (*Server)(nil)

// NewServer validates opts, fills the defaults and returns a Server. It
// reads ConfigFile and creates AttachmentsDir, and fails if it cannot.
func NewServer(opts ServerOptions) (*Server, error) {
	switch {
	case opts.Exporter == nil:
		return nil, errors.New("ingest: ServerOptions.Exporter is required")
	case opts.Verifier == nil && !opts.AllowAnonymous:
		return nil, errors.New("ingest: ServerOptions.Verifier is required unless AllowAnonymous is set")
	case opts.MaxBodyBytes < 0:
		return nil, errors.New("ingest: ServerOptions.MaxBodyBytes must not be negative")
	case opts.RatePerSecond < 0 || math.IsNaN(opts.RatePerSecond) || math.IsInf(opts.RatePerSecond, 0):
		return nil, errors.New("ingest: ServerOptions.RatePerSecond must be a positive number")
	case opts.RateBurst < 0:
		return nil, errors.New("ingest: ServerOptions.RateBurst must not be negative")
	case opts.FingerprintWindow < 0:
		return nil, errors.New("ingest: ServerOptions.FingerprintWindow must not be negative")
	case opts.AlertThreshold < 0:
		return nil, errors.New("ingest: ServerOptions.AlertThreshold must not be negative")
	case opts.MaxAttachmentBytes < 0:
		return nil, errors.New("ingest: ServerOptions.MaxAttachmentBytes must not be negative")
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = DefaultMaxBody
	}
	if opts.RatePerSecond == 0 {
		opts.RatePerSecond = 10
	}
	if opts.RateBurst == 0 {
		opts.RateBurst = 20
	}
	if opts.FingerprintWindow == 0 {
		opts.FingerprintWindow = time.Hour
	}
	if opts.MaxAttachmentBytes == 0 {
		opts.MaxAttachmentBytes = 5 << 20
	}
	if opts.OnError == nil {
		opts.OnError = func(err error) { log.Print(err) }
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts: opts,
		mux:  http.NewServeMux(),
		rate: &limiter{rate: opts.RatePerSecond, burst: float64(opts.RateBurst), buckets: map[string]*tokenBucket{}},
		fps:  newCounts(opts.FingerprintWindow, opts.AlertThreshold, opts.OnAlert),
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
	s.mux.HandleFunc("GET "+HealthPath, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return s, nil
}

// ServeHTTP routes a request. A panic in a handler, which no input should
// cause, is reported to OnError and answered with 500.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.opts.OnError(fmt.Errorf("ingest: panic serving %s %s: %v", r.Method, r.URL.Path, p))
			writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": "internal error"})
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

func (s *Server) verify(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.Verifier == nil { // AllowAnonymous
		return true
	}
	if err := s.opts.Verifier(r); err != nil {
		writeDetail(w, http.StatusUnauthorized, "unauthorized")
		return false
	}
	return true
}

// ErrUnauthorized is returned by the verifier of BearerToken for a
// missing or wrong token.
var ErrUnauthorized = errors.New("ingest: missing or wrong bearer token")

// BearerToken returns a Verifier that accepts "Authorization: Bearer
// <token>" for exactly this token, comparing in constant time.
func BearerToken(token string) func(*http.Request) error {
	want := sha256.Sum256([]byte(token))
	return func(r *http.Request) error {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			return ErrUnauthorized
		}
		return nil
	}
}

func (s *Server) handleLogs(w http.ResponseWriter, r *http.Request) {
	if !s.verify(w, r) {
		return
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			s.badBody(w, fmt.Errorf("gzip: %w", err))
			return
		}
		defer zr.Close()
		body = zr
	default:
		writeDetail(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Encoding %q is not supported; send identity or gzip", enc))
		return
	}
	p, err := Decode(body, s.opts.MaxBodyBytes) // the limit again, for what gzip inflates
	if err != nil {
		s.badBody(w, err)
		return
	}
	now := s.opts.Now()
	if wait := s.rate.take(now, p.Logs); wait > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(wait.Seconds())), 10))
		writeDetail(w, http.StatusTooManyRequests, "rate limited")
		return
	}
	stamp := now.UTC().Format(timestampLayout)
	stored := make([]StoredEntry, len(p.Logs))
	for i := range p.Logs {
		e := &p.Logs[i]
		if e.Attributes == nil {
			e.Attributes = make(map[string]any, 2)
		}
		e.Attributes[ReceivedAtKey] = stamp
		if e.Level == "error" || e.Level == "fatal" {
			errText, stack := e.Message, ""
			if e.Error != nil && *e.Error != "" {
				errText = *e.Error
			}
			if e.StackTrace != nil {
				stack = *e.StackTrace
			}
			fp := Fingerprint(errText, stack)
			e.Attributes[FingerprintKey] = fp
			s.fps.add(now, fp, e.Message, errText)
		}
		stored[i] = StoredEntry{Entry: *e, Resource: p.Resource}
	}
	if err := s.opts.Exporter.Export(r.Context(), stored); err != nil {
		s.opts.OnError(fmt.Errorf("ingest: export %d entries: %w", len(stored), err))
		w.Header().Set("Retry-After", "5")
		writeDetail(w, http.StatusServiceUnavailable, "storage unavailable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"accepted": len(stored)})
}

// timestampLayout is the contract's timestamp with milliseconds.
const timestampLayout = "2006-01-02T15:04:05.000Z"

// badBody answers a body that could not be decoded.
func (s *Server) badBody(w http.ResponseWriter, err error) {
	var mbe *http.MaxBytesError
	var verr *ValidationError
	switch {
	case errors.Is(err, ErrTooLarge) || errors.As(err, &mbe):
		writeDetail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", s.opts.MaxBodyBytes))
	case errors.As(err, &verr):
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": verr.Violations})
	case errors.Is(err, ErrMalformed):
		writeDetail(w, http.StatusBadRequest, err.Error())
	default: // gzip or transport trouble while reading
		writeDetail(w, http.StatusBadRequest, "unreadable body: "+err.Error())
	}
}

// limiter is a token bucket per install id and per session id.
type limiter struct {
	rate, burst float64

	mu        sync.Mutex
	buckets   map[string]*tokenBucket
	lastPrune time.Time
}

type tokenBucket struct {
	tokens float64
	last   time.Time
}

// take charges one request to the install and the session of every entry
// in the batch and returns zero, or, charging nothing, how long to wait
// until every one of those buckets has a token.
func (l *limiter) take(now time.Time, logs []Entry) time.Duration {
	keys := make([]string, 0, 2)
	for i := range logs {
		if i > 0 && logs[i].InstallID == logs[i-1].InstallID && logs[i].SessionID == logs[i-1].SessionID {
			continue // batches usually come from one session
		}
		keys = appendNew(appendNew(keys, "i:"+logs[i].InstallID), "s:"+logs[i].SessionID)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		b := l.buckets[k]
		if b == nil {
			b = &tokenBucket{tokens: l.burst, last: now}
			l.buckets[k] = b
		}
		if now.After(b.last) {
			b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
			b.last = now
		}
		if b.tokens < 1 {
			wait = max(wait, time.Duration((1-b.tokens)/l.rate*float64(time.Second)))
		}
	}
	if wait > 0 {
		return wait
	}
	for _, k := range keys {
		l.buckets[k].tokens--
	}
	if now.Sub(l.lastPrune) > time.Minute { // forget buckets that have refilled
		l.lastPrune = now
		full := time.Duration(l.burst / l.rate * float64(time.Second))
		for k, b := range l.buckets {
			if now.Sub(b.last) > full {
				delete(l.buckets, k)
			}
		}
	}
	return 0
}

func appendNew(keys []string, k string) []string {
	for _, have := range keys {
		if have == k {
			return keys
		}
	}
	return append(keys, k)
}

// Top returns the error fingerprints seen within window before now, most
// frequent first, at most limit of them (limit ≤ 0: all).
func (s *Server) Top(window time.Duration, limit int) []TopError {
	return s.fps.top(s.opts.Now(), window, limit)
}

func (s *Server) handleTop(w http.ResponseWriter, r *http.Request) {
	if !s.verify(w, r) {
		return
	}
	q := r.URL.Query()
	window := time.Hour
	if v := q.Get("window"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > s.fps.retention() {
			writeDetail(w, http.StatusBadRequest, fmt.Sprintf("window must be a duration such as 1h, at most %s", s.fps.retention()))
			return
		}
		window = d
	}
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeDetail(w, http.StatusBadRequest, "limit must be a number from 1 to 1000")
			return
		}
		limit = n
	}
	top := s.Top(window, limit)
	if top == nil {
		top = []TopError{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"window": window.String(), "errors": top})
}

// The logging configuration served when there is no ConfigFile.
const defaultConfig = `{"min_level":"info","modules":{}}`

type loggingConfig struct {
	raw  []byte // the file as read
	body []byte // what is served
	etag string
}

// config returns the current configuration, reading the file every time
// (it is small) and parsing it again only when its bytes changed. A file
// that turns bad while running is reported and the last good one served.
func (s *Server) config() (loggingConfig, error) {
	s.confMu.Lock()
	defer s.confMu.Unlock()
	if s.opts.ConfigFile == "" {
		if s.conf.body == nil {
			s.conf = loggingConfig{body: []byte(defaultConfig), etag: etag([]byte(defaultConfig))}
		}
		return s.conf, nil
	}
	raw, err := os.ReadFile(s.opts.ConfigFile)
	if err == nil && s.conf.body != nil && bytes.Equal(raw, s.conf.raw) {
		return s.conf, nil
	}
	var body []byte
	if err == nil {
		body, err = parseConfig(raw)
	}
	if err != nil {
		if s.conf.body != nil {
			s.opts.OnError(fmt.Errorf("ingest: config %s: %w; serving the last good one", s.opts.ConfigFile, err))
			return s.conf, nil
		}
		return loggingConfig{}, err
	}
	s.conf = loggingConfig{raw: raw, body: body, etag: etag(body)}
	return s.conf, nil
}

// parseConfig checks a configuration file and returns its canonical form.
func parseConfig(raw []byte) ([]byte, error) {
	var c struct {
		MinLevel string            `json:"min_level"`
		Modules  map[string]string `json:"modules"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("bad JSON: %w", err)
	}
	if _, ok := ParseLevel(c.MinLevel); !ok {
		return nil, fmt.Errorf("min_level must be one of %s, got %q", strings.Join(Levels, ", "), c.MinLevel)
	}
	for name, lvl := range c.Modules {
		if _, ok := ParseLevel(lvl); !ok {
			return nil, fmt.Errorf("modules.%s must be one of %s, got %q", name, strings.Join(Levels, ", "), lvl)
		}
	}
	if c.Modules == nil {
		c.Modules = map[string]string{}
	}
	return json.Marshal(c)
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

// etagMatch reports whether an If-None-Match header names tag.
func etagMatch(header, tag string) bool {
	for c := range strings.SplitSeq(header, ",") {
		c = strings.TrimPrefix(strings.TrimSpace(c), "W/")
		if c == tag || c == "*" {
			return true
		}
	}
	return false
}

func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request) {
	if !s.verify(w, r) {
		return
	}
	c, err := s.config()
	if err != nil {
		s.opts.OnError(fmt.Errorf("ingest: config %s: %w", s.opts.ConfigFile, err))
		writeDetail(w, http.StatusInternalServerError, "configuration unavailable")
		return
	}
	w.Header().Set("ETag", c.etag)
	w.Header().Set("Cache-Control", "no-cache")
	if etagMatch(r.Header.Get("If-None-Match"), c.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(c.body)
}

func (s *Server) handleAttachment(w http.ResponseWriter, r *http.Request) {
	if !s.verify(w, r) {
		return
	}
	if s.opts.AttachmentsDir == "" {
		writeDetail(w, http.StatusNotFound, "attachments are not enabled")
		return
	}
	var idb [16]byte
	_, _ = rand.Read(idb[:]) // never fails
	id := hex.EncodeToString(idb[:])
	path := filepath.Join(s.opts.AttachmentsDir, id)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		s.opts.OnError(fmt.Errorf("ingest: attachment: %w", err))
		writeDetail(w, http.StatusServiceUnavailable, "storage unavailable")
		return
	}
	n, err := io.Copy(f, http.MaxBytesReader(w, r.Body, s.opts.MaxAttachmentBytes))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeDetail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("attachment larger than %d bytes", s.opts.MaxAttachmentBytes))
			return
		}
		writeDetail(w, http.StatusBadRequest, "upload failed")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "bytes": n})
}
