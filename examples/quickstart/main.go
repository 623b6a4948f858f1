// Command quickstart is the README's quick start: a service that logs
// through fieldlog, redacted, shipped to the ingest server named by
// FIELDLOG_ENDPOINT (or, without it, to the console only).
package main

import (
	"context"
	"log"

	"github.com/soliplex/fieldlog"
)

func main() {
	client, err := fieldlog.New(fieldlog.Options{Service: "billing", SetDefault: true})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(context.Background())

	client.Logger("Http").Info("Signed up", "email", "alice@example.com", "body", `{"password":"hunter2"}`)
}
