package sources

import (
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/go-audio/audio"
)

func TestFromBuffer(t *testing.T) {
	f := &audio.Format{NumChannels: 2, SampleRate: 8000}
	cases := []struct {
		buf  audio.Buffer
		want []float32
	}{
		{&audio.IntBuffer{Format: f, SourceBitDepth: 16, Data: []int{16384, -32768, 0, 32767}}, []float32{0.5, -1, 0, 32767.0 / 32768}},
		{&audio.IntBuffer{Format: f, SourceBitDepth: 24, Data: []int{4194304, -8388608}}, []float32{0.5, -1}},
		{&audio.FloatBuffer{Format: f, Data: []float64{0.25, -0.25}}, []float32{0.25, -0.25}},
		{&audio.Float32Buffer{Format: f, Data: []float32{0.125, 1}}, []float32{0.125, 1}},
	}
	for _, c := range cases {
		src, err := FromBuffer(c.buf)
		if err != nil {
			t.Fatalf("%T: %v", c.buf, err)
		}
		if src.Format() != (pipeline.Format{Rate: 8000, Channels: 2}) {
			t.Errorf("format %v", src.Format())
		}
		got := audiotest.MustReadAll(t, src)
		if audiotest.MaxDiff(got, c.want) != 0 || len(got) != len(c.want) {
			t.Errorf("%T: got %v, want %v", c.buf, got, c.want)
		}
	}
	for _, bad := range []audio.Buffer{
		&audio.IntBuffer{Format: f, Data: []int{1, 2}},                        // no bit depth
		&audio.IntBuffer{Format: f, SourceBitDepth: 16, Data: []int{1, 2, 3}}, // half a frame
		&audio.FloatBuffer{Format: &audio.Format{NumChannels: 0, SampleRate: 8000}},
		&audio.FloatBuffer{},
	} {
		if _, err := FromBuffer(bad); err == nil {
			t.Errorf("FromBuffer(%+v) accepted", bad)
		}
	}
}
