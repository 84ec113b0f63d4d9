//go:build !race

package wsframe

// raceEnabled tells the tests that the race detector is on: under it,
// sync.Pool drops some of what it is given, on purpose.
const raceEnabled = false
