// Package g722 implements ITU-T G.722 at 64 kbit/s: sub-band ADPCM of 16 kHz
// audio, one byte for every two 16-bit samples.
//
// The encoder and decoder are bit-exact with ffmpeg's "g722" codec (without
// its optional trellis search): for the same 16-bit input the encoder
// produces the same bytes, and for the same bytes the decoder produces the
// same samples. Both keep their state across calls, so a stream may be fed
// in chunks of any size; Reset starts a new stream.
//
// A byte holds the 2-bit code of the upper band (4–8 kHz) in its two high
// bits and the 6-bit code of the lower band (0–4 kHz) in its six low bits.
// The quadrature mirror filters of the two ends together delay the audio by
// 22 samples (1.375 ms): a decoded stream lags its input by that much.
package g722

// band is the adaptive state of one sub-band's ADPCM coder.
type band struct {
	predicted   int32    // predicted signal (s)
	zeroOut     int32    // output of the zero (six-tap) section (sz)
	signs       [2]bool  // signs of the two last partially reconstructed signals (p < 0)
	prevRecon   int32    // last reconstructed signal, doubled and saturated
	poles       [2]int32 // second-order pole coefficients (a1, a2)
	diffs       [6]int32 // last six quantised differences, doubled
	zeros       [6]int32 // six-tap zero coefficients (b1..b6)
	logScale    int32    // logarithmic quantiser scale (nabla)
	linearScale int32    // linear quantiser scale (delta)
}

func (b *band) reset(scale int32) { *b = band{linearScale: scale} }

// Tables of ITU-T G.722.
var (
	invLog2        = [32]int32{2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008}
	highLogStep    = [2]int32{798, -214}
	highInvQuant   = [4]int32{-926, -202, 926, 202}
	lowLogStep     = [16]int32{-60, 3042, 1198, 538, 334, 172, 58, -30, 3042, 1198, 538, 334, 172, 58, -30, -60}
	lowInvQuant4   = [16]int32{0, -2557, -1612, -1121, -786, -530, -323, -150, 2557, 1612, 1121, 786, 530, 323, 150, 0}
	lowInvQuant6   = [64]int32{-17, -17, -17, -17, -3101, -2738, -2376, -2088, -1873, -1689, -1535, -1399, -1279, -1170, -1072, -982, -899, -822, -750, -682, -618, -558, -501, -447, -396, -347, -300, -254, -211, -170, -130, -91, 3101, 2738, 2376, 2088, 1873, 1689, 1535, 1399, 1279, 1170, 1072, 982, 899, 822, 750, 682, 618, 558, 501, 447, 396, 347, 300, 254, 211, 170, 130, 91, 54, 17, -54, -17}
	lowQuantLevels = [29]int32{35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919}
	qmf            = [12]int32{3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11}
)

func clamp(x, lo, hi int32) int32 {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}

func sat16(x int32) int32 { return clamp(x, -32768, 32767) }

// adapt updates the predictor of b with the quantised difference d.
func (b *band) adapt(d int32) {
	// The signs of the partially reconstructed signal now, one and two
	// samples ago steer the pole coefficients: flip is +1 when the sign
	// changed since the last sample, same2 +1 when it equals the one before.
	neg := b.zeroOut+d < 0
	var flip, same2 int32 = -1, -1
	if neg != b.signs[0] {
		flip = 1
	}
	if neg == b.signs[1] {
		same2 = 1
	}
	b.signs[1], b.signs[0] = b.signs[0], neg

	b.poles[1] = clamp((flip*clamp(b.poles[0], -8191, 8191))>>5+same2*128+(b.poles[1]*127)>>7, -12288, 12288)
	limit := 15360 - b.poles[1]
	b.poles[0] = clamp(-192*flip+(b.poles[0]*255)>>8, -limit, limit)

	var sz int32
	for k := 5; k >= 0; k-- {
		z := (b.zeros[k] * 255) >> 8
		if d != 0 {
			if b.diffs[k]^d < 0 {
				z -= 128
			} else {
				z += 128
			}
		}
		b.zeros[k] = z
		if k > 0 {
			b.diffs[k] = b.diffs[k-1]
		} else {
			b.diffs[0] = sat16(d * 2)
		}
		sz += (b.zeros[k] * b.diffs[k]) >> 15
	}
	b.zeroOut = sz

	recon := sat16((b.predicted + d) * 2)
	b.predicted = sat16(sz + (b.poles[0]*recon)>>15 + (b.poles[1]*b.prevRecon)>>15)
	b.prevRecon = recon
}

