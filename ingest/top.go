package ingest

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Top returns the error fingerprints seen within window before now, most
// frequent first, at most limit of them (limit ≤ 0: all).
func (s *Server) Top(window time.Duration, limit int) []TopError {
	return s.fps.top(s.opts.Now(), window, limit)
}

func (s *Server) handleTop(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.verify(w, r); !ok {
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
		if err != nil || n < 1 || n > maxTopLimit {
			writeDetail(w, http.StatusBadRequest, fmt.Sprintf("limit must be a number from 1 to %d", maxTopLimit))
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
