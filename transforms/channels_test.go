package transforms

import (
	"math"
	"testing"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
)

// remixAll remixes data (in channels) to n channels and reads it whole.
func remixAll(t *testing.T, data []float32, in, n int) []float32 {
	t.Helper()
	src, err := ChannelsSource(pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: in}, data), n)
	if err != nil {
		t.Fatal(err)
	}
	if got := src.Format(); got != (pipeline.Format{Rate: 8000, Channels: n}) {
		t.Fatalf("format %v", got)
	}
	return audiotest.MustReadAll(t, src)
}

func TestMonoAveragesStereoExactly(t *testing.T) {
	data := []float32{0.5, -0.25, 1, 1, -1, -1, 1, -1, 0.75, 0}
	src, err := must(t)(Mono()).Apply(pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 2}, data))
	if err != nil {
		t.Fatal(err)
	}
	got := audiotest.MustReadAll(t, src)
	want := []float32{0.125, 1, -1, 0, 0.375}
	if len(got) != len(want) {
		t.Fatalf("got %d samples, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("frame %d: %v, want %v", i, got[i], want[i])
		}
	}
}

func TestDownmixAveragesChannelGroups(t *testing.T) {
	const frames = 500
	for _, tc := range []struct{ in, out int }{{2, 1}, {3, 1}, {4, 1}, {4, 2}, {5, 2}, {8, 3}, {3, 2}} {
		data := audiotest.Pattern(frames, tc.in)
		got := remixAll(t, data, tc.in, tc.out)
		if len(got) != frames*tc.out {
			t.Fatalf("%d→%d: %d samples, want %d", tc.in, tc.out, len(got), frames*tc.out)
		}
		for f := 0; f < frames; f++ {
			for j := 0; j < tc.out; j++ {
				var sum float64
				k := 0
				for i := j; i < tc.in; i += tc.out {
					sum += float64(data[f*tc.in+i])
					k++
				}
				want := sum / float64(k)
				if d := math.Abs(float64(got[f*tc.out+j]) - want); d > 1e-7 {
					t.Fatalf("%d→%d frame %d channel %d: %v, want %v", tc.in, tc.out, f, j, got[f*tc.out+j], want)
				}
			}
		}
	}
}

func TestUpmixCopiesChannelsCyclically(t *testing.T) {
	const frames = 300
	for _, tc := range []struct{ in, out int }{{1, 2}, {1, 6}, {2, 4}, {2, 5}, {3, 8}} {
		data := audiotest.Pattern(frames, tc.in)
		got := remixAll(t, data, tc.in, tc.out)
		for f := 0; f < frames; f++ {
			for j := 0; j < tc.out; j++ {
				if got[f*tc.out+j] != data[f*tc.in+j%tc.in] {
					t.Fatalf("%d→%d frame %d channel %d: %v, want input channel %d = %v",
						tc.in, tc.out, f, j, got[f*tc.out+j], j%tc.in, data[f*tc.in+j%tc.in])
				}
			}
		}
		// Mixing back down restores the input: exactly, except that six
		// channels fold as 5.1, with rounding.
		back := remixAll(t, got, tc.out, tc.in)
		tol := 0.0
		if tc.out == 6 {
			tol = 1e-7
		}
		for i := range data {
			if math.Abs(float64(back[i])-float64(data[i])) > tol {
				t.Fatalf("%d→%d→%d: sample %d is %v, want %v", tc.in, tc.out, tc.in, i, back[i], data[i])
			}
		}
	}
}

func TestFiveOneFoldsToStereoByITU(t *testing.T) {
	const k = 0.41421356237309503 // 1/(1+√2)
	const c = k * 0.7071067811865476
	// One frame per input channel lit alone, then all channels at full scale.
	var data []float32
	for ch := 0; ch < 6; ch++ {
		frame := make([]float32, 6)
		frame[ch] = 1
		data = append(data, frame...)
	}
	data = append(data, 1, 1, 1, 1, 1, 1)
	want := [][2]float64{
		{k, 0}, // FL
		{0, k}, // FR
		{c, c}, // FC
		{0, 0}, // LFE dropped
		{c, 0}, // BL
		{0, c}, // BR
		{1, 1}, // everything at full scale: no clipping
	}
	got := remixAll(t, data, 6, 2)
	mono := remixAll(t, data, 6, 1)
	for i, w := range want {
		for j := 0; j < 2; j++ {
			if d := math.Abs(float64(got[2*i+j]) - w[j]); d > 1e-7 {
				t.Errorf("input %d, output channel %d: %v, want %v", i, j, got[2*i+j], w[j])
			}
		}
		if d := math.Abs(float64(mono[i]) - (w[0]+w[1])/2); d > 1e-7 {
			t.Errorf("input %d, mono: %v, want %v", i, mono[i], (w[0]+w[1])/2)
		}
	}
}

