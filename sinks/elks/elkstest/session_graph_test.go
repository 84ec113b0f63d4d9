package elkstest_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// graphCall plays the source chain text through a real elks.Session with
// cfg, as the elks sink does (Session.PlayGraph: passthrough for wav and
// mp3), against the simulator over elks.Pipe, then drains and hangs up;
// with opt.Duration set the caller may hang up first. Run it inside a
// synctest bubble: the clocks of both are the bubble's, and the report's
// figures are exact.
func graphCall(t *testing.T, text string, cfg elks.Config, opt elkstest.Options) (*elkstest.Report, elks.Stats) {
	t.Helper()
	g, err := pipeline.SourceGraph(text)
	if err != nil {
		t.Fatal(err)
	}
	s, wait := startSession(t, cfg, opt)
	ctx := t.Context()
	played := s.PlayGraph(ctx, g)
	if played == nil {
		played = s.Drain(ctx)
	}
	if opt.Duration == 0 && played != nil {
		t.Errorf("play: %v", played)
	}
	s.Hangup()
	return wait(), s.Stats()
}

// vbrMP3 makes a 6 s stereo VBR MP3 (lame -V2 of a sweep and a tone), the
// kind of file a hold loop is, and returns its path and its length in
// seconds as elkspipe decodes it.
func vbrMP3(t *testing.T) (string, float64) {
	t.Helper()
	audiotest.NeedTool(t, "sox")
	audiotest.NeedTool(t, "lame")
	dir := t.TempDir()
	wav, mp3 := filepath.Join(dir, "hold.wav"), filepath.Join(dir, "hold.mp3")
	audiotest.Run(t, "sox", "-n", "-r", "44100", "-c", "2", wav, "synth", "6", "sine", "300-900", "sine", "500", "gain", "-6")
	audiotest.Run(t, "lame", "--quiet", "-V2", wav, mp3)
	open, err := pipeline.OpenerText("file " + mp3)
	if err != nil {
		t.Fatal(err)
	}
	src, err := open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	return mp3, float64(pipeline.FramesOf(src)) / float64(src.Format().Rate)
}

// A looped VBR MP3 passed through with a round trip close to the window,
// with checkpoints every 500 ms and every 5 s (the file formats'
// default): the joints between iterations (a sending,
// a short last piece, a sync) must not eat the window's margin over the
// round trip, so a piece waits until the window has room for a chunk of
// audio and carries what it has room for, and the caller hears no gap. On
// the bubble's clock nothing else can eat the margin: at an RTT of 1.5 s
// with a 2 s window there is no gap at all, and a window of 1.4 s (below
// the round trip) has gaps at every checkpoint.
func TestSessionPassthroughLoopNearWindow(t *testing.T) {
	mp3, secs := vbrMP3(t)
	for _, c := range []struct {
		window, checkpoint time.Duration
		gaps               bool
	}{
		{2 * time.Second, elks.DefaultCheckpoint, false},
		{1400 * time.Millisecond, elks.DefaultCheckpoint, true},
		{2 * time.Second, elks.DefaultFileCheckpoint, false}, // the file formats' default
	} {
		t.Run(c.window.String()+"/"+c.checkpoint.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := elks.Config{Format: elks.MP3, Window: c.window, Checkpoint: c.checkpoint}
				r, st := graphCall(t, "file "+mp3+" | loop 2", cfg, elkstest.Options{RTT: 1500 * time.Millisecond})
				if r.End.By != elks.ByApp || r.Sendings["mp3"] != 2 || len(r.Violations) != 0 {
					t.Fatalf("end %+v, sendings %v, problems %v", r.End, r.Sendings, r.Problems)
				}
				// Both iterations, whole (the decoder holds back at
				// most the last frame of the second until the hangup).
				if r.Played < 2*secs-0.03 || r.Played > 2*secs+1e-9 {
					t.Errorf("played %.4f s, want 2 × %.4f", r.Played, secs)
				}
				if r.Syncs.Answered != r.Syncs.Requests || st.SyncReplies != st.Syncs || r.Syncs.Requests != st.Syncs {
					t.Errorf("simulator syncs %+v, session syncs %d, replies %d", r.Syncs, st.Syncs, st.SyncReplies)
				}
				if !c.gaps && r.Gaps.Count != 0 {
					t.Errorf("%d gaps at a 1.5 s round trip with a %v window: %+v", r.Gaps.Count, c.window, r.Gaps.List)
				}
				if c.gaps && r.Gaps.Count == 0 {
					t.Errorf("no gap at a 1.5 s round trip with a %v window (less than the RTT): the simulator would not see them", c.window)
				}
				// window + checkpoint, and at most one frame more.
				if max := (c.window + c.checkpoint).Seconds() + 1152.0/44100; r.MaxBuffered.Seconds > max+1e-9 {
					t.Errorf("buffered up to %.4f s, above window + checkpoint + a frame (%.4f s)", r.MaxBuffered.Seconds, max)
				}
			})
		})
	}
}

