package ingest

import (
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"
)

// ServerOptions configures a Server. Exporter is required, and so is
// Verifier unless AllowAnonymous is set; every other zero field means the
// default in its comment.
type ServerOptions struct {
	Exporter       Exporter
	Verifier       func(r *http.Request) error // nil error: the request may post
	AllowAnonymous bool                        // accept requests without verification

	MaxBodyBytes int64 // default 1 MB, counted after gzip decoding as well as before

	RatePerSecond float64 // requests per second per install and per session; default 10
	RateBurst     int     // default 20

	ConfigFile string // JSON served at ConfigPath, read again when it changes; default {"min_level":"info","modules":{}}

	FingerprintWindow time.Duration // counting window of error fingerprints; default 1 h
	AlertThreshold    int           // count in a window that calls OnAlert; 0 disables
	OnAlert           func(Alert)

	AttachmentsDir     string // where attachments go; empty disables the endpoint
	MaxAttachmentBytes int64  // default 5 MB

	Now func() time.Time // default time.Now
}

// An Alert says that one fingerprint crossed the threshold in a window.
type Alert struct {
	Fingerprint string
	Count       int
	Window      time.Duration
	Sample      string
}

// A Server is the reference ingest HTTP handler.
type Server struct {
	opts  ServerOptions
	mux   *http.ServeMux
	rate  *limiter
	fps   *fingerprints
	confM sync.Mutex
	conf  cachedConfig
}

var _ http.Handler = (*Server)(nil)

// NewServer validates opts and returns a Server.
func NewServer(opts ServerOptions) (*Server, error) {
	if opts.Exporter == nil {
		return nil, errors.New("ingest: ServerOptions.Exporter is required")
	}
	if opts.Verifier == nil && !opts.AllowAnonymous {
		return nil, errors.New("ingest: ServerOptions.Verifier is required unless AllowAnonymous is set")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBody
	}
	if opts.RatePerSecond <= 0 {
		opts.RatePerSecond = 10
	}
	if opts.RateBurst <= 0 {
		opts.RateBurst = 20
	}
	if opts.FingerprintWindow <= 0 {
		opts.FingerprintWindow = time.Hour
	}
	if opts.MaxAttachmentBytes <= 0 {
		opts.MaxAttachmentBytes = 5 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts: opts,
		mux:  http.NewServeMux(),
		rate: &limiter{rate: opts.RatePerSecond, burst: float64(opts.RateBurst), buckets: map[string]*bucket{}},
		fps:  &fingerprints{window: opts.FingerprintWindow, threshold: opts.AlertThreshold, onAlert: opts.OnAlert, counts: map[string]*fpCount{}},
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

// ServeHTTP routes a request. A panic in a handler becomes a 500.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": "internal error"})
		}
	}()
	s.mux.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.AllowAnonymous && s.opts.Verifier == nil {
		return true
	}
	if err := s.opts.Verifier(r); err != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": "unauthorized"})
		return false
	}
	return true
}

// BearerToken returns a Verifier that accepts "Authorization: Bearer
// <token>" for exactly this token.
func BearerToken(token string) func(*http.Request) error {
	want := sha256.Sum256([]byte("Bearer " + token))
	return func(r *http.Request) error {
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		if got != want {
			return errors.New("ingest: bad token")
		}
		return nil
	}
}

func (s *Server) handleLogs(w http.ResponseWriter, r *http.Request) {
	if !s.verify(w, r) {
		return
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			if tooLarge(err) {
				writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"detail": "body larger than the limit"})
				return
			}
			writeJSON(w, http.StatusBadRequest, map[string]string{"detail": "bad gzip body"})
			return
		}
		defer zr.Close()
		body = zr
	}
	p, err := Decode(body, s.opts.MaxBodyBytes)
	var verr *ValidationError
	switch {
	case err == nil:
	case errors.Is(err, ErrTooLarge) || tooLarge(err):
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"detail": fmt.Sprintf("body larger than %d bytes", s.opts.MaxBodyBytes)})
		return
	case errors.As(err, &verr):
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": verr.Violations})
		return
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"detail": err.Error()})
		return
	}
	now := s.opts.Now()
	if wait := s.rate.take(now, p.Logs); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"detail": "rate limited"})
		return
	}
	stamp := now.UTC().Format("2006-01-02T15:04:05.000Z")
	stored := make([]StoredEntry, len(p.Logs))
	for i, e := range p.Logs {
		if e.Attributes == nil {
			e.Attributes = map[string]any{}
		}
		e.Attributes[ReceivedAtKey] = stamp
		if e.Level == "error" || e.Level == "fatal" {
			var errText, stack string
			if e.Error != nil {
				errText = *e.Error
			}
			if e.StackTrace != nil {
				stack = *e.StackTrace
			}
			if errText == "" {
				errText = e.Message
			}
			fp := Fingerprint(errText, stack)
			e.Attributes[FingerprintKey] = fp
			s.fps.add(now, fp, e.Message)
		}
		stored[i] = StoredEntry{Entry: e, Resource: p.Resource}
	}
	if err := s.opts.Exporter.Export(r.Context(), stored); err != nil {
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"detail": "storage unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"accepted": len(stored)})
}

