// Package sink is the core of fieldlog's logging pipeline: the [Sink]
// interface, the [Manager] that fans records out to sinks, the [Logger]
// facade, a [log/slog] [Handler], and two simple sinks, [Memory] and
// [Console].
//
// The entry point is [NewManager]. Code logs through a [Logger] from
// [Manager.Logger], or through slog with [Manager.Handler].
//
// Guarantees:
//
//   - A call below the configured level costs a few atomic loads and
//     allocates nothing. Levels — global, per logger (with dotted-prefix
//     inheritance) and per sink — can change at any time from any goroutine.
//   - Caller values are coerced once, where the record is built
//     (logrecord.Coerce): the sanitizer and every sink see the same
//     bounded tree, and no value — cyclic, deeply nested, with panicking
//     methods — can crash the program.
//   - The sanitizer, when set, runs exactly once per record, before any
//     sink sees it; the caller's record is never modified.
//   - A sink that fails or panics does not affect the other sinks or the
//     caller. Its failure is reported through the Manager's error callback
//     and never re-enters the pipeline.
//   - Flush and Close return by their context's deadline. After Close the
//     Manager ignores records.
package sink
