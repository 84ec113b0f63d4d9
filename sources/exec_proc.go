package sources

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
)

// DefaultExecGrace is how long a program gets between SIGTERM and
// SIGKILL when its exec source is closed.
const DefaultExecGrace = 2 * time.Second

// stderrWait is how long the end of a program's output waits for the
// rest of its standard error (which a child it left behind may hold open)
// before reporting how it exited.
const stderrWait = time.Second

// maxStderrLine is the longest standard error line logged; the rest of a
// longer line is cut.
const maxStderrLine = 1000

// proc is one run of a command whose standard output is read as audio.
// Read reads standard output; at its end Read returns io.EOF if the
// program exited with status 0 and an error quoting the command and its
// last standard error line otherwise. Close stops the program (SIGTERM
// to its process group, SIGKILL after the grace period) and always waits
// for it, so no zombie is left.
type proc struct {
	cmd     *exec.Cmd
	name    string // the stage label, exec and the command line, for errors
	stdout  *os.File
	stderr  *os.File
	stdin   io.Reader // read by feed; closed by Close when an io.Closer
	stdinW  *os.File
	grace   time.Duration
	extra   []*os.File
	waited  chan struct{} // closed when cmd.Wait has returned
	waitErr error         // set before waited closes
	errDone chan struct{} // closed when the stderr reader has returned
	stopAt  func() bool   // stops the context.AfterFunc

	mu       sync.Mutex
	consumed atomic.Int64 // bytes of standard output read so far

	lastLine string // the last non-empty standard error line
	stopping bool   // Close or the context began to stop the program
	closed   bool
	readErr  error
}

// startProc starts args with opt (its Stdin, Env, ExtraFiles and Log)
// and returns it running. The program is stopped when ctx is done.
func startProc(ctx context.Context, args []string, opt ExecOptions) (*proc, error) {
	if len(args) == 0 {
		return nil, errors.New("exec: no command given")
	}
	name := execLabel(args)
	path, err := exec.LookPath(args[0])
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, execErr(name, "command %q not found (in $PATH or as a path)", args[0])
		}
		return nil, execErr(name, "%w", err)
	}
	cmd := exec.Command(path, args[1:]...)
	cmd.Args[0] = args[0]
	cmd.Env = append(os.Environ(), opt.Env...)
	ownProcessGroup(cmd)
	cmd.ExtraFiles = opt.ExtraFiles

	var toClose []*os.File // the child's ends, closed here once it has them
	closeAll := func(fs ...*os.File) {
		for _, f := range fs {
			if f != nil {
				f.Close()
			}
		}
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, execErr(name, "%w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll(outR, outW)
		return nil, execErr(name, "%w", err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	toClose = append(toClose, outW, errW)
	var inW *os.File
	if opt.Stdin != nil {
		inR, w, err := os.Pipe()
		if err != nil {
			closeAll(outR, outW, errR, errW)
			return nil, execErr(name, "%w", err)
		}
		cmd.Stdin, inW = inR, w
		toClose = append(toClose, inR)
	}
	if err := cmd.Start(); err != nil {
		closeAll(toClose...)
		closeAll(outR, errR, inW)
		return nil, execErr(name, "cannot start: %w", err)
	}
	closeAll(toClose...)

	grace := opt.Grace
	if grace <= 0 {
		grace = DefaultExecGrace
	}
	log := opt.Log
	if log == nil {
		log = slog.Default()
	}
	p := &proc{
		cmd: cmd, name: name, stdout: outR, stderr: errR, stdin: opt.Stdin, stdinW: inW, grace: grace,
		waited: make(chan struct{}), errDone: make(chan struct{}),
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.waited)
	}()
	go p.readStderr(errR, log.With("cmd", args[0], "pid", cmd.Process.Pid))
	if inW != nil {
		go p.feed()
	}
	p.stopAt = context.AfterFunc(ctx, func() { p.kill() })
	return p, nil
}

// feed copies the Stdin option to the program until either ends.
func (p *proc) feed() {
	defer p.stdinW.Close()
	defer p.contain("the reader of its standard input", nil)
	io.Copy(p.stdinW, p.stdin) // ends when the program exits (EPIPE) or Close closes either side
}

// contain, deferred by a goroutine of the program's pipes, keeps a panic
// there (of the source fed to its standard input, or of the Logger its
// standard error goes to) from ending the process and every call in it:
// it is written with the standard log package (to stderr unless the
// program says otherwise), as net/http writes a handler's panic, the
// rest of drain (if any) is read and dropped, so that the program never
// blocks writing to it, and the goroutine's other defers end its pipe.
func (p *proc) contain(what string, drain io.Reader) {
	r := recover()
	if r == nil {
		return
	}
	log.Printf("elkspipe: exec %s: %s panicked: %v\n%s", p.name, what, r, debug.Stack())
	if drain != nil {
		io.Copy(io.Discard, drain)
	}
}

// readStderr logs the program's standard error, line by line, and keeps
// the last non-empty line for errors.
func (p *proc) readStderr(r *os.File, log *slog.Logger) {
	defer close(p.errDone)
	defer p.contain("the logging of its standard error", r)
	br := bufio.NewReaderSize(r, 4096)
	lim := newLineLimiter()
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			for err == bufio.ErrBufferFull { // skip the rest of an overlong line
				_, err = br.ReadSlice('\n')
			}
			if err == nil || err == io.EOF {
				err = nil
			}
		}
		text := strings.TrimRight(string(line), "\r\n")
		if len(text) > maxStderrLine {
			text = text[:maxStderrLine] + "…"
		}
		if strings.TrimSpace(text) != "" {
			p.mu.Lock()
			p.lastLine = text
			p.mu.Unlock()
			if ok, skipped := lim.allow(time.Now()); ok {
				if skipped > 0 {
					log.Warn("exec: standard error lines left out of the log", "suppressed", skipped)
				}
				log.Info("exec: " + text)
			}
		}
		if err != nil {
			return
		}
	}
}

