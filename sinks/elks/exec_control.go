package elks

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Limits of the control channel of exec programs (docs/exec.md).
const (
	// execEventQueue is the most events waiting for a program that does
	// not read file descriptor 3; beyond it the oldest are dropped, and
	// counted.
	execEventQueue = 256
	// execActionLine is the longest action line read; longer ones are
	// skipped and logged.
	execActionLine = 4096
	// execActionBurst and execActionRate bound the actions taken: a
	// burst, then so many a second; the rest are dropped and counted.
	execActionBurst = 20
	execActionRate  = 10
)

// ExecEvent is an event for the exec programs of a call, written to their
// file descriptor 3 as one JSON line (docs/exec.md): "mark" when the
// audio a program wrote before its mark action has been played (Cleared
// when an interrupt dropped it instead), "digit" for a key the caller
// pressed.
type ExecEvent struct {
	Event   string `json:"event"`
	Name    string `json:"name,omitempty"`
	Digit   string `json:"digit,omitempty"`
	Cleared bool   `json:"cleared,omitempty"`
}

// NotifyPrograms sends ev to every exec program of the call. It never
// waits: a program that does not read its events loses the oldest (see
// docs/exec.md).
func (s *Session) NotifyPrograms(ev ExecEvent) {
	s.execs.mu.Lock()
	ctls := s.execs.controls
	s.execs.mu.Unlock()
	for _, c := range ctls {
		c.send(ev)
	}
}

// execState is the exec programs of a session.
type execState struct {
	mu       sync.Mutex
	controls []*execControl // never changed in place
	// resumeGen, guarded by Session.mu, is the interrupt generation that
	// an exec program's interrupt made: a Play stopped by it goes on.
	resumeGen uint64
	resume    bool
}

// execControl is the control channel of one program: events written to
// its fd 3 by a writer goroutine from a bounded queue, actions read from
// its fd 4 by a reader goroutine.
type execControl struct {
	s    *Session
	log  *slog.Logger
	evW  *os.File
	actR *os.File
	prog *callProgram // set before start

	mu      sync.Mutex
	queue   [][]byte
	dropped int // events dropped in all
	dropLog logLimiter
	closed  bool
	wake    chan struct{}
	quit    chan struct{}
	wg      sync.WaitGroup
}

// newExecControl opens the pipes of a control channel and registers it
// with s; the child's ends are returned for the program's ExtraFiles.
func newExecControl(s *Session, log *slog.Logger) (*execControl, []*os.File, error) {
	evW, actR, child, err := execFiles()
	if err != nil {
		return nil, nil, err
	}
	c := &execControl{s: s, log: log, evW: evW, actR: actR,
		wake: make(chan struct{}, 1), quit: make(chan struct{})}
	s.execs.mu.Lock()
	s.execs.controls = append(s.execs.controls[:len(s.execs.controls):len(s.execs.controls)], c)
	s.execs.mu.Unlock()
	return c, child, nil
}

// start starts the writer and the reader.
func (c *execControl) start() {
	c.wg.Add(2)
	go c.writeEvents()
	go c.readActions()
}

// send queues ev for the program, dropping the oldest event when the
// queue is full.
func (c *execControl) send(ev ExecEvent) {
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	b = append(b, '\n')
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	dropped := len(c.queue) >= execEventQueue
	if dropped {
		c.queue = c.queue[1:]
		c.dropped++
	}
	c.queue = append(c.queue, b)
	total := c.dropped
	ok, skipped := false, 0
	if dropped {
		ok, skipped = c.dropLog.allow(time.Now())
	}
	c.mu.Unlock()
	if ok {
		c.log.Warn("exec: the program does not read its events (fd 3): the oldest are dropped",
			"dropped", total, "suppressed", skipped)
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// writeEvents writes the queued events to fd 3 until closed. A program
// that does not read them blocks only this goroutine; close unblocks it.
func (c *execControl) writeEvents() {
	defer c.s.survive("exec control's event writer")
	defer c.wg.Done()
	for {
		select {
		case <-c.wake:
		case <-c.quit:
			return
		}
		for {
			c.mu.Lock()
			if len(c.queue) == 0 {
				c.mu.Unlock()
				break
			}
			b := c.queue[0]
			c.queue = c.queue[1:]
			c.mu.Unlock()
			if _, err := c.evW.Write(b); err != nil {
				return // the program closed fd 3 or exited, or close
			}
		}
	}
}

// execAction is one line a program writes to fd 4.
type execAction struct {
	Action string `json:"action"`
	Name   string `json:"name"`
}

// readActions reads fd 4 until the program closes it or close, and acts
// on each valid line within the rate limit.
func (c *execControl) readActions() {
	defer c.s.survive("exec control's action reader")
	defer c.wg.Done()
	br := bufio.NewReaderSize(c.actR, execActionLine)
	var bad, limited logLimiter
	tokens, last := float64(execActionBurst), time.Now()
	dropped := 0
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			if ok, skipped := bad.allow(time.Now()); ok {
				c.log.Warn("exec: an action line (fd 4) longer than the limit was ignored", "limit", execActionLine, "suppressed", skipped)
			}
			if err != nil {
				return
			}
			continue
		}
		if len(line) > 0 && !isBlank(line) {
			now := time.Now()
			tokens = min(execActionBurst, tokens+now.Sub(last).Seconds()*execActionRate)
			last = now
			if tokens < 1 {
				dropped++
				if ok, skipped := limited.allow(now); ok {
					c.log.Warn("exec: the program sends actions too fast (fd 4): dropped", "dropped", dropped, "suppressed", skipped)
					dropped = 0
				}
			} else {
				tokens--
				c.act(line, &bad)
			}
		}
		if err != nil {
			if err != io.EOF {
				c.log.Debug("exec: reading actions (fd 4)", "err", err)
			}
			return
		}
	}
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// act carries out one action line.
func (c *execControl) act(line []byte, bad *logLimiter) {
	var a execAction
	if err := json.Unmarshal(line, &a); err != nil || a.Action == "" {
		if ok, skipped := bad.allow(time.Now()); ok {
			msg := "not JSON"
			if err == nil {
				msg = `no "action"`
			}
			c.log.Warn("exec: a malformed action line (fd 4) was ignored", "reason", msg, "line", truncate(string(line), 200), "suppressed", skipped)
		}
		return
	}
	switch a.Action {
	case "interrupt":
		c.log.Info("exec: the program interrupts its audio")
		c.prog.interrupt()
	case "hangup":
		c.log.Info("exec: the program hangs up")
		c.s.Hangup()
	case "mark":
		c.prog.mark(a.Name)
	default:
		if ok, skipped := bad.allow(time.Now()); ok {
			c.log.Warn("exec: an unknown action (fd 4) was ignored", "action", truncate(a.Action, 100), "suppressed", skipped)
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// close stops the channel: its goroutines end and its pipes close. The
// events still queued are dropped.
func (c *execControl) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.queue = nil
	c.mu.Unlock()
	s := c.s
	s.execs.mu.Lock()
	var keep []*execControl
	for _, x := range s.execs.controls {
		if x != c {
			keep = append(keep, x)
		}
	}
	s.execs.controls = keep
	s.execs.mu.Unlock()
	close(c.quit)
	c.evW.Close()  // unblocks a write to a program that does not read
	c.actR.Close() // unblocks the reader
	c.wg.Wait()
}
