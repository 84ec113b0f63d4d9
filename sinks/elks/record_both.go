package elks

import (
	"fmt"
	"sync"
	"time"

	"github.com/elkspipe/elkspipe/sinks/elks/internal/callfile"
)

// RecordMode says what the recording of a call (Config.Record) holds.
type RecordMode string

// The record modes.
const (
	// RecordCaller records the caller's audio alone: a mono WAV file.
	RecordCaller RecordMode = "caller"
	// RecordBoth records both sides: a stereo WAV file with the caller
	// on the left channel and what the caller heard on the right, on the
	// call's clock (see Config.RecordMode).
	RecordBoth RecordMode = "both"
)

// recordModes are the values of the record-mode parameter.
var recordModes = []string{string(RecordCaller), string(RecordBoth)}

// checkRecordMode refuses an unknown mode, and RecordBoth for the formats
// that pass files through (what the caller heard is not decoded here).
func checkRecordMode(m RecordMode, send FormatInfo, record string) error {
	switch m {
	case "", RecordCaller:
		return nil
	case RecordBoth:
		if send.File {
			return fmt.Errorf("record-mode=both records what the caller heard, which format=%s passes through as whole files, "+
				"undecoded: use a sample format (pcm_16000, ulaw, alaw, g722, ogg ...)", send.Format)
		}
		if record == "" {
			return fmt.Errorf("record-mode=both says what record= holds: give record=PATH.wav too")
		}
		return nil
	}
	return fmt.Errorf("record-mode=%s: want caller or both", m)
}

// Timing of the two-sided recording's writer.
const (
	// bothHold is how long the caller's audio may wait for the heard
	// side to settle (the sync replies that place it) before the heard
	// side is placed by estimate: it bounds the memory of a call whose
	// replies do not come.
	bothHold = 10 * time.Second
	// bothTick is how often the writer looks at the clock when no caller
	// audio comes.
	bothTick = 500 * time.Millisecond
	// bothLate is how late the caller's audio may be before the writer
	// takes it for silence (and writes the heard side alone).
	bothLate = time.Second
	// bothRealign is how far the caller's audio may fall behind its
	// arrival times (messages left out) before silence fills the hole.
	bothRealign = 60 * time.Millisecond
)

// heardFeed is the session's side of a two-sided recording: the heard
// track under a lock of its own (taken under Session.mu when both are),
// on the recording's clock.
type heardFeed struct {
	mu       sync.Mutex
	t        heardTrack
	full     bool      // the recording is at its longest: nothing more is kept
	origin   time.Time // the start of the recording
	sendRate int       // the rate of the audio the session sends
}

// newHeardFeed returns the heard side of a recording at rate that started
// at origin, for audio sent at sendRate.
func newHeardFeed(origin time.Time, rate, sendRate int) *heardFeed {
	return &heardFeed{t: heardTrack{rate: rate}, origin: origin, sendRate: sendRate}
}

// add records audio sent now, after which endPos of audio had been sent.
// It copies pcm (at the sending rate), converted to the recording's rate.
func (f *heardFeed) add(pcm []float32, endPos time.Duration) {
	f.mu.Lock()
	full := f.full
	f.mu.Unlock()
	if full {
		return
	}
	cp := resampleLinear(pcm, f.sendRate, f.t.rate)
	f.mu.Lock()
	f.t.add(cp, time.Since(f.origin), endPos)
	f.mu.Unlock()
}

// anchor takes a sync reply, arrived now, to the checkpoint after pos.
func (f *heardFeed) anchor(pos time.Duration) {
	f.mu.Lock()
	f.t.anchor(pos, time.Since(f.origin))
	f.mu.Unlock()
}

// interrupt takes an interrupt sent now.
func (f *heardFeed) interrupt() {
	f.mu.Lock()
	f.t.interrupt(time.Since(f.origin))
	f.mu.Unlock()
}