// lineLimiter lets a burst of lines through, then one per interval, and
// counts the rest: a program that floods its standard error cannot flood
// the log.
type lineLimiter struct {
	tokens  float64
	last    time.Time
	skipped int
}

const (
	logBurst = 50
	logRate  = 10 // lines per second after the burst
)

func newLineLimiter() *lineLimiter { return &lineLimiter{tokens: logBurst} }

func (l *lineLimiter) allow(now time.Time) (bool, int) {
	if !l.last.IsZero() {
		l.tokens = min(logBurst, l.tokens+now.Sub(l.last).Seconds()*logRate)
	}
	l.last = now
	if l.tokens < 1 {
		l.skipped++
		return false, 0
	}
	l.tokens--
	k := l.skipped
	l.skipped = 0
	return true, k
}

// Read reads the program's standard output. At its end it waits for the
// program to exit and reports how.
func (p *proc) Read(b []byte) (int, error) {
	n, err := p.stdout.Read(b)
	p.consumed.Add(int64(n))
	if err == nil {
		return n, nil
	}
	p.mu.Lock()
	if p.readErr != nil {
		err = p.readErr
		p.mu.Unlock()
		return n, err
	}
	stopping := p.stopping || p.closed
	p.mu.Unlock()
	if stopping {
		err = execErr(p.name, "stopped")
	} else if err == io.EOF || errors.Is(err, os.ErrClosed) {
		err = p.exitErr()
	} else {
		err = execErr(p.name, "reading its output: %w", err)
	}
	p.mu.Lock()
	p.readErr = err
	p.mu.Unlock()
	return n, err
}

// err returns the error Read ended with, if any.
func (p *proc) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.readErr
}

// exitErr waits for the program to exit after it closed its standard
// output, and returns io.EOF for a success, an error otherwise.
func (p *proc) exitErr() error {
	<-p.waited
	select {
	case <-p.errDone:
	case <-time.After(stderrWait):
	}
	if p.waitErr == nil {
		return io.EOF
	}
	return p.failure(p.waitErr)
}

// failure describes how the program ended, with its last stderr line.
func (p *proc) failure(err error) error {
	p.mu.Lock()
	last := p.lastLine
	p.mu.Unlock()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			err = fmt.Errorf("killed by signal %v", st.Signal())
		} else {
			err = fmt.Errorf("exit status %d", ee.ExitCode())
		}
	}
	if last != "" {
		return execErr(p.name, "%v: %s", err, last)
	}
	return execErr(p.name, "%v (it wrote nothing to standard error)", err)
}

// execLabel names a command as the exec stage does in errors: exec and
// the command line, quoted.
func execLabel(args []string) string {
	return "exec " + strconv.Quote(JoinWords(args))
}

// execErr is an error of the stage label.
func execErr(label, format string, a ...any) error {
	return pipeline.StageErr(label, fmt.Errorf(format, a...))
}

// written returns the bytes the program has written to standard output
// so far: read, or waiting in the pipe.
func (p *proc) written() int64 { return p.consumed.Load() + int64(pipeBuffered(p.stdout)) }

// discard drops the output waiting in the pipe.
func (p *proc) discard() { p.consumed.Add(discardBuffered(p.stdout)) }

// Exited returns a channel closed once the program has exited.
func (p *proc) Exited() <-chan struct{} { return p.waited }

// Pid returns the program's process id.
func (p *proc) Pid() int { return p.cmd.Process.Pid }

// kill stops the program and its process group: SIGTERM, then SIGKILL
// after the grace period. It returns once the program has exited.
func (p *proc) kill() {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	pid := p.cmd.Process.Pid
	select {
	case <-p.waited:
	default:
		terminateGroup(pid)
		t := time.NewTimer(p.grace)
		select {
		case <-p.waited:
			t.Stop()
		case <-t.C:
		}
	}
	// The group's other members (a shell's children) get SIGKILL even
	// when the leader went at SIGTERM: nothing outlives the source.
	killGroup(pid, p.cmd.Process)
	<-p.waited
}

// Close stops the program if it still runs, waits for it, and releases
// its pipes. It is safe to call more than once.
func (p *proc) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.stopAt()
	p.kill()
	p.stdout.Close()
	if p.stdinW != nil {
		p.stdinW.Close()
		if c, ok := p.stdin.(io.Closer); ok {
			c.Close()
		}
	}
	select {
	case <-p.errDone:
	case <-time.After(stderrWait):
		p.stderr.Close() // a child that left the group holds it: stop reading
		<-p.errDone
	}
	p.stderr.Close()
	return nil
}
