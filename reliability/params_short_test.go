//go:build unix && !reliability

package reliability_test

import "time"

// The short versions, run by every `go test ./...`: seconds in all.
const (
	defaultQueueRounds   = 3
	defaultSinkRounds    = 2
	defaultSoakRecords   = 5000
	defaultSoakBatch     = 100
	defaultFsizeLimits   = "48K:lift,256K:hold"
	defaultFsizeRecords  = 3000
	defaultSweepRecords  = 500
	defaultTruncations   = 6
	defaultDamagedFiles  = 6
	defaultSoakDeadlineS = 90
)

// long says whether these are the long versions: the tests then run one at
// a time, so that their figures are their own.
const long = false

// The soak's client timeout, and how long the injector stalls: a short
// stall answers within the timeout, a long one outlasts it.
const (
	soakClientTimeout = 300 * time.Millisecond
	stallFor          = 500 * time.Millisecond
	// faultRate scales the random faults; the first requests get each
	// fault once whatever it is.
	faultRate  = 0.2
	shortStall = 100 * time.Millisecond
)