// resampleLinear returns a copy of pcm converted from rate from to rate
// to by linear interpolation (a copy alone when they are equal).
func resampleLinear(pcm []float32, from, to int) []float32 {
	if from == to || from <= 0 || to <= 0 {
		return append([]float32(nil), pcm...)
	}
	n := int(int64(len(pcm)) * int64(to) / int64(from))
	out := make([]float32, n)
	for i := range out {
		x := float64(i) * float64(from) / float64(to)
		j := int(x)
		if j+1 >= len(pcm) {
			out[i] = pcm[len(pcm)-1]
			continue
		}
		fr := float32(x - float64(j))
		out[i] = pcm[j]*(1-fr) + pcm[j+1]*fr
	}
	return out
}

// stereoWriter writes a two-sided recording: the caller's audio on the
// left, as it arrives, and the heard side on the right, once it has
// settled. It runs on the recording's writer goroutine.
type stereoWriter struct {
	rec     *callfile.Recorder
	heard   *heardFeed
	rate    int
	max     int64     // the most frames
	left    []float32 // caller audio not yet written, from frame written
	written int64
	right   []float32 // scratch: the heard side of what is written
	frames  []float32 // scratch: interleaved frames
}

// frameAt returns the frame of the recording at t.
func (w *stereoWriter) frameAt(t time.Time) int64 {
	return durFrames(max(0, t.Sub(w.heard.origin)), w.rate)
}

// leftEnd returns the frame where the caller's audio received ends.
func (w *stereoWriter) leftEnd() int64 { return w.written + int64(len(w.left)) }

// padLeft fills the caller's side with silence up to frame f (at most
// the recording's longest).
func (w *stereoWriter) padLeft(f int64) {
	if n := min(f, w.max) - w.leftEnd(); n > 0 {
		w.left = append(w.left, make([]float32, n)...)
	}
}

// caller takes caller audio that arrived at at and writes what can be.
func (w *stereoWriter) caller(pcm []float32, at time.Time) error {
	if room := w.max - w.leftEnd(); room < int64(len(pcm)) {
		pcm = pcm[:max(0, room)]
	}
	start := w.frameAt(at) - int64(len(pcm))
	if start-w.leftEnd() > durFrames(bothRealign, w.rate) {
		w.padLeft(start) // messages were left out: keep the clock
	}
	w.left = append(w.left, pcm...)
	return w.flush(time.Now(), false)
}

// tick writes what can be when no caller audio comes: caller audio more
// than bothLate late counts as silence.
func (w *stereoWriter) tick(now time.Time) error {
	w.padLeft(w.frameAt(now.Add(-bothLate)))
	return w.flush(now, false)
}

// flush writes the frames whose both sides are known at now; final
// writes everything, the heard side cut at now (the call is over).
func (w *stereoWriter) flush(now time.Time, final bool) error {
	h := w.heard
	h.mu.Lock()
	at := now.Sub(h.origin)
	var upto int64
	if final {
		h.t.finish(at)
		w.padLeft(h.t.end)
		upto = w.leftEnd()
	} else {
		settled := durFrames(h.t.settled(at), w.rate)
		if hold := durFrames(bothHold, w.rate); w.leftEnd()-settled > hold {
			limit := w.leftEnd() - hold
			h.t.force(time.Duration(limit * int64(time.Second) / int64(w.rate)))
			settled = max(limit, durFrames(h.t.settled(at), w.rate))
		}
		upto = min(w.leftEnd(), settled)
	}
	n := min(upto, w.max) - w.written
	if n <= 0 {
		if w.written >= w.max && !h.full {
			// At its longest: the heard side keeps nothing more.
			h.full = true
			h.t = heardTrack{rate: h.t.rate, taken: h.t.taken}
		}
		h.mu.Unlock()
		return nil
	}
	if int64(cap(w.right)) < n {
		w.right = make([]float32, n)
	}
	right := w.right[:n]
	h.t.take(w.written, right)
	h.mu.Unlock()
	if int64(cap(w.frames)) < 2*n {
		w.frames = make([]float32, 2*n)
	}
	fr := w.frames[:2*n]
	for i := range right {
		fr[2*i], fr[2*i+1] = w.left[i], right[i]
	}
	k := copy(w.left, w.left[n:])
	w.left = w.left[:k]
	w.written += n
	return w.rec.Write(fr)
}
