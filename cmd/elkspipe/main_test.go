package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sources"
)

func runCLI(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func decodeFile(t *testing.T, path string) ([]float32, pipeline.Format) {
	t.Helper()
	src, err := sources.File(path)(context.Background())
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	defer pipeline.Close(src)
	return audiotest.MustReadAll(t, src), src.Format()
}

func TestToneToWAV(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.wav")
	code, _, stderr := runCLI(t, context.Background(), "tone 440 dur=3s | wav "+out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got, f := decodeFile(t, out)
	if len(got) != 3*f.Rate*f.Channels {
		t.Errorf("%d samples at %v, want 3 s", len(got), f)
	}
	if fr := audiotest.Frequency(audiotest.Channel(got, f.Channels, 0), f.Rate, 300, 600); fr < 439.99 || fr > 440.01 {
		t.Errorf("frequency %.3f Hz, want 440", fr)
	}
}

func TestBangFormAndVerboseChain(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.wav")
	code, _, stderr := runCLI(t, context.Background(), "-v", "tone", "440", "dur=1s", "!", "gain", "-6dB", "!", "raw", out, "rate=8k")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "resample 8000 (auto) [8000 Hz mono]") {
		t.Errorf("-v does not show the automatic resampler:\n%s", stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	x := audiotest.S16LE(b)
	if len(x) != 8000 {
		t.Fatalf("%d samples, want 8000", len(x))
	}
	amp, _, _ := audiotest.SineFit(audiotest.Channel(x[1000:7000], 1, 0), 440, 8000)
	want := pipeline.DBToAmplitude(-6) * pipeline.DBToAmplitude(-6) // tone's default level is -6 dBFS
	if amp < want*0.99 || amp > want*1.01 {
		t.Errorf("amplitude %.4f, want %.4f", amp, want)
	}
}

func TestListAndInspect(t *testing.T) {
	code, out, _ := runCLI(t, context.Background(), "list")
	if code != 0 {
		t.Fatalf("list exit %d", code)
	}
	for _, name := range []string{"file", "tone", "dtmf", "silence", "noise", "raw", "playlist",
		"resample", "mono", "channels", "gain", "fade", "trim", "pad", "loop", "wav", "null"} {
		if !strings.Contains(out, "\n  "+name+" ") {
			t.Errorf("list lacks %s:\n%s", name, out)
		}
	}
	code, out, _ = runCLI(t, context.Background(), "inspect", "resample")
	if code != 0 || !strings.Contains(out, "quality") || !strings.Contains(out, "veryhigh") {
		t.Errorf("inspect resample: exit %d\n%s", code, out)
	}
	// inspect elks lists every format with its rate and directions.
	code, out, _ = runCLI(t, context.Background(), "inspect", "elks")
	for _, row := range []string{"pcm_8000   8000 Hz   send, listen", "g722       16000 Hz  send, listen",
		"ogg        48000 Hz  send, listen", "mp3        (file's)  send "} {
		if code != 0 || !strings.Contains(out, row) {
			t.Errorf("inspect elks lacks %q:\n%s", row, out)
		}
	}
	// Ranges are written like defaults, and no line is wider than 100
	// columns, in inspect elks or any other.
	for _, want := range []string{"(default 24k; range 6k..510k)", "(default 0; range 0..1000000)", "(default 5s; range 0s..1h)"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect elks lacks %q:\n%s", want, out)
		}
	}
	for _, name := range []string{"elks", "tone", "dtmf", "raw", "playlist", "resample", "gain", "wav", "stream"} {
		_, out, _ := runCLI(t, context.Background(), "inspect", name)
		for _, line := range strings.Split(out, "\n") {
			if n := utf8.RuneCountInString(line); n > 100 {
				t.Errorf("inspect %s: a line of %d columns: %q", name, n, line)
			}
		}
	}
}

func TestErrorsAreOneLineAndNameTheStage(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.wav")
	os.WriteFile(junk, []byte("this is not audio at all"), 0o644)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"tone 440 | resampel 8k | null"}, exitUsage, `unknown element "resampel"; did you mean "resample"?`},
		{[]string{"tone 440"}, exitUsage, "no sink"},
		{[]string{"file " + filepath.Join(dir, "missing.wav") + " | null"}, exitFailed, "missing.wav\": no such file or directory"},
		{[]string{"file " + junk + " | null"}, exitFailed, `junk.wav": not a WAV, MP3 or FLAC file`},
		{[]string{"tone 440 | fade out=1s | null"}, exitFailed, "fade"},
		{[]string{"-mp3-cache", "-1", "tone 440 dur=1s | null"}, exitUsage, "-mp3-cache -1: want 0 to 1048576 MiB"},
		{[]string{"-render-cache", "-1", "tone 440 dur=1s | null"}, exitUsage, "-render-cache -1: want 0 to 1048576 MiB"},
		// Errors in how the pipeline is put together, found as it is
		// built or starts, are usage errors too.
		{[]string{"silence 1s | resample 1 | null"}, exitUsage, "resample in two steps"},
		{[]string{"tone 440 | elks format=wav listen=127.0.0.1:0"}, exitUsage, "tone 440 would change or generate audio"},
		{[]string{"file " + junk + " | gain -3 | raw " + junk}, exitUsage, "the output is the input file"},
		{[]string{"demo", "--format", "mp3"}, exitUsage, "--format mp3 passes files through untouched"},
		{[]string{"demo", "--duration", "0s"}, exitUsage, "--duration must be above 0"},
		{[]string{"tone 440 dur=1s | null", "-v"}, exitUsage, "the flag -v comes after the pipeline"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, context.Background(), c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
		if strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%q: error is not one line: %q", c.args, stderr)
		}
	}
}

