package sources

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/elkspipe/elkspipe/pipeline"
)

// A URL of another scheme than http or https, given to file, wav or
// playlist, says which URLs are played, instead of "no such file or
// directory".
func TestOtherURLSchemesAreRefused(t *testing.T) {
	const u = "ftp://example.com/music/hold.mp3"
	const want = "ftp URLs are not supported: elkspipe fetches http and https URLs only"
	for _, text := range []string{"file " + u, "wav " + u, "playlist " + u, "playlist " + u + " on-error=stop"} {
		_, err, skipped := playText(t, text)
		if err == nil || !strings.HasSuffix(err.Error(), ": "+want) {
			t.Errorf("%s: %v\nwant ...: %s", text, err, want)
		}
		if len(skipped) != 0 {
			t.Errorf("%s: items skipped %q, want an error at once", text, skipped)
		}
	}
	// A missing path that is not a URL is still "no such file"; a file
	// whose path looks like a URL but exists plays.
	if _, err := File("missing.wav")(context.Background()); err == nil || err.Error() != "no such file or directory" {
		t.Errorf("a missing file: %v", err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.MkdirAll(filepath.Join(dir, "ftp:", "example.com"), 0o755); err != nil {
		t.Fatal(err)
	}
	plWriteTone(t, filepath.Join(dir, "ftp:", "example.com"), "a.wav", pipeline.Format{Rate: 8000, Channels: 1}, 10, 0.5)
	if n, err, _ := playText(t, "file ftp://example.com/a.wav"); err != nil || n != 10 {
		t.Errorf("an existing file named like a URL: %d frames, %v", n, err)
	}
}

// A playlist given to file (by its name or its content) suggests playlist,
// not ffmpeg.
func TestFileOfAPlaylistSuggestsPlaylist(t *testing.T) {
	dir, list, write := plTwoTonesAndList(t)
	write("#EXTM3U\na.wav\n")
	text := filepath.Join(dir, "list.txt")
	if err := os.WriteFile(text, []byte("#EXTM3U\na.wav\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m3u8 := filepath.Join(dir, "list.m3u8")
	if err := os.WriteFile(m3u8, []byte("a.wav\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pls := filepath.Join(dir, "list.pls")
	if err := os.WriteFile(pls, []byte("[playlist]\nFile1=a.wav\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const want = "a playlist, not an audio file: play the files it lists with: playlist FILE " +
		"(M3U or M3U8, one path per line; a playlist's items cannot be playlists)"
	for _, p := range []string{list, text, m3u8, pls} {
		_, err, _ := playText(t, "file "+strconv.Quote(p))
		if err == nil || err.Error() != "file "+strconv.Quote(p)+": "+want {
			t.Errorf("file %s: %v\nwant: %s", p, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "ffmpeg") {
			t.Errorf("file %s suggests ffmpeg: %v", p, err)
		}
	}
	// The same list given to playlist plays.
	if n, err, _ := playText(t, "playlist "+strconv.Quote(list)); err != nil || n != 100 {
		t.Errorf("playlist %s: %d frames, %v; want 100", list, n, err)
	}
}
