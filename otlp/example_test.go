package otlp_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/soliplex/fieldlog/ingest"
	"github.com/soliplex/fieldlog/otlp"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

func ExampleNew() {
	// A stand-in for an OpenTelemetry Collector's OTLP/HTTP receiver.
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := plogotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec := req.Logs().ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		fmt.Println(rec.SeverityText(), rec.Body().Str())
		out, _ := plogotlp.NewExportResponse().MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	defer collector.Close()

	exp, err := otlp.New(context.Background(), otlp.Options{EndpointURL: collector.URL + "/v1/logs"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer exp.Close(context.Background())

	// An ingest.Server with ServerOptions{Exporter: exp} calls Export with
	// every accepted batch.
	p, _ := ingest.DecodeBytes([]byte(`{"logs":[{"timestamp":"2026-02-06T12:00:00.123Z","level":"error",
		"logger":"Http","message":"Request failed: 500","install_id":"i","session_id":"s"}],"resource":{}}`))
	err = exp.Export(context.Background(), []ingest.StoredEntry{{Entry: p.Logs[0]}})
	fmt.Println(err)
	// Output:
	// ERROR Request failed: 500
	// <nil>
}
