package sources

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

// playText builds text (pipe syntax without a sink) and reads it to the
// end, returning the frames read, the error and the skip warnings.
func playText(t *testing.T, text string) (int, error, []string) {
	t.Helper()
	var skipped []string
	ctx := pipeline.WithObserver(context.Background(), func(e pipeline.Event) {
		if e.Kind == pipeline.ItemSkipped {
			skipped = append(skipped, e.String())
		}
	})
	open, err := pipeline.OpenerText(text)
	if err != nil {
		t.Fatal(err)
	}
	src, err := open(ctx)
	if err != nil {
		return 0, err, skipped
	}
	defer pipeline.Close(src)
	got, err := audiotest.ReadAll(src, 64)
	return len(got), err, skipped
}

// plTwoTonesAndList writes a.wav and b.wav in a new folder and returns
// it, the path of list.m3u beside them, and a function that writes that
// list.
func plTwoTonesAndList(t *testing.T) (dir, list string, write func(text string)) {
	dir = t.TempDir()
	f := pipeline.Format{Rate: 8000, Channels: 1}
	plWriteTone(t, dir, "a.wav", f, 100, 0.25)
	plWriteTone(t, dir, "b.wav", f, 50, 0.5)
	list = filepath.Join(dir, "list.m3u")
	return dir, list, func(text string) {
		if err := os.WriteFile(list, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPlaylistItemErrorsNameStageAndItem(t *testing.T) {
	dir, list, write := plTwoTonesAndList(t)
	q := strconv.Quote

	write("a.wav\nmissing.wav\n")
	_, err, _ := playText(t, "playlist "+q(list)+" on-error=stop")
	want := "playlist " + q(list) + " on-error=stop: item 2 " + q(filepath.Join(dir, "missing.wav")) + ": no such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("on-error=stop:\n got %v\nwant %s", err, want)
	}
}

func TestPlaylistURLIsABrokenItem(t *testing.T) {
	_, list, write := plTwoTonesAndList(t)
	q := strconv.Quote

	// A URL of another scheme than http(s) is a broken item like any other: skipped with a warning...
	url := "ftp://example.com/x.mp3"
	write("#EXTM3U\na.wav\n\n" + url + "\nb.wav\n")
	reason := "is a ftp URL (line 4 of " + list + "); elkspipe plays files and http(s) URLs only"
	n, err, skipped := playText(t, "playlist "+q(list))
	if err != nil || n != 150 {
		t.Errorf("on-error=skip: %d frames, %v; want 150, nil", n, err)
	}
	if len(skipped) != 1 || skipped[0] != "playlist: item skipped #2 "+q(url)+": "+reason {
		t.Errorf("skip warnings %q", skipped)
	}
	// ... or the error that stops the run.
	_, err, _ = playText(t, "playlist "+q(list)+" on-error=stop")
	want := "playlist " + q(list) + " on-error=stop: item 2 " + q(url) + ": " + reason
	if err == nil || err.Error() != want {
		t.Errorf("URL, on-error=stop:\n got %v\nwant %s", err, want)
	}
	// Nothing playable left: the playlist fails.
	write(url + "\n")
	_, err, skipped = playText(t, "playlist "+q(list))
	want = "playlist " + q(list) + ": no item could be opened: every one was skipped"
	if err == nil || err.Error() != want || len(skipped) != 1 {
		t.Errorf("only a URL: %v (skipped %q); want %s", err, skipped, want)
	}
	// ReadM3U, which returns only paths, refuses it.
	_, err = ReadM3U(list)
	want = q(url) + " is a ftp URL (line 1 of " + list + "); elkspipe plays files and http(s) URLs only"
	if err == nil || err.Error() != want {
		t.Errorf("ReadM3U: %v; want %s", err, want)
	}
}

func TestReadM3U(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "hold.m3u")
	if err := os.WriteFile(list, []byte("#EXTM3U\na.wav\n\n/b.wav\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	paths, err := ReadM3U(list)
	if err != nil || !reflect.DeepEqual(paths, []string{filepath.Join(dir, "a.wav"), "/b.wav"}) {
		t.Errorf("ReadM3U = %q, %v", paths, err)
	}
	if _, err := ReadM3U(filepath.Join(dir, "missing.m3u")); err == nil {
		t.Error("a missing list gave no error")
	}
}