// The sync window of a Session playing a tone, against several round
// trips: no gap while the window (2 s) exceeds the round trip, and while
// it does not, a gap of exactly the excess after every window of audio.
func TestSessionWindowAgainstRoundTrips(t *testing.T) {
	for _, c := range []struct {
		rtt    time.Duration
		gaps   []elkstest.Gap
		played float64
	}{
		{0, nil, 12},
		{500 * time.Millisecond, nil, 12},
		{1500 * time.Millisecond, nil, 12},
		{2 * time.Second, nil, 12}, // the margin is exactly 0
		// The window and a checkpoint play (to 2.5 s), then nothing until
		// the answer for the first checkpoint (0.5 s) at 4.5 s. Each
		// answer then lets 0.5 s more flow: those for 1 to 2.5 s come
		// as it plays, to 7 s; the next, for 3 s of audio (played at
		// 5 s), at 9 s. The same again to 11.5 s, and the next answer
		// would come after the hangup at 12 s (that silence is no gap).
		{4 * time.Second, []elkstest.Gap{{At: 2.5, Heard: 2.5, Seconds: 2}, {At: 7, Heard: 7, Seconds: 2}}, 7.5},
	} {
		t.Run(c.rtt.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := elks.Config{Format: elks.PCM8000, Chunk: 250 * time.Millisecond}
				r, _ := graphCall(t, "tone 440 rate=8000", cfg, elkstest.Options{Duration: 12 * time.Second, RTT: c.rtt})
				if r.End.By != elks.ByAPI || r.End.Reason != elks.ReasonHangup || r.Duration != 12 {
					t.Fatalf("end %+v after %v s", r.End, r.Duration)
				}
				if r.Gaps.Count != len(c.gaps) || !gapsEqual(r.Gaps.List, c.gaps) {
					t.Errorf("round trip %v: gaps %+v, want %+v", c.rtt, r.Gaps, c.gaps)
				}
				if math.Abs(r.Played-c.played) > 1e-9 {
					t.Errorf("round trip %v: played %v s, want %v", c.rtt, r.Played, c.played)
				}
				// window + checkpoint, exactly: the Session fills it at once.
				if r.MaxBuffered != (elkstest.Amount{Seconds: 2.5, Bytes: 40000}) {
					t.Errorf("round trip %v: max buffered %+v, want window + checkpoint (2.5 s)", c.rtt, r.MaxBuffered)
				}
			})
		})
	}
}

// gapsEqual compares gap lists to a nanosecond.
func gapsEqual(a, b []elkstest.Gap) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i].At-b[i].At) > 1e-9 || math.Abs(a[i].Heard-b[i].Heard) > 1e-9 || math.Abs(a[i].Seconds-b[i].Seconds) > 1e-9 {
			return false
		}
	}
	return true
}

// A looped source runs 30 minutes of call time with no gap, the buffer
// bounded by window + checkpoint, and a checkpoint at every iteration.
func TestSessionLoopThirtyMinutes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := elks.Config{Format: elks.ULaw, Chunk: 500 * time.Millisecond, Window: 60 * time.Second, Checkpoint: 5 * time.Second}
		r, st := graphCall(t, "tone 400 dur=3s rate=8k | loop", cfg, elkstest.Options{Duration: 30 * time.Minute, RTT: 200 * time.Millisecond})
		if r.End.By != elks.ByAPI || r.End.Reason != elks.ReasonHangup || r.Duration != 1800 {
			t.Fatalf("the call ended after %v s, by %q", r.Duration, r.End.By)
		}
		if r.Gaps.Count != 0 || r.FirstAudio != 0 || math.Abs(r.Played-1800) > 1e-6 {
			t.Errorf("%d gaps (%.2f s) in 30 minutes, first audio at %v, played %v s", r.Gaps.Count, r.Gaps.Seconds, r.FirstAudio, r.Played)
		}
		// window + checkpoint = 65 s of ulaw, in whole chunks.
		if r.MaxBuffered != (elkstest.Amount{Seconds: 65, Bytes: 65 * 8000}) || st.MaxInFlight != 65*time.Second {
			t.Errorf("buffered up to %+v, session's max in flight %v; the bound is window + checkpoint = 65 s", r.MaxBuffered, st.MaxInFlight)
		}
		// A checkpoint at every end of an iteration, and none inside one:
		// a 3 s iteration is shorter than the 5 s checkpoint interval.
		iterations := int(r.Audio.Seconds / 3)
		if r.Syncs.Requests != iterations || r.Syncs.Requests != st.Syncs {
			t.Errorf("%d syncs (session %d) in 30 minutes of a 3 s loop (%d iterations sent whole)", r.Syncs.Requests, st.Syncs, iterations)
		}
	})
}

