package ownreq

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"
)

// TestNewClientLeavesNothing makes requests that leave a kept-alive
// connection, closes the client's idle connections and checks that the
// goroutines count goes back to what it was.
func TestNewClientLeavesNothing(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	before := runtime.NumGoroutine()
	c := NewClient(5 * time.Second)
	if c.Transport == http.DefaultTransport {
		t.Fatal("the client shares the default transport")
	}
	for range 3 {
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if runtime.NumGoroutine() <= before {
		t.Fatal("no connection kept alive: the test proves nothing")
	}
	c.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before, %d after closing", before, runtime.NumGoroutine())
		}
		time.Sleep(10 * time.Millisecond) // bounded wait for the connection goroutines to end
	}
}
