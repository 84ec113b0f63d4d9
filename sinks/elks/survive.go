package elks

import (
	"fmt"
	"log"
	"runtime/debug"
	"sync"
	"time"
)

// survive keeps a panic in one of the goroutines a session starts to
// this one call, as runHandler does for the handler and net/http for an
// HTTP handler: in Go a panic no goroutine recovers ends the process, and
// with it every other call. Those goroutines are the call's reader and
// writer, the decoder of the caller's audio, the recording's writer, the
// keepalive, an exec program's control channel, a menu's player and a
// barge-in's watcher; each defers survive first, so that it runs last and
// covers the goroutine's other defers too (the recording's close logs,
// say). None of those defers waits for the call's end.
//
// The panic (a bug of elkspipe's, or of a Logger the session calls) is
// logged with its stack, the call ends as closed, its End naming the
// goroutine, and its connection is dropped; the handler's Play or Drain
// returns as for any end of the call.
//
// A goroutine that panics while it holds the session's lock leaves it
// held: the connection is still dropped, but the call's other goroutines
// wait for the lock for good. The process and its other calls go on.
func (s *Session) survive(goroutine string) {
	p := recover()
	if p == nil {
		return
	}
	stack := debug.Stack()
	s.metrics.m.panicked(panicSession)
	safely(func() {
		s.Logger().Error("a call's goroutine panicked: the call is dropped, the server goes on",
			"goroutine", goroutine, "panic", fmt.Sprint(p), "stack", string(stack))
	})
	// The end first, so that it names the panic and not the connection
	// closed below; unless the lock it takes is held for good.
	if lockIsFree(&s.mu, time.Second) {
		safely(func() {
			s.finish(End{By: ByClose, Message: fmt.Sprintf("the session's %s panicked: %v", goroutine, p)})
		})
	}
	safely(func() {
		abort(s.t) // the call's state may be broken: no closing handshake
		s.t.Close()
	})
}

// lockIsFree reports whether mu could be taken within d. A lock held by
// a goroutine that panicked is held for good; another holder lets go in
// microseconds.
func lockIsFree(mu *sync.Mutex, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for !mu.TryLock() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	mu.Unlock()
	return true
}

// safely runs f, a step of survive, and contains a panic of it (of the
// Logger, or of a Transport's Close): that one is written with the
// standard log package (to stderr unless the program says otherwise), as
// net/http writes a handler's panic.
func safely(f func()) {
	defer func() {
		if p := recover(); p != nil {
			log.Printf("elks: a panic while ending a call that panicked: %v\n%s", p, debug.Stack())
		}
	}()
	f()
}
