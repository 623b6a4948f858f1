// Package ingest is fieldlog's wire contract and its reference ingest
// server.
//
// # Contract
//
// A client POSTs a [Payload] of [Entry] values to [LogsPath]. The Go types
// are the one definition of the JSON: snake_case names, nullable fields as
// pointers, resource values strings only, levels the six lower-case names
// of [logrecord.Level]. [Decode] reads a body with a byte limit (counted
// while reading) and returns the payload, [ErrTooLarge], an error wrapping
// [ErrMalformed], or a [*ValidationError] listing every violation with its
// JSON path ("logs[3].level: must be one of …"). Unknown fields are
// ignored, as by the production backend, but a contract name in another
// spelling (stackTrace, Level) is a violation. [Validate] checks a payload
// built in code exactly as the wire would.
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
// that verifies the caller, enforces the body limit while reading (413),
// rejects contract violations with 422 and the list of them, rate-limits
// each install and session with a token bucket (429 with Retry-After),
// accepts gzip, stamps every accepted entry with server.received_at and
// error entries with error.fingerprint, counts fingerprints per window with
// an alert hook, and hands the entries to an [Exporter] as [StoredEntry]
// values. A [JSONLStore] keeps them as greppable JSON lines rotated by size
// and reads them back with Query; a [MemoryExporter] keeps them for tests.
// It also serves the remote logging configuration with an ETag, the most
// frequent errors, diagnostic attachments and a health check.
//
// Bad input never panics: the decoder is fuzzed, nesting is bounded, and
// the handler recovers as a last resort. The package depends only on the
// standard library and logrecord.
package ingest