// runText runs a whole pipeline, such as one that writes a file.
func runText(t *testing.T, text string) {
	t.Helper()
	spec, err := pipeline.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	g, err := spec.Graph()
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.Build(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// Passthrough with a window shorter than the file: pieces end between
// frames, so the audio before every checkpoint can be played in full and
// the caller hears no gap, for WAV and for MP3 (a stream of six copies of
// a 0.55 s fixture without a Xing header: 3.3 s of MPEG frames), the
// buffer within window + checkpoint and a frame. With no round trip the
// margin is the window's 1 s: on the bubble's clock nothing can eat it.
func TestSessionPassthroughWindowNoGaps(t *testing.T) {
	dir := t.TempDir()
	wav := filepath.Join(dir, "long.wav")
	runText(t, "tone 440 dur=5s rate=22050 channels=2 | wav "+wav+" bits=24")
	one, err := os.ReadFile(filepath.Join("..", "..", "..", "sources", "testdata", "mp3", "sine44notag.mp3"))
	if err != nil {
		t.Fatal(err)
	}
	mp3 := filepath.Join(dir, "long.mp3")
	if err := os.WriteFile(mp3, bytes.Repeat(one, 6), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same MP3 behind a 256 KiB ID3v2 tag (cover art): it plays for
	// no time, so it must not make the pieces of audio larger.
	art := filepath.Join(dir, "art.mp3")
	tag := append([]byte("ID3\x03\x00\x00\x00\x10\x00\x00"), make([]byte, 256<<10)...)
	if err := os.WriteFile(art, append(tag, bytes.Repeat(one, 6)...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		format elks.Format
		path   string
		frame  float64 // the longest piece of audio the format cannot split
	}{{elks.WAV, wav, 1.0 / 22050}, {elks.MP3, mp3, 1152.0 / 44100}, {elks.MP3, art, 1152.0 / 44100}} {
		t.Run(filepath.Base(c.path), func(t *testing.T) {
			open, err := pipeline.OpenerText("file " + c.path)
			if err != nil {
				t.Fatal(err)
			}
			src, err := open(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			want := float64(pipeline.FramesOf(src)) / float64(src.Format().Rate)
			pipeline.Close(src)
			synctest.Test(t, func(t *testing.T) {
				cfg := elks.Config{Format: c.format, Window: time.Second, Checkpoint: 250 * time.Millisecond}
				r, st := graphCall(t, "file "+c.path, cfg, elkstest.Options{})
				if r.End.By != elks.ByApp || len(r.Violations) != 0 || math.Abs(r.Played-want) > 2*c.frame+1e-9 {
					t.Fatalf("played %.4f s of %.4f, end %+v, problems %v", r.Played, want, r.End, r.Problems)
				}
				if r.Gaps.Count != 0 {
					t.Errorf("%d gaps: %+v", r.Gaps.Count, r.Gaps.List)
				}
				// The session never has more than the window and a
				// checkpoint in flight. The simulator's buffer is exact
				// for WAV; for MP3 it answers the first sync of a file
				// before its audio has played: its decoder (go-mp3) takes
				// in the first pieces to find the format and asks for
				// more bytes before it returns their frames, and the
				// simulator takes that for the end of what it can play.
				// So the session may send up to the file's first piece
				// (a checkpoint, 250 ms, at most) more than it would
				// against the real API: measured 0.16 s.
				slack := c.frame
				if c.format == elks.MP3 {
					slack += 0.25
				}
				if max := 1.25 + slack; r.MaxBuffered.Seconds > max+1e-9 {
					t.Errorf("buffered up to %.4f s, above window + checkpoint + %.4f s (%.4f s)", r.MaxBuffered.Seconds, slack, max)
				}
				if r.Syncs.Requests < int(want/0.25) || r.Syncs.Requests != st.Syncs || r.Syncs.Answered != r.Syncs.Requests {
					t.Errorf("syncs %+v (session %d) for %.1f s with checkpoint=250ms", r.Syncs, st.Syncs, want)
				}
			})
		})
	}
}
