package sources

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/keep"
	"github.com/elkspipe/elkspipe/internal/testlog"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks"
	"github.com/elkspipe/elkspipe/transforms"
)

// keepWAV writes a WAV file of frames frames of a sawtooth (scaled by
// gain) at path, 16-bit mono 8000 Hz.
func keepWAV(t *testing.T, path string, frames int, gain float32) {
	t.Helper()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := sinks.NewWAVWriter(out, pipeline.Format{Rate: 8000, Channels: 1}, sinks.WAVS16)
	if err != nil {
		t.Fatal(err)
	}
	data := audiotest.Pattern(frames, 1)
	for i := range data {
		data[i] *= gain
	}
	if err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out.Close()
}

// keepLoop returns an Opener that plays open n times, as `... | loop n`.
func keepLoop(t *testing.T, open pipeline.Opener, n int) pipeline.Opener {
	t.Helper()
	l, err := transforms.Loop(n)
	if err != nil {
		t.Fatal(err)
	}
	return l.(pipeline.Reopener).Wrap(open)
}

// keepPlay plays open n times in a loop, in reads of 1000 frames, and
// calls after(i) once iteration i has ended (before the next opening)
// and during(i) after the first read of iteration i. It returns what
// played and the error that ended the loop.
func keepPlay(t *testing.T, open pipeline.Opener, n int, after, during func(i int)) ([]float32, error) {
	t.Helper()
	iter, fresh := 1, true
	ctx := pipeline.WithObserver(context.Background(), func(e pipeline.Event) {
		switch e.Kind {
		case pipeline.IterationEnded:
			if after != nil {
				after(e.Index)
			}
		case pipeline.IterationStarted:
			iter, fresh = e.Index, true
		}
	})
	src, err := keepLoop(t, open, n)(ctx)
	if err != nil {
		return nil, err
	}
	defer pipeline.Close(src)
	buf := make([]float32, 1000*src.Format().Channels)
	var out []float32
	for {
		k, err := pipeline.ReadSome(src, buf)
		out = append(out, buf[:k*src.Format().Channels]...)
		if fresh && k > 0 && during != nil {
			fresh = false
			during(iter)
		}
		if err != nil {
			if err.Error() == "EOF" {
				return out, nil
			}
			return out, err
		}
	}
}

// keepKinds are the Openers of a file, each with a fixture: an MP3 file
// that shares its decoding, one that does not (sharing off), a WAV file
// through File, and the wav and mp3 Openers.
var keepKinds = []struct {
	name    string
	wav     bool
	noshare bool
	open    func(string) pipeline.Opener
}{
	{"file mp3 shared", false, false, File},
	{"file mp3 not shared", false, true, File},
	{"file wav", true, false, File},
	{"wav", true, false, WAV},
	{"mp3", false, false, MP3},
}

// keepFixture makes a fresh file for kind (its own path: nothing of it
// is cached yet).
func keepFixture(t *testing.T, wav bool) string {
	if wav {
		path := filepath.Join(t.TempDir(), "hold.wav")
		keepWAV(t, path, 5000, 0.5)
		return path
	}
	return cacheCopy(t, "sine44m.mp3")
}

