package transforms

import (
	"fmt"
	"math"

	"github.com/elkspipe/elkspipe/pipeline"
)

func init() {
	pipeline.Register(pipeline.Element{
		Name:      "mono",
		Kind:      pipeline.KindTransform,
		Shareable: pipeline.Always,
		Summary:   "mix down to one channel: the average of the channels (5.1 is folded to stereo first)",
		Example:   "file in.mp3 | mono | resample 8k | wav out-8k.wav",
		Details:   monoDetails,
		NewTransform: func(pipeline.Args) (pipeline.Transform, error) {
			return Mono()
		},
	})
	pipeline.Register(pipeline.Element{
		Name:      "channels",
		Kind:      pipeline.KindTransform,
		Shareable: pipeline.Always,
		Summary:   "remix to N channels: fewer by averaging, more by copying",
		Example:   "file in.wav | channels 2 | wav stereo.wav",
		Details:   channelsDetails,
		Params: []pipeline.Param{
			pipeline.Param{Name: "n", Type: pipeline.TypeInt, Positional: true, Required: true,
				Doc: "the number of output channels"}.Range(1, pipeline.MaxChannels),
		},
		NewTransform: func(a pipeline.Args) (pipeline.Transform, error) {
			return Channels(a.Int("n"))
		},
	})
	pipeline.RegisterConverters(pipeline.Converters{Channels: ChannelsSource})
}

// Mono returns a Transform that mixes its input down to one channel, each
// output sample being the plain average of the input frame's channels. Six
// channels are taken as 5.1 and folded to stereo first (see ChannelsSource),
// so the LFE channel is dropped. Mono input passes through untouched. It never
// fails; it returns an error like every transform constructor.
func Mono() (pipeline.Transform, error) {
	return pipeline.TransformFunc(func(src pipeline.Source) (pipeline.Source, error) {
		return ChannelsSource(src, 1)
	}), nil
}

// Channels returns a Transform that remixes its input to n channels by the
// rules of ChannelsSource. It fails if n is out of range 1..pipeline.MaxChannels.
func Channels(n int) (pipeline.Transform, error) {
	if n < 1 || n > pipeline.MaxChannels {
		return nil, fmt.Errorf("channel count %d out of range 1..%d", n, pipeline.MaxChannels)
	}
	return pipeline.TransformFunc(func(src pipeline.Source) (pipeline.Source, error) {
		return ChannelsSource(src, n)
	}), nil
}

// ChannelsSource returns src remixed from its channel count (in) to n
// channels: the Source form of Channels and Mono. It is the converter Build
// inserts when a sink needs another channel count. The rules, applied to
// every frame:
//
//   - n == in: src itself is returned.
//   - Fewer channels: output channel j is the average of the input channels
//     j, j+n, j+2n, ... So n == 1 averages all channels, and 4 → 2 gives
//     L = (c0+c2)/2, R = (c1+c3)/2. Averages never exceed the input's peak.
//   - Six channels to one or two: the input is taken as 5.1 in WAV order
//     (FL FR FC LFE BL BR) and folded to stereo by ITU-R BS.775 with LFE
//     dropped, scaled so that nothing can clip: L = (FL + 0.7071·FC +
//     0.7071·BL) / 2.4142, R likewise; mono is the average of that L and R.
//   - More channels: output channel j copies input channel j mod in. Mono is
//     duplicated to every channel, stereo to 4 gives L R L R. Downmixing the
//     result back to in channels restores the input exactly (but for six
//     channels, which fold as 5.1).
//
// The returned Source passes on src's length and closes src when closed.
func ChannelsSource(src pipeline.Source, n int) (pipeline.Source, error) {
	f := src.Format()
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if n < 1 || n > pipeline.MaxChannels {
		return nil, fmt.Errorf("channel count %d out of range 1..%d", n, pipeline.MaxChannels)
	}
	if n == f.Channels {
		return src, nil
	}
	return &remixer{
		src:    src,
		in:     f.Channels,
		format: pipeline.Format{Rate: f.Rate, Channels: n},
		routes: remixRoutes(f.Channels, n),
	}, nil
}

// route is one input channel's contribution to an output channel.
type route struct {
	in int
	w  float64
}

// remixRoutes returns, for each of out output channels, the input channels
// that feed it and their weights, by the rules documented on ChannelsSource.
func remixRoutes(in, out int) [][]route {
	routes := make([][]route, out)
	if in == 6 && out <= 2 {
		k := 1 / (1 + math.Sqrt2) // normalises 1 + 2·√½ to 1
		c := k * (1 / math.Sqrt2)
		l := []route{{0, k}, {2, c}, {4, c}}
		r := []route{{1, k}, {2, c}, {5, c}}
		if out == 2 {
			routes[0], routes[1] = l, r
			return routes
		}
		routes[0] = []route{{0, k / 2}, {1, k / 2}, {2, c}, {4, c / 2}, {5, c / 2}}
		return routes
	}
	if out > in {
		for j := range routes {
			routes[j] = []route{{j % in, 1}}
		}
		return routes
	}
	for j := range routes {
		var group []int
		for i := j; i < in; i += out {
			group = append(group, i)
		}
		w := 1 / float64(len(group))
		for _, i := range group {
			routes[j] = append(routes[j], route{i, w})
		}
	}
	return routes
}

// mix applies routes to frames of in-channel samples in src, writing
// len(routes)-channel frames to dst. Sums are formed in float64 and rounded
// once.
func mix(dst, src []float32, in int, routes [][]route) {
	out := len(routes)
	frames := len(src) / in
	switch {
	case in == 1:
		for f, v := range src[:frames] {
			o := dst[f*out : f*out+out]
			for j := range o {
				o[j] = v
			}
		}
	case in == 2 && out == 1:
		for f := 0; f < frames; f++ {
			dst[f] = src[2*f]*0.5 + src[2*f+1]*0.5
		}
	default:
		for f := 0; f < frames; f++ {
			s := src[f*in : f*in+in]
			o := dst[f*out : f*out+out]
			for j, rs := range routes {
				var acc float64
				for _, r := range rs {
					acc += float64(s[r.in]) * r.w
				}
				o[j] = float32(acc)
			}
		}
	}
}

// transformChunk bounds the frames a transform reads from upstream at once, so
// that its buffers stay small whatever the reader's buffer size.
const transformChunk = 8192

type remixer struct {
	src    pipeline.Source
	in     int
	format pipeline.Format
	routes [][]route
	buf    []float32
}

func (r *remixer) Format() pipeline.Format { return r.format }

func (r *remixer) Read(p []float32) (int, error) {
	frames := min(len(p)/r.format.Channels, transformChunk)
	if frames == 0 {
		return 0, pipeline.ErrShortBuffer
	}
	need := frames * r.in
	if len(r.buf) < need {
		r.buf = make([]float32, need)
	}
	n, err := r.src.Read(r.buf[:need])
	if bad := checkUpstreamFrames(n, frames); bad != nil {
		return 0, bad
	}
	mix(p[:n*r.format.Channels], r.buf[:n*r.in], r.in, r.routes)
	return n, err
}

// Frames is the upstream's length: remixing keeps every frame.
func (r *remixer) Frames() int64 { return pipeline.FramesOf(r.src) }

// Close closes the upstream.
func (r *remixer) Close() error { return pipeline.Close(r.src) }

// checkUpstreamFrames guards against an upstream that reports more frames than its
// buffer holds, which would otherwise make a transform index out of range.
func checkUpstreamFrames(n, max int) error {
	if n < 0 || n > max {
		return fmt.Errorf("upstream returned %d frames for a %d-frame buffer", n, max)
	}
	return nil
}
