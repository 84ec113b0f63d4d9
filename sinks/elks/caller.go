package elks

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
)

// callerKeep is how much of the caller's audio a Caller source holds for
// a reader that falls behind; older audio is dropped, and counted in
// Stats.CallerDropped, so that a slow consumer never delays the call.
const callerKeep = time.Second

func init() {
	pipeline.Register(pipeline.Element{
		Name:    "caller",
		Kind:    pipeline.KindSource,
		Summary: "the caller's audio, in a pipeline served by elks (decoded, mono, in real time)",
		Example: "caller | pad before=500ms | elks format=pcm_16000",
		NewSource: func(pipeline.Args) (pipeline.Opener, error) {
			return openCaller, nil
		},
	})
}

// ErrNoCall is returned by the caller element when it is opened outside a
// call: the caller's audio exists only in a pipeline served by elks.
var ErrNoCall = errors.New("the caller's audio exists only in a pipeline that serves calls: end it in elks (caller | ... | elks)")

// sessionKey carries the Session of a pipeline opened by PlayGraph, and
// checkKey the listening format of the elks sink's start-up check.
type (
	sessionKey struct{}
	checkKey   struct{}
)

// openCaller is the caller element's Opener: the call's Caller source,
// an empty source of the listening format in the elks sink's start-up
// check, and ErrNoCall elsewhere.
func openCaller(ctx context.Context) (pipeline.Source, error) {
	if s, ok := ctx.Value(sessionKey{}).(*Session); ok {
		src := s.caller(true) // played back: the cushion's latency is kept low (cushion.go)
		context.AfterFunc(ctx, func() { src.Close() })
		return src, nil
	}
	if f, ok := ctx.Value(checkKey{}).(Format); ok {
		info, err := f.Info()
		if err != nil {
			return nil, err
		}
		c := newCallerSource(nil, info.Rate)
		c.ended = true
		return c, nil
	}
	return nil, pipeline.Misconfigured(ErrNoCall)
}

// Caller returns the caller's audio from now on, decoded from the
// listening format (Config.ListenFormat) to mono float samples at its
// rate. The first Caller asks the API for the audio ("listening") unless
// the recording already did. Read blocks until audio arrives, and
// returns io.EOF once the call is over; the API sends 20 ms every 20 ms.
// A source holds at most a second for a reader that falls behind, and
// drops the oldest beyond (Stats.CallerDropped): the call never waits for
// it. Close it when done; each Caller is a source of its own.
func (s *Session) Caller() CallerSource { return s.caller(false) }

