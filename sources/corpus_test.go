package sources

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

// corpusDir is the public fixture corpus beside the project
// (../shared/corpus from the repository root).
const corpusDir = "../../shared/corpus"

// mayFail says which corpus files are malformed on purpose (fuzzer finds,
// minimp3's "nonstandard" vectors) or in a format elkspipe does not decode
// (Layer I and II, free-format bitrate): they may fail, with an error.
func mayFail(rel string) bool {
	base := filepath.Base(rel)
	return strings.Contains(rel, "/fuzz/") || strings.Contains(base, "nonstandard") ||
		strings.HasPrefix(base, "l1-") || strings.HasPrefix(base, "l2-") || strings.Contains(base, "_free")
}

// Every audio file of the corpus decodes through `file`, or fails with an
// error that names its reason — never a panic or a hang.
func TestCorpusDecodesOrFailsCleanly(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skip("no corpus at " + corpusDir)
	}
	n := 0
	err := filepath.Walk(corpusDir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		ext := strings.ToLower(filepath.Ext(path))
		if ext != ".wav" && ext != ".mp3" {
			return nil
		}
		rel, _ := filepath.Rel(corpusDir, path)
		n++
		t.Run(rel, func(t *testing.T) {
			frames, err := decodeAll(path)
			switch {
			case err != nil && !mayFail(rel):
				t.Errorf("%s: %v", rel, err)
			case err != nil:
				t.Logf("%s: fails cleanly: %v", rel, err)
			case mayFail(rel) && strings.Contains(rel, "/fuzz/"):
				t.Errorf("%s: malformed file decoded (%d frames)", rel, frames)
			default:
				t.Logf("%s: %d frames", rel, frames)
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 40 {
		t.Errorf("walked only %d corpus files", n)
	}
}

// decodeAll opens path through File and reads it to the end. It does not
// label the source, so a decoder panic fails the test instead of turning
// into an error.
func decodeAll(path string) (int, error) {
	src, err := File(path)(context.Background())
	if err != nil {
		return 0, err
	}
	defer pipeline.Close(src)
	samples, err := audiotest.ReadAll(src, 1000)
	return len(samples) / src.Format().Channels, err
}