// A loop whose file is deleted, truncated or spoilt after its first
// iteration, or deleted during it, plays every iteration the same as
// with the file in place, and keeps nothing once closed.
func TestLoopKeepsFileThatGoes(t *testing.T) {
	mutations := []struct {
		name   string
		mutate func(path string) error
		during bool // in the middle of the first iteration
	}{
		{"delete", os.Remove, false},
		{"truncate", func(p string) error { return os.Truncate(p, 0) }, false},
		{"cut header", func(p string) error { return os.Truncate(p, 10) }, false},
		{"garbage", func(p string) error { return os.WriteFile(p, bytes.Repeat([]byte("garbage!"), 500), 0o644) }, false},
		{"delete during", os.Remove, true},
		{"truncate during", func(p string) error { return os.Truncate(p, 0) }, true},
	}
	for _, kind := range keepKinds {
		for _, m := range mutations {
			t.Run(kind.name+"/"+m.name, func(t *testing.T) {
				if kind.noshare {
					cacheLimit(t, 0)
				}
				if m.name == "truncate during" && kind.name == "file mp3 shared" {
					t.Skip("a shared decoding still being made reads the file itself (see keep.go)")
				}
				path := keepFixture(t, kind.wav)
				want, err := keepPlay(t, kind.open(path), 3, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				fire := func(i int) {
					if i == 1 {
						if err := m.mutate(path); err != nil {
							t.Fatal(err)
						}
					}
				}
				after, during := fire, (func(int))(nil)
				if m.during {
					after, during = nil, fire
				}
				got, err := keepPlay(t, kind.open(path), 3, after, during)
				if err != nil {
					t.Fatalf("the loop ended with %v after %d of %d samples", err, len(got), len(want))
				}
				if len(got) != len(want) || audiotest.MaxDiff(got, want) != 0 {
					t.Fatalf("played %d samples (max diff %g), want the %d of the file in place", len(got), audiotest.MaxDiff(got, want), len(want))
				}
				keepCheckReleased(t, path)
			})
		}
	}
}

// keepCheckReleased fails unless nothing keeps path: no kept copy and no
// reader of a shared decoding.
func keepCheckReleased(t *testing.T, path string) {
	t.Helper()
	abs, _ := filepath.Abs(path)
	if keep.Copies.Holds(abs) {
		t.Errorf("a copy of %s is still kept", path)
	}
	if s := cacheEntry(t, path); s != nil && s.readers.Load() != 0 {
		t.Errorf("the shared decoding of %s has %d readers after the loop closed", path, s.readers.Load())
	}
}

// A new instance (the next call) has nothing kept: after the file has
// gone, it fails to open with an error that names the file, while the
// instance that played it plays on.
func TestLoopNewInstanceFailsAfterFileGone(t *testing.T) {
	for _, kind := range keepKinds {
		t.Run(kind.name, func(t *testing.T) {
			if kind.noshare {
				cacheLimit(t, 0)
			}
			path := keepFixture(t, kind.wav)
			name := map[bool]string{true: "wav", false: "file"}[kind.wav]
			open, err := pipeline.OpenerText(name + " " + path + " | loop 3")
			if err != nil {
				t.Fatal(err)
			}
			var second error
			_, err = keepPlay(t, kind.open(path), 2, func(i int) {
				if i == 1 {
					os.Remove(path)
					_, second = open(context.Background())
				}
			}, nil)
			if err != nil {
				t.Fatalf("the running loop failed: %v", err)
			}
			if second == nil || !errors.Is(second, fs.ErrNotExist) || !strings.Contains(second.Error(), name+` "`+path+`"`) {
				t.Fatalf("a new opening after the file went: %v, want an error naming %s %q: no such file", second, name, path)
			}
		})
	}
}

// A file replaced atomically (renamed over) plays its new audio from the
// next iteration on, even with the same size and modification time.
func TestLoopPlaysFileRenamedOver(t *testing.T) {
	t.Run("wav same size and mtime", func(t *testing.T) {
		dir := t.TempDir()
		path, next := filepath.Join(dir, "hold.wav"), filepath.Join(dir, "next.wav")
		keepWAV(t, path, 3000, 0.5)
		keepWAV(t, next, 3000, -0.25)
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(next, time.Time{}, st.ModTime()); err != nil {
			t.Fatal(err)
		}
		oldAudio := keepPlayOnce(t, File(path))
		newAudio := keepPlayOnce(t, File(next))
		checkReplacedAfterFirst(t, path, next, oldAudio, newAudio)
	})
	for _, noshare := range []bool{false, true} {
		t.Run(map[bool]string{false: "mp3 shared", true: "mp3 not shared"}[noshare], func(t *testing.T) {
			if noshare {
				cacheLimit(t, 0)
			}
			path, next := cacheCopy(t, "sine44m.mp3"), cacheCopy(t, "sine44notag.mp3")
			oldAudio, newAudio := privateDecode(t, path), privateDecode(t, next)
			checkReplacedAfterFirst(t, path, next, oldAudio, newAudio)
		})
	}
}

// keepPlayOnce plays open once, outside any loop.
func keepPlayOnce(t *testing.T, open pipeline.Opener) []float32 {
	t.Helper()
	src, err := open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	return audiotest.MustReadAll(t, src)
}

// The loss of a file is logged once per process, at warn level, naming
// the file, however many loops replay it.
func TestLoopFileGoneLoggedOnce(t *testing.T) {
	buf := &testlog.Buffer{}
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	path := filepath.Join(t.TempDir(), "hold.wav")
	keepWAV(t, path, 2000, 0.5)
	// Two calls play the file; it goes during their first iterations.
	a, err := keepLoop(t, File(path), 4)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(a)
	b, err := keepLoop(t, File(path), 4)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(b)
	os.Remove(path)
	for _, src := range []pipeline.Source{a, b} {
		got := audiotest.MustReadAll(t, src)
		if len(got) != 4*2000 {
			t.Errorf("played %d frames, want %d", len(got), 4*2000)
		}
	}
	log := buf.String()
	if n := strings.Count(log, "level=WARN"); n != 1 || !strings.Contains(log, path) || !strings.Contains(log, "no such file") {
		t.Errorf("%d warnings, want 1 naming the file and why:\n%s", n, log)
	}
}

// A file larger than the memory for kept copies keeps nothing: its loop
// ends with the error, naming it, as before; the copies of a process
// never take more than the limit.
func TestLoopKeptCopiesBounded(t *testing.T) {
	const limit = 20000 // bytes: the 5000-frame file (10 kB) fits once
	saved := keep.Copies.SetLimit(limit)
	t.Cleanup(func() { keep.Copies.SetLimit(saved) })
	dir := t.TempDir()
	small, large := filepath.Join(dir, "small.wav"), filepath.Join(dir, "large.wav")
	keepWAV(t, small, 5000, 0.5)
	keepWAV(t, large, 15000, 0.5)
	open, err := pipeline.OpenerText("file " + large + " | loop 2")
	if err != nil {
		t.Fatal(err)
	}
	// The small file is kept (and plays on); the large one is not.
	s, err := keepLoop(t, File(small), 2)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(s)
	l, err := open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(l)
	os.Remove(small)
	os.Remove(large)
	if got := audiotest.MustReadAll(t, s); len(got) != 2*5000 {
		t.Errorf("the small file's loop played %d frames, want %d", len(got), 2*5000)
	}
	_, err = audiotest.ReadAll(l, 4096)
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), large) {
		t.Errorf("the large file's loop ended with %v, want an error naming it: no such file", err)
	}
	if used := keep.Copies.Used(); used > limit {
		t.Errorf("kept copies take %d bytes, over the limit of %d", used, limit)
	}
}