func linearScale(log int32) int32 {
	w := invLog2[(log>>6)&31]
	if shift := log >> 11; shift < 0 {
		return w >> -shift
	} else {
		return w << shift
	}
}

// updateLow adapts the lower band to its 4-bit code (the 6-bit code >> 2).
func (b *band) updateLow(code4 int32) {
	b.adapt((b.linearScale * lowInvQuant4[code4]) >> 10)
	b.logScale = clamp((b.logScale*127)>>7+lowLogStep[code4], 0, 18432)
	b.linearScale = linearScale(b.logScale - 8<<11)
}

// updateHigh adapts the upper band to its dequantised difference and code.
func (b *band) updateHigh(d, code int32) {
	b.adapt(d)
	b.logScale = clamp((b.logScale*127)>>7+highLogStep[code&1], 0, 22528)
	b.linearScale = linearScale(b.logScale - 10<<11)
}

// qmfHistory holds the last samples through the quadrature mirror filter:
// 22 of history plus the pair being filtered, in a buffer that is shifted
// back only when full.
type qmfHistory struct {
	buf [1024]int32
	pos int
}

func (h *qmfHistory) reset() { *h = qmfHistory{pos: 22} }

// push appends a pair and returns the filter's two outputs over the last
// 24 values: odd positions against the reversed coefficients, even ones
// against the coefficients in order.
func (h *qmfHistory) push(a, b int32) (odd, even int32) {
	h.buf[h.pos] = a
	h.buf[h.pos+1] = b
	h.pos += 2
	w := h.buf[h.pos-24 : h.pos : h.pos]
	for i := range 12 {
		even += w[2*i] * qmf[i]
		odd += w[2*i+1] * qmf[11-i]
	}
	if h.pos >= len(h.buf) {
		copy(h.buf[:22], h.buf[h.pos-22:h.pos])
		h.pos = 22
	}
	return odd, even
}

// Encoder encodes 16 kHz 16-bit samples into G.722 at 64 kbit/s. The zero
// value is not ready: use NewEncoder.
type Encoder struct {
	low, high band
	qmf       qmfHistory
	// pending holds the odd sample of the last Encode call, waiting for
	// its partner.
	pending    int16
	hasPending bool
}

// NewEncoder returns an encoder at the start of a stream.
func NewEncoder() *Encoder {
	e := new(Encoder)
	e.Reset()
	return e
}

// Reset forgets all state, including a pending odd sample: the next
// Encode starts a new stream, as a fresh encoder would.
func (e *Encoder) Reset() {
	e.low.reset(8)
	e.high.reset(2)
	e.qmf.reset()
	e.pending, e.hasPending = 0, false
}

// Pending reports whether the encoder holds an odd sample that waits for
// its partner (the next Encode, or Flush).
func (e *Encoder) Pending() bool { return e.hasPending }

