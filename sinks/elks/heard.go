package elks

import "time"

// heardTrack reconstructs what the caller heard, for the right channel of
// a two-sided recording (Config.RecordMode RecordBoth). It is a plain
// value, like window: no locks, clock or goroutines; times are offsets
// from the start of the recording, on the clock on which the caller's
// audio arrives.
//
// The API plays a piece of audio when it arrives if its buffer is empty,
// otherwise when the pieces before it have played; an interrupt discards
// what has not played. The session knows when it sent each piece, and a
// sync reply tells when the audio before its checkpoint had played — as
// seen from here, one network delay later, which is also how late the
// caller's audio arrives: so the moments the replies give fall on the
// same clock as the caller's audio, and the two channels line up.
//
// Each piece sent waits (pending) until the reply to a checkpoint after
// it comes. The pieces up to that checkpoint are then placed: if they
// were all sent while the audio before them still played, back to back
// after it; otherwise so that the last one ends when the reply came, each
// starting when the one before it ends or lag after it was sent, where
// lag (from sending to playing into an empty buffer: a round trip) is
// solved from the reply. An interrupt places the pending pieces with
// the last lag and cuts them at the moment it reached the API; so does
// the end of the call, and force, for a call whose replies do not come.
type heardTrack struct {
	rate    int
	lag     time.Duration // send to play into an empty buffer, from the last reply
	end     int64         // the frame where the audio placed so far ends
	pending []heardPiece  // sent, not yet placed, in order
	placed  []placedPiece // placed, not yet taken, in order
	taken   int64         // the frames taken so far: nothing is placed before
}

// heardPiece is a piece of audio sent and not yet placed.
type heardPiece struct {
	pcm    []float32     // at the track's rate
	sentAt time.Duration // when it was sent
	endPos time.Duration // the audio sent so far after it (window.sent.dur)
}

// dur is how long the piece plays.
func (p heardPiece) dur(rate int) time.Duration {
	return time.Duration(int64(len(p.pcm)) * int64(time.Second) / int64(rate))
}

// placedPiece is audio the caller heard, from frame start of the track.
type placedPiece struct {
	start int64
	pcm   []float32
}

// add records a piece sent at sentAt, after which endPos of audio had
// been sent in all. The track keeps pcm.
func (h *heardTrack) add(pcm []float32, sentAt, endPos time.Duration) {
	h.pending = append(h.pending, heardPiece{pcm: pcm, sentAt: sentAt, endPos: endPos})
}

// anchor takes the reply, arrived at at, to the checkpoint after pos of
// audio: the pieces up to it had played by then.
func (h *heardTrack) anchor(pos, at time.Duration) {
	n := 0
	for n < len(h.pending) && h.pending[n].endPos <= pos {
		n++
	}
	if n == 0 {
		return
	}
	ps := h.pending[:n]
	// With the lag so far, did a piece reach an empty buffer?
	dry, end := false, h.endTime()
	var total, latest time.Duration // all the pieces; the latest end if one played on arrival
	for i, p := range ps {
		if p.sentAt+h.lag >= end {
			dry = true
		}
		end = max(end, p.sentAt+h.lag) + p.dur(h.rate)
		j := len(ps) - 1 - i
		total += ps[j].dur(h.rate)
		latest = max(latest, ps[j].sentAt+total)
	}
	if dry {
		// A piece played on arrival: the reply measures the lag.
		h.lag = max(0, at-latest)
		h.placeForward(ps, -1)
	} else {
		// They were queued behind audio that was playing, so they
		// played back to back after it; a reply later than that is
		// the network's jitter.
		for _, p := range ps {
			h.place(0, p.pcm)
		}
	}
	h.pending = h.dropFirst(n)
}

// interrupt places what was pending by the last lag, cut at the moment
// the interrupt sent at at reached the API.
func (h *heardTrack) interrupt(at time.Duration) {
	h.placeForward(h.pending, at+h.lag)
	h.pending = h.dropFirst(len(h.pending))
}

// finish places what is pending at the end of the call, at at: what
// would have played after it was never heard.
func (h *heardTrack) finish(at time.Duration) {
	h.placeForward(h.pending, at)
	h.pending = h.dropFirst(len(h.pending))
}

// force places, by the last lag, the pending pieces that would have
// started before until: for a call whose replies are late, so that the
// recording need not wait for ever.
func (h *heardTrack) force(until time.Duration) {
	n := 0
	end := h.endTime()
	for n < len(h.pending) {
		p := h.pending[n]
		start := max(end, p.sentAt+h.lag)
		if start >= until {
			break
		}
		end = start + p.dur(h.rate)
		n++
	}
	h.placeForward(h.pending[:n], -1)
	h.pending = h.dropFirst(n)
}

// placeForward places ps one after the other, each when the one before
// it ends or lag after it was sent, whichever is later, and cuts them at
// cut (none when cut < 0).
func (h *heardTrack) placeForward(ps []heardPiece, cut time.Duration) {
	for _, p := range ps {
		start := max(h.endTime(), p.sentAt+h.lag)
		pcm := p.pcm
		if cut >= 0 {
			if start >= cut {
				return
			}
			if keep := durFrames(cut-start, h.rate); keep < int64(len(pcm)) {
				pcm = pcm[:keep]
			}
		}
		h.place(start, pcm)
	}
}

// place puts pcm on the track from start (never before the end of what
// is there) and moves the end after it.
func (h *heardTrack) place(start time.Duration, pcm []float32) {
	f := max(h.end, h.taken, durFrames(max(0, start), h.rate))
	h.placed = append(h.placed, placedPiece{start: f, pcm: pcm})
	h.end = f + int64(len(pcm))
}

// endTime returns the time where the audio placed so far ends.
func (h *heardTrack) endTime() time.Duration {
	return time.Duration(h.end * int64(time.Second) / int64(h.rate))
}

// dropFirst removes the first n pending pieces.
func (h *heardTrack) dropFirst(n int) []heardPiece {
	k := copy(h.pending, h.pending[n:])
	clear(h.pending[k:])
	return h.pending[:k]
}

// settled returns the time up to which the track can no longer change,
// at now: everything placed, and nothing pending can play before it.
func (h *heardTrack) settled(now time.Duration) time.Duration {
	if len(h.pending) == 0 {
		return max(now, h.endTime())
	}
	return max(h.endTime(), h.pending[0].sentAt)
}

// take writes the heard audio of frames [from, from+len(dst)) into dst
// (silence where nothing played) and forgets the placed audio that ends
// before from+len(dst).
func (h *heardTrack) take(from int64, dst []float32) {
	clear(dst)
	to := from + int64(len(dst))
	h.taken = max(h.taken, to)
	n := 0
	for _, p := range h.placed {
		if p.start >= to {
			break
		}
		lo, hi := max(p.start, from), min(p.start+int64(len(p.pcm)), to)
		if lo < hi {
			copy(dst[lo-from:hi-from], p.pcm[lo-p.start:hi-p.start])
		}
		if p.start+int64(len(p.pcm)) <= to {
			n++
		} else {
			break
		}
	}
	k := copy(h.placed, h.placed[n:])
	clear(h.placed[k:])
	h.placed = h.placed[:k]
}
