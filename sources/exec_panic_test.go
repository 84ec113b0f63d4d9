package sources

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/proctest"
)

// panicReader panics at its first Read: a source fed to a program's
// standard input that fails.
type panicReader struct{}

func (panicReader) Read([]byte) (int, error) { panic("the caller's audio failed") }

// panicHandler is a slog.Handler that panics at every line: a Logger
// that fails.
type panicHandler struct{ slog.Handler }

func (panicHandler) Handle(context.Context, slog.Record) error { panic("the logger failed") }

func (h panicHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h panicHandler) WithGroup(string) slog.Handler { return h }

// A panic in a goroutine of a program's pipes — the reader of what is fed
// to its standard input, the Logger its standard error goes to — does not
// end the process: the program's standard input ends (it sees EOF), its
// standard error is still read (it never blocks on it), and its output
// plays to its end, with no process left behind.
func TestExecPipePanicsContained(t *testing.T) {
	proctest.CheckNoLeak(t)
	cases := []struct {
		name, line string
		opt        ExecOptions
	}{{
		name: "stdin",
		line: `sh -c 'cat >/dev/null; printf "\000\100"'`, // the sample only once stdin has ended
		opt:  ExecOptions{Raw: &RawOptions{}, Stdin: panicReader{}},
	}, {
		name: "stderr",
		// 256 kB of standard error, more than a pipe holds, before the sample
		line: `sh -c 'head -c 262144 /dev/zero | tr "\000" "x" | fold -w 100 >&2; printf "\000\100"'`,
		opt:  ExecOptions{Raw: &RawOptions{}, Log: slog.New(panicHandler{slog.Default().Handler()})},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opt.Grace = 100 * time.Millisecond
			src, err := execCmd(t, c.line, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			done := make(chan []float32, 1)
			go func() { done <- audiotest.MustReadAll(t, src) }()
			select {
			case got := <-done:
				if len(got) != 1 || got[0] != 0.5 {
					t.Errorf("got %v, want [0.5]: the program's output after the panic", got)
				}
			case <-time.After(10 * time.Second):
				src.Close()
				t.Fatal("the program's output did not end: it waits on a pipe nobody serves")
			}
		})
	}
}
