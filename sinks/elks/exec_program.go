package elks

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sources"
)

// callProgram is a program's audio in a call: the exec source, with the
// marks the program asked for cut into the stream as boundaries (so that
// the audio before each mark goes out followed by a checkpoint), and the
// audio flushed to the API whenever the program falls quiet (Play sends
// whole chunks only; a program's last words must not wait for more).
type callProgram struct {
	sources.ExecSource
	s       *Session
	ctl     *execControl
	ctx     context.Context // the opener's: boundaries are emitted to it
	log     *slog.Logger
	release func()

	// Owned by the reading goroutine.
	chunk     int      // Play's chunk in frames when it reads this source unconverted, else 0
	awaiting  []string // marks cut at the last Read: watched from the next on
	sinceEdge int      // frames returned since the last boundary
	stash     []float32
	eofErr    error // the end, held back until the marks before it are out

	mu            sync.Mutex
	marks         []execMark // not yet reached, in order
	idle          bool       // a Read waits on the program, and Play holds no audio
	restartOnData bool       // an interrupt stopped Play: the next audio restarts it
	dropStash     bool       // an interrupt came: what stash holds is void
	closed        bool
}

// execMark is a mark action: a name and the frame of the program's
// output it stands before.
type execMark struct {
	name  string
	frame int64
}

// Read returns the program's audio, cut at its marks and where it falls
// quiet.
func (p *callProgram) Read(b []float32) (int, error) {
	ch := p.Format().Channels
	if p.awaiting != nil {
		// Play has sent the audio before the boundary, and a checkpoint.
		p.watch(p.awaiting)
		p.awaiting = nil
	}
	pos := p.Position()
	p.mu.Lock()
	var due []string
	for len(p.marks) > 0 && p.marks[0].frame <= pos {
		due = append(due, p.marks[0].name)
		p.marks = p.marks[1:]
	}
	if p.dropStash {
		p.stash, p.dropStash = nil, false // written before an interrupt
	}
	p.mu.Unlock()
	if len(due) > 0 {
		p.edge("mark")
		p.awaiting = due
		return 0, nil
	}
	if len(p.stash) > 0 {
		n := copy(b, p.stash)
		n -= n % ch
		p.stash = p.stash[n:]
		p.sinceEdge += n / ch
		return n / ch, nil
	}
	if p.eofErr != nil {
		return 0, p.eofErr
	}
	held := -1 // frames Play may hold back, waiting to fill a chunk (-1: unknown)
	if p.chunk > 0 {
		held = p.sinceEdge % p.chunk
	}
	if w := p.Written(); p.sinceEdge > 0 && held != 0 && w >= 0 && w <= pos {
		p.edge("quiet") // nothing more waits: send what was returned
		return 0, nil
	}
	p.mu.Lock()
	p.idle = held == 0 || p.sinceEdge == 0
	limit := int64(len(b) / ch)
	if len(p.marks) > 0 {
		limit = min(limit, p.marks[0].frame-pos)
	}
	p.mu.Unlock()
	n, err := p.ExecSource.Read(b[:limit*int64(ch)])
	p.mu.Lock()
	p.idle = false
	restart := p.restartOnData && n > 0
	if restart {
		p.restartOnData = false
	}
	pending := len(p.marks) > 0
	p.mu.Unlock()
	if restart {
		// The first audio after an interrupt that found Play holding
		// audio: a boundary makes Play send what it holds, which fails
		// (that audio was interrupted) and plays on in a fresh Play
		// (PlayGraph), which gets this audio first.
		p.stash = append(p.stash[:0], b[:n*ch]...)
		if err != nil {
			p.eofErr = err
		}
		p.edge("interrupt")
		return 0, nil
	}
	p.sinceEdge += n
	if err == io.EOF && pending {
		p.eofErr = err // the marks before the end, then the end
		return n, nil
	}
	if err != nil && err != io.EOF {
		if cause := context.Cause(p.s.ctx); cause != nil {
			err = cause // the call's end stopped the program
		}
	}
	return n, err
}

