// Package resample converts sampled signals from one rate to another with
// band-limited filters: Kaiser-windowed sinc polyphase filters, and sharp
// lowpass filters that run as fast convolution (overlap-save) when that is
// cheaper. It works on plain slices; the resample element of package
// transforms wraps a Converter around a pipeline.Source.
//
// Output frame k is the band-limited input at time k·inRate/outRate
// exactly: there is no delay and no drift, and n input frames give
// Scale(n, outRate, inRate) output frames.
package resample

import "math/bits"

// Spec gives the figures a conversion must meet. Frequencies are fractions
// of the lower of the two Nyquist frequencies.
type Spec struct {
	// Passband is where the passband ends.
	Passband float64
	// Stopband is where the stopband starts.
	Stopband float64
	// Attenuation is the minimum rejection of the stopband in dB.
	Attenuation float64
}

// Converter converts interleaved frames of a fixed channel count from one
// rate to another. Write hands it input, End says the input is complete,
// and Read takes the output, which is the same whatever the sizes of the
// writes and reads. Filter designs are shared between Converters; a
// Converter itself is not safe for concurrent use.
type Converter struct {
	channels int
	inRate   int
	outRate  int
	stages   []stage
	bufs     []*signal // bufs[i] feeds stages[i]; the last one is the output
	in       int64     // frames written
	ended    bool      // End was called
}

// New returns a Converter of channels-channel audio from inRate to outRate
// that meets spec. The rates must differ, and be positive and within a
// ratio that the caller bounds (the filters grow with the ratio).
func New(inRate, outRate, channels int, spec Spec) *Converter {
	return newConverter(inRate, outRate, channels, plan(inRate, outRate, spec))
}

// newConverter returns a Converter running stages.
func newConverter(inRate, outRate, channels int, stages []stage) *Converter {
	c := &Converter{
		channels: channels,
		inRate:   inRate,
		outRate:  outRate,
		stages:   stages,
		bufs:     make([]*signal, len(stages)+1),
	}
	for i := range c.bufs {
		c.bufs[i] = &signal{ch: make([][]float64, channels)}
	}
	// Every stage but the last produces from the first index its
	// successor reads; the last from output frame 0. The input starts at
	// frame 0 and reads below it are zeros.
	next := int64(0)
	for i := len(stages) - 1; i >= 0; i-- {
		stages[i].start(next)
		c.bufs[i+1].start = next
		next = stages[i].firstIn()
	}
	b0 := c.bufs[0]
	b0.start = min(next, 0)
	b0.grow(int(-b0.start) + initialInput)
	b0.n = int(-b0.start)
	return c
}

// initialInput is how many input frames the first buffer has room for at
// the start.
const initialInput = 2048

// Write appends the interleaved frames of p to the input. It must not be
// called after End.
func (c *Converter) Write(p []float32) {
	ch := c.channels
	n := len(p) / ch
	if n == 0 {
		return
	}
	b := c.bufs[0]
	b.grow(n)
	for k := 0; k < ch; k++ {
		dst := b.ch[k][b.off+b.n : b.off+b.n+n]
		for i := range dst {
			dst[i] = float64(p[i*ch+k])
		}
	}
	b.n += n
	c.in += int64(n)
}

// End marks the input complete: the output then runs to
// Scale(frames written, outRate, inRate) frames.
func (c *Converter) End() {
	if c.ended {
		return
	}
	c.ended = true
	end := Scale(c.in, c.outRate, c.inRate)
	for i := len(c.stages) - 1; i >= 0; i-- {
		c.stages[i].setEnd(end)
		end = c.stages[i].inEnd(end)
	}
	c.bufs[0].final = true
}

// Read fills p with as many whole output frames as the input written so
// far yields, up to len(p)/channels, and returns their number. When it
// returns fewer, it needs more input, or after End, the output is
// complete (see Done).
func (c *Converter) Read(p []float32) int {
	ch := c.channels
	want := len(p) / ch
	out := c.bufs[len(c.bufs)-1]
	done := 0
	for done < want {
		if out.n == 0 && !c.produce() {
			break
		}
		n := min(want-done, out.n)
		for k := 0; k < ch; k++ {
			src := out.ch[k][out.off : out.off+n]
			dst := p[done*ch+k:]
			for i, v := range src {
				dst[i*ch] = float32(v)
			}
		}
		out.discard(out.start + int64(n))
		done += n
	}
	return done
}

// Done reports whether the output is complete: End was called and Read
// has returned every frame.
func (c *Converter) Done() bool {
	out := c.bufs[len(c.bufs)-1]
	if out.n > 0 || !c.ended {
		return false
	}
	return out.final || !c.produce()
}

// produce runs the stages until there is output, and reports whether
// there is. It returns false when the input written so far yields no more.
func (c *Converter) produce() bool {
	out := c.bufs[len(c.bufs)-1]
	for out.n == 0 {
		progress := false
		for i, st := range c.stages {
			for st.run(c.bufs[i], c.bufs[i+1]) {
				progress = true
			}
		}
		if out.n > 0 {
			return true
		}
		if out.final || !progress {
			return false
		}
	}
	return true
}

// Scale returns round(n·num/den) (halves rounded up) without overflow: the
// number of output frames at rate num for n input frames at rate den.
func Scale(n int64, num, den int) int64 {
	hi, lo := bits.Mul64(uint64(n), 2*uint64(num))
	lo, carry := bits.Add64(lo, uint64(den), 0)
	hi += carry
	q, _ := bits.Div64(hi%(2*uint64(den)), lo, 2*uint64(den))
	return int64(q)
}
