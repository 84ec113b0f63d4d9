package elks_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/internal/keep"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// passHold writes the hold music of a passthrough test at dir/name: an
// MP3 fixture of sources (a .mp3 name), or a 1.3 s WAV. It returns the
// file's path and bytes.
func passHold(t *testing.T, dir, name, fixture string) (string, []byte) {
	t.Helper()
	path := filepath.Join(dir, name)
	if strings.HasSuffix(name, ".mp3") {
		data, err := os.ReadFile(filepath.Join("..", "..", "sources", "testdata", "mp3", fixture))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	} else {
		writeWAV(t, dir, name, 16000, 1, 1300*time.Millisecond)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, data
}

// passSent checks that the files a call sent are, in order, whole copies
// of the files in want (each one or more times, in that order, the last
// one possibly cut by the end of the call), and returns how many times
// each was sent.
func passSent(t *testing.T, files [][]byte, want ...[]byte) []int {
	t.Helper()
	counts := make([]int, len(want))
	w := 0
	for i, f := range files {
		for w < len(want) && !bytes.Equal(f, want[w]) && !(i == len(files)-1 && bytes.HasPrefix(want[w], f)) {
			w++
		}
		if w == len(want) {
			t.Fatalf("sending %d of %d: %d bytes that are none of the files expected at that point", i+1, len(files), len(f))
		}
		counts[w]++
	}
	return counts
}

// Hold music deleted or spoilt while calls pass it through (issue 12,
// defect 8, format=mp3 and format=wav): the call that plays `file X |
// loop` when X is deleted, or truncated to nothing in the middle of a
// sending, 7 s into a 30 s call, plays to the end of the call without a
// gap, every iteration the file's bytes untouched; the loss is logged;
// a call that starts afterwards fails at the start with an error that
// names the file.
func TestLoopedFileGonePassthrough(t *testing.T) {
	for _, format := range []elks.Format{elks.MP3, elks.WAV} {
		for _, how := range []string{"deleted", "truncated"} {
			t.Run(string(format)+"/"+how, func(t *testing.T) {
				path, data := passHold(t, t.TempDir(), "hold."+string(format), "sine44m.mp3")
				chain := "file " + path + " | loop"
				synctest.Test(t, func(t *testing.T) {
					const callLen = 30 * time.Second
					cfg := elks.Config{Format: format}
					c := startSim(t, cfg, elkstest.Options{Duration: callLen})
					go func() {
						time.Sleep(7 * time.Second)
						var err error
						if how == "deleted" {
							err = os.Remove(path)
						} else {
							err = os.Truncate(path, 0)
						}
						if err != nil {
							t.Error(err)
						}
					}()
					r := playedToHangup(t, c, chain, callLen)
					files := c.tap.files()
					passSent(t, files, data)
					// The MP3 plays 0.5 s, the WAV 1.3 s.
					least := map[elks.Format]int{elks.MP3: 59, elks.WAV: 23}[format]
					if r.Sendings[string(format)] != len(files) || len(files) < least {
						t.Errorf("%d sendings (%v by the simulator's count), want one per iteration over 30 s", len(files), r.Sendings)
					}
					if logs := c.logs.String(); strings.Count(logs, "a looped file cannot be played") != 1 || !strings.Contains(logs, path) {
						t.Errorf("the loss of the file is not logged once, naming it:\n%s", logs)
					}

					// The next call has nothing to replay.
					c2 := startSim(t, cfg, elkstest.Options{CallID: "c2", From: "+46700000001", To: "+46700000002", Duration: callLen})
					err := c2.play(t, chain)
					r2 := c2.report()
					if err == nil || !strings.Contains(err.Error(), `file "`+path+`"`) || (how == "deleted" && !errors.Is(err, fs.ErrNotExist)) {
						t.Errorf("a call after the file was %s: %v, want an error naming file %q", how, err, path)
					}
					if r2.Played != 0 || r2.End.By != elks.ByApp {
						t.Errorf("a call after the file was %s played %v s and was ended by %s, want none and ended by the application", how, r2.Played, r2.End.By)
					}
				})
			})
		}
	}
}

// A file replaced atomically (written beside it, then renamed over it)
// while a call passes it through is sent from the next iteration on; when
// the new file is deleted in turn, the call goes on sending the new one.
func TestLoopedFileReplacedPassthrough(t *testing.T) {
	for _, format := range []elks.Format{elks.MP3, elks.WAV} {
		t.Run(string(format), func(t *testing.T) {
			dir := t.TempDir()
			path, old := passHold(t, dir, "hold."+string(format), "sine44m.mp3")
			var next []byte
			var nextPath string
			if format == elks.MP3 {
				nextPath, next = passHold(t, dir, "next.mp3", "sine44ff.mp3")
			} else {
				nextPath = writeWAV(t, dir, "next.wav", 8000, 1, 900*time.Millisecond)
				next, _ = os.ReadFile(nextPath)
			}
			synctest.Test(t, func(t *testing.T) {
				const callLen = 20 * time.Second
				c := startSim(t, elks.Config{Format: format}, elkstest.Options{Duration: callLen})
				go func() {
					time.Sleep(5 * time.Second)
					if err := os.Rename(nextPath, path); err != nil {
						t.Error(err)
					}
					time.Sleep(5 * time.Second)
					if err := os.Remove(path); err != nil {
						t.Error(err)
					}
				}()
				playedToHangup(t, c, "file "+path+" | loop", callLen)
				n := passSent(t, c.tap.files(), old, next)
				t.Logf("sent the old file %d times, the new one %d times", n[0], n[1])
				// The rename at 5 s comes while the sender is a few
				// seconds ahead: the old file (0.55 s) plays for at most
				// the first 5 s and what was sent ahead then, the window
				// and a checkpoint (2 s and 5 s in the file formats).
				ahead := 5*time.Second + elks.DefaultWindow + elks.DefaultFileCheckpoint
				if n[0] < 5 || n[0] > int(ahead/(500*time.Millisecond))+2 || n[1] < 10 {
					t.Errorf("sent the old file %d times and the new one %d times, want the new one from the iteration after the rename", n[0], n[1])
				}
			})
		})
	}
}

// A file that does not fit in the memory for kept copies keeps nothing:
// it is sent from the disk at every iteration, and its call ends at the
// next iteration after it is deleted, with the error naming the file.
func TestLoopedFileTooLargePassthrough(t *testing.T) {
	saved := keep.Copies.SetLimit(1000) // bytes: less than the file
	t.Cleanup(func() { keep.Copies.SetLimit(saved) })
	path, data := passHold(t, t.TempDir(), "hold.wav", "")
	synctest.Test(t, func(t *testing.T) {
		c := startSim(t, elks.Config{Format: elks.WAV}, elkstest.Options{Duration: 30 * time.Second})
		go func() {
			time.Sleep(7 * time.Second)
			if err := os.Remove(path); err != nil {
				t.Error(err)
			}
		}()
		err := c.play(t, "file "+path+" | loop")
		r := c.report()
		if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), `file "`+path+`"`) {
			t.Errorf("the play ended with %v, want an error naming file %q: no such file", err, path)
		}
		if r.End.By != elks.ByApp || r.Played > 15 {
			t.Errorf("the call was ended by %s after %v s, want by the application soon after the deletion", r.End.By, r.Played)
		}
		passSent(t, c.tap.files(), data)
		if keep.Copies.Holds(path) {
			t.Error("a copy of the file is kept")
		}
	})
}

// The calls that pass the same version of a file through share one copy
// of it, which goes when the last of them ends.
func TestLoopedFileSharedPassthrough(t *testing.T) {
	path, data := passHold(t, t.TempDir(), "hold.wav", "")
	synctest.Test(t, func(t *testing.T) {
		const calls = 3
		before := keep.Copies.Used()
		errs := make(chan error, calls)
		for i := range calls {
			c := startSim(t, elks.Config{Format: elks.WAV}, elkstest.Options{
				CallID: "c" + string(rune('1'+i)), From: "+46700000001", To: "+46700000002", Duration: 10 * time.Second})
			go func() { errs <- c.play(t, "file "+path+" | loop") }()
		}
		time.Sleep(5 * time.Second)
		if used := keep.Copies.Used() - before; used != int64(len(data)) {
			t.Errorf("%d calls keep %d bytes of copies, want one copy of the file's %d", calls, used, len(data))
		}
		for range calls {
			if err := <-errs; !errors.Is(err, elks.ErrCallOver) {
				t.Errorf("a call ended with %v, want the caller's hang-up", err)
			}
		}
		if keep.Copies.Holds(path) {
			t.Error("a copy of the file is kept after the calls ended")
		}
	})
}
