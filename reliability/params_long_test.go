//go:build unix && reliability

package reliability_test

import "time"

// The long versions, with the build tag reliability (run.sh).
const (
	defaultQueueRounds   = 100
	defaultSinkRounds    = 30
	defaultSoakRecords   = 200000
	defaultSoakBatch     = 0 // the sink's default
	defaultFsizeLimits   = "16K:lift,24K:lift,32K:lift,48K:lift,64K:lift,96K:lift,128K:lift,192K:lift,256K:lift,512K:lift,1M:lift,24K:hold,64K:hold,128K:hold,256K:hold,512K:hold"
	defaultFsizeRecords  = 6000
	defaultSweepRecords  = 3000
	defaultTruncations   = 200 // random offsets, besides every page boundary
	defaultDamagedFiles  = 300
	defaultSoakDeadlineS = 400
)

// long says whether these are the long versions: the tests then run one at
// a time, so that their figures are their own.
const long = true

// The soak's client timeout, and how long the injector stalls: a short
// stall answers within the timeout, a long one outlasts it.
const (
	soakClientTimeout = time.Second
	stallFor          = 1500 * time.Millisecond
	// faultRate scales the random faults; the first requests get each
	// fault once whatever it is.
	faultRate  = 1
	shortStall = 200 * time.Millisecond
)