func TestChannelsSameCountIsIdentity(t *testing.T) {
	src := pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 2}, make([]float32, 10))
	got, err := ChannelsSource(src, 2)
	if err != nil || got != src {
		t.Fatalf("ChannelsSource to the same count = %v, %v; want the source itself", got, err)
	}
	got, err = must(t)(Mono()).Apply(pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 1}, make([]float32, 10)))
	if err != nil || got.Format().Channels != 1 {
		t.Fatalf("mono of mono: %v, %v", got, err)
	}
}

func TestChannelsErrors(t *testing.T) {
	for _, n := range []int{0, -1, pipeline.MaxChannels + 1} {
		if _, err := Channels(n); err == nil {
			t.Errorf("Channels(%d) succeeded", n)
		}
		if _, err := ChannelsSource(pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 1}, nil), n); err == nil {
			t.Errorf("ChannelsSource(%d) succeeded", n)
		}
	}
}

func TestChannelsContractAndLength(t *testing.T) {
	for _, tc := range []struct{ in, out int }{{2, 1}, {1, 2}, {6, 2}, {2, 3}} {
		data := audiotest.Pattern(5000, tc.in)
		audiotest.CheckContract(t, func() (pipeline.Source, error) {
			return ChannelsSource(pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: tc.in}, data), tc.out)
		})
		src, _ := ChannelsSource(pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: tc.in}, data), tc.out)
		if n := pipeline.FramesOf(src); n != 5000 {
			t.Errorf("%d→%d: Frames = %d, want 5000", tc.in, tc.out, n)
		}
		src, _ = ChannelsSource(audiotest.Unsized(pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: tc.in}, data)), tc.out)
		if n := pipeline.FramesOf(src); n != -1 {
			t.Errorf("%d→%d of unknown length: Frames = %d, want -1", tc.in, tc.out, n)
		}
	}
}

func TestChannelsClosesUpstreamAndDoesNotAllocate(t *testing.T) {
	up := &audiotest.Endless{F: pipeline.Format{Rate: 8000, Channels: 2}, Value: 0.5}
	src, err := ChannelsSource(up, 1)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 160)
	src.Read(buf)
	if allocs := testing.AllocsPerRun(100, func() { src.Read(buf) }); allocs != 0 {
		t.Errorf("Read allocates %v times", allocs)
	}
	if buf[0] != 0.5 {
		t.Errorf("mono of 0.5, 0.5 = %v", buf[0])
	}
	if err := pipeline.Close(src); err != nil || !up.Closed() {
		t.Errorf("Close = %v, upstream closed %v", err, up.Closed())
	}
}

func TestChannelsIsTheRegisteredConverter(t *testing.T) {
	data := []float32{0.5, 0.25, -1, 0}
	src, done, err := pipeline.Convert(pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 2}, data),
		pipeline.Format{Rate: 8000, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 1 || done[0].Name != "channels 1" {
		t.Fatalf("conversions %v", done)
	}
	got := audiotest.MustReadAll(t, src)
	if len(got) != 2 || got[0] != 0.375 || got[1] != -0.5 {
		t.Errorf("converted %v, want [0.375 -0.5]", got)
	}
}

// newTransform builds a registered transform element from named arguments,
// as the parser would.
func newTransform(t *testing.T, name string, args map[string]string) (pipeline.Transform, error) {
	t.Helper()
	e, err := pipeline.DefaultRegistry.Lookup(name, pipeline.KindTransform)
	if err != nil {
		t.Fatal(err)
	}
	a, err := pipeline.NewArgs(e, args)
	if err != nil {
		return nil, err
	}
	return e.NewTransform(a)
}

func TestChannelsElements(t *testing.T) {
	data := audiotest.Pattern(100, 2)
	tr, err := newTransform(t, "channels", map[string]string{"n": "4"})
	if err != nil {
		t.Fatal(err)
	}
	src, err := tr.Apply(pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 2}, data))
	if err != nil || src.Format().Channels != 4 {
		t.Fatalf("channels 4: %v, %v", src, err)
	}
	for _, bad := range []string{"0", "65", "two"} {
		if _, err := newTransform(t, "channels", map[string]string{"n": bad}); err == nil {
			t.Errorf("channels %s accepted", bad)
		}
	}
	if _, err := newTransform(t, "channels", nil); err == nil {
		t.Error("channels without a count accepted")
	}
	tr, err = newTransform(t, "mono", nil)
	if err != nil {
		t.Fatal(err)
	}
	src, err = tr.Apply(pipeline.FromSlice(pipeline.Format{Rate: 8000, Channels: 2}, data))
	if err != nil || src.Format().Channels != 1 {
		t.Fatalf("mono: %v, %v", src, err)
	}
}

// BenchmarkMono measures downmixing 44.1 kHz stereo, in input bytes per
// second.
func BenchmarkMono(b *testing.B) {
	src, _ := ChannelsSource(&audiotest.Endless{F: pipeline.Format{Rate: 44100, Channels: 2}, Value: 0.5}, 1)
	buf := make([]float32, 4096)
	b.SetBytes(int64(len(buf)) * 2 * 4)
	b.ReportAllocs()
	for b.Loop() {
		src.Read(buf)
	}
}
