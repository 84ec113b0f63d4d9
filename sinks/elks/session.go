package elks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sources"
)

// Errors of a Session.
var (
	// ErrCallOver is wrapped by the errors of a Session whose call has
	// ended (the API said bye, the connection dropped, or this side hung
	// up or closed it).
	ErrCallOver = errors.New("the call is over")
	// ErrInterrupted is returned by a Play that Interrupt stopped.
	ErrInterrupted = errors.New("playback interrupted")
	// ErrBusy is returned by a Play started while another is going on.
	ErrBusy = errors.New("the session is already playing")
)

// Session is one call of the Realtime Voice API, seen from the
// application: it waits for the API's hello, then plays audio to the
// caller with sync backpressure (see Config), records the caller if asked,
// and ends with a bye either way. Its methods are safe for concurrent use,
// but only one Play (or PlayFile, PlayGraph) runs at a time.
type Session struct {
	// Set by StartSession, then only read: all but hello before the
	// reader and the writer start; hello from the reader's hand-over
	// (helloCh), before StartSession returns.
	t                        Transport
	cfg                      Config
	info                     FormatInfo
	enc                      Encoder // nil for the file formats; used by the playing goroutine
	sendingMsg, listeningMsg []byte
	obs                      pipeline.Observer
	hello                    Hello
	ctx                      context.Context
	cancel                   context.CancelCauseFunc
	hooks                    testHooks
	metrics                  sessionMetrics

	// Safe for any goroutine by themselves: channels, once-guards and
	// atomics.
	done       chan struct{} // closed when the call is over (by finish)
	quit       chan struct{} // closed by Close
	readerDone chan struct{} // closed when readLoop returns, the recording complete
	writers    sync.WaitGroup
	digits     chan Digit  // the caller's key presses (Config.DTMF)
	speech     chan Speech // the caller's talking (Config.Speech)
	echo       *echoRef    // the level of the audio sent lately (Config.Speech)
	helloCh    chan Hello
	endOnce    sync.Once
	closeOnce  sync.Once
	log        atomic.Pointer[slog.Logger] // replaced once, by the reader at hello
	boundary   atomic.Bool                 // a boundary event fired during a Read
	helloSeen  atomic.Bool                 // the reader got the API's hello
	keep       keepalive                   // the pings (Config.Ping)

	// Guarded by mu. Whoever changes what a waiter waits for (a reply,
	// an interrupt, the end, a Hangup) calls broadcastLocked.
	mu    sync.Mutex
	ended bool
	end   End
	// changed is closed when a reply, interrupt or the end comes, and
	// made again by the next waiter that asks for it (changedLocked):
	// a reply nobody waits on allocates nothing. roomWake is the
	// playing goroutine's own doorbell for its waits for room in the
	// window, rung by every broadcast: it waits at every reply, and a
	// channel made for each of those waits was most of what a call
	// allocated as it played (and what the garbage collector made its
	// reader pay for, in assists, while it marked).
	changed  chan struct{}
	roomWake chan struct{}
	byeSent  bool
	hungUp   chan struct{} // made by the first Hangup, closed when it returns
	// hangupErr is the first Hangup's result, set before hungUp closes
	// and read after it has.
	hangupErr error
	outq      []outMsg // messages for the writer, in order
	outSpare  []outMsg // the writer's last batch, emptied, for reuse
	// writing is set while a writer goroutine (writeQueued) runs: one
	// starts when a message is queued with none running, and ends when
	// the queue is empty. writersStopped is set by Close: no more start.
	writing, writersStopped bool
	// writeQueuedFn is s.writeQueued, made once: a go statement of a
	// method call allocates a closure each time, and a writer starts at
	// every sync reply (an allocation while a collection marks costs an
	// assist).
	writeQueuedFn func()
	// writeErr is the first write that failed: the messages after it
	// are dropped. Only the running writer uses it.
	writeErr  error
	playing   bool   // a Play holds the session
	gen       uint64 // interrupt generation
	needSend  bool   // a "sending" must precede the next audio
	win       window // the sync window
	stats     Stats
	playClock time.Time     // when the audio sent in this Play ends playing, reckoned (paceLocked)
	liveEnd   time.Time     // when all the audio sent ends playing, reckoned, across Plays (cushion.go)
	liveDebt  time.Duration // latency that late caller audio added (cushion.go)
	echoing   int           // caller elements open: the caller's audio is played back (cushion.go)
	adaptive  adaptiveCushion
	replyLag  replyLag
	// The caller's audio: listening is set once the API was asked for
	// it; callers are the open Caller sources; readerGone is set when
	// the reader has stopped, and with it the caller's audio.
	listening  *listenFeed
	callers    []*callerSource
	readerGone bool
	// execs is the exec programs of the call (exec_control.go).
	execs execState
	// heard is the heard side of a two-sided recording (RecordBoth),
	// set at hello.
	heard *heardFeed

	// Owned by the playing goroutine: the one whose beginPlay set
	// playing. free is shared with the writer, which returns the
	// buffers it has written.
	free    chan []byte
	nbufs   int
	raw     []byte
	pcm     []float32
	carry   time.Duration // audio of samples the codec kept for later
	rawPass []byte
	// heardPCM is the audio of the piece about to be sent, for heard;
	// heardOn says that it is wanted.
	heardPCM []float32
	heardOn  bool
	cushion  []float32 // a piece with its cushion (cushion.go)
	// waitTimer tells sendMessage's waits for room that no reply came
	// for a long time; made at the first wait, kept for the next.
	waitTimer *time.Timer
}

