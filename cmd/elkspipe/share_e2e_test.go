package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/testlog"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// Calls of the elks sink over real WebSockets share one rendering of a
// deterministic pipeline: each hears all of it, with no gap, the server
// logs each play as shared at debug level (-v), and the recordings of
// calls are the same.
func TestElksSharedRenderingEndToEnd(t *testing.T) {
	var logs testlog.Buffer
	url, stop := serveElksLogged(t, "tone 440 dur=700ms + tone 660 dur=500ms | loop 2 | elks format=ulaw listen=127.0.0.1:0",
		slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	defer stop()

	dir := t.TempDir()
	var wg sync.WaitGroup
	reports := make([]*elkstest.Report, 3)
	errs := make([]error, 3)
	for i := range reports {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 100 * time.Millisecond)
			reports[i], errs[i] = elkstest.Call(context.Background(), elkstest.Options{URL: url, Speed: 10,
				CallID: fmt.Sprintf("c%d", i), Record: filepath.Join(dir, fmt.Sprintf("c%d.wav", i))})
		})
	}
	wg.Wait()
	var heard [][]byte
	for i, r := range reports {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if r.Gaps.Count != 0 {
			t.Errorf("call %d: %d gaps", i, r.Gaps.Count)
		}
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("c%d.wav", i)))
		if err != nil {
			t.Fatal(err)
		}
		// The recording runs in call time: silence until the first audio,
		// which came at another time in each call.
		b = b[44:]
		for len(b) >= 2 && b[0] == 0 && b[1] == 0 {
			b = b[2:]
		}
		heard = append(heard, b)
	}
	if len(heard[0]) < 2*8000*2 {
		t.Fatalf("the first call recorded %d bytes: want at least 2 s at 8 kHz", len(heard[0]))
	}
	for i := 1; i < len(heard); i++ {
		if !bytes.Equal(heard[i], heard[0]) {
			t.Errorf("call %d heard other audio than call 0", i)
		}
	}
	if n := strings.Count(logs.String(), "playing a shared rendering"); n != 3 {
		t.Errorf("%d calls logged a shared rendering, want 3:\n%s", n, logs.String())
	}
}
