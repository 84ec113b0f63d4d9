//go:build linux

package elks_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/proctest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// The exec tests run real programs in calls with the simulator, in real
// time (processes do not live on a synctest bubble's clock): their bounds
// are generous, for a loaded machine.

// execCall plays chain (an exec pipeline) in a call with the simulator
// as a Server would, and returns the play's error, the report and the
// session's log. It checks that nothing is left behind: the programs'
// processes, file descriptors and goroutines.
func execCall(t *testing.T, chain string, opt elkstest.Options) (error, *elkstest.Report, string) {
	t.Helper()
	fds, gs := proctest.OpenFDs(), runtime.NumGoroutine()
	c := startSim(t, elks.Config{Format: elks.PCM16000, Chunk: 20 * time.Millisecond}, opt)
	err := c.play(t, chain)
	r := c.report()
	c.s.Close()
	logs := c.logs.String()
	for _, m := range regexp.MustCompile(`program started pid=(\d+)`).FindAllStringSubmatch(logs, -1) {
		pid, _ := strconv.Atoi(m[1])
		if !proctest.GroupGone(pid) {
			t.Errorf("the program's process group %d is still there after the call", pid)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, g := proctest.OpenFDs(), runtime.NumGoroutine()
		if f <= fds && g <= gs {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("leak: %d file descriptors (was %d), %d goroutines (was %d)", f, fds, g, gs)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err, r, logs
}

// writeScript writes a shell script to a file and returns its path.
func writeScript(t *testing.T, script string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent.sh")
	if err := os.WriteFile(path, []byte(script+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A program that copies its standard input to its standard output (cat)
// makes the caller hear themselves.
func TestExecEcho(t *testing.T) {
	say, err := pipeline.OpenerText("tone 440 dur=1s rate=16000")
	if err != nil {
		t.Fatal(err)
	}
	heard := filepath.Join(t.TempDir(), "heard.wav")
	err, r, logs := execCall(t, `exec cat`, elkstest.Options{Say: say, Duration: 2 * time.Second, Record: heard})
	if err != nil && !errors.Is(err, elks.ErrCallOver) {
		t.Errorf("play: %v", err)
	}
	if r.Listenings["pcm_16000"] != 1 {
		t.Errorf("listenings %v", r.Listenings)
	}
	x := heardAudio(readWAV(t, heard), r, 16000)
	if len(x) < 12000 {
		t.Fatalf("the caller heard %d samples, want about a second; gaps %+v; log:\n%s", len(x), r.Gaps, logs)
	}
	if f := audiotest.Frequency(audiotest.Channel(x[:12000], 1, 0), 16000, 300, 600); math.Abs(f-440) > 2 {
		t.Errorf("the caller heard %.1f Hz, want 440", f)
	}
}

// heardAudio returns the audio of a call-time recording x (at rate)
// that the caller heard, from the first audio on, with the silences of
// the gaps of report r cut out: an echo in real time runs dry for a
// moment now and then on a loaded machine, and the silences would blur
// a frequency measured across them. What remains is the audio as sent.
func heardAudio(x []float32, r *elkstest.Report, rate int) []float32 {
	at := func(sec float64) int { return min(len(x), max(0, int(math.Round(sec*float64(rate))))) }
	var out []float32
	from := at(r.FirstAudio)
	for _, g := range r.Gaps.List {
		start, end := at(g.At), at(g.At+g.Seconds)
		if start > from {
			out = append(out, x[from:start]...)
		}
		from = max(from, end)
	}
	return append(out, x[from:]...)
}

// The program sees the call in its environment; one that exits at once
// ends the call cleanly.
func TestExecEnvAndExit(t *testing.T) {
	err, r, logs := execCall(t, `exec "sh -c 'echo vars $ELKS_CALLID $ELKS_FROM $ELKS_TO $ELKS_RATE $ELKS_FORMAT >&2'"`,
		elkstest.Options{Duration: 10 * time.Second})
	if err != nil {
		t.Errorf("play: %v", err)
	}
	if !strings.Contains(logs, "vars c1 +46700000001 +46700000002 16000 pcm_16000") || !strings.Contains(logs, "callid=c1") {
		t.Errorf("the log lacks the program's variables with the call id:\n%s", logs)
	}
	if r.End.By != "app" {
		t.Errorf("the call ended by %q, want the app's hangup", r.End.By)
	}
}

// Programs that fail, print garbage, never read their input or write
// nothing each end their call cleanly, logged, with nothing left behind.
func TestExecBadPrograms(t *testing.T) {
	for _, tc := range []struct {
		name, chain string
		dur         time.Duration
		wantErr     string
	}{
		{"exit 1", `exec "sh -c 'echo no voice found >&2; exit 1'"`, 10 * time.Second, "exit status 1: no voice found"},
		{"not found", `exec "no-such-agent-elkspipe"`, 10 * time.Second, `command "no-such-agent-elkspipe" not found`},
		{"garbage", `exec "echo hello" enc=auto`, 10 * time.Second, "not a WAV, MP3 or FLAC"},
		{"crash", `exec "sh -c 'head -c 3200 /dev/zero; kill -SEGV $$'"`, 10 * time.Second, "killed by signal"},
		{"floods, never reads", `exec "cat /dev/zero"`, time.Second, ""},
		{"silent", `exec "sleep 1000"`, time.Second, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err, r, logs := execCall(t, tc.chain, elkstest.Options{Duration: tc.dur})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("play: %v, want %q", err, tc.wantErr)
				}
			} else if err != nil && !errors.Is(err, elks.ErrCallOver) {
				t.Errorf("play: %v", err)
			}
			if r.End.By == "" {
				t.Errorf("the call did not end: %+v", r.End)
			}
			if d := time.Since(start); d > tc.dur+8*time.Second {
				t.Errorf("the call took %v", d)
			}
			if tc.name == "floods, never reads" && (len(r.Violations) != 0 || r.Played > 1.5) {
				t.Errorf("a flood was not paced: played %.2f s, violations %+v\n%s", r.Played, r.Violations, logs)
			}
		})
	}
}

// The program's actions on fd 4: hangup ends the call; malformed lines
// are logged and ignored.
func TestExecHangupAction(t *testing.T) {
	script := writeScript(t, `echo not json >&4; echo '{"action":"dance"}' >&4; echo '{"action":"hangup"}' >&4; sleep 1000`)
	err, r, logs := execCall(t, `exec "sh `+script+`"`,
		elkstest.Options{Duration: 20 * time.Second})
	if err != nil && !errors.Is(err, elks.ErrCallOver) {
		t.Errorf("play: %v", err)
	}
	if r.End.By != "app" || r.Duration > 10 {
		t.Errorf("the call ended by %q after %.1f s, want the app's hangup at once", r.End.By, r.Duration)
	}
	for _, want := range []string{"malformed action", "unknown action", "the program hangs up"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
}

// A mark event comes once the audio written before the mark was played,
// not when it was read.
func TestExecMarkAfterPlayed(t *testing.T) {
	script := `s=$(date +%s%N); head -c 32000 /dev/zero; echo '{"action":"mark","name":"m1"}' >&4; ` +
		`read line <&3; e=$(date +%s%N); echo "event $line after $(( (e-s)/1000000 )) ms" >&2`
	err, r, logs := execCall(t, `exec "sh `+writeScript(t, script)+`"`,
		elkstest.Options{Duration: 20 * time.Second})
	if err != nil {
		t.Errorf("play: %v", err)
	}
	m := regexp.MustCompile(`event (\{[^ ]*\}) after (\d+) ms`).FindStringSubmatch(logs)
	if m == nil {
		t.Fatalf("no mark event in the log:\n%s", logs)
	}
	if got := strings.ReplaceAll(m[1], `\"`, `"`); got != `{"event":"mark","name":"m1"}` {
		t.Errorf("event %s", got)
	}
	if ms, _ := strconv.Atoi(m[2]); ms < 900 {
		t.Errorf("the mark came after %d ms, before its second of audio could have played", ms)
	}
	// The second of audio after the live cushion (10 ms of silence).
	if math.Abs(r.Played-1.01) > 0.005 {
		t.Errorf("played %.3f s, want 1.01", r.Played)
	}
}

// An interrupt drops what the caller has not heard: queued at the API
// and waiting in the pipe. The program's next audio plays.
func TestExecInterruptAction(t *testing.T) {
	audiotest.NeedTool(t, "sox")
	script := `sox -n -r 16000 -t raw -e signed -b 16 - synth 5 sine 440; echo '{"action":"interrupt"}' >&4; ` +
		`sleep 0.2; sox -n -r 16000 -t raw -e signed -b 16 - synth 0.5 sine 880`
	heard := filepath.Join(t.TempDir(), "heard.wav")
	err, r, logs := execCall(t, `exec "sh `+writeScript(t, script)+`"`,
		elkstest.Options{Duration: 30 * time.Second, Record: heard})
	if err != nil {
		t.Errorf("play: %v\n%s", err, logs)
	}
	if r.Interrupts != 1 {
		t.Errorf("%d interrupts, want 1", r.Interrupts)
	}
	// The window holds 2.02 s at the API, the pipe ~2 s more: the first
	// tone is cut short, the second plays in full.
	if r.Played > 4.5 || r.Played < 0.5 {
		t.Errorf("played %.2f s (dropped %.2f s), want the first tone cut and the second whole", r.Played, r.Dropped)
	}
	t.Logf("played %.2f s, dropped %.2f s, duration %.2f s", r.Played, r.Dropped, r.Duration)
	x := readWAV(t, heard)
	if len(x) < 8000 {
		t.Fatalf("heard %d samples", len(x))
	}
	// The second tone, whole, ends what the caller heard.
	if f := audiotest.Frequency(audiotest.Channel(x[len(x)-7000:], 1, 0), 16000, 300, 1200); math.Abs(f-880) > 3 {
		t.Errorf("the caller's last 0.44 s is %.1f Hz, want the 880 Hz written after the interrupt", f)
	}
	if !strings.Contains(logs, "interrupts its audio") {
		t.Errorf("the interrupt is not logged:\n%s", logs)
	}
}

// A program that never reads its events and floods its actions with
// garbage does not hold the call up: events beyond the queue are dropped
// and counted, actions beyond the rate are dropped, each logged a few
// times only.
func TestExecControlFloods(t *testing.T) {
	fds, gs := proctest.OpenFDs(), runtime.NumGoroutine()
	c := startSim(t, elks.Config{Format: elks.PCM16000, Chunk: 20 * time.Millisecond}, elkstest.Options{Duration: 2 * time.Second})
	script := writeScript(t, `yes '{"action":"mark","name":"flood"}' >&4 & yes garbage >&4 & sleep 1000`)
	played := make(chan error, 1)
	go func() { played <- c.play(t, `exec "sh `+script+`"`) }()
	// Events go to the programs running: wait for this one to start
	// (a loaded machine takes its time).
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(c.logs.String(), "program started"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the program did not start:\n%s", c.logs.String())
		}
	}
	start := time.Now()
	for i := range 100000 {
		c.s.NotifyPrograms(elks.ExecEvent{Event: "digit", Digit: strconv.Itoa(i % 10)})
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("100000 events took %v: sending waits on the program", d)
	}
	if err := <-played; err != nil && !errors.Is(err, elks.ErrCallOver) {
		t.Errorf("play: %v", err)
	}
	r := c.report()
	c.s.Close()
	if r.Duration > 8 {
		t.Errorf("the call lasted %.1f s, want the caller's 2 s", r.Duration)
	}
	logs := c.logs.String()
	for _, want := range []string{"does not read its events", "actions too fast"} {
		if n := strings.Count(logs, want); n == 0 || n > 10 {
			t.Errorf("%q logged %d times, want a few:\n%.3000s", want, n, logs)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for proctest.OpenFDs() > fds || runtime.NumGoroutine() > gs {
		if time.Now().After(deadline) {
			t.Errorf("leak: %d fds (was %d), %d goroutines (was %d)", proctest.OpenFDs(), fds, runtime.NumGoroutine(), gs)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A program at another rate than the call's: rate= sets both its input
// and its output, converted from and to the call's. (The resamplers hold
// back their filters' delay until more audio comes: the caller goes on
// with silence, as a real call's audio does.)
func TestExecEchoAtOtherRate(t *testing.T) {
	say, err := pipeline.OpenerText("tone 440 dur=1s rate=16000 + silence 1s rate=16000")
	if err != nil {
		t.Fatal(err)
	}
	heard := filepath.Join(t.TempDir(), "heard.wav")
	err, r, logs := execCall(t, `exec "sh -c 'echo rate $ELKS_RATE >&2; exec cat'" rate=8k`,
		elkstest.Options{Say: say, Duration: 3 * time.Second, Record: heard})
	if err != nil && !errors.Is(err, elks.ErrCallOver) {
		t.Errorf("play: %v", err)
	}
	if !strings.Contains(logs, "rate 8000") {
		t.Errorf("the program was not told its rate:\n%s", logs)
	}
	x := heardAudio(readWAV(t, heard), r, 16000)
	if len(x) < 12000 {
		t.Fatalf("the caller heard %d samples, want about a second; gaps %+v\n%s", len(x), r.Gaps, logs)
	}
	if f := audiotest.Frequency(audiotest.Channel(x[:12000], 1, 0), 16000, 300, 600); math.Abs(f-440) > 2 {
		t.Errorf("the caller heard %.1f Hz, want 440", f)
	}
}

// A mark whose audio an interrupt dropped comes back cleared.
func TestExecMarkCleared(t *testing.T) {
	script := `head -c 96000 /dev/zero; echo '{"action":"mark","name":"long"}' >&4; echo '{"action":"interrupt"}' >&4; ` +
		`read line <&3; echo "event $line" >&2`
	err, r, logs := execCall(t, `exec "sh `+writeScript(t, script)+`"`, elkstest.Options{Duration: 20 * time.Second})
	if err != nil {
		t.Errorf("play: %v", err)
	}
	m := regexp.MustCompile(`event (\{[^ ]*\})`).FindStringSubmatch(logs)
	if m == nil {
		t.Fatalf("no mark event in the log:\n%s", logs)
	}
	if got := strings.ReplaceAll(m[1], `\"`, `"`); got != `{"event":"mark","name":"long","cleared":true}` {
		t.Errorf("event %s, want the mark cleared", got)
	}
	if r.Played > 2.9 {
		t.Errorf("played %.2f s of the 3 s interrupted", r.Played)
	}
}

// With dtmf=yes, a key the caller presses reaches the call's program as
// a digit event on fd 3.
func TestExecDigitEvent(t *testing.T) {
	say, err := pipeline.OpenerText("silence 300ms rate=16k + dtmf 7 rate=16k + silence 2s rate=16k")
	if err != nil {
		t.Fatal(err)
	}
	c := startSim(t, elks.Config{Format: elks.PCM16000, Chunk: 20 * time.Millisecond, DTMF: true},
		elkstest.Options{Say: say, Duration: 20 * time.Second})
	script := `read line <&3; echo "event $line" >&2`
	if err := c.play(t, `exec "sh `+writeScript(t, script)+`"`); err != nil {
		t.Errorf("play: %v", err)
	}
	c.report()
	c.s.Close()
	logs := c.logs.String()
	m := regexp.MustCompile(`event (\{[^ ]*\})`).FindStringSubmatch(logs)
	if m == nil {
		t.Fatalf("no digit event in the log:\n%s", logs)
	}
	if got := strings.ReplaceAll(m[1], `\"`, `"`); got != `{"event":"digit","digit":"7"}` {
		t.Errorf("event %s", got)
	}
}
