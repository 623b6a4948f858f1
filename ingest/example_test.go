package ingest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/soliplex/fieldlog/ingest"
)

func ExampleDecodeBytes() {
	_, err := ingest.DecodeBytes([]byte(`{"logs":[{"timestamp":"2026-02-06T12:00:00Z","level":"loud","logger":"Http",
		"message":"m","install_id":"i","session_id":"s","span_id":"XYZ"}]}`))
	fmt.Println(err)
	// Output: ingest: invalid payload: logs[0].level: must be one of trace, debug, info, warning, error, fatal, got "loud"; logs[0].span_id: must be 16 lower-case hex digits or null, got "XYZ"
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
		"error":"HttpException: 500","install_id":"i-1","session_id":"s-1"}]}`))
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
