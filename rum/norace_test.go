//go:build !race

package rum

const raceEnabled = false
