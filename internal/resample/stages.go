package resample

// signal holds a stretch of a multichannel signal, one slice per channel, at
// absolute sample indices start .. start+n.
type signal struct {
	ch    [][]float64
	off   int   // position of index start in ch[c]
	n     int   // samples held
	start int64 // absolute index of the first sample held
	final bool  // the producer will add nothing more
}

func (b *signal) end() int64 { return b.start + int64(b.n) }

// grow makes room for k more samples after the held ones.
func (b *signal) grow(k int) {
	size := len(b.ch[0])
	if b.off+b.n+k <= size {
		return
	}
	if b.n+k <= size && b.off >= b.n {
		for c := range b.ch {
			copy(b.ch[c], b.ch[c][b.off:b.off+b.n])
		}
		b.off = 0
		return
	}
	size = max(2*(b.n+k), 1024)
	for c := range b.ch {
		s := make([]float64, size)
		copy(s, b.ch[c][b.off:b.off+b.n])
		b.ch[c] = s
	}
	b.off = 0
}

// discard drops the samples below absolute index i.
func (b *signal) discard(i int64) {
	d := int(min(max(i-b.start, 0), int64(b.n)))
	b.off += d
	b.n -= d
	b.start += int64(d)
	if b.n == 0 {
		b.off = 0
	}
}

// padTo appends zeros up to absolute index e.
func (b *signal) padTo(e int64) {
	if k := int(e - b.end()); k > 0 {
		b.grow(k)
		for c := range b.ch {
			clear(b.ch[c][b.off+b.n : b.off+b.n+k])
		}
		b.n += k
	}
}

// stage is one step of the conversion, filtering every channel of its
// input buffer into its output buffer.
type stage interface {
	// start sets the index of the first output the stage produces.
	start(j0 int64)
	// firstIn returns the lowest input index the stage reads.
	firstIn() int64
	// setEnd sets the end (exclusive) of the outputs to produce.
	setEnd(end int64)
	// inEnd returns the end of the input that outputs below end depend on.
	inEnd(end int64) int64
	// run computes what it can; it reports whether it made progress.
	run(in, out *signal) bool
}

