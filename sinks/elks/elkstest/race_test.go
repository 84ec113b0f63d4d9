//go:build race

package elkstest

// simRace tells the tests that the race detector is on: moving 30 MB
// through a WebSocket takes seconds under it.
const simRace = true
