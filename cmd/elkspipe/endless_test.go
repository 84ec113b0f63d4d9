package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elkspipe/elkspipe/pipeline"
)

// An endless source into a file is refused when the pipeline is built, with
// exit status 2, a message that says how to bound it, and no file written.
func TestEndlessIntoFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	for _, text := range []string{
		"tone 440 | wav %s",
		"noise | gain -6 | raw %s enc=ulaw",
		"silence + tone 1k dur=1s | wav %s",
		"tone 440 dur=1s | loop | wav %s",
	} {
		out := filepath.Join(dir, "out.wav")
		line := strings.Replace(text, "%s", out, 1)
		code, _, stderr := runCLI(t, context.Background(), line)
		if code != exitUsage {
			t.Errorf("%s: exit %d, want %d; stderr:\n%s", line, code, exitUsage, stderr)
		}
		for _, want := range []string{"never ends", "dur=", "trim dur=", "loop N", "endless=true"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s: the message does not say %q:\n%s", line, want, stderr)
			}
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s: %s was created (%v)", line, out, err)
		}
	}
}

// Bounded streams, standard output and the explicit opt-in are not refused.
// The context is cancelled from the start, so that a pipeline that is not
// refused stops at once with the status of an interruption (130), and an
// endless one writes nothing.
func TestEndlessAllowedWhereBoundedOrOptedIn(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, line := range []string{
		"tone 440 | wav " + filepath.Join(dir, "a.wav") + " endless=true",
		"tone 440 | raw " + filepath.Join(dir, "a.raw") + " endless=yes",
		"tone 440 | null", // standard output: see sinks' TestNeedsEnd
		"tone 440 | trim dur=1s | loop 2 | wav " + filepath.Join(dir, "b.wav"),
		"tone 440 dur=1s | loop 3 | wav " + filepath.Join(dir, "c.wav"),
	} {
		code, _, stderr := runCLI(t, ctx, line)
		if code != exitInterrupted {
			t.Errorf("%s: exit %d, want %d (interrupted, not refused); stderr:\n%s", line, code, exitInterrupted, stderr)
		}
	}
}

// No element's example in `inspect` is a pipeline that Build refuses for
// being endless (playlist's once wrote to a file forever).
func TestExamplesAreBounded(t *testing.T) {
	for _, e := range pipeline.DefaultRegistry.Elements() {
		if e.Example == "" {
			continue
		}
		spec, err := pipeline.Parse(e.Example)
		if err != nil {
			t.Errorf("%s: example %q: %v", e.Name, e.Example, err)
			continue
		}
		if spec.Sink == nil {
			continue
		}
		g, err := spec.Graph()
		if err != nil {
			t.Errorf("%s: example %q: %v", e.Name, e.Example, err)
			continue
		}
		if n, ok := g.Sink.Sink.(pipeline.EndNeeder); ok && n.NeedsEnd() && g.Extent() == pipeline.ExtentEndless {
			t.Errorf("%s: example %q writes an endless stream to a file", e.Name, e.Example)
		}
	}
}
