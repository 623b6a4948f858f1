// Package otlp forwards entries accepted by the reference ingest server to
// an OpenTelemetry Collector over OTLP/HTTP, on the official OpenTelemetry
// Go SDK's log exporter.
//
// [New] returns an ingest.Exporter. Each entry becomes one OTLP log record:
//
//	timestamp          → time (the observed time is server.received_at)
//	level              → severity number (1, 5, 9, 13, 17, 21) and text
//	logger             → instrumentation scope name
//	message            → body
//	error, stack_trace → exception.message (and exception.type), exception.stacktrace
//	install/session/user id → install.id, session.id, user.id
//	trace_id, span_id  → the record's trace context
//	attributes         → attributes, nested maps and lists kept, numbers as
//	                     int or double; server.received_at and
//	                     error.fingerprint among them
//	active_run         → run.thread_id, run.id
//	breadcrumbs        → fieldlog.breadcrumbs, a list of maps
//	resource           → the OTLP resource
//
// One Export is one OTLP request, sent before Export returns, so an error
// reaches the ingest server, which answers 503 and the client retries.
// Exports are serialised. The module is separate from fieldlog's core, so
// that importing the SDK never pulls in the OpenTelemetry dependencies.
package otlp
