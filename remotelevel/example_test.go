package remotelevel_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/remotelevel"
	"github.com/soliplex/fieldlog/sink"
)

func Example() {
	// An ingest server's configuration endpoint; the reference server
	// (package ingest) serves one from a file.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = io.WriteString(w, `{"min_level":"info","modules":{"Http":"debug","Audit":"trace"}}`)
	}))
	defer srv.Close()

	mem := sink.NewMemory(10)
	m := sink.NewManager([]sink.Sink{mem})
	m.PinLoggerLevel("Audit", logrecord.LevelWarning) // never changed remotely

	// Endpoint, Client and TokenProvider are the backend sink's.
	c, err := remotelevel.New(m, remotelevel.Options{Endpoint: srv.URL + "/api/v1/logs"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(context.Background())
	if err := c.Refresh(context.Background()); err != nil { // or wait for the first fetch
		fmt.Println(err)
	}

	fmt.Println("Http.Client logs debug:", m.Enabled("Http.Client", logrecord.LevelDebug))
	fmt.Println("Audit logs info:", m.Enabled("Audit", logrecord.LevelInfo))
	for _, r := range mem.Records() {
		old, _ := r.Attr("old")
		nw, _ := r.Attr("new")
		fmt.Printf("%s %s: %s -> %s\n", r.Level, r.Message, old, nw)
	}
	// Output:
	// Http.Client logs debug: true
	// Audit logs info: false
	// info log_level_changed: local -> min_level=info audit=trace http=debug
}
