// Package rum measures what the users of a service feel — how long it took
// to start, how long requests take, how the services it calls answer, and
// when the Go runtime stalls — and reports it as ordinary log records, so
// the ingest side can aggregate them without a metrics backend.
//
// The entry point is [New], which takes the sink.Logger the records go
// through:
//
//	mon, err := rum.New(manager.Logger("rum"), rum.Options{})
//	defer mon.Close(ctx)
//	mon.StartSampler()
//	client := &http.Client{Transport: mon.Transport(nil)}
//	srv := &http.Server{Handler: mon.Middleware(mux)}
//	mon.Ready()
//
// and, in any handler, defer rum.Time(ctx, "checkout")().
//
// # Records
//
// Every record has a "metric" attribute naming what it measures and an
// "ms" attribute with the duration in milliseconds (to the microsecond),
// plus the context listed here. Single events are logged at info, or at
// warning past their threshold; summaries at info (runtime: debug).
//
//	metric               logger       level             context
//	cold_start           start        info, warning     start_source, phases (ms each)
//	http.server.request  http.server  warning if slow   route, method, status, bytes
//	http.server.summary  http.server  info              route, method, count, percentiles, bytes, status_4xx, status_5xx
//	http.client.request  http.client  warning if slow   method, host, path, status, error_class, error
//	                                  or failed
//	http.client.summary  http.client  info              host, method, count, percentiles, status_5xx, errors by class
//	op                   op           warning if slow   op, route
//	op.summary           op           info              op, count, percentiles
//	runtime.stall        runtime      warning           cause, GC pause and scheduling latency p99 and max,
//	                                                    goroutines, heap_bytes
//	runtime.summary      runtime      debug             the same with p50, gc_cycles, stalls
//
// Logger names are children of the Logger given to New ("rum.http.server"
// for a Logger named "rum"). HTTP records carry the breadcrumb category
// network, the others system. In a summary, ms is the mean, so that
// summaries of several windows or replicas combine exactly (ms × count);
// p50_ms, p95_ms, p99_ms and max_ms describe the window, window_ms its
// length, slow how many were past the threshold and suppressed how many
// warnings were not logged individually.
//
// # Volume
//
// A busy service serves thousands of requests a second; a record for each
// would cost more than the requests. So each request, call and operation
// is counted in the summary of its series — a route (the ServeMux pattern
// and method), a host and method, or an operation name — and only what is
// worth a look is logged on its own: slow requests, slow or failed calls,
// slow operations, at most Options.Warnings per series per summary window.
// Aggregation, not sampling: counts, slow counts, errors and the maximum
// are exact, the tail is not lost to the luck of a sampler, and the volume
// is one record per active series per window, whatever the traffic.
// Percentiles come from a histogram with buckets at most 12.5% wide.
// Turning on debug for a child logger ("rum.http.client", for example,
// from the remote log level) logs every request or call individually, at
// debug, while it lasts.
//
// # Guarantees
//
//   - The measured fast path of a request (not slow, not failed, debug
//     off) adds well under two microseconds and at most two allocations to
//     the middleware, and no allocation to the transport. Counters are atomic;
//     a new series takes a lock once.
//   - Routes are ServeMux patterns, never raw paths; methods outside the
//     standard set count as OTHER; each kind of series is bounded by
//     Options.MaxSeries, beyond which names share the series "(other)".
//     No input grows memory without bound.
//   - Requests that fieldlog makes itself (backendsink.IsOwnRequest) are
//     never measured, so shipping logs makes no more logs.
//   - The cold start is logged once per process, from the start the
//     operating system reports (/proc/self/stat on Linux) or else from the
//     initialisation of this package.
//   - The Monitor owns its goroutines: the summary goroutine started by New
//     and the sampler started by StartSampler. Close stops both and logs the
//     last window's summaries; when its context ends first, it skips the
//     summaries not yet written and returns once the record in hand reaches
//     the sinks. No goroutine outlives Close. After Close the middleware and
//     transport pass requests through unmeasured.
//   - Measuring never changes what the application sees: the handler's
//     writer keeps Flush, Hijack and ReadFrom, responses and errors pass
//     through untouched, and a panicking handler is measured (status 500,
//     panicked=true) as the panic continues on its way.
package rum
