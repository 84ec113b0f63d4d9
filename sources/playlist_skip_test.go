package sources

import (
	"context"
	"strconv"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

// A broken item of a looped playlist is reported once per call (per
// context), not at every iteration; another call reports it again.
func TestPlaylistBrokenItemWarnsOncePerCall(t *testing.T) {
	_, list, write := plTwoTonesAndList(t)
	write("a.wav\nmissing.wav\nb.wav\nalso-missing.wav\n")
	open, err := pipeline.OpenerText("playlist " + strconv.Quote(list) + " | loop 4")
	if err != nil {
		t.Fatal(err)
	}
	call := func() []string {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var skipped []string
		ctx = pipeline.WithObserver(ctx, func(e pipeline.Event) {
			if e.Kind == pipeline.ItemSkipped {
				skipped = append(skipped, e.Item)
			}
		})
		src, err := open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer pipeline.Close(src)
		if got := audiotest.MustReadAll(t, src); len(got) != 4*150 {
			t.Errorf("%d frames, want 4 × 150", len(got))
		}
		return skipped
	}
	for i := range 3 {
		skipped := call()
		if len(skipped) != 2 {
			t.Errorf("call %d: %d warnings %q, want one for each broken item", i+1, len(skipped), skipped)
		}
	}
}
