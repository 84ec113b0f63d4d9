//go:build linux

package sources

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/proctest"
	"github.com/elkspipe/elkspipe/internal/testlog"
	"github.com/elkspipe/elkspipe/pipeline"
)

// execCmd runs the command line of a test.
func execCmd(t *testing.T, line string, opt ExecOptions) (ExecSource, error) {
	t.Helper()
	args, err := SplitWords(line)
	if err != nil {
		t.Fatal(err)
	}
	return Command(context.Background(), args, opt)
}

func TestExecWAVFromSox(t *testing.T) {
	audiotest.NeedTool(t, "sox")
	proctest.CheckNoLeak(t)
	src, err := execCmd(t, "sox -n -r 16000 -t wav - synth 1 sine 440", ExecOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if got := src.Format(); got != (pipeline.Format{Rate: 16000, Channels: 1}) {
		t.Fatalf("format %v, want 16000 Hz mono", got)
	}
	got := audiotest.MustReadAll(t, src)
	if len(got) != 16000 {
		t.Errorf("%d frames, want 16000", len(got))
	}
	if f := audiotest.Frequency(audiotest.Channel(got, 1, 0), 16000, 100, 4000); f < 435 || f > 445 {
		t.Errorf("frequency %.1f Hz, want 440", f)
	}
}

func TestExecRawFromPrintf(t *testing.T) {
	proctest.CheckNoLeak(t)
	src, err := execCmd(t, `printf '\000\100\000\300\377\177'`, ExecOptions{Raw: &RawOptions{Rate: 8000}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if got := src.Format(); got != (pipeline.Format{Rate: 8000, Channels: 1}) {
		t.Fatalf("format %v, want 8000 Hz mono", got)
	}
	got := audiotest.MustReadAll(t, src)
	want := []float32{0.5, -0.5, 32767.0 / 32768}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestExecExitStatusQuotesStderr(t *testing.T) {
	proctest.CheckNoLeak(t)
	line := `sh -c 'printf "\000\000\000\000"; echo first >&2; echo "the last words" >&2; exit 3'`
	src, err := execCmd(t, line, ExecOptions{Raw: &RawOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	_, err = audiotest.ReadAll(src, 64)
	if err == nil {
		t.Fatal("no error for exit status 3")
	}
	for _, want := range []string{"exit status 3", "the last words", `exec "sh -c`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}

	// A failure before any output comes from Command itself.
	_, err = execCmd(t, `sh -c 'echo "no such voice" >&2; exit 1'`, ExecOptions{})
	if err == nil || !strings.Contains(err.Error(), "exit status 1: no such voice") {
		t.Errorf("error %v, want exit status 1 and the stderr line", err)
	}
	// Output that is neither WAV nor MP3 says so and names the command.
	_, err = execCmd(t, `echo hello`, ExecOptions{})
	if err == nil || !strings.Contains(err.Error(), `exec "echo hello"`) || !strings.Contains(err.Error(), "not a WAV, MP3 or FLAC") {
		t.Errorf("error %v, want the command and not a WAV or MP3", err)
	}
}

func TestExecNotFound(t *testing.T) {
	proctest.CheckNoLeak(t)
	_, err := execCmd(t, "no-such-program-elkspipe --flag", ExecOptions{})
	if err == nil || !strings.Contains(err.Error(), `command "no-such-program-elkspipe" not found`) {
		t.Errorf("error %v, want the command named as not found", err)
	}
	_, err = execCmd(t, "/nonexistent/prog", ExecOptions{})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/prog") {
		t.Errorf("error %v, want the path named", err)
	}
}

func TestExecCloseKillsGroup(t *testing.T) {
	proctest.CheckNoLeak(t)
	// The shell ignores SIGTERM and its child sleeps: both must go, the
	// shell by SIGKILL after the grace period.
	src, err := execCmd(t, `sh -c 'trap "" TERM; sleep 1000 & sleep 1000'`,
		ExecOptions{Raw: &RawOptions{}, Grace: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	pid := src.Pid()
	read := make(chan error, 1)
	go func() {
		_, err := src.Read(make([]float32, 10))
		read <- err
	}()
	time.Sleep(100 * time.Millisecond) // the read waits on a silent program
	start := time.Now()
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	if !proctest.GroupGone(pid) {
		t.Errorf("process group %d still has processes after Close", pid)
	}
	select {
	case err := <-read:
		if err == nil || err == io.EOF {
			t.Errorf("a read cut by Close returned %v, want an error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a read stayed blocked after Close")
	}
	select {
	case <-src.Exited():
	default:
		t.Error("Exited not closed after Close")
	}
}

func TestExecContextStopsSilentProgram(t *testing.T) {
	proctest.CheckNoLeak(t)
	// enc=auto waits for a header that never comes: cancelling the
	// context ends the wait and the program.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := Command(ctx, []string{"sleep", "1000"}, ExecOptions{})
	if err == nil {
		t.Fatal("no error from a program stopped before its output")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Command returned after %v", d)
	}
}

func TestExecFastOutputAndLoops(t *testing.T) {
	proctest.CheckNoLeak(t)
	// The opener runs the program anew each time; a program that writes
	// as fast as it can is just a fast source.
	open, err := Exec([]string{"head", "-c", "32000", "/dev/zero"}, ExecOptions{Raw: &RawOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		src, err := open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got := audiotest.MustReadAll(t, src)
		pipeline.Close(src)
		if len(got) != 16000 {
			t.Fatalf("run %d: %d frames, want 16000", i, len(got))
		}
	}
}

func TestExecStderrLogged(t *testing.T) {
	lw := &testlog.Buffer{}
	src, err := execCmd(t, `sh -c 'echo warming up >&2; printf "\000\000"'`,
		ExecOptions{Raw: &RawOptions{}, Log: newTestLogger(lw)})
	if err != nil {
		t.Fatal(err)
	}
	audiotest.MustReadAll(t, src)
	src.Close()
	if s := lw.String(); !strings.Contains(s, "warming up") || !strings.Contains(s, "cmd=sh") {
		t.Errorf("log %q lacks the stderr line and the command", s)
	}
}

func TestExecElementArgs(t *testing.T) {
	for _, bad := range []string{`exec ""`, `exec "a 'b"`, `exec "x" enc=auto rate=8k`} {
		if _, err := pipeline.SourceGraph(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	g, err := pipeline.SourceGraph(`exec "printf '\\000\\100'" enc=s16le rate=8k`)
	if err != nil {
		t.Fatal(err)
	}
	src, _, err := g.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	got := audiotest.MustReadAll(t, src)
	if src.Format().Rate != 8000 || len(got) != 1 || got[0] != 0.5 {
		t.Errorf("got %v at %v, want [0.5] at 8000 Hz", got, src.Format())
	}
}

func newTestLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func TestExecDiscardAndWritten(t *testing.T) {
	proctest.CheckNoLeak(t)
	inR, inW := io.Pipe()
	src, err := execCmd(t, `sh -c 'printf "\000\020\000\020\000\020"; read x; printf "\000\100"; sleep 1000'`,
		ExecOptions{Raw: &RawOptions{}, Stdin: inR, Grace: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	buf := make([]float32, 1)
	if n, err := src.Read(buf); n != 1 || err != nil || buf[0] != 0.125 {
		t.Fatalf("first read %d %v %v", n, err, buf)
	}
	if w, p := src.Written(), src.Position(); w != 3 || p != 1 {
		t.Errorf("written %d, position %d; want 3 and 1", w, p)
	}
	src.Discard()
	// The discard happens at the next Read, which then waits for the
	// program: the program is let go on (it writes 0.5) only once the
	// discard has moved the position past the two frames dropped, or it
	// could write before the discard, and lose 0.5 with them.
	type result struct {
		n   int
		err error
	}
	read := make(chan result, 1)
	go func() {
		n, err := src.Read(buf)
		read <- result{n, err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for src.Position() != 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if p := src.Position(); p != 3 {
		t.Fatalf("position %d after Discard, want 3 (the two frames written dropped)", p)
	}
	go inW.Write([]byte("go\n"))
	select {
	case r := <-read:
		if r.n != 1 || r.err != nil || buf[0] != 0.5 {
			t.Fatalf("read after Discard: %d %v %v, want 0.5 (the two frames written before dropped)", r.n, r.err, buf)
		}
	case <-time.After(10 * time.Second):
		src.Close()
		<-read
		t.Fatal("no read after Discard within 10 s")
	}
	if p := src.Position(); p != 4 {
		t.Errorf("position %d after the discard and a read, want 4", p)
	}
}
