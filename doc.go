// Package fieldlog wires fieldlog for a service in one call: the Manager,
// PII redaction, breadcrumbs, the durable disk queue and the backend sink
// that ships to your self-hosted ingest server.
//
//	client, err := fieldlog.New(fieldlog.Options{Service: "billing", Endpoint: "https://logs.example.internal/api/v1/logs"})
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer client.Close(context.Background())
//	client.Logger("Http").Info("Request sent", "url", "/api/v1/chat")
//
// Guarantees of the setup New returns:
//
//   - Redaction is on unless Options.DisableRedaction says otherwise:
//     sensitive keys and values are redacted before any sink sees a record.
//   - Every record is durable on disk within milliseconds (error and
//     fatal records first) and stays there until the server confirms it;
//     Close delivers what it can by its deadline and keeps the rest for
//     the next run. A record that cannot be kept is counted, and the count
//     is shipped. See the diskqueue and backendsink packages.
//   - Each process is a session: a new session id, the install id kept in
//     the queue directory across runs, a device alias derived from it, and
//     a "session started" record first, carrying the service, build, OS
//     and runtime.
//   - Without an endpoint nothing leaves the process: records go to the
//     console and the breadcrumbs only.
//   - An endpoint pinned at build time (-ldflags -X
//     github.com/soliplex/fieldlog.pinnedEndpoint=URL) cannot be changed by
//     options or the environment.
package fieldlog