// outMsg is one message for the writer: bytes, or a flush marker.
type outMsg struct {
	b      []byte
	pooled bool          // b goes back to the free list once written
	flush  chan struct{} // closed when every earlier message was written
}

// audioBuffers is the number of audio messages that may wait for the
// writer: enough to keep it busy, few enough that memory stays small.
const audioBuffers = 4

var (
	msgSync      = []byte(`{"t":"sync"}`)
	msgBye       = []byte(`{"t":"bye"}`)
	msgInterrupt = []byte(`{"t":"interrupt"}`)
)

// StartSession runs a call over t: it starts the goroutine that reads t
// and the one that writes it, waits for the API's hello (up to
// cfg.HelloTimeout), opens the recording and sends "listening" if
// cfg.Record is set, and returns. The call's context (Context) derives
// from ctx. On error t is closed. Call Close when done with the session.
func StartSession(ctx context.Context, t Transport, cfg Config) (*Session, error) {
	return startSession(ctx, t, cfg, testHooks{})
}

// testHooks lets tests reach inside a session; the zero value is what
// StartSession uses.
type testHooks struct {
	// recordWrite, when set, is called by the writer before it writes
	// each message: a test makes the disk slow or stuck with it.
	recordWrite func()
}

// startSession is StartSession with test hooks.
func startSession(ctx context.Context, t Transport, cfg Config, hooks testHooks) (*Session, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Close()
		return nil, err
	}
	s := &Session{
		t: t, cfg: cfg, hooks: hooks,
		done: make(chan struct{}), quit: make(chan struct{}),
		helloCh:    make(chan Hello, 1),
		readerDone: make(chan struct{}),
		roomWake:   make(chan struct{}, 1),
		free:       make(chan []byte, audioBuffers),
		needSend:   true,
		win:        newWindow(cfg.Window+cfg.Checkpoint, cfg.Checkpoint, cfg.MaxBytes),
	}
	s.info, _ = cfg.Format.Info()
	// The queues of digits and of speech changes exist only when they are
	// detected (nil, they never deliver, as they would not): they are 2 kB
	// of every call.
	if cfg.DTMF {
		s.digits = make(chan Digit, digitQueue)
	}
	if cfg.Speech {
		s.speech = make(chan Speech, speechQueue)
		s.echo = newEchoRef(cfg.Window + cfg.Checkpoint + time.Second)
	}
	s.metrics = newSessionMetrics(cfg.Metrics, cfg.Format)
	if !s.info.File {
		if s.enc, err = NewEncoderOptions(cfg.Format, cfg.Codec); err != nil {
			t.Close()
			return nil, err
		}
	}
	s.sendingMsg, _ = Marshal(Sending{Format: cfg.Format})
	s.listeningMsg, _ = Marshal(Listening{Format: cfg.ListenFormat})
	s.log.Store(cfg.Logger)
	s.obs = s.observe
	s.ctx, s.cancel = context.WithCancelCause(ctx)
	s.writeQueuedFn = s.writeQueued
	go s.readLoop()
	if p, ok := t.(Pinger); ok && cfg.Ping > 0 {
		s.startPings(p)
	}

	timer := time.NewTimer(cfg.HelloTimeout)
	defer timer.Stop()
	select {
	case h := <-s.helloCh:
		s.hello = h
		return s, nil
	case <-s.done:
		s.Close()
		return nil, fmt.Errorf("the call ended before the API's hello: %s", s.End())
	case <-timer.C:
		s.metrics.m.protocolError(protoNoHello)
		s.finish(End{By: ByClose, Message: "no hello"})
		abort(t) // a silent peer gets no closing handshake to wait for
		s.Close()
		return nil, fmt.Errorf("no hello from the API within %v", cfg.HelloTimeout)
	case <-ctx.Done():
		s.finish(End{By: ByClose, Message: "cancelled before hello"})
		abort(t)
		s.Close()
		return nil, ctx.Err()
	}
}