func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// limiter is a token bucket per install id and per session id.
type limiter struct {
	rate, burst float64
	mu          sync.Mutex
	buckets     map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// take charges one request to every install and session in the batch and
// returns how long to wait when any bucket is empty (charging nothing).
func (l *limiter) take(now time.Time, logs []Entry) time.Duration {
	keys := map[string]bool{}
	for _, e := range logs {
		keys["i:"+e.InstallID] = true
		keys["s:"+e.SessionID] = true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for k := range keys {
		b := l.buckets[k]
		if b == nil {
			b = &bucket{tokens: l.burst, last: now}
			l.buckets[k] = b
		}
		b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
		b.last = now
		if b.tokens < 1 {
			wait = max(wait, time.Duration((1-b.tokens)/l.rate*float64(time.Second)))
		}
	}
	if wait > 0 {
		return wait
	}
	for k := range keys {
		l.buckets[k].tokens--
	}
	if len(l.buckets) > 100000 { // forget idle buckets
		for k, b := range l.buckets {
			if now.Sub(b.last) > time.Hour {
				delete(l.buckets, k)
			}
		}
	}
	return 0
}

// fingerprints counts error fingerprints per window.
type fingerprints struct {
	window    time.Duration
	threshold int
	onAlert   func(Alert)

	mu     sync.Mutex
	counts map[string]*fpCount
}

type fpCount struct {
	windowStart time.Time
	count       int // in the current window
	total       int
	first, last time.Time
	sample      string
	alerted     bool
}

func (f *fingerprints) add(now time.Time, fp, msg string) {
	f.mu.Lock()
	c := f.counts[fp]
	if c == nil {
		c = &fpCount{windowStart: now, first: now, sample: msg}
		f.counts[fp] = c
	}
	if now.Sub(c.windowStart) >= f.window {
		c.windowStart, c.count, c.alerted = now, 0, false
	}
	c.count++
	c.total++
	c.last = now
	var alert *Alert
	if f.threshold > 0 && f.onAlert != nil && !c.alerted && c.count >= f.threshold {
		c.alerted = true
		alert = &Alert{Fingerprint: fp, Count: c.count, Window: f.window, Sample: c.sample}
	}
	f.mu.Unlock()
	if alert != nil {
		f.onAlert(*alert)
	}
}

// TopError is one row of the top-errors report.
type TopError struct {
	Fingerprint string    `json:"fingerprint"`
	Count       int       `json:"count"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	Sample      string    `json:"sample_message"`
}

// Top returns the fingerprints seen within window before now, most
// frequent first, counting occurrences in the current counting window.
func (s *Server) Top(window time.Duration, limit int) []TopError {
	now := s.opts.Now()
	f := s.fps
	f.mu.Lock()
	var out []TopError
	for fp, c := range f.counts {
		if now.Sub(c.last) > window {
			continue
		}
		out = append(out, TopError{Fingerprint: fp, Count: c.count, FirstSeen: c.first.UTC(), LastSeen: c.last.UTC(), Sample: c.sample})
	}
	f.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Fingerprint < out[j].Fingerprint
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

func (s *Server) handleTop(w http.ResponseWriter, r *http.Request) {
	if !s.verify(w, r) {
		return
	}
	window := time.Hour
	if v := r.URL.Query().Get("window"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"detail": "window must be a duration such as 1h"})
			return
		}
		window = d
	}
	writeJSON(w, http.StatusOK, map[string]any{"window": window.String(), "errors": s.Top(window, 50)})
}

// The default logging configuration.
const defaultConfig = `{"min_level":"info","modules":{}}`

type cachedConfig struct {
	modTime time.Time
	size    int64
	body    []byte
	etag    string
}

// config returns the current configuration, reading the file again when
// its modification time or size changed.
func (s *Server) config() (cachedConfig, error) {
	s.confM.Lock()
	defer s.confM.Unlock()
	if s.opts.ConfigFile == "" {
		if s.conf.body == nil {
			s.conf = cachedConfig{body: []byte(defaultConfig), etag: etag([]byte(defaultConfig))}
		}
		return s.conf, nil
	}
	info, err := os.Stat(s.opts.ConfigFile)
	if err != nil {
		return cachedConfig{}, err
	}
	if s.conf.body != nil && info.ModTime().Equal(s.conf.modTime) && info.Size() == s.conf.size {
		return s.conf, nil
	}
	raw, err := os.ReadFile(s.opts.ConfigFile)
	if err != nil {
		return cachedConfig{}, err
	}
	var c struct {
		MinLevel string            `json:"min_level"`
		Modules  map[string]string `json:"modules"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return cachedConfig{}, fmt.Errorf("ingest: config %s: %w", s.opts.ConfigFile, err)
	}
	if c.Modules == nil {
		c.Modules = map[string]string{}
	}
	body, _ := json.Marshal(c)
	s.conf = cachedConfig{modTime: info.ModTime(), size: info.Size(), body: body, etag: etag(body)}
	return s.conf, nil
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request) {
	if !s.verify(w, r) {
		return
	}
	c, err := s.config()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": "configuration unavailable"})
		return
	}
	w.Header().Set("ETag", c.etag)
	if r.Header.Get("If-None-Match") == c.etag {
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
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "attachments are not enabled"})
		return
	}
	if err := os.MkdirAll(s.opts.AttachmentsDir, 0o700); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": "storage unavailable"})
		return
	}
	var idb [16]byte
	_, _ = rand.Read(idb[:])
	id := hex.EncodeToString(idb[:])
	path := filepath.Join(s.opts.AttachmentsDir, id)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": "storage unavailable"})
		return
	}
	n, err := io.Copy(f, http.MaxBytesReader(w, r.Body, s.opts.MaxAttachmentBytes))
	cerr := f.Close()
	if err != nil || cerr != nil {
		_ = os.Remove(path)
		if tooLarge(err) {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"detail": fmt.Sprintf("attachment larger than %d bytes", s.opts.MaxAttachmentBytes)})
			return
		}
		writeJSON(w, http.StatusBadRequest, map[string]string{"detail": "upload failed"})
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "bytes": n})
}

// Close closes the exporter.
func (s *Server) Close(ctx context.Context) error { return s.opts.Exporter.Close(ctx) }
