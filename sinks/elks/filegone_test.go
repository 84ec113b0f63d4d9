package elks_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// Hold music deleted while calls play it (issue 12, defect 8): the call
// that plays `file X | loop` when X is deleted, 7 s into a 30 s call,
// hears the loop to the end of the call, sample for sample and without a
// gap; a call that starts after the deletion fails at the start with an
// error that names the file.
func TestLoopedFileDeletedMidCall(t *testing.T) {
	for _, kind := range []string{"mp3", "wav"} {
		t.Run(kind, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hold."+kind)
			if kind == "mp3" {
				data, err := os.ReadFile(filepath.Join("..", "..", "sources", "testdata", "mp3", "sine44m.mp3"))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				p, err := pipeline.BuildText(context.Background(), "tone 440 dur=1.3s rate=16k | wav "+path)
				if err != nil {
					t.Fatal(err)
				}
				if err := p.Run(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			chain := "file " + path + " | loop"
			synctest.Test(t, func(t *testing.T) {
				const callLen = 30 * time.Second
				// What the caller should hear: the file played on and on
				// (100 × at least 0.5 s is more than the call and what is sent ahead).
				want := expect(t, "file "+path+" | loop 100", elks.PCM16000)
				cfg := elks.Config{Format: elks.PCM16000}
				c := startSim(t, cfg, elkstest.Options{Duration: callLen})
				go func() {
					time.Sleep(7 * time.Second)
					if err := os.Remove(path); err != nil {
						t.Error(err)
					}
				}()
				playedToHangup(t, c, chain, callLen)
				heard, _ := c.tap.audio(t, elks.PCM16000)
				if len(heard) < int(callLen.Seconds())*16000 || len(heard) > len(want) {
					t.Fatalf("sent %d samples, want at least %d", len(heard), int(callLen.Seconds())*16000)
				}
				sameAudio(t, heard, want[:len(heard)])

				// The next call has nothing to replay.
				c2 := startSim(t, cfg, elkstest.Options{CallID: "c2", From: "+46700000001", To: "+46700000002", Duration: callLen})
				err := c2.play(t, chain)
				r2 := c2.report()
				if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), `file "`+path+`"`) {
					t.Errorf("a call after the deletion: %v, want an error naming file %q: no such file", err, path)
				}
				if r2.Played != 0 || r2.End.By != elks.ByApp {
					t.Errorf("a call after the deletion played %v s and was ended by %s, want none and ended by the application", r2.Played, r2.End.By)
				}
			})
		})
	}
}

// playedToHangup plays chain in c's call and checks that it played to
// the caller's hang-up at callLen, with no gap and no protocol problem;
// it returns the simulator's report.
func playedToHangup(t *testing.T, c *simCall, chain string, callLen time.Duration) *elkstest.Report {
	t.Helper()
	err := c.play(t, chain)
	r := c.report()
	if !errors.Is(err, elks.ErrCallOver) {
		t.Fatalf("the play ended with %v, want the caller's hang-up at %v", err, callLen)
	}
	if r.End.By != elks.ByAPI || !near(r.Played, callLen.Seconds()) || r.Gaps.Count != 0 || len(r.Violations) != 0 {
		t.Fatalf("call ended by %s after %v s of audio, gaps %+v, problems %v; want the caller's hang-up at %v, no gap",
			r.End.By, r.Played, r.Gaps, r.Problems, callLen)
	}
	return r
}