// polyStage is a direct-form polyphase FIR converting by L/M.
type polyStage struct {
	L, M  int
	t     *polyTable
	j     int64 // next output
	q     int64 // its input position is q + r/L
	r     int
	end   int64 // outputs end, when known
	ended bool  // end is known
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func (s *polyStage) start(j0 int64) {
	s.j = j0
	s.q = floorDiv(j0*int64(s.M), int64(s.L))
	s.r = int(j0*int64(s.M) - s.q*int64(s.L))
	s.ended = false
}

func (s *polyStage) firstIn() int64 { return s.q - int64(s.t.off) }

func (s *polyStage) setEnd(end int64) { s.end, s.ended = max(end, s.j), true }

func (s *polyStage) inEnd(end int64) int64 {
	if end <= s.j {
		return s.firstIn()
	}
	return floorDiv((end-1)*int64(s.M), int64(s.L)) - int64(s.t.off) + int64(s.t.taps)
}

func (s *polyStage) run(in, out *signal) bool {
	if s.ended && s.j >= s.end {
		out.final = true
		return false
	}
	if in.final {
		in.padTo(s.inEnd(s.end))
	}
	// Outputs j with q_j - off + T <= in.end(): q_j <= e.
	e := in.end() + int64(s.t.off) - int64(s.t.taps)
	if e < s.q {
		return false
	}
	last := floorDiv((e+1)*int64(s.L)-1, int64(s.M)) // last j with floor(jM/L) <= e
	n := last - s.j + 1
	if s.ended {
		n = min(n, s.end-s.j)
	}
	n = min(n, runChunk)
	if n <= 0 {
		return false
	}
	out.grow(int(n))
	var q int64
	var r int
	row := int(s.j % int64(s.L))
	if row < 0 {
		row += s.L
	}
	for c := range in.ch {
		dst := out.ch[c][out.off+out.n : out.off+out.n+int(n)]
		q, r = polyRun(s.t, s.L, s.M, dst, in.ch[c][in.off:in.off+in.n], in.start, s.q, s.r, row, int(n))
	}
	out.n += int(n)
	s.j += n
	s.q, s.r = q, r
	in.discard(s.q - int64(s.t.off))
	if s.ended && s.j >= s.end {
		out.final = true
	}
	return true
}

// fftRate says what a fast-convolution stage does to the rate.
type fftRate int

const (
	fftHalve  fftRate = iota // keeps every other filtered sample
	fftDouble                // filters the input with zeros between its samples
	fftKeep                  // filters at the input's rate
)

// fftStage filters by fast convolution (overlap-save) with a symmetric
// FIR of 2P+1 taps, and halves the rate, doubles it or keeps it.
//
// It filters two consecutive blocks of a channel at once, as the real and
// imaginary parts of one complex signal: the filter is real, so the two
// come out apart in the real and imaginary parts of the result, and no
// real-FFT packing is needed. Halving folds the spectrum before a half-size
// inverse; doubling repeats the half-size spectrum of the input. The
// spectra stay in the bit-reversed order that cfft works in, where the
// bins k and k+n/2 that folding adds, and that repeating duplicates, are
// neighbours.
type fftStage struct {
	rate     fftRate
	F, P, V  int       // FFT size, filter half-length, valid outputs per block (full rate)
	big      *cfft     // complex FFTs of size F
	small    *cfft     // complex FFTs of size F/2
	kr, ki   []float64 // the filter's spectrum / F, bit-reversed, F long
	re, im   []float64 // work space, F long
	s        int64     // input index of the next pair of blocks
	j        int64     // next output
	end      int64     // outputs end, when known
	ended    bool      // end is known
	inputLen int       // input samples per block: F or F/2
	hop      int       // input samples from one block to the next
	count    int       // outputs per block
}

// newFFTStage builds a fast-convolution stage from the symmetric filter h
// (odd length, at the higher of the two rates) with FFT size F.
func newFFTStage(rate fftRate, h []float64, F int) *fftStage {
	P := len(h) / 2
	s := &fftStage{
		rate: rate, F: F, P: P, V: F - 2*P,
		big: newCFFT(F), small: newCFFT(F / 2),
		kr: make([]float64, F), ki: make([]float64, F),
		inputLen: F, hop: F - 2*P, count: F - 2*P,
	}
	switch rate {
	case fftHalve:
		s.count = s.V / 2
	case fftDouble:
		s.inputLen, s.hop = F/2, s.V/2
	}
	s.re, s.im = make([]float64, F), make([]float64, F)
	// Kernel K[(F-i) mod F] = h[i], so that the circular convolution at u
	// is Σ h[i]·block[u+i]: the filtered sample centred on block[u+P].
	for i, v := range h {
		s.kr[(F-i)%F] = v / float64(F)
	}
	s.big.forward(s.kr, s.ki)
	return s
}

func (s *fftStage) start(j0 int64) {
	s.j = j0
	s.ended = false
	switch s.rate {
	case fftHalve:
		// Block at s yields full-rate samples s+P+u, outputs (s+P)/2+v.
		s.s = 2*j0 - int64(s.P)
	case fftDouble:
		// Block at s yields outputs 2s+P+u.
		s.s = floorDiv(j0-int64(s.P), 2)
	default:
		// Block at s yields outputs s+P+u.
		s.s = j0 - int64(s.P)
	}
}

func (s *fftStage) firstIn() int64 { return s.s }

func (s *fftStage) setEnd(end int64) { s.end, s.ended = max(end, s.j), true }

func (s *fftStage) inEnd(end int64) int64 {
	if end <= s.j {
		return s.s
	}
	switch s.rate {
	case fftHalve:
		return 2*(end-1) + int64(s.P) + 1
	case fftDouble:
		return floorDiv(end-1+int64(s.P), 2) + 1
	}
	return end + int64(s.P)
}

func (s *fftStage) run(in, out *signal) bool {
	if s.ended && s.j >= s.end {
		out.final = true
		return false
	}
	// Two blocks: at s and at s+hop.
	if !in.final && in.end() < s.s+int64(s.hop+s.inputLen) {
		return false
	}
	// Outputs of the first block: halve: (s+P)/2 + v, v < V/2; double:
	// 2s+P+v; keep: s+P+v. The second block's follow them.
	var first int64
	switch s.rate {
	case fftHalve:
		first = (s.s + int64(s.P)) / 2
	case fftDouble:
		first = 2*s.s + int64(s.P)
	default:
		first = s.s + int64(s.P)
	}
	skip := int(s.j - first)
	n := 2*s.count - skip
	if s.ended {
		n = int(min(int64(n), s.end-s.j))
	}
	out.grow(max(n, 0))
	for c := range in.ch {
		lo := int(s.s - in.start) // never negative: in starts at firstIn
		s.load(s.re, in.ch[c][in.off:in.off+in.n], lo)
		s.load(s.im, in.ch[c][in.off:in.off+in.n], lo+s.hop)
		s.filter()
		if n > 0 {
			dst := out.ch[c][out.off+out.n : out.off+out.n+n]
			a := max(s.count-skip, 0)
			if a > 0 {
				copy(dst, s.re[skip:s.count])
			}
			copy(dst[min(a, n):], s.im[max(skip-s.count, 0):s.count])
		}
	}
	if n > 0 {
		out.n += n
		s.j += int64(n)
	}
	s.s += 2 * int64(s.hop)
	in.discard(s.s)
	if s.ended && s.j >= s.end {
		out.final = true
	}
	return true
}

// load copies the block of x starting at lo into dst, with zeros beyond
// the end of x.
func (s *fftStage) load(dst, x []float64, lo int) {
	dst = dst[:s.inputLen]
	avail := min(max(len(x)-lo, 0), s.inputLen)
	if avail > 0 {
		copy(dst, x[lo:lo+avail])
	}
	clear(dst[avail:])
}

// filter runs the two blocks in re and im through the filter: the first
// block's outputs come out in re[:count], the second's in im[:count].
func (s *fftStage) filter() {
	F := s.F
	re, im := s.re[:F], s.im[:F]
	switch s.rate {
	case fftHalve:
		s.big.forward(re, im)
		mulSpectrum(re, im, s.kr, s.ki)
		// Keeping every other sample folds the spectrum: D[k] = C[k] +
		// C[k+F/2], neighbours in bit-reversed order.
		for m := 0; m < F/2; m++ {
			re[m] = re[2*m] + re[2*m+1]
			im[m] = im[2*m] + im[2*m+1]
		}
		s.small.inverse(re[:F/2], im[:F/2])
	case fftDouble:
		// Zero-stuffing repeats the spectrum: U[k] = U[k+F/2] = X[k],
		// neighbours in bit-reversed order.
		s.small.forward(re[:F/2], im[:F/2])
		for m := F/2 - 1; m >= 0; m-- {
			re[2*m], re[2*m+1] = re[m], re[m]
			im[2*m], im[2*m+1] = im[m], im[m]
		}
		mulSpectrum(re, im, s.kr, s.ki)
		s.big.inverse(re, im)
	default:
		s.big.forward(re, im)
		mulSpectrum(re, im, s.kr, s.ki)
		s.big.inverse(re, im)
	}
}

// mulSpectrumGo multiplies the spectrum a by b in place. It is mulSpectrum
// where there is no assembly.
func mulSpectrumGo(ar, ai, br, bi []float64) {
	br = br[:len(ar)]
	bi = bi[:len(ar)]
	ai = ai[:len(ar)]
	for k := range ar {
		r := ar[k]*br[k] - ai[k]*bi[k]
		ai[k] = ar[k]*bi[k] + ai[k]*br[k]
		ar[k] = r
	}
}

// runChunk bounds the outputs a stage computes in one go.
const runChunk = 4096
