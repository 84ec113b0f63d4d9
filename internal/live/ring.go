package live

// ring is a bounded queue of interleaved samples that drops its oldest
// samples when more are pushed than it holds.
type ring struct {
	buf        []float32
	start, len int
}

func newRing(samples int) *ring { return &ring{buf: make([]float32, samples)} }

// push appends s and returns how many old samples it dropped to make room
// (s itself is cut to its newest part if it is longer than the ring).
func (r *ring) push(s []float32) (dropped int) {
	if len(s) > len(r.buf) {
		dropped = len(s) - len(r.buf)
		s = s[dropped:]
	}
	if over := r.len + len(s) - len(r.buf); over > 0 {
		r.discard(over)
		dropped += over
	}
	end := (r.start + r.len) % len(r.buf)
	n := copy(r.buf[end:], s)
	copy(r.buf, s[n:])
	r.len += len(s)
	return dropped
}

// read moves up to len(p) of the oldest samples into p.
func (r *ring) read(p []float32) int {
	n := min(len(p), r.len)
	first := min(n, len(r.buf)-r.start)
	copy(p, r.buf[r.start:r.start+first])
	copy(p[first:n], r.buf)
	r.discard(n)
	return n
}

// discard drops the n oldest samples (at most all).
func (r *ring) discard(n int) {
	n = min(n, r.len)
	r.start = (r.start + n) % len(r.buf)
	r.len -= n
	if r.len == 0 {
		r.start = 0
	}
}

// last copies the newest n samples (at most all) into a new slice.
func (r *ring) last(n int) []float32 {
	n = min(n, r.len)
	out := make([]float32, n)
	from := (r.start + r.len - n) % len(r.buf)
	first := min(n, len(r.buf)-from)
	copy(out, r.buf[from:from+first])
	copy(out[first:], r.buf)
	return out
}
