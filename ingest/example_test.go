package ingest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/soliplex/fieldlog/ingest"
)

func ExampleDecodeBytes() {
	body := []byte(`{"logs":[{"timestamp":"2026-02-06 12:00:00","level":"info","logger":"Http",
		"message":"m","install_id":"i","session_id":"s","span_id":"XYZ"}],"resource":{}}`)

	p, err := ingest.DecodeBytes(body) // compat mode: the production backend's verdicts
	fmt.Println(err, p.Logs[0].Timestamp, p.Logs[0].Attributes[ingest.InvalidKeyPrefix+"span_id"])

	_, err = ingest.Decoder{Mode: ingest.Strict}.DecodeBytes(body) // the client contract
	fmt.Println(err)
	// Output:
	// <nil> 2026-02-06 12:00:00 XYZ
	// ingest: invalid payload: logs[0].timestamp: must be an RFC 3339 timestamp with an offset such as 2026-02-06T12:00:00.123Z, got "2026-02-06 12:00:00"; logs[0].span_id: must be 16 lower-case hex digits or null, got "XYZ"
}

func ExampleNewServer() {
	store := &ingest.MemoryExporter{} // or ingest.NewJSONLStore(dir, nil)
	srv, err := ingest.NewServer(ingest.ServerOptions{
		Exporter: store,
		Verifier: ingest.BearerToken("secret"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	req := httptest.NewRequest(http.MethodPost, ingest.LogsPath, strings.NewReader(`{"logs":[{
		"timestamp":"2026-02-06T12:00:00.123Z","level":"error","logger":"Http","message":"Request failed: 500",
		"error":"HttpException: 500","install_id":"i-1","session_id":"s-1"}],"resource":{"service.name":"billing"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer secret")
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)

	fmt.Print(w.Code, " ", w.Body.String())
	e := store.Entries()[0]
	fmt.Println(e.Message, strings.HasPrefix(e.Attributes[ingest.FingerprintKey].(string), "fp1:"))
	// Output:
	// 200 {"accepted":1}
	// Request failed: 500 true
}

func ExampleServer_HTTPServer() {
	srv, err := ingest.NewServer(ingest.ServerOptions{Exporter: &ingest.MemoryExporter{}, Verifier: ingest.BearerToken("secret")})
	if err != nil {
		fmt.Println(err)
		return
	}
	hs := srv.HTTPServer() // call hs.Serve(listener); hs.Shutdown(ctx) and srv.Close(ctx) to stop
	fmt.Println(hs.ReadHeaderTimeout, hs.IdleTimeout, hs.MaxHeaderBytes)
	// Output: 10s 1m0s 32768
}

func ExampleFingerprint() {
	// The same panic from two builds: other goroutine, addresses, lines and paths.
	a := ingest.Fingerprint("", "goroutine 7 [running]:\n"+
		"github.com/acme/billing/store.(*Repo).Invoice(0x0, {0x7bd0e8, 0xc0000a2000})\n"+
		"\t/home/alice/src/billing/store/repo.go:57 +0x2f\n")
	b := ingest.Fingerprint("", "goroutine 4077 [running]:\n"+
		"github.com/acme/billing/store.(*Repo).Invoice(0x0, {0x7cd0e8, 0xc000422000})\n"+
		"\t/build/ci/store/repo.go:61 +0x33\n")
	fmt.Println(a == b, a[:4])
	// Output: true fp1:
}

func ExampleJSONLStore_Query() {
	dir, _ := os.MkdirTemp("", "store")
	defer os.RemoveAll(dir)
	store, _ := ingest.NewJSONLStore(dir, nil)
	defer store.Close(context.Background())

	p, _ := ingest.DecodeBytes([]byte(`{"logs":[
		{"timestamp":"2026-02-06T12:00:00Z","level":"info","logger":"App","message":"one","install_id":"i","session_id":"s-1"},
		{"timestamp":"2026-02-06T12:00:01Z","level":"info","logger":"App","message":"two","install_id":"i","session_id":"s-2"}],
		"resource":{}}`))
	var entries []ingest.StoredEntry
	for _, e := range p.Logs {
		entries = append(entries, ingest.StoredEntry{Entry: e})
	}
	_ = store.Export(context.Background(), entries)

	_ = store.Query(context.Background(), ingest.Filter{SessionID: "s-2"}, func(e ingest.StoredEntry) bool {
		fmt.Println(e.Timestamp, e.Message)
		return true
	})
	// Output: 2026-02-06T12:00:01Z two
}

func ExampleStoredEntry_NamedAttributes() {
	p, _ := ingest.DecodeBytes([]byte(`{"logs":[{"timestamp":"2026-02-06 12:00:00","level":"error","logger":"Http",
		"message":"Request failed: 500","error":"HttpException: 500","install_id":"i-1","session_id":"s-1",
		"user_id":"u-7","active_run":{"thread_id":"t-1","run_id":"r-9"}}],"resource":{}}`))
	e := ingest.StoredEntry{Entry: p.Logs[0]}
	for _, n := range []ingest.Naming{ingest.BackendNames, ingest.OTelNames} {
		fmt.Print(n, ":")
		for _, a := range e.NamedAttributes(n) {
			fmt.Print(" ", a.Key)
		}
		fmt.Println()
	}
	// Output:
	// backend: client_timestamp exception.message exception.type install_id logger message run_id session_id thread_id user_id
	// otel: client_timestamp exception.message exception.type install.id run.id run.thread_id session.id user.id
}

func ExampleAnyOf() {
	// A shared token for small installations, and a verifier that names
	// users (such as the oidcauth module's) at once.
	perUser := ingest.VerifierFunc(func(r *http.Request) (string, error) {
		if tok, _ := ingest.BearerCredentials(r); tok == "alice-token" {
			return "alice", nil
		}
		return "", ingest.ErrUnauthorized
	})
	store := &ingest.MemoryExporter{}
	srv, err := ingest.NewServer(ingest.ServerOptions{Exporter: store, Verifier: ingest.AnyOf(ingest.BearerToken("shared"), perUser)})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, token := range []string{"shared", "alice-token", "wrong"} {
		req := httptest.NewRequest(http.MethodPost, ingest.LogsPath, strings.NewReader(`{"logs":[{"timestamp":"2026-02-06T12:00:00.123Z",
			"level":"info","logger":"App","message":"hello","install_id":"i-1","session_id":"s-1"}],"resource":{}}`))
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		fmt.Println(token, w.Code)
	}
	for _, e := range store.Entries() {
		fmt.Printf("server.user=%v\n", e.Attributes[ingest.ServerUserKey])
	}
	// Output:
	// shared 200
	// alice-token 200
	// wrong 401
	// server.user=<nil>
	// server.user=alice
}
