package main

import (
	"context"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/testlog"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// The plain exec: a command's WAV output through the CLI.
func TestExecSourceCLI(t *testing.T) {
	audiotest.NeedTool(t, "sox")
	out := filepath.Join(t.TempDir(), "out.wav")
	mustRun(t, `exec "sox -n -r 44100 -t wav - synth 1 sine 440" | resample 8k | wav `+out)
	got, f := decodeFile(t, out)
	if f != (pipeline.Format{Rate: 8000, Channels: 1}) || len(got) != 8000 {
		t.Fatalf("%d frames of %v, want 8000 at 8000 Hz mono", len(got), f)
	}
	if fr := audiotest.Frequency(audiotest.Channel(got, 1, 0), 8000, 100, 2000); math.Abs(fr-440) > 1 {
		t.Errorf("%.1f Hz, want 440", fr)
	}
	// A failing command exits non-zero with the command and its last
	// standard error line.
	code, _, stderr := runCLI(t, context.Background(), `exec "sh -c 'echo no such voice >&2; exit 2'" | wav `+out)
	if code == 0 || !strings.Contains(stderr, `exec "sh -c`) || !strings.Contains(stderr, "exit status 2: no such voice") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// The Python agent of examples/exec-agent in a call over a real server:
// the caller hears its chime, then their own voice; the agent hears the
// chime's mark once played, and its exit ends the call once all was heard.
func TestExecAgentExample(t *testing.T) {
	audiotest.NeedTool(t, "python3")
	agent, _ := filepath.Abs("../../examples/exec-agent/agent.py")
	logs := &testlog.Buffer{}
	url, stop := serveElksLogged(t, `exec "python3 `+agent+`" | elks format=pcm_16000 chunk=20ms listen=127.0.0.1:0`, slog.NewTextHandler(logs, nil))
	say, err := pipeline.OpenerText("tone 440 dur=10s rate=16000")
	if err != nil {
		t.Fatal(err)
	}
	heard := filepath.Join(t.TempDir(), "heard.wav")
	rep, err := elkstest.Call(context.Background(), elkstest.Options{URL: url, CallID: "c1", Say: say, Duration: 30 * time.Second, Record: heard})
	if err != nil {
		t.Fatal(err)
	}
	stop()
	l := logs.String()
	if rep.End.By != "app" || rep.Duration > 15 {
		t.Errorf("the call ended by %q after %.1f s, want the agent's hangup after ~3.5 s\n%s", rep.End.By, rep.Duration, l)
	}
	for _, want := range []string{"agent c1: call from", "mark greeting played", "done echoing"} {
		if !strings.Contains(l, want) {
			t.Errorf("the log lacks %q:\n%s", want, l)
		}
	}
	x, _ := decodeFile(t, heard)
	// The recording runs in call time: the agent's first audio comes
	// once Python has started, at FirstAudio.
	x = x[min(len(x), int(rep.FirstAudio*16000)):]
	if len(x) < 16000*3.4 { // the chime and 3 s of echo, heard in full
		t.Fatalf("heard %d samples after the first audio at %.2f s", len(x), rep.FirstAudio)
	}
	if f := audiotest.Frequency(audiotest.Channel(x[1600:6400], 1, 0), 16000, 200, 2000); math.Abs(f-660) > 2 {
		t.Errorf("the chime is %.1f Hz, want 660", f)
	}
	if f := audiotest.Frequency(audiotest.Channel(x[16000*2:16000*3], 1, 0), 16000, 200, 2000); math.Abs(f-440) > 2 {
		t.Errorf("the echo is %.1f Hz, want the caller's 440", f)
	}
}

// Serving an exec pipeline runs nothing until a call comes: the elks
// sink's start-up check gives exec an empty source instead.
func TestExecNotRunAtServe(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	url := serveElks(t, `exec "touch `+marker+`" | elks format=pcm_16000 listen=127.0.0.1:0`)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the program ran when the server started")
	}
	rep, err := elkstest.Call(context.Background(), elkstest.Options{URL: url, Duration: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the program did not run in the call: %v", err)
	}
	if rep.End.By != "app" {
		t.Errorf("the call ended by %q, want the app once the program exited", rep.End.By)
	}
}
