package transforms

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/elkspipe/elkspipe/internal/resample"
	"github.com/elkspipe/elkspipe/pipeline"
)

// Quality selects the filters of the resampler: how much of the band it
// keeps flat and how strongly it rejects what would alias. Higher
// qualities cost more time; see QualitySpec for the figures.
type Quality int

// The qualities, from cheapest to best. The zero Quality means High.
const (
	Quick Quality = iota + 1
	Low
	Medium
	High
	VeryHigh
)

var qualityNames = []string{"quick", "low", "medium", "high", "veryhigh"}

// String returns the quality's name as the resample element spells it:
// "quick", "low", "medium", "high" or "veryhigh".
func (q Quality) String() string {
	if q == 0 {
		q = High
	}
	if q >= Quick && q <= VeryHigh {
		return qualityNames[q-Quick]
	}
	return "quality(" + strconv.Itoa(int(q)) + ")"
}

// ParseQuality returns the Quality called name (as String spells it).
func ParseQuality(name string) (Quality, error) {
	for i, n := range qualityNames {
		if strings.EqualFold(n, name) {
			return Quick + Quality(i), nil
		}
	}
	return 0, fmt.Errorf("unknown quality %q (want %s)", name, strings.Join(qualityNames, ", "))
}

// QualitySpec gives the published figures of a Quality. Frequencies are
// fractions of the lower of the two Nyquist frequencies (the output's when
// downsampling, the input's when upsampling). The tests measure them.
type QualitySpec struct {
	// Passband is where the passband ends. Below it the gain is flat
	// within ±0.03 dB at Quick and ±0.001 dB at the other qualities.
	Passband float64
	// Stopband is where the stopband starts: 1, the Nyquist frequency, so
	// that nothing aliases into the output band, not even into the
	// transition band.
	Stopband float64
	// Attenuation is the minimum rejection of the stopband in dB: of
	// everything that would alias when downsampling, and of the images
	// when upsampling.
	Attenuation float64
}

var qualitySpecs = [...]QualitySpec{
	Quick:    {Passband: 0.70, Stopband: 1, Attenuation: 60},
	Low:      {Passband: 0.80, Stopband: 1, Attenuation: 90},
	Medium:   {Passband: 0.90, Stopband: 1, Attenuation: 105},
	High:     {Passband: 0.95, Stopband: 1, Attenuation: 125},
	VeryHigh: {Passband: 0.95, Stopband: 1, Attenuation: 150},
}

// Spec returns the published figures of q (those of High for the zero
// Quality).
func (q Quality) Spec() QualitySpec {
	if q == 0 {
		q = High
	}
	if q < Quick || q > VeryHigh {
		return qualitySpecs[High]
	}
	return qualitySpecs[q]
}

// MaxResampleRatio is the largest ratio between input and output rates (in
// either direction) that the resampler accepts.
const MaxResampleRatio = 256

func init() {
	pipeline.Register(pipeline.Element{
		Name:      "resample",
		Kind:      pipeline.KindTransform,
		Shareable: pipeline.Always,
		Summary:   "change the sample rate with a band-limited polyphase filter (SoX-grade at quality=high)",
		Example:   "file in.wav | mono | resample 8k | wav out-8k.wav",
		Details:   resampleDetails,
		Params: []pipeline.Param{
			pipeline.Param{Name: "rate", Type: pipeline.TypeRate, Required: true, Positional: true,
				Doc: "output sample rate in Hz (8k, 16000, 44.1k)"}.Range(1, pipeline.MaxRate),
			{Name: "quality", Type: pipeline.TypeEnum, Default: "high", Choices: qualityNames,
				Doc: "filter quality: quick (70% band, 60 dB), low (80%, 90 dB), medium (90%, 105 dB), high (95%, 125 dB), veryhigh (95%, 150 dB)"},
		},
		NewTransform: func(a pipeline.Args) (pipeline.Transform, error) {
			q, err := ParseQuality(a.String("quality"))
			if err != nil {
				return nil, err
			}
			return Resample(a.Int("rate"), q)
		},
	})
	pipeline.RegisterConverters(pipeline.Converters{
		Resample: func(src pipeline.Source, rate int) (pipeline.Source, error) {
			return ResampleSource(src, rate, High)
		},
	})
}

