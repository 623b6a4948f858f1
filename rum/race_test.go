//go:build race

package rum

const raceEnabled = true
