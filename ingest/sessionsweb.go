package ingest

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Paths of the support view.
const (
	SessionsPath     = "/api/v1/sessions" // JSON; SessionsPath/{id} is one session's timeline
	SessionsPagePath = "/sessions"        // the same as server-rendered HTML
)

// maxSessionLimit caps the limit parameter of SessionsPath.
const maxSessionLimit = 1000

// ParseSessionQuery reads a SessionQuery from URL parameters: user,
// install, device, fingerprint, level, q (text), from and to (RFC 3339),
// since (a duration before now, such as 24h, instead of from) and limit.
func ParseSessionQuery(v url.Values, now time.Time) (SessionQuery, error) {
	q := SessionQuery{
		UserID: v.Get("user"), InstallID: v.Get("install"), DeviceAlias: v.Get("device"),
		Fingerprint: v.Get("fingerprint"), Level: v.Get("level"), Text: v.Get("q"),
	}
	var errs []error
	when := func(name string, dst *time.Time) {
		if s := v.Get(name); s != "" {
			t, ok := parseTime(s, true)
			if !ok {
				errs = append(errs, fmt.Errorf("%s must be an RFC 3339 time", name))
			}
			*dst = t
		}
	}
	when("from", &q.From)
	when("to", &q.To)
	if s := v.Get("since"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			errs = append(errs, errors.New("since must be a duration such as 24h"))
		}
		q.From = now.Add(-d)
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxSessionLimit {
			errs = append(errs, fmt.Errorf("limit must be a number from 1 to %d", maxSessionLimit))
		}
		q.Limit = n
	}
	if q.Level != "" {
		if _, ok := ParseLevel(q.Level); !ok {
			errs = append(errs, errors.New("level must be one of trace, debug, info, warning, error, fatal"))
		}
	}
	return q, errors.Join(errs...)
}

// finder returns the SessionFinder after verifying the caller, or answers.
func (s *Server) finder(w http.ResponseWriter, r *http.Request) (SessionFinder, bool) {
	if _, ok := s.verify(w, r); !ok {
		return nil, false
	}
	if s.opts.Sessions == nil {
		writeDetail(w, http.StatusNotFound, "this server keeps no session index: its exporter forwards entries elsewhere")
		return nil, false
	}
	return s.opts.Sessions, true
}

func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request) {
	f, ok := s.finder(w, r)
	if !ok {
		return
	}
	q, err := ParseSessionQuery(r.URL.Query(), s.opts.Now())
	if err != nil {
		writeDetail(w, http.StatusBadRequest, err.Error())
		return
	}
	found, err := f.FindSessions(r.Context(), q)
	if err != nil {
		s.sessionsFailed(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": found})
}

func (s *Server) handleTimeline(w http.ResponseWriter, r *http.Request) {
	f, ok := s.finder(w, r)
	if !ok {
		return
	}
	tl, err := f.Timeline(r.Context(), r.PathValue("id"))
	if err != nil {
		s.sessionsFailed(w, err)
		return
	}
	writeJSON(w, http.StatusOK, tl)
}

func (s *Server) sessionsFailed(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrNoSession) {
		writeDetail(w, http.StatusNotFound, "no such session")
		return
	}
	s.opts.OnError(fmt.Errorf("ingest: sessions: %w", err))
	writeDetail(w, http.StatusInternalServerError, "the store could not be read")
}

func (s *Server) handleSessionsPage(w http.ResponseWriter, r *http.Request) {
	f, ok := s.finder(w, r)
	if !ok {
		return
	}
	page := listPage{Form: r.URL.Query()}
	q, err := ParseSessionQuery(r.URL.Query(), s.opts.Now())
	if err == nil {
		page.Sessions, err = f.FindSessions(r.Context(), q)
	}
	if err != nil {
		page.Problem = err.Error()
	}
	renderPage(w, http.StatusOK, "list", page)
}

func (s *Server) handleTimelinePage(w http.ResponseWriter, r *http.Request) {
	f, ok := s.finder(w, r)
	if !ok {
		return
	}
	tl, err := f.Timeline(r.Context(), r.PathValue("id"))
	if err != nil {
		if errors.Is(err, ErrNoSession) {
			renderPage(w, http.StatusNotFound, "list", listPage{Problem: "no such session: " + r.PathValue("id")})
			return
		}
		s.sessionsFailed(w, err)
		return
	}
	renderPage(w, http.StatusOK, "timeline", tl)
}
