// Package backendsink ships records to a fieldlog ingest endpoint, at
// least once.
//
// A [Sink] is a sink.Sink. Its Write only hands the record over: encoding
// to wire JSON, the size guard and the disk run on the sink's own
// goroutines, and one uploader goroutine sends batches (at most 100
// records and 900 KB) from the durable queue (package diskqueue) and
// deletes them only once the server acknowledges them. The entry point is
// [New].
//
// Wire format: each record becomes one entry of the wire contract
// (snake_case JSON, with the install, session and user ids, the active run
// and, for error and fatal records, the breadcrumbs that led up to them).
// Attribute values arrive coerced (logrecord.Coerce): maps, slices and
// structs keep their JSON shape, and nothing can make encoding recurse
// without bound. NaN and infinities become strings, invalid UTF-8 is
// replaced, and every object carries each key once (the last value wins,
// as readers keep it). Resource values are sent as exact strings.
//
// The sink repairs what a conforming backend would reject, and says so:
// a zero time or one outside years 0001–9999 becomes the time the record
// was handed over (the original in fieldlog.invalid.timestamp), a trace or
// span id that is not lower-case hex of the right length is sent as null
// (the original in fieldlog.invalid.trace_id or span_id), and breadcrumbs
// are repaired the same way, so one can never make its record invalid.
//
// An entry is at most [MaxEntryBytes]. Over that, the size guard cuts what
// identifies the record least first: breadcrumbs (fewer, then shorter
// messages), then the largest attribute values (cut to a prefix, then
// removed, largest first), then the stack (keeping its top frames), then
// the error, and the message last, never below its first 4 KB. Cuts end
// on a rune boundary with "…[truncated]", and the fieldlog.truncated
// attribute lists them.
//
// How the sink reacts to each answer ([Classify], or Options.Classify,
// which sees the status, headers and body):
//
//	2xx with {"accepted": N}  confirm the batch (N the records sent), reset the backoff
//	other 2xx                 a proxy or portal answered: back off and retry; never
//	                          confirm, never drop (Options.ConfirmAny2xx confirms them)
//	3xx                       never followed: pause like 404, reporting the Location
//	401, 403                  pause until the token provider returns another token
//	404                       pause until SetEndpoint changes the endpoint
//	400, 415 to a gzip body   send it again uncompressed; no gzip to that endpoint again
//	413                       send in halves; a single record still too large is dropped
//	400, 422, other 4xx       bisect; drop only the rejected records
//	429                       back off, honouring Retry-After (seconds or HTTP date)
//	500 and other 5xx         back off (1 s doubling to 60 s, jittered); after 3
//	                          failures in a row, bisect: a record that fails alone
//	                          3 times while other requests succeed is the poison
//	                          pill and is dropped
//	502, 503, 504, network    back off; never dropped
//
// The token goes only to the configured endpoint: redirects are never
// followed.
//
// Error and fatal records go to the queue's high class, so they jump any
// backlog, and start an upload at once; a fatal record is on disk when
// Write returns. Nothing is dropped because an outage lasted long: only the
// queue cap, a full hand-over buffer, poison isolation and rejection drop
// records, and the next delivered batch carries an entry saying how many
// were lost and why.
//
// Errors: Flush returns why it could not upload, as errors matching
// [ErrPaused], [ErrOffline], [ErrNoToken] or [ErrBackoff] (and the
// [*StatusError] of the answer behind it); it carries its context to the
// upload, which ends when the context does. The sink's own failures go to
// Options.OnError, each once, never one that Flush returned, and to
// [Sink.Stats]; they never re-enter the logging pipeline, and records
// written with the context of the sink's own requests ([IsOwnRequest]) are
// not shipped.
package backendsink
