//go:build race

package elkstest

// raceEnabled tells the tests that the race detector is on: moving 30 MB
// through a WebSocket takes seconds under it.
const raceEnabled = true
