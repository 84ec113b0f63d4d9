//go:build !opus

package elks

import (
	"strings"
	"testing"
)

// Without Opus, format ogg says how to get a build with it, and the elks
// sink refuses it at once.
func TestOggNeedsOpusBuild(t *testing.T) {
	for _, err := range []error{
		func() error { _, err := NewEncoder(Ogg); return err }(),
		func() error { _, err := NewDecoder(Ogg); return err }(),
		func() error { _, err := NewSink(&Server{Config: Config{Format: Ogg}}); return err }(),
	} {
		if err == nil || !strings.Contains(err.Error(), "install libopus-dev and build with -tags opus,nolibopusfile") {
			t.Errorf("error %v does not say how to get Opus", err)
		}
	}
	if f := listenFormat(Ogg); f != PCM16000 {
		t.Errorf("recording a format=ogg call without Opus listens in %s, want pcm_16000", f)
	}
}
