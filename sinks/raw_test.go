package sinks

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/internal/pcm"
	"github.com/elkspipe/elkspipe/pipeline"
	_ "github.com/elkspipe/elkspipe/transforms" // the remix converter
)

func TestRawWritesFileAndTruncates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.raw")
	if err := os.WriteFile(path, bytes.Repeat([]byte("old"), 100000), 0o644); err != nil {
		t.Fatal(err)
	}
	f := pipeline.Format{Rate: 8000, Channels: 2}
	data := audiotest.Pattern(50000, 2)
	for _, enc := range []pipeline.Encoding{pipeline.S16LE, pipeline.F32LE, pipeline.ULaw, pipeline.ALaw} {
		sink, err := Raw(path, RawOptions{Encoding: enc})
		if err != nil {
			t.Fatal(err)
		}
		if err := sink.Run(context.Background(), pipeline.FromSlice(f, data)); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if want := pcm.Append(nil, data, enc); !bytes.Equal(got, want) {
			t.Errorf("%v: file has %d bytes, want %d (or contents differ)", enc, len(got), len(want))
		}
	}
}

func TestRawToStdout(t *testing.T) {
	var buf bytes.Buffer
	old := stdout
	stdout = &buf
	defer func() { stdout = old }()
	data := audiotest.Pattern(12345, 1)
	sink, err := Raw("-", RawOptions{Encoding: pipeline.ULaw})
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Run(context.Background(), pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 1}, data)); err != nil {
		t.Fatal(err)
	}
	if want := pcm.Append(nil, data, pipeline.ULaw); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("stdout got %d bytes, want %d", buf.Len(), len(want))
	}

	var w bytes.Buffer
	sink, _ = RawTo(&w, RawOptions{})
	if err := sink.Run(context.Background(), pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 1}, data)); err != nil {
		t.Fatal(err)
	}
	if want := pcm.Append(nil, data, pipeline.S16LE); !bytes.Equal(w.Bytes(), want) {
		t.Errorf("writer got %d bytes, want %d", w.Len(), len(want))
	}
}

func TestRawNegotiatesChannels(t *testing.T) {
	stereo := []float32{0.5, 0.25, -1, 0, 1, 1}
	mono := []float32{0.375, -0.5, 1}
	g := &pipeline.Graph{
		Sources: []pipeline.Stage{{Name: "test", Open: func(context.Context) (pipeline.Source, error) {
			return pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 2}, stereo), nil
		}}},
	}
	var w bytes.Buffer
	sink, _ := RawTo(&w, RawOptions{Encoding: pipeline.F32LE, Channels: 1})
	g.Sink = pipeline.Stage{Name: "raw", Sink: sink}
	p, err := pipeline.Build(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	if d := p.Describe(); !strings.Contains(d, "channels 1 (auto) [8000 Hz mono]") {
		t.Errorf("chain %q lacks the automatic remix", d)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := pcm.Append(nil, mono, pipeline.F32LE); !bytes.Equal(w.Bytes(), want) {
		t.Errorf("got % X, want % X", w.Bytes(), want)
	}
	if got := sink.(pipeline.Negotiator).Want(pipeline.Format{Rate: 44100, Channels: 2}); got != (pipeline.Format{Rate: 44100, Channels: 1}) {
		t.Errorf("Want = %v", got)
	}

	// Run converts by itself when handed another format directly.
	w.Reset()
	if err := sink.Run(context.Background(), pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 2}, stereo)); err != nil {
		t.Fatal(err)
	}
	if want := pcm.Append(nil, mono, pipeline.F32LE); !bytes.Equal(w.Bytes(), want) {
		t.Errorf("direct Run: got % X, want % X", w.Bytes(), want)
	}
}

// cancelWriter cancels a context on its first write.
type cancelWriter struct {
	bytes.Buffer
	cancel context.CancelFunc
}

func (c *cancelWriter) Write(p []byte) (int, error) { c.cancel(); return c.Buffer.Write(p) }

func TestRawCancelFlushesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &cancelWriter{cancel: cancel}
	src := &audiotest.Endless{F: pipeline.Format{Rate: 8000, Channels: 2}, Value: 0.5}
	sink, _ := RawTo(w, RawOptions{})
	if err := sink.Run(ctx, src); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if want := int(src.Delivered()) * 2 * 2; w.Len() != want || want == 0 {
		t.Errorf("wrote %d bytes for %d frames read; want every frame read flushed", w.Len(), src.Delivered())
	}

	// Cancelled from elsewhere while running, to a file.
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	path := filepath.Join(t.TempDir(), "endless.raw")
	file, _ := Raw(path, RawOptions{Encoding: pipeline.ULaw})
	src = &audiotest.Endless{F: pipeline.Format{Rate: 8000, Channels: 1}, Value: 0.5}
	start := time.Now()
	if err := file.Run(ctx, src); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Run took %v to notice the cancel", d)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != src.Delivered() {
		t.Errorf("file holds %v bytes (%v) for %d frames read", fi.Size(), err, src.Delivered())
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

type failSource struct{ pipeline.Source }

func (failSource) Read([]float32) (int, error) { return 0, errors.New("decoder broke") }

func TestRawErrors(t *testing.T) {
	f := pipeline.Format{Rate: 8000, Channels: 1}
	data := audiotest.Pattern(100000, 1)
	sink, _ := RawTo(failWriter{}, RawOptions{})
	if err := sink.Run(context.Background(), pipeline.FromSlice(f, data)); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("write failure: %v", err)
	}
	var w bytes.Buffer
	sink, _ = RawTo(&w, RawOptions{})
	if err := sink.Run(context.Background(), failSource{pipeline.FromSlice(f, data)}); err == nil || !strings.Contains(err.Error(), "decoder broke") {
		t.Errorf("source failure: %v", err)
	}
	sink, _ = Raw(filepath.Join(t.TempDir(), "no", "such", "dir.raw"), RawOptions{})
	if err := sink.Run(context.Background(), pipeline.FromSlice(f, data)); err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("unwritable path: %v", err)
	}
	for _, opt := range []RawOptions{{Encoding: 7}, {Rate: -1}, {Rate: pipeline.MaxRate + 1}, {Channels: 65}} {
		if _, err := Raw("x", opt); err == nil {
			t.Errorf("Raw accepted %+v", opt)
		}
	}
	if _, err := Raw("", RawOptions{}); err == nil {
		t.Error("Raw accepted an empty path")
	}
	if _, err := RawTo(nil, RawOptions{}); err == nil {
		t.Error("RawTo accepted a nil writer")
	}
}

func TestRawElement(t *testing.T) {
	e, err := pipeline.DefaultRegistry.Lookup("raw", pipeline.KindSink)
	if err != nil || e.Kind != pipeline.KindSink {
		t.Fatalf("raw sink not registered: %v", err)
	}
	a, err := pipeline.NewArgs(e, map[string]string{"path": "-", "enc": "ulaw", "rate": "8k", "channels": "1"})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := e.NewSink(a)
	if err != nil {
		t.Fatal(err)
	}
	if got := sink.(pipeline.Negotiator).Want(pipeline.Format{Rate: 44100, Channels: 2}); got != (pipeline.Format{Rate: 8000, Channels: 1}) {
		t.Errorf("Want = %v, want 8000 Hz mono", got)
	}
	a, _ = pipeline.NewArgs(e, map[string]string{"path": "-"})
	sink, _ = e.NewSink(a)
	if s := sink.(*rawSink); s.opt != (RawOptions{Encoding: pipeline.S16LE}) {
		t.Errorf("defaults: %+v", s.opt)
	}
	if got := sink.(pipeline.Negotiator).Want(pipeline.Format{Rate: 44100, Channels: 2}); got != (pipeline.Format{Rate: 44100, Channels: 2}) {
		t.Errorf("Want without rate/channels = %v, want the offered format", got)
	}
	for _, bad := range []map[string]string{{"path": "-", "enc": "mp3"}, {"path": "-", "channels": "0"}, {}} {
		if _, err := pipeline.NewArgs(e, bad); err == nil {
			t.Errorf("raw %v accepted", bad)
		}
	}
}