// Cancelling (Ctrl-C) an endless pipeline (opted in with endless=true)
// leaves a valid WAV file.
func TestInterruptLeavesValidWAV(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.wav")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	code, _, stderr := runCLI(t, ctx, "tone 440 | wav "+out+" endless=true")
	if code != exitInterrupted {
		t.Fatalf("exit %d (%s), want %d", code, stderr, exitInterrupted)
	}
	got, f := decodeFile(t, out)
	if len(got) < f.Rate/100 {
		t.Fatalf("only %d samples written", len(got))
	}
	first := got[:min(len(got), f.Rate*f.Channels)]
	if fr := audiotest.Frequency(audiotest.Channel(first, f.Channels, 0), f.Rate, 300, 600); fr < 439.9 || fr > 440.1 {
		t.Errorf("frequency %.3f", fr)
	}
}

// Ctrl-C stops a pipeline that waits on a silent pipe at once, with a
// valid (empty) WAV, not when the writer next writes.
func TestInterruptWhileStdinIsSilent(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdin
	os.Stdin = r
	defer func() {
		w.Close() // the stdin pump sees the end and stops
		os.Stdin = saved
	}()
	out := filepath.Join(t.TempDir(), "out.wav")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	code, _, stderr := runCLI(t, ctx, "raw - rate=8k | wav "+out)
	if code != exitInterrupted || time.Since(start) > 5*time.Second {
		t.Fatalf("exit %d after %v (%s), want %d at once", code, time.Since(start), stderr, exitInterrupted)
	}
	got, f := decodeFile(t, out)
	if len(got) != 0 || f.Rate != 8000 {
		t.Errorf("%d samples at %d Hz", len(got), f.Rate)
	}
}

// The elks token never shows in what the command prints: the -v chain
// and an error naming the stage say token=xxx.
func TestTokenIsRedacted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close() // the port is taken: the elks stage fails to listen
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, stdout, stderr := runCLI(t, ctx, "-v", "tone 440 | elks token=s3cret listen="+ln.Addr().String())
	if code == 0 || !strings.Contains(stderr, "elks token=xxx listen=") || !strings.Contains(stderr, "address already in use") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if strings.Contains(stdout+stderr, "s3cret") {
		t.Errorf("the token shows:\n%s%s", stdout, stderr)
	}
}