// Hello returns the API's hello: the call's id, caller and callee, each
// cut to 64 bytes (46elks sends short ids and E.164 numbers; a longer
// field is cut, and the cut logged, so that it cannot flood the log).
func (s *Session) Hello() Hello { return s.hello }

// Format returns the format of the audio sent to the caller.
func (s *Session) Format() Format { return s.cfg.Format }

// Logger returns the session's logger, which adds callid, from and to to
// every line.
func (s *Session) Logger() *slog.Logger { return s.log.Load() }

// Context returns the call's context: cancelled when the call ends (its
// cause wraps ErrCallOver) or the context given to StartSession is.
func (s *Session) Context() context.Context { return s.ctx }

// Done returns a channel closed when the call is over.
func (s *Session) Done() <-chan struct{} { return s.done }

// End says how the call ended; its By is "" while the call goes on.
func (s *Session) End() End {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.end
}

// Stats returns a snapshot of the session's counters.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Observe returns a context for opening sources (an Opener, Graph.Open)
// whose loop iterations and playlist items become checkpoints of this
// session when the sources are played with Play, and in which the caller
// element opens this call's Caller and the exec element runs its
// program for the call (see sources.ExecHook).
func (s *Session) Observe(ctx context.Context) context.Context {
	ctx = sources.WithExecHook(context.WithValue(ctx, sessionKey{}, s), s.runExec)
	return pipeline.WithObserver(ctx, s.obs)
}

func (s *Session) observe(e pipeline.Event) {
	switch e.Kind {
	case pipeline.ItemEnded, pipeline.IterationEnded:
		s.boundary.Store(true)
	case pipeline.ItemSkipped:
		s.Logger().Warn("playlist item skipped", "event", e.String())
		return
	case pipeline.Warning:
		s.Logger().Warn("pipeline warning", "event", e.String())
		return
	}
	s.Logger().Debug("stream event", "event", e.String())
}

// finish records how the call ended, once, and wakes everything waiting.
// Done is closed and the call's context cancelled before the waiters
// wake, under s.mu with the ended flag: whoever sees the call over by one
// of them (a Play that returned ErrCallOver, say) sees it over by all.
func (s *Session) finish(e End) {
	s.endOnce.Do(func() {
		s.mu.Lock()
		s.ended, s.end = true, e
		close(s.done)
		s.cancel(s.endErr(e))
		s.broadcastLocked()
		s.mu.Unlock()
		lvl := slog.LevelInfo
		switch {
		case e.By == ByAPI && e.Reason == ReasonError:
			lvl = slog.LevelWarn
		case !s.helloSeen.Load():
			// Not a call: the server says why it did not start
			// (rate-limited, as a flood of silent connections must not
			// flood the log).
			lvl = slog.LevelDebug
		}
		s.Logger().Log(context.Background(), lvl, "call ended", "by", e.By, "reason", e.Reason, "message", e.Message)
	})
}

func (s *Session) endErr(e End) error { return fmt.Errorf("%w: %s", ErrCallOver, e) }

