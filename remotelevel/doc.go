// Package remotelevel lets an operator change a running program's log
// levels from the ingest server, without a restart: when a field issue
// needs more detail, the server's logging configuration turns it up, and
// the programs follow within one refresh interval.
//
// The entry point is [New], given the [sink.Manager] whose levels it
// steers and the same endpoint, HTTP client and token provider as the
// backend sink. The [Client] fetches [ConfigPath] at start and every
// Options.Interval (10 minutes, jittered), with If-None-Match so an
// unchanged configuration costs a 304, and sets the Manager's remote
// layer: min_level in place of the global level, each of modules in place
// of the override of that logger, with the Manager's dotted-prefix
// inheritance ("Http" covers "Http.Client"). [Client.Refresh] fetches now;
// [Client.Status] shows the effective levels.
//
// Precedence, from strongest:
//
//  1. A level pinned in code with [sink.Manager.PinLevel] or
//     [sink.Manager.PinLoggerLevel]: never overridden remotely (a pinned
//     logger level covers its descendants too).
//  2. The remote configuration, while the server serves it and its
//     optional until (RFC 3339) has not passed.
//  3. The local levels, set in code: they apply again as soon as the
//     server drops an entry, its until passes, or the Client is closed.
//
// As everywhere in the Manager, a more specific logger name wins over a
// less specific one, whichever layer each comes from.
//
// Guarantees:
//
//   - The application never waits for the server: New returns at once,
//     fetching runs on the Client's one goroutine, and a log call reads
//     the levels with no lock.
//   - Nothing the server answers can crash the program or set a level by
//     accident. An unreachable server, an error status, a body that is
//     not a configuration (not JSON, an unknown level name, missing
//     min_level, over MaxConfigBytes) keep the last valid configuration —
//     the local levels when none was received — and the Client retries
//     with a backoff that starts at BackoffInitial and grows to Interval
//     (longer only when a Retry-After asks). Each kind of failure is
//     reported once through OnError until a fetch succeeds again.
//   - After 401 or 403 the Client fetches nothing until the token
//     provider returns a different token, as the backend sink does.
//   - Its requests are marked as fieldlog's own, so HTTP instrumentation
//     never measures or logs them; redirects are never followed, so the
//     token goes to the configured origin only.
//   - Each change of the remote layer is logged once, as the info record
//     log_level_changed with the reason (config, expired, closed) and the
//     old and new configuration as the server set it ("local" for none;
//     pinned levels hold whatever it says, and [Client.Status] shows the
//     effective ones). The record is written on whichever side of the
//     change lets info records of Options.Events through, so turning the
//     detail down is recorded too.
//   - Close stops the goroutine and aborts a fetch in flight by its
//     context's deadline; no goroutine outlives it.
package remotelevel
