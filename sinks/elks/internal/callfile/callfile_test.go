package callfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sources"
)

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{
		"c13d1e772":             "c13d1e772",
		"+46701234567":          "+46701234567",
		"../etc/passwd":         "___etc_passwd",
		"a.b":                   "a_b",
		"":                      "unknown",
		"id-1_x":                "id-1_x",
		"å":                     "_",
		strings.Repeat("x", 80): strings.Repeat("x", 64),
	} {
		if got := SafeName(in); got != want {
			t.Errorf("SafeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRecorder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.wav")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	// CreateNew never overwrites: r.wav exists, so r-1.wav.
	r, err := CreateNew(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Path() != filepath.Join(dir, "r-1.wav") {
		t.Fatalf("path %s", r.Path())
	}
	if r.Write([]float32{0}) == nil || r.Started() {
		t.Error("a write before Start succeeded")
	}
	if err := r.Start(8000); err != nil {
		t.Fatal(err)
	}
	samples := []float32{0.5, -0.5, 0.25}
	if err := r.Write(samples); err != nil {
		t.Fatal(err)
	}
	if err := r.Silence(5000); err != nil {
		t.Fatal(err)
	}
	if err := r.Write(samples); err != nil {
		t.Fatal(err)
	}
	if r.Frames() != 5006 || r.Rate() != 8000 {
		t.Errorf("%d frames at %d Hz", r.Frames(), r.Rate())
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	got := readWAV(t, r.Path())
	want := append(append(append([]float32{}, samples...), make([]float32, 5000)...), samples...)
	if len(got) != len(want) {
		t.Fatalf("%d samples, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("sample %d: %g, want %g", i, got[i], want[i])
		}
	}
	// Create replaces the file.
	r, err = Create(path)
	if err != nil || r.Path() != path {
		t.Fatal(err, r.Path())
	}
	r.Start(16000)
	r.Close()
	if got := readWAV(t, path); len(got) != 0 {
		t.Errorf("%d samples in an empty recording", len(got))
	}
	// Discard removes it.
	r, _ = Create(path)
	r.Discard()
	if _, err := os.Stat(path); err == nil {
		t.Error("a discarded recording is still there")
	}
}

func readWAV(t *testing.T, path string) []float32 {
	t.Helper()
	src, err := sources.WAV(path)(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	return audiotest.MustReadAll(t, src)
}
