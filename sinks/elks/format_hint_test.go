package elks

import (
	"strings"
	"testing"

	"github.com/elkspipe/elkspipe/pipeline"
)

// Names users give formats that the API names otherwise get the right
// name, with the list of valid ones; a typo still gets "did you mean".
func TestFormatHints(t *testing.T) {
	for text, want := range map[string]string{
		"tone 440 | elks format=opus":  `"opus" is not a format; Ogg Opus is format=ogg (one of pcm_8000,`,
		"tone 440 | elks Opus":         `"Opus" is not a format; Ogg Opus is format=ogg`,
		"tone 440 | elks format=mulaw": `G.711 µ-law is format=ulaw`,
		"tone 440 | elks format=uaw":   `did you mean "ulaw"?`,
	} {
		_, err := pipeline.Parse(text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %s", text, err, want)
		}
	}
	for word := range formatHints {
		if _, err := Format(word).Info(); err == nil {
			t.Errorf("hint for %q, a valid format", word)
		}
	}
}
