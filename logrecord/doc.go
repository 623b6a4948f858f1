// Package logrecord defines the values that flow through fieldlog: the six
// severity [Level]s and the immutable [Record].
//
// A Record is a small value type. Its scalar fields are exported and copying a
// Record copies them; its attributes are held privately and are never changed
// in place, so a copy made with [Record.WithAttrs] or [Record.ReplaceAttrs]
// never aliases the original's attributes. Sinks may therefore keep the
// records they receive, and a sanitizer can derive a redacted copy without
// touching what the caller logged.
//
// Caller values are turned into data once, where a record is built: [New],
// WithAttrs and ReplaceAttrs coerce attribute values ([Coerce]) into one
// bounded tree that the sanitizer, every sink and the wire encoder share.
// Maps, slices and structs keep their JSON shape, a struct's fields stay
// visible to key rules, and no value — one that holds itself, one nested a
// thousand deep, one whose methods panic — can make any of them recurse
// without bound or crash the program. [MaxDepth] is the nesting the ingest
// contract accepts.
//
// The package imports nothing else from fieldlog.
package logrecord
