package elks

import (
	"slices"

	"github.com/elkspipe/elkspipe/internal/g722"
	"github.com/elkspipe/elkspipe/internal/pcm"
)

// G.722 on the wire: 16 kHz mono audio, one byte for every two samples
// (8000 bytes a second, 64 kbit/s), bit-exact with ffmpeg's g722 codec.
//
// Samples cross the boundary with the project's 16-bit convention
// (pcm.S16 on the way in, s/32768 on the way out). The encoder consumes
// samples in pairs: an odd sample at the end of an Encode call waits for
// the next call, so chunk sizes never change the bytes. Flush, at the end
// of a play, encodes a last odd sample paired with itself (as ffmpeg does)
// and the decoder then yields one sample more than was sent.
//
// Both ends restart their state with a stream: the session resets its
// encoder when it sends a new "sending" (after an interrupt, or after a
// Flush that emitted a byte), and a receiver decodes the audio after each
// "sending" with a fresh decoder. The 22-sample (1.4 ms) delay of the
// codec's filters is not compensated: the first bytes after a restart
// decode to the filters' ramp-up.
func init() {
	registerCodec(G722, codec{
		NewEncoder: func() (Encoder, error) { return &g722Encoder{enc: g722.NewEncoder()}, nil },
		NewDecoder: func() (Decoder, error) { return &g722Decoder{dec: g722.NewDecoder()}, nil },
	})
}

// g722Encoder adapts g722.Encoder to float samples through a fixed scratch
// buffer, so that encoding never allocates beyond growing dst.
type g722Encoder struct {
	enc     *g722.Encoder
	scratch [256]int16
}

func (e *g722Encoder) Encode(dst []byte, samples []float32) []byte {
	dst = slices.Grow(dst, (len(samples)+1)/2)
	for len(samples) > 0 {
		n := min(len(samples), len(e.scratch))
		for i, x := range samples[:n] {
			e.scratch[i] = pcm.S16(x)
		}
		dst = e.enc.Encode(dst, e.scratch[:n])
		samples = samples[n:]
	}
	return dst
}

func (e *g722Encoder) Flush(dst []byte) []byte { return e.enc.Flush(dst) }

func (e *g722Encoder) Reset() { e.enc.Reset() }

// g722Decoder adapts g722.Decoder to float samples. Every byte is a valid
// code, so Decode never fails.
type g722Decoder struct{ dec *g722.Decoder }

func (d *g722Decoder) Decode(dst []float32, data []byte) ([]float32, error) {
	start := len(dst)
	dst = slices.Grow(dst, 2*len(data))[:start+2*len(data)]
	out := dst[start:]
	for i, c := range data {
		s0, s1 := d.dec.DecodeByte(c)
		out[2*i] = float32(s0) / 32768
		out[2*i+1] = float32(s1) / 32768
	}
	return dst, nil
}

func (d *g722Decoder) Reset() { d.dec.Reset() }

// copyState makes e go on from where from, a G.722 encoder, is.
func (e *g722Encoder) copyState(from Encoder) bool {
	f, ok := from.(*g722Encoder)
	if ok {
		*e.enc = *f.enc
	}
	return ok
}
