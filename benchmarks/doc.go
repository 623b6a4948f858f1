// Package benchmarks measures fieldlog beside the libraries users compare
// it with, in the same run on the same machine. It is a module of its own
// so that the peers never enter the SDK's dependency graph; it holds
// benchmarks only.
//
// The scenarios, each through the libraries' public APIs:
//
//   - BenchmarkLogCall: the cost of one call on the caller's goroutine, calls
//     back to back; BenchmarkLogCallBursts: the same in bursts of 1,000
//     calls, the pipeline catching up between them.
//   - BenchmarkBurst: records delivered end to end per second, peak RSS
//     and bytes written to disk per record.
//   - BenchmarkBurstOutage and BenchmarkBurstServerDown: the receiver
//     down for half of the burst, or all of it.
//   - BenchmarkCrash: a process killed with SIGKILL with records waiting,
//     then restarted on the same directory.
//
// run.sh runs them all and writes docs/PERFORMANCE.md. A plain go test
// checks short versions: a burst and an outage deliver every record, and
// no record a pipeline said was on disk is lost to a SIGKILL.
package benchmarks
