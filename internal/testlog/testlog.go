// Package testlog holds a log buffer for tests: what a server's, a
// program's or a call's goroutines log, read by the test as they go.
package testlog

import (
	"strings"
	"sync"
)

// Buffer is an io.Writer of log lines, safe for concurrent use; String
// returns what was written so far.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write adds p to the buffer.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns the lines written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
