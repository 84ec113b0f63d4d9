package sources

import (
	"context"
	"os"
	"path/filepath"
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

func TestPlaylistItemErrorsNameStageAndItem(t *testing.T) {
	dir := t.TempDir()
	f := pipeline.Format{Rate: 8000, Channels: 1}
	plWriteTone(t, dir, "a.wav", f, 100, 0.25)
	plWriteTone(t, dir, "b.wav", f, 50, 0.5)
	list := filepath.Join(dir, "list.m3u")
	q := strconv.Quote
	write := func(text string) {
		if err := os.WriteFile(list, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	write("a.wav\nmissing.wav\n")
	_, err, _ := playText(t, "playlist "+q(list)+" on-error=stop")
	want := "playlist " + q(list) + " on-error=stop: item 2 " + q(filepath.Join(dir, "missing.wav")) + ": no such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("on-error=stop:\n got %v\nwant %s", err, want)
	}

}
