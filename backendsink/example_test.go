package backendsink_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/soliplex/fieldlog/backendsink"
	"github.com/soliplex/fieldlog/breadcrumbs"
	"github.com/soliplex/fieldlog/sink"
)

func Example() {
	// A stand-in for the ingest server, on 127.0.0.1.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var batch struct {
			Logs []struct {
				Level       string `json:"level"`
				Message     string `json:"message"`
				Breadcrumbs []struct {
					Message  string `json:"message"`
					Category string `json:"category"`
				} `json:"breadcrumbs"`
			} `json:"logs"`
		}
		_ = json.NewDecoder(r.Body).Decode(&batch)
		for _, e := range batch.Logs {
			fmt.Println(e.Level, e.Message, e.Breadcrumbs)
		}
		fmt.Fprintf(w, `{"accepted":%d}`, len(batch.Logs))
	}))
	defer srv.Close()

	dir, _ := os.MkdirTemp("", "fieldlog")
	defer os.RemoveAll(dir)

	crumbs := breadcrumbs.New(nil)
	backend, err := backendsink.New(backendsink.Options{
		Endpoint:    srv.URL + "/api/v1/logs",
		Dir:         dir, // records wait here until the server confirms them
		InstallID:   "6f1c2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e",
		SessionID:   "0b8e2a9e-6f7c-4c1e-9d1e-3f1a2b3c4d5e",
		Resource:    map[string]any{"service.name": "billing", "service.version": "1.4.2"},
		Breadcrumbs: crumbs,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The breadcrumb buffer comes first, so it has seen what led up to an
	// error by the time the backend sink ships it.
	m := sink.NewManager([]sink.Sink{crumbs, backend})

	m.Logger("Router").Info("Navigated to /checkout")
	m.Logger("Http").Error("Request failed: 500", errors.New("HttpException: 500"))

	_ = m.Close(context.Background()) // delivers what is left, then closes the queue
	fmt.Println("pending:", backend.Stats().Pending)
	// Output:
	// error Request failed: 500 [{Navigated to /checkout ui}]
	// info Navigated to /checkout []
	// pending: 0
}