// caller returns a new Caller source; echo says that it is played back
// (the caller element): it is counted in s.echoing, and keeps at most
// Config.MaxLag and a chunk for a player that falls behind.
func (s *Session) caller(echo bool) *callerSource {
	c := newCallerSource(s, s.listenInfo().Rate)
	if c.echo = echo; echo && s.cfg.MaxLag > 0 {
		c.keep = min(len(c.ring), int(int64(c.format.Rate)*int64(s.cfg.MaxLag+s.cfg.Chunk)/int64(time.Second)))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if echo {
		s.echoing++
	}
	if s.readerGone || s.ended {
		c.ended = true
		return c
	}
	if s.listening == nil {
		if err := s.startListeningLocked(nil); err != nil {
			c.ended, c.err = true, err
			return c
		}
	}
	s.callers = append(slices.Clip(s.callers), c) // a new slice: the decoder may be going over the old one
	s.listening.idle.Store(false)
	return c
}

// CallerSource is the caller's audio of a call (Session.Caller): a
// pipeline.Source that must be closed.
type CallerSource interface {
	pipeline.Source
	io.Closer
}

// listenInfo returns the listening format's description.
func (s *Session) listenInfo() FormatInfo {
	info, _ := s.cfg.ListenFormat.Info() // checked by withDefaults
	return info
}

// callerSource is one reader of the caller's audio: a ring of the last
// callerKeep, filled by the decoder, emptied by Read.
type callerSource struct {
	s      *Session
	format pipeline.Format

	mu      sync.Mutex
	cond    *sync.Cond
	ring    []float32
	r, n    int  // read position and samples held
	ended   bool // the call's audio is over: Read returns io.EOF once empty
	closed  bool
	echo    bool // opened by the caller element: counted in Session.echoing
	keep    int  // the most samples held, when less than the ring (an echo's MaxLag)
	err     error
	dropped int // samples dropped since the last count
}

// newCallerSource returns a source of s's caller audio, mono at rate
// (s is nil in the elks sink's start-up check).
func newCallerSource(s *Session, rate int) *callerSource {
	c := &callerSource{s: s, format: pipeline.Format{Rate: rate, Channels: 1}}
	c.ring = make([]float32, int(int64(rate)*int64(callerKeep)/int64(time.Second)))
	c.cond = sync.NewCond(&c.mu)
	return c
}

// Format is mono at the listening format's rate.
func (c *callerSource) Format() pipeline.Format { return c.format }

// Read returns the audio held, waiting for some when there is none.
func (c *callerSource) Read(p []float32) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.n == 0 && !c.ended && !c.closed {
		c.cond.Wait()
	}
	if c.closed {
		return 0, errors.New("caller: read after Close")
	}
	if c.n == 0 {
		if c.err != nil {
			return 0, c.err
		}
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && c.n > 0 {
		m := copy(p[k:], c.ring[c.r:min(len(c.ring), c.r+c.n)])
		k += m
		c.r = (c.r + m) % len(c.ring)
		c.n -= m
	}
	return k, nil
}

// Close stops the source: the decoder feeds it no more.
func (c *callerSource) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
	if s := c.s; s != nil {
		s.mu.Lock()
		// A new slice: the decoder may be going over the old one.
		s.callers = slices.DeleteFunc(slices.Clone(s.callers), func(x *callerSource) bool { return x == c })
		if c.echo {
			s.echoing--
		}
		s.mu.Unlock()
	}
	return nil
}

// push appends decoded samples, dropping the oldest that do not fit (in
// the ring, or beyond keep); it returns how many it dropped.
func (c *callerSource) push(pcm []float32) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.ended {
		return 0
	}
	limit := len(c.ring)
	if c.keep > 0 {
		limit = c.keep
	}
	dropped := 0
	if len(pcm) > limit {
		dropped += len(pcm) - limit
		pcm = pcm[len(pcm)-limit:]
	}
	if over := c.n + len(pcm) - limit; over > 0 {
		c.r = (c.r + over) % len(c.ring)
		c.n -= over
		dropped += over
	}
	w := (c.r + c.n) % len(c.ring)
	m := copy(c.ring[w:], pcm)
	copy(c.ring, pcm[m:])
	c.n += len(pcm)
	c.cond.Broadcast()
	return dropped
}

// end marks the call's audio over: Read returns what is held, then
// io.EOF.
func (c *callerSource) end() {
	c.mu.Lock()
	c.ended = true
	c.cond.Broadcast()
	c.mu.Unlock()
}

// feedCallerSources hands decoded caller audio to every open Caller
// source and returns how many there are.
func (s *Session) feedCallerSources(pcm []float32) int {
	s.mu.Lock()
	callers := s.callers // never changed in place: Caller and Close make new slices
	s.mu.Unlock()
	dropped, echoDropped := 0, 0
	for _, c := range callers {
		n := c.push(pcm)
		dropped += n
		if c.echo {
			echoDropped = max(echoDropped, n)
		}
	}
	if dropped > 0 {
		rate := s.listenInfo().Rate
		s.mu.Lock()
		s.stats.CallerDropped += frameDur(dropped, rate)
		// What an echo dropped is latency it will not play back.
		s.liveDebt = max(0, s.liveDebt-frameDur(echoDropped, rate))
		s.mu.Unlock()
	}
	return len(callers)
}

// endCallerSources ends every Caller source: the call's audio is over.
func (s *Session) endCallerSources() {
	s.mu.Lock()
	callers := s.callers
	s.callers = nil
	s.mu.Unlock()
	for _, c := range callers {
		c.end()
	}
}
