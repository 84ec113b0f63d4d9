package elks_test

import (
	"bytes"
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
		// A sync at the end of every file, and pieces of at most one
		// checkpoint (500 ms: 16000 bytes of audio, plus a share of the
		// header).
		ends, n := 0, 0
		for _, m := range c.tap.messages() {
			switch m := m.(type) {
			case elks.Sending:
				n = 0
			case elks.Audio:
				n += len(m.Data)
				if len(m.Data) > len(file)*5/13 {
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
		if r.Gaps.Count != 0 || !near(r.Played, 5.2) || r.MaxBuffered.Seconds > 2.6 || len(r.Violations) != 0 {
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
