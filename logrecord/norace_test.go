//go:build !race

package logrecord_test

const raceEnabled = false
