// Package backendsink ships records to a fieldlog ingest endpoint, at
// least once.
//
// A [Sink] is a sink.Sink. Its Write only hands the record over: encoding
// to wire JSON, the size guard and the disk run on the sink's own
// goroutines, and one uploader goroutine sends batches (at most 100
// records and 900 KB) from the durable queue (package diskqueue) and
// deletes them only after a 2xx. The entry point is [New].
//
// Wire format: each record becomes one entry of the wire contract
// (snake_case JSON, with the install, session and user ids, the active run
// and, for error and fatal records, the breadcrumbs that led up to them).
// Attribute values that JSON cannot carry are coerced, never dropped and
// never a panic: NaN and infinities become strings, invalid UTF-8 is
// replaced, errors, times, Stringers and TextMarshalers become their text,
// anything else fmt.Sprint; a method that panics becomes a placeholder. An
// entry is at most [MaxEntryBytes]: over that, the message, then the
// attributes, then the stack trace and last the error text are cut on a
// UTF-8 boundary and marked "…[truncated]", so the error's identity
// survives longest.
//
// How the sink reacts to each answer ([Classify]):
//
//	2xx                     confirm the batch, reset the backoff
//	401, 403                pause until the token provider returns another token
//	404                     pause until SetEndpoint changes the endpoint
//	413                     send in halves; a single record still too large is dropped
//	400, 422, other 4xx     bisect; drop only the rejected records
//	429                     back off, honouring Retry-After (seconds or HTTP date)
//	500 and other 5xx       back off (1 s doubling to 60 s, jittered); after 3
//	                        failures in a row, bisect: a record that fails alone
//	                        3 times while other requests succeed is the poison
//	                        pill and is dropped
//	502, 503, 504, network  back off; never dropped
//
// Error and fatal records go to the queue's high class, so they jump any
// backlog, and start an upload at once; a fatal record is on disk when
// Write returns. Nothing is dropped because an outage lasted long: only the
// queue cap, a full hand-over buffer, poison isolation and rejection drop
// records, and the next delivered batch carries an entry saying how many
// were lost and why. The sink's own failures go to Options.OnError and
// [Sink.Stats], never back into the logging pipeline, and records written
// with the context of the sink's own requests ([IsOwnRequest]) are not
// shipped.
package backendsink
