package elks

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
)

// renderer turns a source into what a Play sends: raw audio pieces of at
// most maxRawPerMessage bytes, each with the time it plays for, and
// boundaries (a loop iteration or playlist item ended: a checkpoint
// goes there). It is the one code path of both a private Play, which
// sends each piece as it comes, and a shared rendering (tape.go), which
// keeps them for many calls: a call of a shared rendering hears the very
// messages a private Play would send.
type renderer struct {
	src    pipeline.Source // at rate, mono
	enc    Encoder
	rate   int
	frames int       // frames per chunk
	pcm    []float32 // a chunk
	raw    []byte    // the encoding of a chunk
	// carry points at the audio of samples the codec kept for a later
	// frame: the session's own for a private Play (an exec program's
	// idle interrupt resets it), ownCarry for a shared rendering.
	carry    *time.Duration
	ownCarry time.Duration
	filled   int // frames of pcm waiting for a whole chunk
	empty    int // reads in a row that returned nothing
	// edge is set by the source's observer when a loop iteration or
	// playlist item ended during a Read.
	edge *atomic.Bool
	// ended says the codec ended its stream at the end (its Flush
	// emitted bytes): the next audio needs a fresh "sending".
	ended bool
	// prepare, if set, sees each chunk before it is encoded and returns
	// what to send of it (Session.beforeEncode); nothing is sent when it
	// returns no samples.
	prepare func(p []float32) []float32
}

// renderOut receives what a renderer makes, in order.
type renderOut interface {
	// piece takes raw audio (at most maxRawPerMessage bytes, not kept
	// past the call) that plays for d.
	piece(raw []byte, d time.Duration) error
	// boundary marks the end of a loop iteration or playlist item.
	boundary()
}

// chunkFrames is the number of frames of a chunk at rate.
func chunkFrames(rate int, chunk time.Duration) int {
	return max(1, int((int64(rate)*int64(chunk)+int64(time.Second)/2)/int64(time.Second)))
}

// newRenderer returns a renderer of src, already at rate, mono, in
// chunks of chunk, encoded with enc; pcm and raw are buffers to reuse.
func newRenderer(src pipeline.Source, enc Encoder, rate int, chunk time.Duration, edge *atomic.Bool, pcm []float32, raw []byte) *renderer {
	frames := chunkFrames(rate, chunk)
	if cap(pcm) < frames {
		pcm = make([]float32, frames)
	}
	r := &renderer{src: src, enc: enc, rate: rate, frames: frames, pcm: pcm[:frames], raw: raw, edge: edge}
	r.carry = &r.ownCarry
	return r
}

// step reads the source once and hands out what that completes. It
// returns done at the end of the stream (after the codec's flush) or on
// an error, which is the source's or out's.
func (r *renderer) step(out renderOut) (done bool, err error) {
	buf := r.pcm
	n, rerr := r.src.Read(buf[r.filled:])
	if n < 0 || n > r.frames-r.filled {
		return true, fmt.Errorf("source returned %d frames for a %d-frame buffer", n, r.frames-r.filled)
	}
	if r.edge.Swap(false) {
		// The boundary lies before the frames this Read returned.
		if r.filled > 0 {
			if err := r.send(out, buf[:r.filled]); err != nil {
				return true, err
			}
		}
		out.boundary()
		copy(buf, buf[r.filled:r.filled+n])
		r.filled = n
	} else {
		r.filled += n
	}
	if r.filled == r.frames {
		if err := r.send(out, buf); err != nil {
			return true, err
		}
		r.filled = 0
	}
	if rerr == io.EOF {
		if r.filled > 0 {
			if err := r.send(out, buf[:r.filled]); err != nil {
				return true, err
			}
			r.filled = 0
		}
		return true, r.flush(out)
	}
	if rerr != nil {
		return true, rerr
	}
	if n > 0 {
		r.empty = 0
	} else if r.empty++; r.empty >= pipeline.MaxEmptyReads {
		return true, fmt.Errorf("the source returned no audio and no error %d times in a row: %w", r.empty, io.ErrNoProgress)
	}
	return false, nil
}

// send encodes p and hands it out.
func (r *renderer) send(out renderOut, p []float32) error {
	if r.prepare != nil {
		if p = r.prepare(p); len(p) == 0 {
			return nil
		}
	}
	r.raw = r.enc.Encode(r.raw[:0], p)
	return r.sendEncoded(out, r.raw, frameDur(len(p), r.rate))
}

// sendEncoded hands out raw, which plays for d, split into pieces that
// stay within MaxMessageSize.
func (r *renderer) sendEncoded(out renderOut, raw []byte, d time.Duration) error {
	d += *r.carry
	*r.carry = 0
	if len(raw) == 0 {
		*r.carry = d // the codec keeps the samples for a later frame
		return nil
	}
	total := len(raw)
	var done time.Duration
	for off := 0; off < total; {
		n := min(maxRawPerMessage, total-off)
		end := time.Duration(int64(d) * int64(off+n) / int64(total))
		if err := out.piece(raw[off:off+n], end-done); err != nil {
			return err
		}
		done = end
		off += n
	}
	return nil
}

// flush hands out what the codec still holds; a codec that ends its
// stream there sets ended.
func (r *renderer) flush(out renderOut) error {
	r.raw = r.enc.Flush(r.raw[:0])
	if len(r.raw) == 0 {
		*r.carry = 0
		return nil
	}
	if err := r.sendEncoded(out, r.raw, 0); err != nil {
		return err
	}
	r.ended = true
	return nil
}

// sessionOut sends what a renderer makes to the caller of a session.
type sessionOut struct {
	s   *Session
	ctx context.Context
	gen uint64
}

func (o sessionOut) piece(raw []byte, d time.Duration) error {
	return o.s.sendPiece(o.ctx, o.gen, raw, d)
}

func (o sessionOut) boundary() { o.s.checkpoint() }