// Resample returns a Transform that converts its source to rate with the
// given quality (see ResampleSource; the zero Quality means High). It fails
// for a rate outside 1..pipeline.MaxRate or an unknown quality.
func Resample(rate int, q Quality) (pipeline.Transform, error) {
	if err := checkResample(rate, q); err != nil {
		return nil, err
	}
	return pipeline.TransformFunc(func(src pipeline.Source) (pipeline.Source, error) {
		return ResampleSource(src, rate, q)
	}), nil
}

// checkResample returns an error for an output rate or a quality that
// ResampleSource refuses whatever its input.
func checkResample(rate int, q Quality) error {
	if rate < 1 || rate > pipeline.MaxRate {
		return fmt.Errorf("output rate %d Hz out of range 1..%d", rate, pipeline.MaxRate)
	}
	if q != 0 && (q < Quick || q > VeryHigh) {
		return fmt.Errorf("unknown quality %d", int(q))
	}
	return nil
}

// ResampleSource returns src converted to the sample rate rate. Every channel
// is filtered on its own with a band-limited (Kaiser-windowed sinc)
// polyphase filter whose figures q selects; sharp filters run as fast
// convolution. Output frame k is the band-limited input at time
// k·inRate/rate exactly: there is no delay and no drift, and the output
// holds round(n·rate/inRate) frames for n input frames. The result is the
// same whatever the sizes of the reads. If src already has the rate,
// ResampleSource returns src itself.
//
// The returned Source knows its length when src does (pipeline.Lengther)
// and closes src when closed.
func ResampleSource(src pipeline.Source, rate int, q Quality) (pipeline.Source, error) {
	f := src.Format()
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("input: %v", err)
	}
	if err := checkResample(rate, q); err != nil {
		return nil, err
	}
	if q == 0 {
		q = High
	}
	if rate == f.Rate {
		return src, nil
	}
	if rate > f.Rate*MaxResampleRatio || f.Rate > rate*MaxResampleRatio {
		return nil, pipeline.Misconfigured(fmt.Errorf("%d Hz to %d Hz is a ratio beyond 1:%d; resample in two steps", f.Rate, rate, MaxResampleRatio))
	}
	return &resampler{
		src:    src,
		format: pipeline.Format{Rate: rate, Channels: f.Channels},
		inRate: f.Rate,
		conv:   resample.New(f.Rate, rate, f.Channels, resample.Spec(q.Spec())),
		ibuf:   make([]float32, resampleReadChunk*f.Channels),
	}, nil
}

// resampleReadChunk is how many frames the resampler reads from its source
// at a time.
const resampleReadChunk = 2048

// resampler is the Source that ResampleSource returns: it feeds a
// resample.Converter from its source.
type resampler struct {
	src    pipeline.Source
	format pipeline.Format
	inRate int
	conv   *resample.Converter
	ibuf   []float32
	eof    bool  // src ended
	err    error // src failed
	empty  int   // consecutive empty reads from src
}

func (r *resampler) Format() pipeline.Format { return r.format }

// Frames returns round(n·rate/inRate) for a source of n frames, or -1 if
// the source does not know its length.
func (r *resampler) Frames() int64 {
	n := pipeline.FramesOf(r.src)
	if n < 0 {
		return -1
	}
	return resample.Scale(n, r.format.Rate, r.inRate)
}

// Close closes the source.
func (r *resampler) Close() error { return pipeline.Close(r.src) }

func (r *resampler) Read(p []float32) (int, error) {
	ch := r.format.Channels
	if len(p) < ch {
		return 0, pipeline.ErrShortBuffer
	}
	want := len(p) / ch
	done := 0
	for {
		done += r.conv.Read(p[done*ch : want*ch])
		if done == want || r.eof || r.err != nil {
			break
		}
		r.readSource()
	}
	if done > 0 {
		return done, nil
	}
	if r.err != nil {
		return 0, r.err
	}
	return 0, io.EOF
}

// readSource reads one chunk from the source into the converter.
func (r *resampler) readSource() {
	n, err := r.src.Read(r.ibuf)
	if n < 0 || n > resampleReadChunk {
		r.err = fmt.Errorf("source returned %d frames for a %d-frame read", n, resampleReadChunk)
		return
	}
	if n > 0 {
		r.empty = 0
		r.conv.Write(r.ibuf[:n*r.format.Channels])
	}
	switch {
	case err == io.EOF:
		r.eof = true
		r.conv.End()
	case err != nil:
		r.err = err
	case n == 0:
		if r.empty++; r.empty >= pipeline.MaxEmptyReads {
			r.err = io.ErrNoProgress
		}
	}
}
