package transforms_test

import (
	"context"
	"testing"

	"github.com/elkspipe/elkspipe/pipeline"
	_ "github.com/elkspipe/elkspipe/sinks"
	_ "github.com/elkspipe/elkspipe/sources"
	_ "github.com/elkspipe/elkspipe/transforms"
)

func TestLoopRefusesStandardInputAtBuild(t *testing.T) {
	cases := []struct{ text, want string }{
		{"file - | loop 2 | null",
			`file "-": loop 2 cannot re-open standard input for its next iteration: save the input to a file first and play the file`},
		{"tone 440 dur=10ms + wav - | gain -3 | loop | null",
			`wav "-": loop cannot re-open standard input for its next iteration: save the input to a file first and play the file`},
		{"raw - rate=8k | loop 3 | null",
			`raw "-" rate=8k: loop 3 cannot re-open standard input for its next iteration: save the input to a file first and play the file`},
		{"playlist a.wav - | loop | null",
			`playlist "a.wav" "-": loop cannot re-open standard input for its next iteration: save the input to a file first and play the file`},
	}
	for _, c := range cases {
		p, err := pipeline.BuildText(context.Background(), c.text)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s:\n got %v\nwant %s", c.text, err, c.want)
		}
		if p != nil {
			p.Close()
		}
	}
}
