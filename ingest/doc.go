// Package ingest is fieldlog's wire contract, its reference ingest
// server, and the contract's definitions both sides share.
//
// # Contract
//
// A client POSTs a [Payload] of [Entry] values to [LogsPath]. The Go types
// are the one definition of the JSON: snake_case names, nullable fields as
// pointers, resource values strings only, levels the six names of
// [ParseLevel], breadcrumb categories the four of [Categories], times in
// [TimestampLayout]. [Breadcrumb], [ActiveRun], [ParseLevel] and
// [NewBreadcrumb] are what clients build entries with; [LoggingConfig] is
// what [ConfigPath] serves.
//
// A [Decoder] reads a body and checks it in one of two modes ([Decode]
// and [DecodeBytes] in compat mode); [Validate] checks a payload built in
// code as the wire would. Each returns the payload, or [ErrTooLarge],
// [ErrTooManyEntries], an error wrapping [ErrMalformed] or
// [ErrUnreadable], or a [*ValidationError] listing every violation with
// its JSON path ("logs[3].level: must be one of …"), at most 1,000 of
// them.
//
// # Modes
//
// [Compat], the default, answers as the production backend does, whose
// model is smaller than the client contract: timestamp any string; level
// one of the six names; logger, message, install_id and session_id
// strings; attributes an object or null; user_id a string or null;
// active_run null or {thread_id, run_id} of strings; resource a required
// object of strings; every other field ignored whatever its value. It
// never rejects what production accepts, because the original Dart client
// drops a whole batch on any 4xx, and it rejects what production rejects,
// because a client that passes against it must pass in production.
// [Strict] checks the whole client contract, for testing clients.
//
//	input                                          compat                    strict
//	valid payload                                  200                       200
//	timestamp: any string                          200, kept as sent         RFC 3339 with an offset, else 422
//	  (Z or ±hh:mm, T/Z in either case, any fraction: 2026-02-06T12:00:00.123Z, …123456+00:00)
//	error, stack_trace: not a string or null       200, moved                422
//	span_id, trace_id: not 16/32 lower-case hex    200, moved                422
//	breadcrumbs: not an array of valid crumbs      200, moved                422
//	  (crumb: timestamp, level, logger, message and one of the four categories)
//	unknown or misspelled field (stackTrace, msg)  200, ignored              422, named by path, with the
//	                                                                         snake_case name when respelled
//	attributes nested past 32 levels               200                       422
//	required field missing or not a string;        422                       422
//	  level not one of the six; attributes,
//	  user_id or active_run of the wrong type;
//	  resource missing, null or not strings
//	malformed JSON, empty body                     422                       400
//	NaN, Infinity; UTF-8 byte order mark;          200 (NaN as the string    400
//	  UTF-16 or UTF-32 body                          "NaN")
//	body not valid UTF-8 (UTF-16, UTF-32)          400                       400
//	integer of more than 4,300 digits              400                       400
//	nested deeper than 512 levels                  400                       400
//	Content-Type none, application/json            200                       none: 415
//	Content-Type application/*+json                200                       415
//	Content-Type anything else (text/plain, …)     422                       415
//	Content-Encoding gzip (our extension)          decoded                   decoded
//	body over 1 MB (after gzip too)                413                       413
//	more than 12,000 entries, all valid            413                       413
//
// "Moved" means compat mode stores the value under an attribute named
// [InvalidKeyPrefix] plus the field (fieldlog.invalid.trace_id) and the
// field as null: nothing the client sent is lost, and nothing malformed
// reaches the exporter. A repeated key counts with its last value, as in
// production. Strings may hold lone surrogate escapes, which become
// U+FFFD. The testdata directory holds a payload file for each verdict.
//
// # Fingerprints
//
// [Fingerprint] groups error entries that are the same bug across builds
// and machines: a versioned SHA-256 of the error type and the top three
// normalised frames of a Go or Dart stack, the application's own frames
// first; without a stack, of the type and the message with variable parts
// masked.
//
// # Server
//
// [NewServer] returns an http.Handler (see [Server] for the endpoints)
// that verifies the caller with a [Verifier], enforces the body limit
// while reading (413), rejects contract violations with 422 and the list
// of them, rate-limits each install, session and authenticated user with
// token buckets (429 with Retry-After), accepts gzip, stamps every
// accepted entry with server.received_at, the authenticated user as
// server.user, and error entries with error.fingerprint, counts
// fingerprints per window with an alert hook, and hands the entries to an
// [Exporter] as [StoredEntry] values. A [JSONLStore] keeps them as
// greppable JSON lines, and a [MemoryExporter] keeps them for tests. It
// also serves the remote logging configuration with an ETag (behind the
// Verifier too, unless PublicConfig is set), the most frequent errors,
// diagnostic attachments and a health check. [Server.HTTPServer] returns
// the http.Server to run it in.
//
// # Support view
//
// A support engineer given "user X on device Y had issue Z at time T"
// finds the session and reads what happened. A [JSONLStore] keeps a
// session index as entries arrive, and is a [SessionFinder]:
// [JSONLStore.FindSessions] finds sessions by user id (the client's or the
// authenticated one), install id, device alias, time range, level, text
// and error fingerprint; [JSONLStore.Timeline] returns one session's
// [Timeline]: the start marker (service, version, OS, device alias), then
// every record in time order with the client's time beside
// server.received_at, breadcrumbs folded under the error they came with,
// crashes, the silent death of a session as the next start reported it,
// records lost before delivery placed where the loss began, records cut
// to fit, and runs of records delivered late (kept offline and
// replayed), and links to the diagnostics attachments a record names,
// served at AttachmentsPath/{id}. The Server serves both as JSON at
// [SessionsPath] and as HTML pages at [SessionsPagePath], behind its
// Verifier.
//
// The index costs a few map lookups and one append per entry, under one
// lock per batch, and holds 16 bytes per stored line plus one summary
// per session, at most JSONLOptions.MaxSessions of them (100,000 by
// default; the least recently active are forgotten first). Every key but
// text is answered from the index alone; a text search, and a timeline,
// read only the lines of the sessions concerned. Opening a store reads
// its files once to build the index; [OpenJSONLStoreReadOnly] opens a
// copy for the view without writing to it.
//
// # Authentication
//
// A [Verifier] accepts a request and names its user, or refuses it (401).
// [BearerToken] checks one static token (the scheme in any case) and
// names nobody; the nested module github.com/soliplex/fieldlog/oidcauth
// checks the OIDC access tokens the production backend takes (JWTs signed
// by each configured issuer's published keys) and names the user by a
// claim; [AnyOf] takes either. A verifier that cannot decide, because an
// identity provider is down, is reported to OnError, at most once per
// 10 s.
//
// # Exports
//
// Exporters write an entry as a log record: time, severity, scope, body,
// trace context, attributes and resource. The record's own fields are
// the same in every [Naming]; the entry's other facts become attributes
// beside the client's, named as the exporter's Naming says:
//
//	entry              record                BackendNames (default)   OTelNames
//	timestamp          time                  client_timestamp         client_timestamp
//	level              severity 1 … 21
//	logger             scope                 logger
//	message            body                  message
//	install_id                               install_id               install.id
//	session_id                               session_id               session.id
//	user_id                                  user_id                  user.id
//	active_run                               thread_id, run_id        run.thread_id, run.id
//	error                                    exception.message        exception.message
//	                                         exception.type           exception.type
//	stack_trace                              exception.stacktrace     exception.stacktrace
//	breadcrumbs                              fieldlog.breadcrumbs     fieldlog.breadcrumbs
//	trace_id, span_id  trace context
//	attributes                               as sent, with server.received_at, server.user,
//	                                         error.fingerprint and fieldlog.invalid.* among them
//	resource           resource
//
// The record's time is the timestamp as [StoredEntry.Time] reads it (or
// server.received_at, when compat mode kept a timestamp that does not
// parse); client_timestamp keeps the client's text beside it. Null
// fields are left out, exception.type is [ErrorType] of the error when it
// has one, and a field wins over a client attribute of the same name.
//
// BackendNames are the production backend's names: records from both
// backends query alike, which is why they are the default, as compat mode
// is. The production backend has no names for the error, the stack and
// breadcrumbs (it ignores them), so both namings use OpenTelemetry's
// exception.* and ours. [StoredEntry.NamedAttributes] gives the
// attributes; the OTLP exporter (github.com/soliplex/fieldlog/otlp) and
// [JSONLStore] both use it, so a JSONL line and an OTLP record of the
// same entry carry the same names. The testdata/export directory holds
// the JSONL line of one error entry in each naming.
//
// # Limits against hostile clients
//
// Every default is an option of [ServerOptions]:
//
//	request headers                  10 s to arrive, 32 KB (HTTPServer)
//	idle keep-alive connection       closed after 60 s (HTTPServer)
//	open connections                 1,024; past it the longest idle is closed (HTTPServer)
//	logs body                        30 s to arrive, else 408 and the connection closed
//	attachment                       2 min to arrive, else 408; 5 MB
//	bodies being read at once        128, else 503 with Retry-After: 1 at once
//	bytes being read and decoded     64 MB server-wide, else 503 with Retry-After: 1
//	entries per request              12,000, else 413 (no valid 1 MB body reaches it)
//	error samples                    the first 256 bytes of message and error text
//	fingerprints counted             10,000; past it the tenth seen longest ago go
//	errors/top                       at most 1,000 rows of such samples
//	rate-limit buckets               100,000
//
// A request refused before its body is used (401, 415, 422 for a
// Content-Type, 503) has its connection closed after at most a second of
// draining, so a client without a token cannot hold a connection by
// sending slowly, and one that sends its body before reading still reads
// the answer. The
// decoder reads a payload in one pass and builds entries only while the
// payload is valid, so a rejected body costs about its own size: a 1 MB
// body of 349,518 empty objects allocates well under 1 MB beyond the
// pooled body buffer. A JSONLStore writes each batch whole or not at all,
// works again as soon as its disk does, cuts a torn last line when it
// opens, and deletes its oldest files past 1 GB in total or 30 days.
//
// Bad input never panics: the decoders are fuzzed, nesting is bounded,
// and the handler recovers as a last resort. The package depends only on
// the standard library and logrecord; package conformance checks any live
// ingest server against the contract.
package ingest
