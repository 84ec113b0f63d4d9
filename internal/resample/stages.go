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
type fftStage struct {
	rate     fftRate
	F, P, V  int  // FFT size, filter half-length, valid outputs per block (full rate)
	big      *fft // real FFTs of size F
	small    *fft // real FFTs of size F/2
	kr, ki   []float64
	block    []float64 // F (halve, keep) or F/2 (double) input samples
	sr, si   []float64 // spectra, F/2+1
	hr, hi   []float64 // spectra, F/4+1
	res      []float64 // F
	s        int64     // input index of the next block
	j        int64     // next output
	end      int64     // outputs end, when known
	ended    bool      // end is known
	inputLen int       // input samples per block: F or F/2
}

// newFFTStage builds a fast-convolution stage from the symmetric filter h
// (odd length, at the higher of the two rates) with FFT size F.
func newFFTStage(rate fftRate, h []float64, F int) *fftStage {
	P := len(h) / 2
	s := &fftStage{
		rate: rate, F: F, P: P, V: F - 2*P,
		big: newFFT(F / 2), small: newFFT(F / 4),
		kr: make([]float64, F/2+1), ki: make([]float64, F/2+1),
		sr: make([]float64, F/2+1), si: make([]float64, F/2+1),
		hr: make([]float64, F/4+1), hi: make([]float64, F/4+1),
		res: make([]float64, F),
	}
	s.inputLen = F
	if rate == fftDouble {
		s.inputLen = F / 2
	}
	s.block = make([]float64, s.inputLen)
	// Kernel K[(F-i) mod F] = h[i], so that the circular convolution at u
	// is Σ h[i]·block[u+i]: the filtered sample centred on block[u+P].
	k := make([]float64, F)
	for i, v := range h {
		k[(F-i)%F] = v / float64(F)
	}
	s.big.forwardReal(k, s.kr, s.ki)
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
	if !in.final && in.end() < s.s+int64(s.inputLen) {
		return false
	}
	// Outputs of this block: halve: (s+P)/2 + v, v < V/2; double: 2s+P+v;
	// keep: s+P+v.
	var first int64
	var count int
	hop := int64(s.V)
	switch s.rate {
	case fftHalve:
		first, count = (s.s+int64(s.P))/2, s.V/2
	case fftDouble:
		first, count = 2*s.s+int64(s.P), s.V
		hop = int64(s.V / 2)
	default:
		first, count = s.s+int64(s.P), s.V
	}
	skip := int(s.j - first)
	n := count - skip
	if s.ended {
		n = int(min(int64(n), s.end-s.j))
	}
	out.grow(max(n, 0))
	for c := range in.ch {
		// Copy the block, zeros beyond the input's end.
		lo := int(s.s - in.start) // never negative: in starts at firstIn
		avail := min(max(in.n-lo, 0), s.inputLen)
		if avail > 0 {
			copy(s.block, in.ch[c][in.off+lo:in.off+lo+avail])
		}
		clear(s.block[max(avail, 0):])
		res := s.filter()
		if n > 0 {
			copy(out.ch[c][out.off+out.n:out.off+out.n+n], res[skip:skip+n])
		}
	}
	if n > 0 {
		out.n += n
		s.j += int64(n)
	}
	s.s += hop
	in.discard(s.s)
	if s.ended && s.j >= s.end {
		out.final = true
	}
	return true
}

// filter runs one block through the filter and returns its valid outputs
// (at the output rate).
func (s *fftStage) filter() []float64 {
	F := s.F
	switch s.rate {
	case fftHalve:
		s.big.forwardReal(s.block, s.sr, s.si)
		mulSpectrum(s.sr, s.si, s.kr, s.ki)
		// Keeping every other sample folds the spectrum: D[k] = C[k] +
		// C[k+F/2] = C[k] + conj(C[F/2-k]).
		h := F / 2
		for k := 0; k <= F/4; k++ {
			s.hr[k] = s.sr[k] + s.sr[h-k]
			s.hi[k] = s.si[k] - s.si[h-k]
		}
		s.small.inverseReal(s.hr, s.hi, s.res[:h])
		return s.res[:s.V/2]
	case fftKeep:
		s.big.forwardReal(s.block, s.sr, s.si)
		mulSpectrum(s.sr, s.si, s.kr, s.ki)
		s.big.inverseReal(s.sr, s.si, s.res)
		return s.res[:s.V]
	}
	// Zero-stuffing repeats the spectrum: U[k] = X[k mod F/2].
	s.small.forwardReal(s.block, s.hr, s.hi)
	q := F / 4
	for k := 0; k <= q; k++ {
		s.sr[k], s.si[k] = s.hr[k], s.hi[k]
	}
	for k := q + 1; k <= F/2; k++ {
		s.sr[k], s.si[k] = s.hr[F/2-k], -s.hi[F/2-k]
	}
	mulSpectrum(s.sr, s.si, s.kr, s.ki)
	s.big.inverseReal(s.sr, s.si, s.res)
	return s.res[:s.V]
}

// mulSpectrum multiplies the spectrum a by b in place.
func mulSpectrum(ar, ai, br, bi []float64) {
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
