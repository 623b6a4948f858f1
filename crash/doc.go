// Package crash reports how a process ended when it did not end well:
// panics, crashes that no recover sees, and deaths that leave no output at
// all; and, on request, attaches a goroutine dump to error records.
//
// The entry point is [Install], once per process, before the backend sink
// opens its queue; then [Guard.Start] with the Manager, and [Guard.Close]
// at exit, after the Manager's Close:
//
//	guard, err := crash.Install(crash.Options{SessionID: session, Breadcrumbs: crumbs, Backend: &backendOpts})
//	backendOpts.Breadcrumbs = guard.Breadcrumbs()
//	backend, err := backendsink.New(backendOpts)
//	m := sink.NewManager([]sink.Sink{crumbs, guard.Diagnostics(backend)})
//	guard.Start(m)
//	defer guard.Close(ctx)
//	defer m.Close(ctx)
//
// What it reports:
//
//   - A panic that [Guard.Recover] (deferred), [Guard.Go] or
//     [Guard.Middleware] sees: a fatal record with the panic value and the
//     goroutine's stack from where it panicked, on disk (the backend
//     sink's AppendSync) before the panic goes on. Recover and Go raise
//     the panic again, so the program ends as it would have, and the next
//     start does not report it twice; a Guard from [Guard.Swallowing] lets
//     the goroutine end instead, for worker pools. Middleware answers 500,
//     records the method and route, and the server goes on serving.
//   - A crash no recover sees — an unrecovered panic in a goroutine the
//     program did not wrap, a fatal error such as concurrent map writes,
//     a stack overflow, running out of memory: the runtime writes it to a
//     file in Options.Dir (runtime/debug.SetCrashOutput). The next start
//     reads it and ships one fatal record with the panic or fatal error,
//     the crashing goroutine's stack, the session's last breadcrumbs and
//     the crashed session's id. The runtime leaves a fatal error's message
//     out of that file, so it is inferred from the stack and marked
//     (crash.message_inferred).
//   - A session that ended with neither crash output nor Close — SIGKILL,
//     an out-of-memory kill, power loss — is reported by the next start as
//     one warning naming the session and its last known activity (its
//     last breadcrumb, from a small file kept up to date every
//     SaveInterval while the breadcrumbs change).
//
// Guarantees:
//
//   - A report of an earlier session is shipped exactly once: it is in
//     the queue, durably, before its files are removed, and a start that
//     was killed in between finds it there instead of writing it again.
//     This holds when Options.Backend is given and Install runs before the
//     backend sink starts.
//   - Reports are sanitized before they are queued; diagnostics dumps are
//     redacted by the same rules (home directories and build directories
//     in frames, every rule elsewhere) before they are uploaded.
//   - Diagnostics never run on the caller's goroutine, take at most one
//     dump per Interval, and never drop or hold a record longer than Wait.
//   - Nothing here panics out, and bad files in Options.Dir are skipped or
//     reported, never trusted.
//
// A session still running in the same directory (its marker is locked)
// is never reported. Crash output goes to one file per process: Install
// replaces any the program set with SetCrashOutput.
package crash
