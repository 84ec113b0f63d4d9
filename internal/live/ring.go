package live

// ring holds the newest samples of a stream, written once and read by
// every listener at a cursor of its own: an absolute sample index, so
// that a listener that falls more than the ring behind knows how much it
// lost. Memory is one ring per stream, however many listen.
type ring struct {
	buf     []float32
	written int64 // samples written since the start
}

func newRing(samples int) *ring { return &ring{buf: make([]float32, samples)} }

// push appends s, overwriting the oldest samples.
func (r *ring) push(s []float32) {
	if len(s) > len(r.buf) {
		r.written += int64(len(s) - len(r.buf))
		s = s[len(s)-len(r.buf):]
	}
	for len(s) > 0 {
		n := copy(r.buf[int(r.written%int64(len(r.buf))):], s)
		s = s[n:]
		r.written += int64(n)
	}
}

// oldest is the index of the oldest sample the ring still holds.
func (r *ring) oldest() int64 { return max(0, r.written-int64(len(r.buf))) }

// read copies the samples from index at (not before oldest) into p, as
// many as fit and have been written, and returns how many.
func (r *ring) read(at int64, p []float32) int {
	n := int(min(int64(len(p)), r.written-at))
	for done := 0; done < n; {
		done += copy(p[done:n], r.buf[int((at+int64(done))%int64(len(r.buf))):])
	}
	return n
}
