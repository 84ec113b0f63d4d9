package elks

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Keepalive. A call that sends nothing for a while (hangup=false after the
// audio, an agent between its turns, a caller on hold with nothing queued)
// crosses no byte of WebSocket traffic, and the proxies in front of a
// server cut idle connections: nginx after 60 s by default
// (proxy_read_timeout), HAProxy after its "timeout tunnel". So a session
// pings the API every Config.Ping. The pong proves the API is alive, and
// a peer that has not answered within the next period is gone: the call
// ends as dropped, and the log says why.

// DefaultPing is how often a session pings the API unless Config.Ping says
// otherwise: well under the 60 s after which nginx closes an idle proxied
// connection by default.
const DefaultPing = 20 * time.Second

// Pinger is a Transport that can check that its peer is alive: Ping sends
// a ping and returns when the pong comes back, or an error when ctx ends
// first or the connection fails. A WebSocket transport is one (the pong
// is read by the reading goroutine, so Ping needs ReadMessage to be
// running, as it always is in a Session); so are Pipe's ends.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Ping sends a WebSocket ping and waits for its pong.
func (t *wsTransport) Ping(ctx context.Context) error {
	if t.ws != nil {
		return t.ws.Ping(ctx)
	}
	return t.c.Ping(ctx)
}

// keepalive is a session's pinging: a timer, not a goroutine, so that
// a call between its pings (almost all of its life) costs no stack for the
// garbage collector to scan; the timer's function runs one ping in a
// goroutine of its own and sets the timer again when the pong is back.
type keepalive struct {
	mu      sync.Mutex
	timer   *time.Timer // nil: no pings
	stopped bool
	pinging sync.WaitGroup // the ping running, if any
}

// startPings pings the API every cfg.Ping until the call is over, and
// ends the call as dropped when a pong does not come back within a period.
func (s *Session) startPings(p Pinger) {
	s.keep.mu.Lock()
	defer s.keep.mu.Unlock()
	s.keep.timer = time.AfterFunc(s.cfg.Ping, func() { s.ping(p) })
}

// stopPings stops the pings and waits for the one running, if any (the
// call's context is over by then, so it returns at once).
func (s *Session) stopPings() {
	s.keep.mu.Lock()
	s.keep.stopped = true
	if s.keep.timer != nil {
		s.keep.timer.Stop()
	}
	s.keep.mu.Unlock()
	s.keep.pinging.Wait()
}

// ping sends one ping and waits for its pong: on time, it sets the timer
// for the next; late, it ends the call as dropped.
func (s *Session) ping(p Pinger) {
	defer s.survive("keepalive")
	s.keep.mu.Lock()
	if s.keep.stopped {
		s.keep.mu.Unlock()
		return
	}
	s.keep.pinging.Add(1)
	s.keep.mu.Unlock()
	defer s.keep.pinging.Done()

	select {
	case <-s.done:
		return
	default:
	}
	every := s.cfg.Ping
	ctx, cancel := context.WithTimeout(s.ctx, every)
	err := p.Ping(ctx)
	timedOut := ctx.Err() == context.DeadlineExceeded
	cancel()
	if err == nil {
		s.keep.mu.Lock()
		if !s.keep.stopped {
			s.keep.timer.Reset(every)
		}
		s.keep.mu.Unlock()
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	if !timedOut || s.ending() {
		// The connection failed: the reader sees it too, and tells how
		// the call ended. Or the application has said bye: a peer busy
		// ending the call is not a lost one.
		return
	}
	s.metrics.m.protocolError(protoNoPong)
	msg := fmt.Sprintf("no answer to a ping within %v", every)
	s.Logger().Warn("the API stopped answering: the call is dropped", "err", msg)
	s.finish(End{By: ByDrop, Reason: ReasonHangup, Message: msg})
	abort(s.t) // a peer that does not answer will not answer the closing handshake
	s.t.Close()
}
