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
// The package imports nothing else from fieldlog.
package logrecord
