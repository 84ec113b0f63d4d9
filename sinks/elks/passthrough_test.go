package elks

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks"
)

// passWAV writes a WAV file of a tone and returns its path and bytes.
func passWAV(t *testing.T, dir, name string, rate, channels int, dur time.Duration) (string, []byte) {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := sinks.NewWAVWriter(f, pipeline.Format{Rate: rate, Channels: channels}, sinks.WAVS16)
	if err != nil {
		t.Fatal(err)
	}
	n := int(int64(rate) * int64(dur) / int64(time.Second))
	x := make([]float32, n*channels)
	for i := range x {
		x[i] = float32(i%97) / 200
	}
	if err := w.Write(x); err != nil {
		t.Fatal(err)
	}
	w.Close()
	f.Close()
	b, _ := os.ReadFile(path)
	return path, b
}

const passMP3 = "../../sources/testdata/mp3/sine44m.mp3"

// A playlist with an MP3 and a WAV cannot pass through as one format;
// MP3s can, in 32 KiB pieces or less, a sending before each file.
func TestPassthroughPlaylistMP3(t *testing.T) {
	mp3, err := os.ReadFile(passMP3)
	if err != nil {
		t.Skip(err)
	}
	synctest.Test(t, func(t *testing.T) {
		s, p, _ := sessCall(t, Config{Format: MP3}, nil)
		srvRunCall(context.Background(), s, GraphHandler(sessGraph(t, "playlist "+passMP3+" "+passMP3+" | loop 2")), false)
		<-p.done
		r := p.snapshot()
		if len(r.files()) != 4 {
			t.Fatalf("%d sendings: %v", len(r.files()), r.types())
		}
		for i, f := range r.files() {
			if !bytes.Equal(f, mp3) {
				t.Errorf("file %d differs", i)
			}
		}
		if st := s.Stats(); st.BytesSent != int64(4*len(mp3)) {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestPassthroughPlayFile(t *testing.T) {
	dir := t.TempDir()
	path, file := passWAV(t, dir, "a.wav", 8000, 1, 300*time.Millisecond)
	synctest.Test(t, func(t *testing.T) {
		s, p, _ := sessCall(t, Config{Format: WAV}, nil)
		for i := 0; i < 2; i++ {
			if err := s.PlayFile(context.Background(), path); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.PlayFile(context.Background(), passMP3); err == nil || !strings.Contains(err.Error(), "MP3") {
			t.Errorf("an MP3 in format wav: %v", err)
		}
		if err := s.Play(context.Background(), pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 1}, make([]float32, 80))); err == nil {
			t.Error("Play of samples in format wav")
		}
		s.Drain(context.Background())
		s.Hangup()
		<-p.done
		r := p.snapshot()
		if len(r.files()) != 2 || !bytes.Equal(r.files()[1], file) {
			t.Errorf("%d files", len(r.files()))
		}
	})
}

// Anything that is not plain files, playlists and a final loop is refused
// with the stage that is in the way.
func TestPassthroughRefused(t *testing.T) {
	dir := t.TempDir()
	wav, _ := passWAV(t, dir, "a.wav", 8000, 1, 100*time.Millisecond)
	os.WriteFile(filepath.Join(dir, "list.m3u"), []byte("#EXTM3U\na.wav\n"+passMP3abs(t)+"\n"), 0o644)
	for _, c := range []struct {
		format Format
		text   string
		want   string
	}{
		{WAV, "file " + wav + " | gain -3dB", `gain -3dB would change the audio`},
		{WAV, "tone 440", `tone 440 would change or generate audio`},
		{WAV, "file " + wav + " + tone 440 dur=1s", `tone 440 dur=1s`},
		{WAV, "file " + wav + " | loop | loop 2", `loop 2 is a second loop`},
		{WAV, "file " + wav + " | loop 2 | fade in=1s", `fade in=1s would change`},
		{WAV, "playlist " + wav + " rate=8k", `sets rate=`},
		{WAV, "file -", `standard input`},
		{WAV, "file " + passMP3, `is an MP3 file, but format=wav`},
		{MP3, "file " + wav, `is a WAV file, but format=mp3`},
		{WAV, "playlist " + filepath.Join(dir, "list.m3u"), `is an MP3 file`},
		{WAV, "file " + filepath.Join(dir, "missing.wav"), `no such file`},
	} {
		g := sessGraph(t, c.text)
		plan, err := passthroughPlan(g, c.format)
		if err == nil {
			err = plan.check()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s with format %s: %v; want %q", c.text, c.format, err, c.want)
		}
	}
	// A URL of another scheme in a list is a broken item: skipped under
	// on-error=skip, an error under stop.
	os.WriteFile(filepath.Join(dir, "urls.m3u"), []byte("ftp://example.com/a.mp3\na.wav\n"), 0o644)
	urls := "playlist " + filepath.Join(dir, "urls.m3u")
	plan, err := passthroughPlan(sessGraph(t, urls), WAV)
	if err != nil || plan.check() != nil {
		t.Errorf("a list with a URL and a file, on-error=skip: %v", err)
	}
	items, _ := plan.sources[0].expand(context.Background(), nil)
	if len(items) != 2 || items[0].Err == nil || items[1].Err != nil {
		t.Errorf("items %+v", items)
	}
	plan, _ = passthroughPlan(sessGraph(t, urls+" on-error=stop"), WAV)
	if err := plan.check(); err == nil || !strings.Contains(err.Error(), "is a ftp URL") {
		t.Errorf("a URL under on-error=stop: %v", err)
	}
	// A Go-built stage cannot be inspected.
	g := &pipeline.Graph{Sources: []pipeline.Stage{{Name: "mine", Open: nil}}}
	if _, err := passthroughPlan(g, WAV); err == nil || !strings.Contains(err.Error(), "built in Go") {
		t.Errorf("Go-built stage: %v", err)
	}
}

func passMP3abs(t *testing.T) string {
	p, err := filepath.Abs(passMP3)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A playlist item that breaks during a call is skipped (on-error=skip).
func TestPassthroughSkipsBrokenItem(t *testing.T) {
	dir := t.TempDir()
	a, file := passWAV(t, dir, "a.wav", 8000, 1, 200*time.Millisecond)
	b, _ := passWAV(t, dir, "b.wav", 8000, 1, 200*time.Millisecond)
	g := sessGraph(t, "playlist "+a+" "+b+" | loop 2")
	plan, err := passthroughPlan(g, WAV)
	if err != nil || plan.check() != nil {
		t.Fatal(err)
	}
	os.Remove(b)
	synctest.Test(t, func(t *testing.T) {
		s, p, logs := sessCall(t, Config{Format: WAV}, nil)
		srvRunCall(context.Background(), s, func(ctx context.Context, s *Session) error { return s.playPlan(ctx, plan) }, false)
		<-p.done
		r := p.snapshot()
		if len(r.files()) != 2 || !bytes.Equal(r.files()[0], file) || !bytes.Equal(r.files()[1], file) {
			t.Errorf("%d files", len(r.files()))
		}
		if !strings.Contains(logs.String(), "playlist item skipped") {
			t.Error("the skip was not logged")
		}
	})
}

// High bit rates go out in pieces of at most 32 KiB, as in 46elks'
// example, when a chunk of audio is larger than that.
func TestPassthroughPieces(t *testing.T) {
	dir := t.TempDir()
	path, file := passWAV(t, dir, "hifi.wav", 44100, 2, time.Second)
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{Format: WAV, Chunk: time.Second, Checkpoint: time.Second}
		s, p, _ := sessCall(t, cfg, nil)
		if err := s.PlayFile(context.Background(), path); err != nil {
			t.Fatal(err)
		}
		s.Drain(context.Background())
		s.Hangup()
		<-p.done
		r := p.snapshot()
		var sizes []int
		for _, m := range r.msgs {
			if len(m) > MaxMessageSize {
				t.Errorf("a message of %d bytes", len(m))
			}
			if msg, _ := Unmarshal([]byte(m)); msg != nil {
				if a, ok := msg.(Audio); ok {
					sizes = append(sizes, len(a.Data))
				}
			}
		}
		if len(sizes) != 6 || sizes[0] != passthroughPiece || sizes[5] != len(file)-5*passthroughPiece {
			t.Errorf("pieces %v of a %d-byte file", sizes, len(file))
		}
		if len(r.files()) != 1 || !bytes.Equal(r.files()[0], file) {
			t.Error("the file was not passed through untouched")
		}
	})
}
