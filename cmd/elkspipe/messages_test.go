package main

import (
	"context"
	"strings"
	"testing"
)

// "opus" is what newcomers call the API's Ogg Opus format: the demo and
// the elks sink name the right one and keep the list of valid ones.
func TestOpusFormatNamesOgg(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--format", "opus"},
		{"tone 440 | elks format=opus"},
	} {
		code, _, stderr := runCLI(t, context.Background(), args...)
		if code != exitUsage || !strings.Contains(stderr, `"opus" is not a format; Ogg Opus is format=ogg`) || !strings.Contains(stderr, "ulaw, alaw, g722, ogg") {
			t.Errorf("%q: exit %d, %q", args, code, stderr)
		}
	}
}
