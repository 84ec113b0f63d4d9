package sources

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
)

// ExecOptions configures a run of a command by Command and Exec.
type ExecOptions struct {
	// Raw, when set, reads standard output as headerless audio; nil
	// recognises WAV or MP3 (whatever Decode reads) by its content.
	Raw *RawOptions
	// Env holds KEY=VALUE pairs added to the program's environment,
	// which is otherwise this process's.
	Env []string
	// Stdin, when set, is copied to the program's standard input by a
	// goroutine, until either ends; it is closed with the source when it
	// is an io.Closer, whose Close must end a Read waiting on it (or the
	// goroutine waits as long as that Read). Unset, standard input is
	// /dev/null.
	Stdin io.Reader
	// ExtraFiles are given to the program as file descriptors 3, 4, ...
	// (see os/exec.Cmd.ExtraFiles). The caller keeps them and closes them
	// once Command has returned.
	ExtraFiles []*os.File
	// Log receives each standard error line at info level (a flood is
	// cut to a few lines a second, and counted); default slog.Default().
	Log *slog.Logger
	// Grace is how long the program gets between SIGTERM and SIGKILL when
	// the source is closed; 0 means DefaultExecGrace.
	Grace time.Duration
}

// ExecSource is a running command's standard output as audio. Close stops
// the program (see Command).
type ExecSource interface {
	pipeline.Source
	io.Closer
	// Pid returns the program's process id, which is also its process
	// group's.
	Pid() int
	// Exited returns a channel closed once the program has exited.
	Exited() <-chan struct{}
	// Position returns the index in the program's output of the next
	// frame Read returns. For WAV/MP3 output it counts the frames
	// returned.
	Position() int64
	// Written returns the frames of raw output the program has written
	// so far, read by the source or still waiting in the pipe (whole
	// frames only); -1 for WAV/MP3 output.
	Written() int64
	// Discard drops the raw output the program has written and Read has
	// not returned yet: the next Read returns only what the program
	// writes from then on (what a Read going on meanwhile has already
	// read, it still returns). It does nothing for WAV/MP3 output. It may
	// be called from any goroutine.
	Discard()
}

// Command starts args (args[0] found in $PATH, no shell) and returns its
// standard output as a Source: raw per opt.Raw, or WAV/MP3 recognised by
// content, whose header Command waits for. The program runs in a process
// group of its own; its standard error goes to opt.Log, the last line
// kept. The source ends with io.EOF when the output ends and the program
// exits with status 0; a non-zero exit or a signal is an error that
// quotes the command and its last standard error line. Close — or ctx
// being done — sends SIGTERM to the group, SIGKILL after opt.Grace, and
// waits for the program, so nothing is left running. Errors name the
// stage as exec "COMMAND".
func Command(ctx context.Context, args []string, opt ExecOptions) (ExecSource, error) {
	p, err := startProc(ctx, args, opt)
	if err != nil {
		return nil, err
	}
	var src pipeline.Source
	if opt.Raw != nil {
		src, err = DecodeRaw(noClose{p}, *opt.Raw)
	} else {
		src, err = Decode(p) // closes p on error
	}
	if err != nil {
		p.Close()
		if perr := p.err(); perr != nil && perr != io.EOF {
			return nil, perr // how the program ended says more than the decoder
		}
		if errors.Is(err, errEmpty) {
			p.mu.Lock()
			last := p.lastLine
			p.mu.Unlock()
			if last != "" {
				return nil, execErr(p.name, "the program printed nothing on its standard output and exited with status 0; it wrote to standard error: %s", last)
			}
			return nil, execErr(p.name, "the program printed nothing on its standard output and exited with status 0")
		}
		return nil, pipeline.StageErr(p.name, err)
	}
	s := &execSource{Source: src, p: p}
	if opt.Raw != nil {
		raw, _ := opt.Raw.normalize() // checked by DecodeRaw
		s.raw = &raw
		s.frameSize = int64(raw.Encoding.Size() * raw.Channels)
	}
	return s, nil
}

