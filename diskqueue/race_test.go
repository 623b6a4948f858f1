//go:build race

package diskqueue_test

// The race detector makes bbolt several times slower; keep the backlog
// test within its time budget.
const backlogRecords = 200000
