package elks_test

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// format=wav, a looped file: a sending and a sync per iteration, the
// file's bytes untouched in between, paced by the window, without a gap
// at a round trip of 200 ms; bye once the last sync is answered.
func TestPassthroughLoop(t *testing.T) {
	path := writeWAV(t, t.TempDir(), "hold.wav", 16000, 1, 1300*time.Millisecond)
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		const rtt = 200 * time.Millisecond
		c := startSim(t, elks.Config{Format: elks.WAV}, elkstest.Options{RTT: rtt})
		start := time.Now()
		if err := c.play(t, "file "+path+" | loop 4"); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		r := c.report()
		files := c.tap.files()
		if len(files) != 4 || r.Sendings["wav"] != 4 {
			t.Fatalf("%d sendings, want 4: %v", len(files), c.tap.types())
		}
		for i, f := range files {
			if !bytes.Equal(f, file) {
				t.Errorf("iteration %d: %d bytes differ from the file's %d", i+1, len(f), len(file))
			}
		}
		// A sync at the end of every file, and pieces of at most 32 KiB.
		ends, n := 0, 0
		for _, m := range c.tap.messages() {
			switch m := m.(type) {
			case elks.Sending:
				n = 0
			case elks.Audio:
				n += len(m.Data)
				if len(m.Data) > 32<<10 {
					t.Fatalf("a piece of %d bytes", len(m.Data))
				}
			case elks.Sync:
				if n == len(file) {
					ends++
				}
			}
		}
		if ends != 4 {
			t.Errorf("%d syncs at file ends, want 4", ends)
		}
		// The API buffers at most the window and a checkpoint (2 s and 5 s
		// in the file formats).
		if r.Gaps.Count != 0 || !near(r.Played, 5.2) || r.MaxBuffered.Seconds > 7 || len(r.Violations) != 0 {
			t.Errorf("gaps %+v, played %v s, buffered up to %+v, problems %v", r.Gaps, r.Played, r.MaxBuffered, r.Problems)
		}
		types := c.tap.types()
		if types[0] != "sending" || types[len(types)-1] != "bye" || types[len(types)-2] != "sync" {
			t.Errorf("messages %v", types)
		}
		if took != 5200*time.Millisecond+rtt {
			t.Errorf("the call took %v: bye before the audio played", took)
		}
	})
}

// 46elks' looping example's job (bench/example.sh): a 5 s WAV of 8 kHz
// looped into a 30 s call. Its pieces grow with the room in the window,
// up to a checkpoint (2 s in the file formats) and 32 KiB, so the call
// takes a few messages and syncs per iteration — the example sends three
// pieces and a sync — without a gap at a round trip of 200 ms, and the
// API never buffers more than the window and a checkpoint. With
// checkpoint=500ms given, pieces carry at most that.
func TestPassthroughLoopFewMessages(t *testing.T) {
	path := writeWAV(t, t.TempDir(), "loop.wav", 8000, 1, 5*time.Second)
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		checkpoint       time.Duration
		piece            int // most audio bytes in a message
		audioMsgs, syncs int // most in the call
		rtt              time.Duration
	}{
		{0, 32 << 10, 6*3 + 1, 6 + 1, 200 * time.Millisecond},
		// A round trip near the window (2 s): the big pieces keep its
		// margin, less a chunk.
		{0, 32 << 10, 6*3 + 2, 6 + 2, 1800 * time.Millisecond},
		{2 * time.Second, 32 << 10, 6*4 + 1, 6*4 + 1, 200 * time.Millisecond},
		{500 * time.Millisecond, 8000 + 44, 6 * 12, 6 * 12, 200 * time.Millisecond},
	} {
		t.Run(fmt.Sprint("checkpoint=", tc.checkpoint, ",rtt=", tc.rtt), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rtt := tc.rtt
				c := startSim(t, elks.Config{Format: elks.WAV, Checkpoint: tc.checkpoint}, elkstest.Options{RTT: rtt, Duration: 30 * time.Second})
				err := c.play(t, "file "+path+" | loop")
				r := c.report()
				if r.End.By != elks.ByAPI {
					t.Fatalf("the call ended by %v (%v), want the caller's hangup", r.End.By, err)
				}
				var audio, syncs, sendings int
				var seq []int
				for _, m := range c.tap.messages() {
					switch m := m.(type) {
					case elks.Sending:
						sendings++
					case elks.Audio:
						audio++
						seq = append(seq, len(m.Data))
						if len(m.Data) > tc.piece {
							t.Errorf("a piece of %d bytes, want at most %d", len(m.Data), tc.piece)
						}
					case elks.Sync:
						syncs++
					}
				}
				t.Logf("%d sendings, %d audio messages, %d syncs; pieces %v", sendings, audio, syncs, seq)
				if audio > tc.audioMsgs || syncs > tc.syncs {
					t.Errorf("%d audio messages and %d syncs, want at most %d and %d", audio, syncs, tc.audioMsgs, tc.syncs)
				}
				for i, f := range c.tap.files() {
					if len(f) == len(file) && !bytes.Equal(f, file) {
						t.Errorf("iteration %d differs from the file", i+1)
					}
				}
				w := 2 * time.Second
				if tc.checkpoint == 0 {
					w += elks.DefaultFileCheckpoint
				} else {
					w += tc.checkpoint
				}
				if r.Gaps.Count != 0 || r.Played < 29.9 || r.MaxBuffered.Seconds > w.Seconds() || len(r.Violations) != 0 {
					t.Errorf("gaps %+v, played %v s, buffered up to %+v, problems %v", r.Gaps, r.Played, r.MaxBuffered, r.Problems)
				}
			})
		})
	}
}
