//go:build !race

package diskqueue_test

const backlogRecords = 1000000
