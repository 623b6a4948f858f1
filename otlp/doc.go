// Package otlp forwards entries accepted by the reference ingest server to
// an OpenTelemetry Collector over OTLP/HTTP, on the official OpenTelemetry
// Go SDK's log exporter.
//
// [New] returns an ingest.Exporter. Each entry becomes one OTLP log record:
//
//	timestamp          → time: the entry's time as ingest.StoredEntry.Time
//	                     reads it (compat mode keeps timestamps that are not
//	                     RFC 3339 as text: then server.received_at), and
//	                     the client's text as attribute client_timestamp;
//	                     the observed time is server.received_at
//	level              → severity number (1, 5, 9, 13, 17, 21) and text
//	logger             → instrumentation scope name
//	message            → body
//	trace_id, span_id  → the record's trace context
//	everything else    → attributes, as ingest.StoredEntry.NamedAttributes
//	                     names them under Options.Naming
//	resource           → the OTLP resource
//
// Attribute values keep their shape: nested maps and lists stay maps and
// lists, numbers become int or double. The naming decides the names of
// the entry's ids and run:
//
//	                  ingest.BackendNames (default)     ingest.OTelNames
//	logger, message   logger, message (and scope, body) scope and body only
//	ids               install_id, session_id, user_id   install.id, session.id, user.id
//	active_run        thread_id, run_id                 run.thread_id, run.id
//
// and in both: client_timestamp, exception.message, exception.type,
// exception.stacktrace, fieldlog.breadcrumbs, server.received_at,
// server.user, error.fingerprint and the client's attributes. The default
// is the production backend's names, so that a fleet served by both
// backends is queried one way; the ingest package documentation has the
// full table, and the testdata directory the OTLP request of one error
// entry in each naming, as the Collector decodes it.
//
// One Export is one OTLP request, sent before Export returns, so an error
// reaches the ingest server, which answers 503 and the client retries.
// Exports are serialised. The module is separate from fieldlog's core, so
// that importing the SDK never pulls in the OpenTelemetry dependencies.
package otlp
