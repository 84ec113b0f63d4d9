package sources

import (
	"context"
	"io"
	"os"
	"sync"
)

// openStdin returns standard input for one stage to read; closing it does
// not close standard input. A regular file (a shell redirect) is read
// directly. A pipe or a terminal is read through the process's stdin pump,
// so that a read waiting on a quiet pipe ends when ctx is cancelled (Ctrl-C
// stops the pipeline at once instead of when the writer next writes).
func openStdin(ctx context.Context) io.ReadCloser {
	if st, err := os.Stdin.Stat(); err == nil && st.Mode().IsRegular() {
		return stdinFile{os.Stdin}
	}
	return &stdinPipe{ctx: ctx}
}

// stdinFile reads standard input without closing it.
type stdinFile struct{ *os.File }

func (stdinFile) Close() error { return nil }

// stdinChunk is one read of standard input.
type stdinChunk struct {
	b   []byte
	err error
}

// stdinPump is the one goroutine that reads a piped standard input: a
// read of a pipe cannot be interrupted, so the pipeline waits for its
// chunks with a select instead. It starts with the first stage that reads
// the pipe and ends at the pipe's end; a pipeline that stops before then
// leaves it waiting to hand over its next chunk, which the next reader of
// standard input gets (what the stage that stopped had taken but not read
// is gone, as with any read of a pipe).
type stdinPump struct {
	file   *os.File
	chunks chan stdinChunk // closed after the last chunk
	end    error           // why it ended (io.EOF or a read error), set before chunks closes
}

// stdinPumps holds the pump of the standard input in use. A program (or
// a test) that replaces os.Stdin gets a pump of the new file; the old one
// ends with its own pipe.
var stdinPumps struct {
	mu  sync.Mutex
	cur *stdinPump
}

// currentStdinPump returns the pump of os.Stdin, starting it if needed.
func currentStdinPump() *stdinPump {
	stdinPumps.mu.Lock()
	defer stdinPumps.mu.Unlock()
	if p := stdinPumps.cur; p != nil && p.file == os.Stdin {
		return p
	}
	p := &stdinPump{file: os.Stdin, chunks: make(chan stdinChunk)}
	stdinPumps.cur = p
	go p.run()
	return p
}

// run reads the file until it ends, handing over each chunk.
func (p *stdinPump) run() {
	defer close(p.chunks)
	for {
		b := make([]byte, 32<<10)
		n, err := p.file.Read(b)
		if err != nil {
			p.end = err
		}
		if n > 0 || err != nil {
			p.chunks <- stdinChunk{b[:n], err}
		}
		if err != nil {
			return
		}
	}
}

// stdinPipe reads a piped standard input through the pump.
type stdinPipe struct {
	ctx  context.Context
	rest []byte
	err  error
}

func (r *stdinPipe) Read(p []byte) (int, error) {
	for len(r.rest) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		pump := currentStdinPump()
		select {
		case c, ok := <-pump.chunks:
			if !ok {
				c.err = pump.end // every later reader sees the same end
			}
			r.rest, r.err = c.b, c.err
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
	}
	n := copy(p, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}

func (r *stdinPipe) Close() error { return nil }
