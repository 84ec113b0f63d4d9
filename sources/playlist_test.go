package sources

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks"
	_ "github.com/elkspipe/elkspipe/transforms" // the converters playlists insert
)

// plWriteTone writes a WAV of n frames of constant value v (so items can
// be told apart) at the given format, and returns its path.
func plWriteTone(t *testing.T, dir, name string, f pipeline.Format, n int, v float32) string {
	t.Helper()
	path := filepath.Join(dir, name)
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := sinks.NewWAVWriter(out, f, sinks.WAVF32)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]float32, n*f.Channels)
	for i := range data {
		data[i] = v
	}
	if err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	return path
}

func plRead(t *testing.T, open pipeline.Opener, ctx context.Context) ([]float32, pipeline.Format) {
	t.Helper()
	src, err := open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	return audiotest.MustReadAll(t, src), src.Format()
}

func TestPlaylistM3UAndFormats(t *testing.T) {
	dir := t.TempDir()
	mono8k := pipeline.Format{Rate: 8000, Channels: 1}
	plWriteTone(t, dir, "a.wav", mono8k, 800, 0.25)
	plWriteTone(t, dir, "b.wav", pipeline.Format{Rate: 8000, Channels: 2}, 400, 0.5)
	sub := filepath.Join(dir, "lists")
	os.Mkdir(sub, 0o755)
	m3u := filepath.Join(sub, "hold.m3u8")
	os.WriteFile(m3u, []byte("\uFEFF#EXTM3U\n#EXTINF:1,First\n../a.wav\n\n# a comment\n"+filepath.Join(dir, "b.wav")+"\r\n"), 0o644)

	var events []string
	ctx := pipeline.WithObserver(context.Background(), func(e pipeline.Event) { events = append(events, e.Kind.String()) })
	open, err := Playlist([]string{m3u}, PlaylistOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, f := plRead(t, open, ctx)
	if f != mono8k || len(got) != 1200 {
		t.Fatalf("format %v, %d samples; want the first item's format and 1200 frames", f, len(got))
	}
	if got[799] != 0.25 || got[800] != 0.5 {
		t.Errorf("items out of place: %v %v", got[799], got[800])
	}
	if strings.Join(events, ",") != "item started,item ended,item started,item ended" {
		t.Errorf("events %v", events)
	}
	src, _ := open(context.Background())
	if n := pipeline.FramesOf(src); n != 1200 {
		t.Errorf("Frames = %d, want 1200", n)
	}
	pipeline.Close(src)

	open, _ = Playlist([]string{m3u}, PlaylistOptions{Format: pipeline.Format{Channels: 2}})
	if _, f := plRead(t, open, context.Background()); f != (pipeline.Format{Rate: 8000, Channels: 2}) {
		t.Errorf("channels=2 gave %v", f)
	}

	os.WriteFile(m3u, []byte("ftp://example.com/x.mp3\n"), 0o644)
	if _, err := open(context.Background()); err == nil || !strings.Contains(err.Error(), "URL") {
		t.Errorf("a URL in the list: %v", err)
	}
}

func TestPlaylistBrokenItems(t *testing.T) {
	dir := t.TempDir()
	f := pipeline.Format{Rate: 8000, Channels: 1}
	a := plWriteTone(t, dir, "a.wav", f, 100, 0.25)
	junk := filepath.Join(dir, "junk.wav")
	os.WriteFile(junk, []byte("definitely not audio"), 0o644)
	missing := filepath.Join(dir, "missing.mp3")

	var skipped []string
	ctx := pipeline.WithObserver(context.Background(), func(e pipeline.Event) {
		if e.Kind == pipeline.ItemSkipped {
			skipped = append(skipped, e.String())
		}
	})
	open, _ := Playlist([]string{junk, a, missing, a}, PlaylistOptions{SkipBroken: true})
	got, _ := plRead(t, open, ctx)
	if len(got) != 200 || len(skipped) != 2 {
		t.Fatalf("%d samples, skipped %q", len(got), skipped)
	}
	if !strings.Contains(skipped[0], "junk.wav") || !strings.Contains(skipped[0], "not a WAV, MP3 or FLAC file") ||
		!strings.Contains(skipped[1], "no such file") {
		t.Errorf("skip reasons: %q", skipped)
	}

	open, _ = Playlist([]string{a, missing}, PlaylistOptions{})
	src, err := open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = audiotest.ReadAll(src, 64)
	if err == nil || !strings.Contains(err.Error(), "missing.mp3") {
		t.Errorf("on-error=stop: %v", err)
	}
	pipeline.Close(src)
}

func TestPlaylistShuffle(t *testing.T) {
	dir := t.TempDir()
	f := pipeline.Format{Rate: 8000, Channels: 1}
	var files []string
	for i := 0; i < 8; i++ {
		files = append(files, plWriteTone(t, dir, string(rune('a'+i))+".wav", f, 10, float32(i)/10))
	}
	order := func(open pipeline.Opener) string {
		got, _ := plRead(t, open, context.Background())
		var b strings.Builder
		for i := 0; i < len(got); i += 10 {
			b.WriteByte(byte('a' + int(got[i]*10+0.5)))
		}
		return b.String()
	}
	o1, _ := Playlist(files, PlaylistOptions{Shuffle: true, Seed: 42, SeedSet: true})
	o2, _ := Playlist(files, PlaylistOptions{Shuffle: true, Seed: 42, SeedSet: true})
	first, second := order(o1), order(o1)
	if first == "abcdefgh" || first == second {
		t.Errorf("shuffle orders %q then %q: want a shuffled order, new at every open", first, second)
	}
	if order(o2) != first || order(o2) != second {
		t.Error("the same seed gave another sequence of orders")
	}
	for _, c := range "abcdefgh" {
		if !strings.ContainsRune(first, c) {
			t.Errorf("order %q lacks %c", first, c)
		}
	}
}

// TestFileRefusesOtherFormats checks the messages of File for what it
// cannot play: another format (named by media.Sniff), a directory, an
// empty file.
func TestFileRefusesOtherFormats(t *testing.T) {
	dir := t.TempDir()
	ogg := filepath.Join(dir, "x.mp3")
	os.WriteFile(ogg, []byte("OggS\x00\x02\x00\x00rest of an ogg file"), 0o644)
	if _, err := File(ogg)(context.Background()); err == nil || !strings.Contains(err.Error(), "Ogg (Vorbis or Opus) is not supported: elkspipe reads WAV, MP3 and FLAC") {
		t.Errorf("an Ogg file named .mp3: %v", err)
	}
	if _, err := File(dir)(context.Background()); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("a directory: %v", err)
	}
	empty := filepath.Join(dir, "empty.wav")
	os.WriteFile(empty, nil, 0o644)
	if _, err := File(empty)(context.Background()); err == nil || err.Error() != "empty file" {
		t.Errorf("an empty file: %v", err)
	}
}
