// Package backendsink ships records to a fieldlog ingest endpoint.
//
// It encodes each record as one entry of the wire contract (snake_case
// JSON, with the install, session and user ids, the active run and, for
// error and fatal records, the breadcrumbs that led up to them). Attribute
// values that JSON cannot carry are coerced, never dropped and never a
// panic. An entry is at most MaxEntryBytes: over that, the message, then the
// attributes, then the stack trace and last the error text are cut on a
// UTF-8 boundary and marked "…[truncated]", so the error's identity
// survives longest.
package backendsink