// broadcastLocked wakes every waiter: those on changed, and the playing
// goroutine's wait for room.
func (s *Session) broadcastLocked() {
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	select {
	case s.roomWake <- struct{}{}:
	default:
	}
}

// changedLocked returns the channel the next broadcast closes.
func (s *Session) changedLocked() <-chan struct{} {
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// enqueueLocked queues m for the writer, and starts one if none runs.
func (s *Session) enqueueLocked(m outMsg) {
	s.outq = append(s.outq, m)
	if !s.writing && !s.writersStopped {
		s.writing = true
		s.writers.Add(1)
		go s.writeQueuedFn()
	}
}

// Interrupt clears the API's playback buffer at once: it sends
// "interrupt", stops the Play going on (which returns ErrInterrupted),
// voids the checkpoints pending (replies to them, if the API sends any,
// are discarded) and makes the next audio start with a fresh "sending".
func (s *Session) Interrupt() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.stopErrLocked(context.Background(), 0, false); err != nil {
		return err
	}
	s.enqueueLocked(outMsg{b: msgInterrupt})
	if s.heard != nil {
		s.heard.interrupt()
	}
	if s.echo != nil {
		s.echo.reset()
	}
	s.win.interrupt()
	s.playClock, s.liveEnd, s.liveDebt = time.Time{}, time.Time{}, 0
	s.needSend = true
	s.gen++
	s.stats.Interrupts++
	s.broadcastLocked()
	return nil
}

// Hangup ends the call from this side: it stops any Play, PlayFile,
// PlayGraph or Drain (they return an error wrapping ErrCallOver), sends
// "bye", waits up to the configured ByeTimeout for the bye to be written
// and as long again for the API's bye, and closes the session. It does
// not wait for the audio sent to be played: call Drain first for that.
// It may be called from any goroutine: the bye goes out once, and a
// Hangup called while another is going on waits for that one and returns
// its result. On a call already over it only closes the session.
func (s *Session) Hangup() error {
	s.mu.Lock()
	if s.hungUp != nil {
		first := s.hungUp
		s.mu.Unlock()
		<-first
		s.Close() // a no-op, unless the first Hangup panicked before it closed the session
		return s.hangupErr
	}
	hungUp := make(chan struct{})
	s.hungUp = hungUp
	defer close(hungUp) // even as a panic passes: the Hangups waiting go on
	if s.ended {
		s.mu.Unlock()
		s.hangupErr = s.Close()
		return s.hangupErr
	}
	s.byeSent = true
	flushed := make(chan struct{})
	s.enqueueLocked(outMsg{b: msgBye})
	s.enqueueLocked(outMsg{flush: flushed})
	s.broadcastLocked()
	s.mu.Unlock()
	timer := time.NewTimer(s.cfg.ByeTimeout)
	defer timer.Stop()
	select {
	case <-flushed:
		timer.Reset(s.cfg.ByeTimeout)
		select {
		case <-s.done:
		case <-timer.C:
		}
	case <-s.done:
	case <-s.quit: // closed: the bye may never be written
	case <-timer.C:
	}
	s.finish(End{By: ByApp})
	s.hangupErr = s.Close()
	return s.hangupErr
}

// ending reports whether the call is over or a Hangup has begun: either
// way no more audio goes out.
func (s *Session) ending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended || s.byeSent
}

// Close ends the session without a bye (if the call is not over yet),
// closes the connection and waits for the session's goroutines; the
// recording, if any, is complete when it returns. Call it
// when done with a session; it is safe to call more than once.
func (s *Session) Close() error {
	s.finish(End{By: ByClose, Message: "the session was closed"})
	var err error
	s.closeOnce.Do(func() {
		err = s.t.Close()
		close(s.quit)
		s.mu.Lock()
		s.writersStopped = true
		s.mu.Unlock()
		<-s.readerDone
		s.writers.Wait()
		s.stopPings()
		st := s.Stats()
		s.Logger().Debug("session closed", "audio_sent", st.AudioSent, "syncs", st.Syncs,
			"max_in_flight", st.MaxInFlight, "malformed", st.Malformed, "unknown", st.Unknown,
			"record_dropped", st.RecordDropped)
	})
	return err
}
