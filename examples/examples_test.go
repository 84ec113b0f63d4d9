// Package examples_test builds and runs every program in examples/ and
// checks what each one prints and writes.
package examples_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sources"
)

// checks holds what each example must produce, by folder name. An example
// without an entry is still built and run, and must exit with status 0.
var checks = map[string]func(t *testing.T, dir string, stdout, stderr []byte){
	// tone-to-wav writes 2 s of a 440 Hz tone to the WAV file named by its
	// argument, resampled to 16 kHz, and prints the chain.
	"tone-to-wav": func(t *testing.T, dir string, stdout, _ []byte) {
		if !strings.Contains(string(stdout), "resample 16k [16000 Hz mono] | wav ") {
			t.Errorf("chain not printed: %q", stdout)
		}
		src, err := sources.File(filepath.Join(dir, "out.wav"))(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer pipeline.Close(src)
		if f := src.Format(); f != (pipeline.Format{Rate: 16000, Channels: 1}) {
			t.Errorf("format %v, want 16000 Hz mono", f)
		}
		buf := make([]float32, 48000)
		n, _ := pipeline.ReadFull(src, buf)
		if n != 32000 {
			t.Errorf("%d frames, want 32000 (2 s at 16 kHz)", n)
		}
	},
	// parse-and-run plays a playlist of two items looped twice and prints
	// every event.
	"parse-and-run": func(t *testing.T, _ string, stdout, _ []byte) {
		out := string(stdout)
		for _, want := range []string{"loop: iteration started #2", "loop: iteration ended #2"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if n := strings.Count(out, "playlist: item started"); n != 4 {
			t.Errorf("%d items started, want 4 (2 items × 2 iterations):\n%s", n, out)
		}
	},
	// custom-source, given -, writes 2 s of a chirp as 8 kHz µ-law to
	// stdout, one byte per sample, and logs the chain with the inserted
	// resampler.
	"custom-source": func(t *testing.T, _ string, stdout, stderr []byte) {
		if len(stdout) != 16000 {
			t.Errorf("%d bytes of µ-law, want 16000 (2 s at 8 kHz)", len(stdout))
		}
		if !strings.Contains(string(stderr), "resample 8000 (auto)") {
			t.Errorf("the chain does not show the inserted resampler: %q", stderr)
		}
	},
}

// args holds the command-line arguments of the examples that take some.
var args = map[string][]string{
	"tone-to-wav":   {"out.wav"},
	"custom-source": {"-"},
}

// defaultOutputs names the file that an example writes in the temporary
// folder (os.TempDir) when it is run without arguments, never in the
// folder it runs in, with its size in bytes; it must print where.
var defaultOutputs = map[string]struct {
	name string
	size int64
}{
	"tone-to-wav":   {"tone.wav", 44 + 32000*2},
	"custom-source": {"chirp.ul", 16000},
}

func TestExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs every example")
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	bins := t.TempDir()
	found := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(e.Name(), "main.go")); err != nil {
			continue
		}
		found++
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			bin := filepath.Join(bins, name)
			if out, err := exec.Command(goTool, "build", "-o", bin, "./"+name).CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, args[name]...)
			cmd.Dir = dir
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s: %v\nstderr: %s", name, err, stderr.String())
			}
			if check := checks[name]; check != nil {
				check(t, dir, stdout.Bytes(), stderr.Bytes())
			} else {
				t.Logf("no output check for examples/%s: it ran and exited with 0", name)
			}
			if want, ok := defaultOutputs[name]; ok {
				checkDefaultOutput(t, ctx, bin, want.name, want.size)
			}
		})
	}
	if found < 3 {
		t.Errorf("found %d examples, want at least the 3 known ones", found)
	}
	for name := range checks {
		if _, err := os.Stat(filepath.Join(name, "main.go")); err != nil {
			t.Errorf("examples/%s is checked here but is gone: %v", name, err)
		}
	}
}

// checkDefaultOutput runs bin without arguments, with TMPDIR set to a
// folder of its own, and checks that it writes name, of size bytes, there
// (not in the folder it runs in) and prints the file's path.
func checkDefaultOutput(t *testing.T, ctx context.Context, bin, name string, size int64) {
	t.Helper()
	dir, tmp := t.TempDir(), t.TempDir()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("without arguments: %v\n%s", err, out)
	}
	path := filepath.Join(tmp, name)
	if st, err := os.Stat(path); err != nil || st.Size() != size {
		t.Errorf("without arguments: %s: %v (size %v), want %d bytes", path, err, st, size)
	}
	if !strings.Contains(string(out), "wrote "+path) {
		t.Errorf("without arguments: the output does not say where the file is (%s):\n%s", path, out)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("without arguments: %d files written where it ran: %v", len(left), left)
	}
}