// A loop that starts on a shared decoding that an earlier opening left
// idle halfway (nobody read it to its end) plays on to the end when the
// file is deleted before the decoding resumes: it resumes from the file
// the loop opened.
func TestLoopKeepsIdleSharedDecoding(t *testing.T) {
	path := cacheCopy(t, "sine44m.mp3")
	want, err := keepPlay(t, File(path), 3, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	path = cacheCopy(t, "sine44m.mp3") // afresh: nothing cached
	src, shared := cacheOpen(t, path)
	if !shared {
		t.Fatal("not shared")
	}
	pipeline.ReadFull(src, make([]float32, 3000))
	pipeline.Close(src) // idle, decoded in part, holding no file
	got, err := keepPlay(t, File(path), 3, nil, func(i int) {
		if i == 1 {
			os.Remove(path)
		}
	})
	if err != nil {
		t.Fatalf("the loop ended with %v after %d of %d samples", err, len(got), len(want))
	}
	if len(got) != len(want) || audiotest.MaxDiff(got, want) != 0 {
		t.Fatalf("played %d samples (max diff %g), want the %d of the file in place", len(got), audiotest.MaxDiff(got, want), len(want))
	}
	keepCheckReleased(t, path)
}

// checkReplacedAfterFirst loops path three times, replacing it with next
// (a rename) after the first iteration, and checks that it played
// oldAudio then newAudio twice: a replaced file is picked up at the next
// iteration, never mixed into the one playing.
func checkReplacedAfterFirst(t *testing.T, path, next string, oldAudio, newAudio []float32) {
	t.Helper()
	got, err := keepPlay(t, File(path), 3, func(i int) {
		if i == 1 {
			if err := os.Rename(next, path); err != nil {
				t.Fatal(err)
			}
		}
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(append([]float32{}, oldAudio...), newAudio...), newAudio...)
	if len(got) != len(want) || audiotest.MaxDiff(got, want) != 0 {
		t.Fatalf("played %d samples (max diff %g), want the old audio then the new one twice (%d)", len(got), audiotest.MaxDiff(got, want), len(want))
	}
}
