package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/soliplex/fieldlog/rum"
)

// service is the application: a handful of routes that stand for real
// work.
type service struct {
	log      *slog.Logger
	client   *http.Client // instrumented: calls are measured
	upstream string       // base URL that /quote calls
	slowWork time.Duration
}

func (s *service) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", s.user)
	mux.HandleFunc("GET /reports/{year}", s.report)
	mux.HandleFunc("GET /quote", s.quote)
	mux.HandleFunc("GET /invoices/{id}", s.invoice)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	return mux
}

func (s *service) user(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		http.Error(w, "bad id", http.StatusBadRequest)
		return
	}
	name := s.lookup(r.Context(), id)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"id": id, "name": name})
}

// lookup stands for a database query, timed as an operation.
func (s *service) lookup(ctx context.Context, id int) string {
	defer rum.Time(ctx, "db.lookup_user")()
	return fmt.Sprintf("user-%d", id)
}

// report is slow on purpose: it takes longer than the slow threshold.
func (s *service) report(w http.ResponseWriter, r *http.Request) {
	select {
	case <-time.After(s.slowWork):
	case <-r.Context().Done():
		return
	}
	fmt.Fprintf(w, "report %s\n", r.PathValue("year"))
}

// invoice has a bug: it indexes past the end of a slice. The crash
// guard's middleware turns the panic into a fatal record and a 500.
func (s *service) invoice(w http.ResponseWriter, r *http.Request) {
	s.log.InfoContext(r.Context(), "rendering invoice", "id", r.PathValue("id"))
	lines := []string{"subscription"}
	fmt.Fprintf(w, "%s\n", lines[len(r.PathValue("id"))])
}

// quote calls another service through the instrumented client.
func (s *service) quote(w http.ResponseWriter, r *http.Request) {
	if s.upstream == "" {
		http.Error(w, "no upstream configured", http.StatusServiceUnavailable)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, s.upstream+"/v1/quote?currency=EUR", nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.log.ErrorContext(r.Context(), "quote upstream failed", "err", err)
		http.Error(w, "upstream unavailable", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}