// EncodePair encodes two consecutive samples into one byte.
func (e *Encoder) EncodePair(s0, s1 int16) byte {
	odd, even := e.qmf.push(int32(s0), int32(s1))
	xlow := (odd + even) >> 14
	xhigh := (odd - even) >> 14

	// Upper band: 2-bit code.
	dh := sat16(xhigh - e.high.predicted)
	threshold := (141 * e.high.linearScale) >> 8
	mag := dh ^ (dh >> 31) // dh for dh >= 0, -dh-1 below
	var ihigh int32
	if mag < threshold {
		ihigh = 1
	}
	if dh >= 0 {
		ihigh += 2
	}

	// Lower band: 6-bit code.
	dl := sat16(xlow - e.low.predicted)
	limit := ((dl ^ (dl >> 31)) + 1) << 10
	i := 0
	if limit > lowQuantLevels[8]*e.low.linearScale {
		i = 9
	}
	for i < 29 && limit > lowQuantLevels[i]*e.low.linearScale {
		i++
	}
	var ilow int32
	switch {
	case dl >= 0:
		ilow = 61 - int32(i)
	case i < 2:
		ilow = 63 - int32(i)
	default:
		ilow = 33 - int32(i)
	}

	e.high.updateHigh((e.high.linearScale*highInvQuant[ihigh])>>10, ihigh)
	e.low.updateLow(ilow >> 2)
	return byte(ihigh<<6 | ilow)
}

// Encode appends the encoding of samples to dst and returns it: one byte
// for every two samples. An odd sample left over is kept for the next call
// (or Flush), so chunks of any size give the same bytes as one call.
func (e *Encoder) Encode(dst []byte, samples []int16) []byte {
	if len(samples) == 0 {
		return dst
	}
	if e.hasPending {
		dst = append(dst, e.EncodePair(e.pending, samples[0]))
		e.hasPending = false
		samples = samples[1:]
	}
	n := len(samples) &^ 1
	for i := 0; i < n; i += 2 {
		dst = append(dst, e.EncodePair(samples[i], samples[i+1]))
	}
	if n < len(samples) {
		e.pending, e.hasPending = samples[n], true
	}
	return dst
}

// Flush appends the byte of a pending odd sample, if any, and returns dst.
// Like ffmpeg, which encodes a last odd sample together with a copy of
// itself, the sample is paired with itself; the decoder then yields one
// sample more than was encoded. The codec state carries on: Flush does not
// Reset.
func (e *Encoder) Flush(dst []byte) []byte {
	if !e.hasPending {
		return dst
	}
	e.hasPending = false
	return append(dst, e.EncodePair(e.pending, e.pending))
}

// Decoder decodes G.722 at 64 kbit/s into 16 kHz 16-bit samples. The zero
// value is not ready: use NewDecoder.
type Decoder struct {
	low, high band
	qmf       qmfHistory
}

// NewDecoder returns a decoder at the start of a stream.
func NewDecoder() *Decoder {
	d := new(Decoder)
	d.Reset()
	return d
}

// Reset forgets all state: the next Decode starts a new stream.
func (d *Decoder) Reset() {
	d.low.reset(8)
	d.high.reset(2)
	d.qmf.reset()
}

// DecodeByte decodes one byte into two consecutive samples.
func (d *Decoder) DecodeByte(c byte) (s0, s1 int16) {
	ihigh := int32(c >> 6)
	ilow := int32(c & 63)

	rlow := clamp((d.low.linearScale*lowInvQuant6[ilow])>>10+d.low.predicted, -16384, 16383)
	d.low.updateLow(ilow >> 2)

	dh := (d.high.linearScale * highInvQuant[ihigh]) >> 10
	rhigh := clamp(dh+d.high.predicted, -16384, 16383)
	d.high.updateHigh(dh, ihigh)

	odd, even := d.qmf.push(rlow+rhigh, rlow-rhigh)
	return int16(sat16(odd >> 11)), int16(sat16(even >> 11))
}

// Decode appends the two samples of every byte of data to dst and returns
// it. Every byte is a valid code, so decoding cannot fail.
func (d *Decoder) Decode(dst []int16, data []byte) []int16 {
	for _, c := range data {
		s0, s1 := d.DecodeByte(c)
		dst = append(dst, s0, s1)
	}
	return dst
}
