//go:build race

package main

// raceEnabled builds the CLI under test with the race detector too.
const raceEnabled = true