// noClose hides the Close of a reader from a decoder: the exec source
// closes the program itself, and may replace the decoder (Discard).
type noClose struct{ io.Reader }

// execSource is a decoded program output. Close may come while a Read
// waits on the program: it stops the program, which ends the Read, and
// then closes the decoder.
type execSource struct {
	pipeline.Source
	p         *proc
	raw       *RawOptions // the raw output's options, nil for WAV/MP3
	frameSize int64       // bytes per frame of raw output
	discard   atomic.Bool // Discard was called: drop what waits at the next Read
	pos       atomic.Int64
	mu        sync.Mutex // held by Read, and by Close once the program is stopped
}

// Read reads the decoded output; an error of the program (how it exited)
// is returned as is, not as the decoder words it.
func (s *execSource) Read(b []float32) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.raw != nil && s.discard.Swap(false) {
		s.p.discard()
		// A fresh decoder drops the old one's read-ahead; the program's
		// output is whole frames up to what it has written.
		if src, err := DecodeRaw(noClose{s.p}, *s.raw); err == nil {
			pipeline.Close(s.Source)
			s.Source = src
		}
		s.pos.Store(s.p.consumed.Load() / s.frameSize)
	}
	n, err := s.Source.Read(b)
	s.pos.Add(int64(n))
	if err != nil && err != io.EOF {
		if perr := s.p.err(); perr != nil && perr != io.EOF {
			err = perr
		} else {
			err = pipeline.StageErr(s.p.name, err)
		}
	}
	return n, err
}

// Close stops the program and closes the decoder.
func (s *execSource) Close() error {
	s.p.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	pipeline.Close(s.Source)
	return nil
}

func (s *execSource) Pid() int        { return s.p.Pid() }
func (s *execSource) Position() int64 { return s.pos.Load() }
func (s *execSource) Discard()        { s.discard.Store(true) }

func (s *execSource) Written() int64 {
	if s.raw == nil {
		return -1
	}
	return s.p.written() / s.frameSize
}
func (s *execSource) Exited() <-chan struct{} { return s.p.Exited() }

// Exec returns an Opener that runs args anew at every open (every loop
// iteration, playlist round or call), like a file opened again; see
// Command. When the opening context carries an ExecHook (a pipeline that
// serves phone calls puts one there), the hook runs the command instead,
// with the same options.
func Exec(args []string, opt ExecOptions) (pipeline.Opener, error) {
	return execOpener(args, opt, opt)
}

// execOpener runs args with plain, or hands them to the context's hook
// with call.
func execOpener(args []string, plain, call ExecOptions) (pipeline.Opener, error) {
	if len(args) == 0 {
		return nil, errors.New("exec: no command given")
	}
	if plain.Raw != nil {
		if _, err := plain.Raw.normalize(); err != nil {
			return nil, fmt.Errorf("exec: %w", err)
		}
	}
	return func(ctx context.Context) (pipeline.Source, error) {
		if h := execHookFrom(ctx); h != nil {
			return h(ctx, args, call)
		}
		return Command(ctx, args, plain)
	}, nil
}

// ExecHook runs the command of an exec stage in place of Command, in a
// context that gives programs more than a plain source does: the elks
// sink sets one for every call (sinks/elks), which feeds the caller's
// audio to the program's standard input, adds the call's variables to its
// environment and opens a control channel. In opt, from the exec
// element, Raw is nil for enc=auto and otherwise describes the raw
// output the user declared, with Rate 0 when rate= was not given (the
// hook chooses: the call's rate).
type ExecHook func(ctx context.Context, args []string, opt ExecOptions) (pipeline.Source, error)

type execHookKey struct{}

// WithExecHook returns a context in which exec stages run through h.
func WithExecHook(ctx context.Context, h ExecHook) context.Context {
	return context.WithValue(ctx, execHookKey{}, h)
}

// execHookFrom returns the hook ctx carries, or nil.
func execHookFrom(ctx context.Context) ExecHook {
	h, _ := ctx.Value(execHookKey{}).(ExecHook)
	return h
}
