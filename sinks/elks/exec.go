package elks

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/elkspipe/elkspipe/internal/pcm"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sources"
)

// runExec is the sources.ExecHook of a call (Session.Observe puts it in
// the openers' context): it runs the exec stage's command for this call,
// with the caller's audio on its standard input as raw 16-bit
// little-endian mono at rate= (default: the call format's rate), its
// standard output read as raw audio (s16le at that rate unless enc= says
// otherwise), the call's ELKS_* variables in its environment, its
// standard error in the call's log, and the control channel of
// docs/exec.md on file descriptors 3 (events) and 4 (actions). The
// program is stopped when the call ends.
func (s *Session) runExec(ctx context.Context, args []string, opt sources.ExecOptions) (pipeline.Source, error) {
	rate := s.info.Rate
	if rate == 0 { // a file format: its listening rate stands in
		rate = s.listenInfo().Rate
	}
	if opt.Raw != nil {
		raw := *opt.Raw
		if raw.Rate == 0 {
			raw.Rate = rate
		}
		opt.Raw = &raw
		rate = raw.Rate
	}
	h := s.Hello()
	log := s.Logger().With("stage", "exec")
	opt.Log = log
	opt.Env = append(opt.Env[:len(opt.Env):len(opt.Env)],
		"ELKS_CALLID="+h.CallID, "ELKS_FROM="+h.From, "ELKS_TO="+h.To,
		"ELKS_RATE="+strconv.Itoa(rate), "ELKS_FORMAT="+string(s.cfg.Format))

	in, err := newCallerPCM(s.Caller(), rate)
	if err != nil {
		return nil, err
	}
	opt.Stdin = in
	ctl, childFiles, err := newExecControl(s, log)
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("exec: the control channel: %w", err)
	}
	opt.ExtraFiles = childFiles
	// The call's end stops the program, whatever context opened it.
	runCtx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	src, err := sources.Command(runCtx, args, opt)
	for _, f := range childFiles {
		f.Close()
	}
	if err != nil {
		stop()
		cancel()
		in.Close()
		ctl.close()
		return nil, err
	}
	log.Info("program started", "pid", src.Pid(), "rate", rate)
	p := &callProgram{ExecSource: src, s: s, ctl: ctl, ctx: ctx, log: log,
		release: func() { stop(); cancel() }}
	ctl.prog = p
	if f := src.Format(); f.Channels == 1 && f.Rate == s.info.Rate {
		p.chunk = max(1, int((int64(f.Rate)*int64(s.cfg.Chunk)+int64(time.Second)/2)/int64(time.Second)))
	}
	ctl.start()
	return p, nil
}

// checkExec is the sources.ExecHook of the elks sink's start-up check:
// it runs nothing, and gives an ended source of the format a call's
// program would have (mono at the format's rate for WAV/MP3 output,
// whose header only a run would tell).
func checkExec(f Format) sources.ExecHook {
	return func(_ context.Context, _ []string, opt sources.ExecOptions) (pipeline.Source, error) {
		info, err := f.Info()
		if err != nil {
			return nil, err
		}
		format := pipeline.Format{Rate: info.Rate, Channels: 1}
		if opt.Raw != nil {
			if opt.Raw.Rate != 0 {
				format.Rate = opt.Raw.Rate
			}
			if opt.Raw.Channels != 0 {
				format.Channels = opt.Raw.Channels
			}
		}
		if format.Rate == 0 {
			format.Rate = 8000
		}
		return sources.DecodeRaw(eofReader{}, sources.RawOptions{Rate: format.Rate, Channels: format.Channels})
	}
}

// eofReader is an empty input.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// callerPCM is the caller's audio as raw 16-bit little-endian mono at a
// program's rate: its standard input.
type callerPCM struct {
	c   CallerSource
	src pipeline.Source // c, converted to the rate
	f   []float32
}

// newCallerPCM converts c to rate, mono.
func newCallerPCM(c CallerSource, rate int) (*callerPCM, error) {
	src := pipeline.Source(c)
	if want := (pipeline.Format{Rate: rate, Channels: 1}); c.Format() != want {
		conv, _, err := pipeline.Convert(c, want)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("exec: the caller's audio at %d Hz: %w", rate, err)
		}
		src = conv
	}
	// 20 ms at a time, as the API sends it: a converter fills what it is
	// asked for before it returns, and the program should not wait.
	return &callerPCM{c: c, src: src, f: make([]float32, max(1, rate/50))}, nil
}

// Read returns the caller's audio as it comes, in whole samples.
func (r *callerPCM) Read(b []byte) (int, error) {
	n := min(len(b)/2, len(r.f))
	if n == 0 {
		return 0, io.ErrShortBuffer
	}
	k, err := r.src.Read(r.f[:n])
	pcm.Append(b[:0], r.f[:k], pipeline.S16LE)
	return 2 * k, err
}

// Close stops the caller's audio: a Read waiting for it returns.
func (r *callerPCM) Close() error { return r.c.Close() }

// execFiles opens the two pipes of the control channel: it returns the
// parent's ends (events to write, actions to read) and the child's (fd 3
// to read events, fd 4 to write actions).
func execFiles() (evW, actR *os.File, child []*os.File, err error) {
	evR, evW, err := os.Pipe()
	if err != nil {
		return nil, nil, nil, err
	}
	actR, actW, err := os.Pipe()
	if err != nil {
		evR.Close()
		evW.Close()
		return nil, nil, nil, err
	}
	return evW, actR, []*os.File{evR, actW}, nil
}
