// Command parse-and-run builds a pipeline from the same text the CLI takes
// and watches its events: a playlist of two generated WAV files, looped
// twice, prints every item and iteration boundary as it plays. Run it with:
// go run ./examples/parse-and-run
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/elkspipe/elkspipe/pipeline"
	_ "github.com/elkspipe/elkspipe/sinks" // register wav, raw, null
	_ "github.com/elkspipe/elkspipe/sources"
	_ "github.com/elkspipe/elkspipe/transforms"
)

func main() {
	dir, err := os.MkdirTemp("", "elkspipe-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	a, b := filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.wav")

	ctx := context.Background()
	for _, text := range []string{
		fmt.Sprintf("tone 440 dur=500ms | wav %q", a),
		fmt.Sprintf("dtmf 123 rate=16k | wav %q", b),
	} {
		if err := run(ctx, text); err != nil {
			log.Fatal(err)
		}
	}

	ctx = pipeline.WithObserver(ctx, func(e pipeline.Event) { fmt.Println("event:", e) })
	if err := run(ctx, fmt.Sprintf("playlist %q %q | loop 2 | null", a, b)); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, text string) error {
	p, err := pipeline.BuildText(ctx, text)
	if err != nil {
		return err
	}
	fmt.Println("running:", p.Describe())
	return p.Run(ctx)
}
