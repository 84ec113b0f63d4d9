package main

import (
	"context"
	"path/filepath"
	"testing"
)

// Degenerate results succeed, with one warning on standard error that -q
// silences.
func TestDegenerateResultsWarn(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.wav")
	cases := []struct{ line, warning string }{
		{"tone 440 dur=1s | trim start=2s | wav " + out,
			"elkspipe: warning: trim: start=2s is at or past the end of the stream (1s long): the output is empty\n"},
		{"tone 440 dur=1s | fade in=200ms out=2s | wav " + out,
			"elkspipe: warning: fade: in=200ms + out=2s are longer than the stream (1s): it never plays at full level\n"},
		{"tone 440 dur=1s | fade in=3s | wav " + out,
			"elkspipe: warning: fade: in=3s is longer than the stream (1s): it never plays at full level\n"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, context.Background(), c.line)
		if code != exitOK {
			t.Errorf("%s: exit %d: %s", c.line, code, stderr)
		}
		if stderr != c.warning {
			t.Errorf("%s: stderr\n%q\nwant\n%q", c.line, stderr, c.warning)
		}
		code, _, stderr = runCLI(t, context.Background(), "-q", c.line)
		if code != exitOK || stderr != "" {
			t.Errorf("-q %s: exit %d, stderr %q, want 0 and nothing", c.line, code, stderr)
		}
	}
	// Nothing degenerate, nothing printed.
	code, _, stderr := runCLI(t, context.Background(), "tone 440 dur=1s | trim start=500ms | fade out=200ms | wav "+out)
	if code != exitOK || stderr != "" {
		t.Errorf("exit %d, stderr %q, want 0 and nothing", code, stderr)
	}
}
