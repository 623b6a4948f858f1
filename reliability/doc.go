// Package reliability holds the tests behind fieldlog's delivery
// guarantees, run against the public API of the durable queue (package
// diskqueue), the backend sink (package backendsink) and the reference
// ingest server (package ingest). It holds tests only.
//
// The suite:
//
//   - TestQueueSIGKILL: a child process appends to a disk queue, confirming
//     and deleting records as an uploader does, and is killed with SIGKILL
//     at random moments, round after round on the same file; after every
//     kill the queue opens, and every record the child saw acknowledged as
//     durable is there exactly once, intact and in order, unless it had
//     been confirmed.
//   - TestSinkSIGKILL: the same for a child logging through the backend
//     sink to an ingest server on 127.0.0.1: every record acknowledged as
//     durable reaches the server in the end; duplicates (at-least-once) are
//     counted.
//   - TestFaultSoak: records through the backend sink against the reference
//     ingest server behind a fault injector (server errors, dropped
//     connections, lost acknowledgements, 429 with Retry-After, redirects,
//     stalls, captive-portal answers and records the server rejects for
//     good): every record is delivered, or dropped and counted with a
//     reason; no goroutine outlives Close; peak memory is measured.
//   - TestDiskFullSweep: a child appends under a file size limit
//     (RLIMIT_FSIZE) at several sizes: every record is stored or counted as
//     dropped, and the queue works again once the limit is lifted.
//   - TestTruncationSweep and TestDamageSweep: a queue file cut at many
//     offsets or with bytes changed opens (intact, with the damage counted,
//     or moved aside) or returns an error, never faults, never returns a
//     damaged record.
//
// `go test ./reliability/` runs short versions (seconds). With the build tag
// reliability the defaults are the long versions; environment variables
// (RELIABILITY_QUEUE_ROUNDS, RELIABILITY_SINK_ROUNDS,
// RELIABILITY_SOAK_RECORDS, RELIABILITY_SEED, …; see params_test.go) set
// them one by one. run.sh runs the long versions and every fuzz target of
// the repository and writes docs/RELIABILITY.md.
package reliability
