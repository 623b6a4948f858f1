package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/soliplex/fieldlog/internal/wire"
)

func (s *Server) handleLogs(w http.ResponseWriter, r *http.Request) {
	user, ok := s.verify(w, r)
	if !ok {
		return
	}
	if status, detail := s.mediaType(r.Header.Get("Content-Type")); status != 0 {
		if status == http.StatusUnprocessableEntity {
			refuseJSON(w, status, map[string]any{"detail": []Violation{{Path: "$", Message: detail}}})
			return
		}
		refuse(w, status, detail)
		return
	}
	gzipped := false
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		gzipped = true
	default:
		refuse(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Encoding %q is not supported; send identity or gzip", enc))
		return
	}
	// A body announced too large is still read up to the limit, so that
	// the client gets its 413 rather than a reset connection.
	reserve := s.opts.MaxBodyBytes
	if r.ContentLength >= 0 && !gzipped {
		reserve = min(r.ContentLength, reserve)
	}
	if !s.guard.startRead(reserve) {
		w.Header().Set("Retry-After", "1")
		refuse(w, http.StatusServiceUnavailable, "too many requests being read; retry")
		return
	}
	defer s.guard.release(reserve)
	deadline(w, s.opts.BodyTimeout)

	buf := bodyPool.Get().(*bytes.Buffer)
	defer putBody(buf)
	buf.Reset()
	err := s.readBody(buf, w, r, gzipped)
	s.guard.endRead()
	if err != nil {
		s.unreadable(w, err)
		return
	}
	p, err := decode(buf.Bytes(), s.decode)
	if err != nil {
		s.badBody(w, err)
		return
	}
	now := s.opts.Now()
	if wait := s.rate.take(now, user, p.Logs); wait > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(wait.Seconds())), 10))
		writeDetail(w, http.StatusTooManyRequests, "rate limited")
		return
	}
	stored := s.stamp(now, user, p)
	if err := s.opts.Exporter.Export(r.Context(), stored); err != nil {
		s.opts.OnError(fmt.Errorf("ingest: export %d entries: %w", len(stored), err))
		w.Header().Set("Retry-After", "5")
		writeDetail(w, http.StatusServiceUnavailable, "storage unavailable")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(wire.AppendAck(nil, len(stored)), '\n')) // the answer the client's ParseAck reads
}

// mediaType checks a request's Content-Type: compat mode takes what the
// production backend takes (none, application/json, application/*+json)
// and answers anything else 422, as it does; strict mode wants
// application/json and answers 415.
func (s *Server) mediaType(header string) (int, string) {
	mt, _, err := mime.ParseMediaType(header)
	if s.opts.Mode == Strict {
		if err != nil || mt != "application/json" {
			return http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type must be application/json, got %q", header)
		}
		return 0, ""
	}
	if header == "" {
		return 0, ""
	}
	if err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return 0, ""
	}
	return http.StatusUnprocessableEntity, fmt.Sprintf("body must be JSON: Content-Type %q is not application/json", header)
}

// readBody reads the body into buf, at most MaxBodyBytes before and after
// gzip.
func (s *Server) readBody(buf *bytes.Buffer, w http.ResponseWriter, r *http.Request, gzipped bool) error {
	limit := s.opts.MaxBodyBytes
	var body io.Reader = http.MaxBytesReader(w, r.Body, limit)
	if gzipped {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		body = zr
	} else if r.ContentLength > 0 && r.ContentLength <= limit {
		buf.Grow(int(r.ContentLength) + bytes.MinRead) // one read, no copying
	}
	if _, err := buf.ReadFrom(io.LimitReader(body, limit+1)); err != nil {
		return err
	}
	if int64(buf.Len()) > limit {
		return ErrTooLarge
	}
	return nil
}

// unreadable answers a body that could not be read.
func (s *Server) unreadable(w http.ResponseWriter, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, ErrTooLarge) || errors.As(err, &mbe):
		refuse(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", s.opts.MaxBodyBytes))
	case timedOut(err):
		timeout(w, "body not received in time")
	default: // gzip, or the client went away
		refuse(w, http.StatusBadRequest, "unreadable body: "+err.Error())
	}
}

// badBody answers a body that could not be decoded: 422 for what the
// production backend answers 422 (in strict mode, malformed JSON is 400).
func (s *Server) badBody(w http.ResponseWriter, err error) {
	var verr *ValidationError
	switch {
	case errors.As(err, &verr):
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": verr.Violations})
	case errors.Is(err, ErrTooManyEntries):
		writeDetail(w, http.StatusRequestEntityTooLarge, err.Error())
	case errors.Is(err, ErrMalformed) && s.opts.Mode == Compat:
		msg := strings.TrimPrefix(err.Error(), "ingest: ")
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": []Violation{{Path: "$", Message: msg}}})
	default: // ErrUnreadable, or malformed in strict mode
		writeDetail(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "ingest: "))
	}
}

// stamp turns accepted entries into stored ones: received time on every
// entry, the authenticated user when there is one (and never one the
// client claims), fingerprint on error and fatal entries.
func (s *Server) stamp(now time.Time, user string, p *Payload) []StoredEntry {
	received := now.UTC().Format(TimestampLayout)
	stored := make([]StoredEntry, len(p.Logs))
	for i := range p.Logs {
		e := &p.Logs[i]
		if e.Attributes == nil {
			e.Attributes = make(map[string]any, 2)
		}
		e.Attributes[ReceivedAtKey] = received
		if user != "" {
			e.Attributes[ServerUserKey] = user
		} else {
			delete(e.Attributes, ServerUserKey)
		}
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
	return stored
}
