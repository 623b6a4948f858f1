package rum_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/soliplex/fieldlog/logrecord"
	"github.com/soliplex/fieldlog/rum"
	"github.com/soliplex/fieldlog/sink"
)

// show prints a record's level, logger and message and the attributes
// named, leaving out durations, which differ from run to run.
func show(r logrecord.Record, keys ...string) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s", r.Level, r.Logger, r.Message)
	for _, k := range keys {
		if v, ok := r.Attr(k); ok {
			fmt.Fprintf(&b, " %s=%v", k, v)
		}
	}
	fmt.Println(b.String())
}

func Example() {
	mem := sink.NewMemory(100)
	m := sink.NewManager([]sink.Sink{mem})
	mon, err := rum.New(m.Logger("rum"), rum.Options{})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		defer rum.Time(r.Context(), "load user")()
		fmt.Fprintf(w, "user %s", r.PathValue("id"))
	})
	srv := httptest.NewServer(mon.Middleware(mux))
	client := &http.Client{Transport: mon.Transport(nil)}
	for _, id := range []string{"1", "2", "42"} {
		resp, err := client.Get(srv.URL + "/users/" + id)
		if err != nil {
			panic(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	srv.Close()

	// Close logs the summaries of the window so far.
	mon.Close(context.Background())
	for _, r := range mem.Records() {
		if v, _ := r.Attr("metric"); strings.HasSuffix(v.String(), ".summary") {
			show(r, "metric", "route", "op", "method", "count")
		}
	}
	// Output:
	// info rum.http.server: route summary metric=http.server.summary route=GET /users/{id} method=GET count=3
	// info rum.http.client: host summary metric=http.client.summary method=GET count=3
	// info rum.op: operation summary metric=op.summary op=load user count=3
}

func ExampleMonitor_Ready() {
	mem := sink.NewMemory(10)
	mon, _ := rum.New(sink.NewManager([]sink.Sink{mem}).Logger("rum"), rum.Options{})
	defer mon.Close(context.Background())

	mon.Phase("config") // loaded the configuration
	mon.Phase("db")     // connected to the database
	mon.Ready()         // serving
	mon.Ready()         // once per process: does nothing

	for _, r := range mem.Records() {
		show(r, "metric")
		phases, _ := r.Attr("phases")
		for _, p := range phases.Group() {
			fmt.Println(" phase", p.Key)
		}
	}
	// Output:
	// info rum.start: cold start metric=cold_start
	//  phase config
	//  phase db
}

// roundTripFunc answers requests without a network.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func ExampleMonitor_Transport() {
	mem := sink.NewMemory(10)
	mon, _ := rum.New(sink.NewManager([]sink.Sink{mem}).Logger("rum"), rum.Options{})
	defer mon.Close(context.Background())

	unavailable := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Body: http.NoBody, Request: r}, nil
	})
	client := &http.Client{Transport: mon.Transport(unavailable)}
	resp, err := client.Get("http://orders.internal/v1/orders?token=secret")
	if err == nil {
		resp.Body.Close()
	}

	for _, r := range mem.Records() {
		show(r, "metric", "method", "host", "path", "status", "breadcrumb_category")
	}
	// Output:
	// warning rum.http.client: call failed metric=http.client.request method=GET host=orders.internal path=/v1/orders status=503 breadcrumb_category=network
}

func ExampleTime() {
	mem := sink.NewMemory(10)
	mon, _ := rum.New(sink.NewManager([]sink.Sink{mem}).Logger("rum"), rum.Options{})

	// The middleware puts the Monitor in each request's context; elsewhere,
	// NewContext does.
	ctx := rum.NewContext(context.Background(), mon)
	checkout := func(ctx context.Context) {
		defer rum.Time(ctx, "checkout")()
		// … the work …
	}
	checkout(ctx)
	checkout(ctx)

	mon.Close(context.Background())
	for _, r := range mem.Records() {
		show(r, "metric", "op", "count")
	}
	// Output:
	// info rum.op: operation summary metric=op.summary op=checkout count=2
}

func ExampleMonitor_StartSampler() {
	mem := sink.NewMemory(10)
	m := sink.NewManager([]sink.Sink{mem})
	mon, _ := rum.New(m.Logger("rum"), rum.Options{})
	mon.StartSampler()

	// The periodic runtime summary is at debug; stalls are warnings.
	m.SetLoggerLevel("rum.runtime", logrecord.LevelDebug)

	mon.Close(context.Background()) // logs the last window's summary
	for _, r := range mem.Records() {
		if v, _ := r.Attr("metric"); v.String() == "runtime.summary" {
			show(r, "metric")
		}
	}
	// Output:
	// debug rum.runtime: runtime summary metric=runtime.summary
}

func ExampleMonitor_Middleware() {
	mem := sink.NewMemory(10)
	// A threshold of a nanosecond makes every request slow, for the example.
	mon, _ := rum.New(sink.NewManager([]sink.Sink{mem}).Logger("rum"), rum.Options{SlowRequest: 1})
	defer mon.Close(context.Background())

	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such user", http.StatusNotFound)
	})
	handler := mon.Middleware(mux)
	handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/users/42", nil))

	for _, r := range mem.Records() {
		show(r, "metric", "route", "method", "status", "bytes")
	}
	// Output:
	// warning rum.http.server: slow request metric=http.server.request route=GET /users/{id} method=GET status=404 bytes=13
}
