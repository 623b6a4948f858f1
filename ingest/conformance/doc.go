// Package conformance checks a live ingest server against fieldlog's
// wire contract, so that clients can be pointed at it without losing
// logs: the checks are those on which the production backend and both
// modes of the reference server agree.
//
// [Check] posts a few dozen small payloads to a logs endpoint and returns
// one [Result] per check; [Run] runs them as subtests. They verify that
//
//   - a valid batch answers 200 {"accepted": n} with n the number of
//     entries sent, for batches of one and of 100, for an entry with every
//     field set and one with every optional field null, for every level
//     and breadcrumb category, and for every timestamp form clients write
//     (Go and Dart milliseconds, microseconds, nanoseconds, Python's
//     isoformat with +00:00, local offsets);
//   - each class of invalid payload answers 422: a body that is not an
//     object, logs missing or not an array, an entry that is not an
//     object, each required field missing or not a string, a level
//     outside the six names, attributes or user_id of the wrong type, a
//     malformed active_run, resource missing, null, not an object or with
//     a value that is not a string; malformed JSON answers 422 too, or the
//     status the target documents (400 for the reference server's strict
//     mode);
//   - a body over 1 MB answers 413;
//   - without a token, or with a wrong one, a server that takes a token
//     answers 401;
//   - a gzip body is either accepted or refused with 400 or 415 (clients
//     then send plain bodies): both pass, the result says which.
//
// Accepted entries are stored by the target like any others: their logger
// is "fieldlog.conformance" and their install and session ids start with
// "conformance-". A 429 is waited out (at most 5 s, three times). Nothing
// else is sent, and no answer is followed to another address.
package conformance
