// Package wire holds what a fieldlog client and an ingest server must
// agree on, defined once so that neither can produce what the other
// refuses: the names of the payload's fields, levels and breadcrumb
// categories, the timestamp layout, the nesting and number limits, the
// JSON string escaping, the encoding of an entry, its attributes and the
// server's acknowledgement.
//
// The client's encoder (package backendsink) and the reference server
// (package ingest) both use it; it imports nothing of fieldlog's but
// logrecord, whose coercion fixes the shape of attribute values.
//
// Everything here writes valid JSON for any input: invalid UTF-8 becomes
// U+FFFD, NaN and the infinities become strings, a number JSON readers
// cannot take becomes a string, nesting past the limit becomes "!DEPTH",
// and no object gets a key twice.
package wire
