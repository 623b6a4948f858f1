package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

// LoggingConfig is the remote logging configuration served at
// ConfigPath: a minimum level, levels per logger, and optionally a time
// after which clients return to their local levels.
type LoggingConfig struct {
	MinLevel string            `json:"min_level"` // one of Levels
	Modules  map[string]string `json:"modules"`   // logger name → one of Levels
	Until    *time.Time        `json:"until,omitempty"`
}

// ParseLoggingConfig reads a configuration as ConfigPath serves it,
// rejecting unknown fields and levels outside Levels.
func ParseLoggingConfig(raw []byte) (LoggingConfig, error) {
	var c LoggingConfig
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return LoggingConfig{}, fmt.Errorf("ingest: logging config: %w", err)
	}
	if _, ok := ParseLevel(c.MinLevel); !ok {
		return LoggingConfig{}, fmt.Errorf("ingest: logging config: min_level must be one of %s, got %q", strings.Join(Levels, ", "), c.MinLevel)
	}
	for name, lvl := range c.Modules {
		if _, ok := ParseLevel(lvl); !ok {
			return LoggingConfig{}, fmt.Errorf("ingest: logging config: modules.%s must be one of %s, got %q", name, strings.Join(Levels, ", "), lvl)
		}
	}
	if c.Modules == nil {
		c.Modules = map[string]string{}
	}
	return c, nil
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
		var c LoggingConfig
		if c, err = ParseLoggingConfig(raw); err == nil {
			body, err = json.Marshal(c)
		}
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
	if !s.opts.PublicConfig {
		if _, ok := s.verify(w, r); !ok {
			return
		}
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
