// Package ingest is fieldlog's wire contract and its reference ingest
// server.
//
// The contract: a client POSTs a [Payload] of [Entry] values to
// [LogsPath]. [Decode] reads one with a byte limit and reports every
// contract violation with its JSON path ([ValidationError]); [Validate]
// checks one built in code. [Fingerprint] groups error entries that are the
// same bug across builds and machines.
//
// The server: [NewServer] returns an http.Handler that verifies the caller,
// enforces the 1 MB body limit while reading (413), rejects contract
// violations with 422 and the list of them, rate-limits each install and
// session with a token bucket (429 with Retry-After), accepts gzip, stamps
// every accepted entry with server.received_at and error entries with
// error.fingerprint, and hands them to an [Exporter] — a [JSONLStore] by
// default. It also serves the remote logging configuration with an ETag,
// the most frequent errors, diagnostic attachments and a health check.
//
// The package depends only on the standard library.
package ingest