// edge emits a boundary: Play sends what it holds, then a checkpoint.
func (p *callProgram) edge(what string) {
	p.sinceEdge = 0
	pipeline.Emit(p.ctx, pipeline.Event{Kind: pipeline.ItemEnded, Stage: "exec", Item: what})
}

// watch reports the marks as played once the API has played all the
// audio sent so far (or as cleared if an interrupt dropped it first).
func (p *callProgram) watch(names []string) {
	s := p.s
	s.mu.Lock()
	target, ints := s.win.sent.dur, s.stats.Interrupts
	s.mu.Unlock()
	c := p.ctl
	c.wg.Add(1)
	go func() {
		defer s.survive("exec mark watcher")
		defer c.wg.Done()
		for {
			s.mu.Lock()
			cleared := s.stats.Interrupts != ints
			played := s.win.acked.dur >= target
			ended := s.ended
			changed := s.changedLocked()
			s.mu.Unlock()
			if cleared || played {
				for _, n := range names {
					c.send(ExecEvent{Event: "mark", Name: n, Cleared: cleared})
				}
				return
			}
			if ended {
				return
			}
			select {
			case <-changed:
			case <-c.quit:
				return
			}
		}
	}()
}

// mark handles a mark action: the mark stands after all the audio the
// program has written so far.
func (p *callProgram) mark(name string) {
	frame := p.Written()
	if frame < 0 {
		frame = p.Position()
	}
	p.mu.Lock()
	if p.idle && frame <= p.Position() {
		// All the audio before it has been sent already: a checkpoint
		// after it tells when it has played.
		p.mu.Unlock()
		p.s.checkpoint()
		p.watch([]string{name})
		return
	}
	p.marks = append(p.marks, execMark{name, frame})
	p.mu.Unlock()
}

// interrupt handles an interrupt action: the audio the program wrote and
// the caller has not heard yet is dropped — queued at the API, waiting in
// the pipe, or read and not sent — and the marks before it are cleared.
// When Play waits on the program holding nothing, the API's buffer is
// cleared under it (interruptIdle) and it plays on; otherwise Play is
// stopped (Session.Interrupt) and PlayGraph plays on in a fresh one.
func (p *callProgram) interrupt() {
	p.Discard()
	s := p.s
	p.mu.Lock()
	marks := p.marks
	p.marks = nil
	p.dropStash = true
	idle := p.idle
	if idle {
		s.interruptIdle()
	} else {
		p.restartOnData = true
	}
	p.mu.Unlock()
	for _, m := range marks {
		p.ctl.send(ExecEvent{Event: "mark", Name: m.name, Cleared: true})
	}
	if idle {
		return
	}
	s.mu.Lock()
	s.execs.resume, s.execs.resumeGen = true, s.gen+1
	s.mu.Unlock()
	if err := s.Interrupt(); err != nil {
		p.log.Debug("exec: interrupt", "err", err)
	}
}

// interruptIdle clears the API's buffer as Interrupt does, without
// stopping the Play going on: it may be called only while that Play
// waits in a Read of the program, holding no audio, and cannot go on
// before it returns (callProgram.mu held) — so the encoder is reset here.
func (s *Session) interruptIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopErrLocked(context.Background(), 0, false) != nil {
		return
	}
	s.enqueueLocked(outMsg{b: msgInterrupt})
	s.win.interrupt()
	s.needSend = true
	if s.enc != nil {
		s.enc.Reset()
	}
	s.carry = 0
	s.stats.Interrupts++
	s.broadcastLocked()
}

// execResumes reports whether a Play stopped by ErrInterrupted should go
// on: the last interrupt was an exec program's.
func (s *Session) execResumes() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.execs.resume && s.execs.resumeGen == s.gen && !s.ended && !s.byeSent
}

// Close stops the program (SIGTERM, SIGKILL after grace=) and the
// control channel, and logs how the program ended.
func (p *callProgram) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	start := time.Now()
	err := p.ExecSource.Close()
	p.ctl.close()
	p.release()
	p.log.Debug("program stopped", "pid", p.Pid(), "took", time.Since(start))
	return err
}
