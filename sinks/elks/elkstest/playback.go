package elkstest

import (
	"fmt"
	"math"
	"time"

	"github.com/elkspipe/elkspipe/sinks/elks"
)

// segment is a piece of decoded audio in the playback buffer, playing from
// start to end (call time).
type segment struct {
	start, end time.Duration
	arrived    time.Duration // call time its message arrived
	frames     int64
	rate       int
	bytes      int64         // audio bytes as sent that it stands for
	samples    []float32     // mono samples, kept only when recording
	silence    time.Duration // heard before it: the buffer had run dry, or the call had just begun
}

func (c *call) onAudio(t time.Duration, data []byte) {
	c.rep.Audio.Messages++
	c.rep.Audio.Bytes += int64(len(data))
	switch {
	case !c.haveSending:
		c.problem(t, AudioBeforeSending, "audio (%d bytes) before any sending: ignored", len(data))
		return
	case c.interrupted:
		c.problem(t, AudioAfterInterrupt, "audio (%d bytes) after interrupt and before a new sending: ignored", len(data))
		return
	case !c.decodable:
		return // reported at the sending
	}
	if c.file != nil {
		c.feedFile(t, data)
	} else {
		c.decodeAudio(t, data)
	}
	if !c.ended {
		c.checkBuffer(t)
	}
}

// decodeAudio plays a message of a sample format (PCM, G.711, ...).
func (c *call) decodeAudio(t time.Duration, data []byte) {
	info, _ := c.format.Info()
	compares := c.compares()
	if size := sampleSize(c.format); c.rec == nil && !compares && size > 0 && len(data)%size == 0 {
		// Nothing keeps or compares the samples: their count is all that
		// matters, and every byte string of whole samples is valid audio.
		c.addAudio(t, int64(len(data)/size), info.Rate, int64(len(data)), nil)
		return
	}
	dst := c.scratch[:0]
	if c.rec != nil {
		dst = make([]float32, 0, len(data)) // kept until played
	}
	out, err := c.dec.Decode(dst, data)
	if err != nil {
		c.problem(t, Undecodable, "%s audio: %v", c.format, err)
		return
	}
	frames := int64(len(out))
	samples := out
	if c.rec == nil {
		c.scratch, out = out[:0], nil
	}
	c.addAudio(t, frames, info.Rate, int64(len(data)), out)
	if compares {
		c.heard.add(c.playEnd-frameDur(frames, info.Rate), samples, info.Rate)
	}
}

// sampleSize is the bytes of one sample of a stateless sample format
// (16-bit PCM, G.711), 0 for the others.
func sampleSize(f elks.Format) int {
	switch f {
	case elks.PCM8000, elks.PCM16000, elks.PCM24000:
		return 2
	case elks.ULaw, elks.ALaw:
		return 1
	}
	return 0
}

// compares reports whether the call compares what the caller heard with
// what it said (the echo) or with the digits it pressed (the replies).
func (c *call) compares() bool { return c.opt.Say != nil || len(c.rep.Digits) > 0 }

// frameDur is the length of frames at rate.
func frameDur(frames int64, rate int) time.Duration {
	return time.Duration(frames * int64(time.Second) / int64(rate))
}

// addAudio queues decoded audio that arrived at t.
func (c *call) addAudio(t time.Duration, frames int64, rate int, bytes int64, samples []float32) {
	c.rep.Audio.Seconds += float64(frames) / float64(rate)
	if frames == 0 {
		return
	}
	c.advance(t)
	s := segment{arrived: t, frames: frames, rate: rate, bytes: bytes, samples: samples}
	if c.playEnd >= t || !c.started {
		s.start = max(c.playEnd, t)
		if !c.started {
			c.started, c.firstAt = true, t
			c.rep.FirstAudio = t.Seconds()
			// The caller heard silence from the call's start: the
			// recording starts with it, so that it runs in call time.
			s.silence = s.start
		}
	} else {
		s.start = t
		s.silence = t - c.playEnd
		if !c.dryByStop {
			g := Gap{At: c.playEnd.Seconds(), Heard: (c.playEnd - c.firstAt).Seconds(), Seconds: s.silence.Seconds()}
			c.rep.Gaps.Count++
			c.rep.Gaps.Seconds += g.Seconds
			if len(c.rep.Gaps.List) < 1000 {
				c.rep.Gaps.List = append(c.rep.Gaps.List, g)
			}
			if c.rep.Gaps.Count <= 3 {
				c.log.Warn("playback ran dry", "at", g.At, "seconds", g.Seconds)
			}
		}
	}
	c.dryByStop = false
	s.end = s.start + frameDur(frames, rate)
	c.playEnd = s.end
	c.segBytes += bytes
	if last := len(c.segs) - 1; last >= c.head && c.joins(&c.segs[last], &s) {
		c.segs[last].end = s.end
		c.segs[last].frames += s.frames
		c.segs[last].bytes += s.bytes
		return
	}
	c.segs = append(c.segs, s)
}

// joins reports whether s, just arrived, can be played as the rest of
// prev: it follows prev without silence, at its rate and at its bytes per
// frame (buffered counts a segment's bytes as played evenly over it: Ogg
// Opus and a file's header are not even), and neither keeps samples
// (recording) nor is needed for what it stands for on its own (when it
// arrived, to tell what the caller heard after a key press). A call that
// only counts what it hears at PCM or G.711 keeps one segment for all its
// audio buffered, not one per message: at 10,000 calls the segments were
// a third of the simulator's heap, and the garbage collector scanned them
// all.
func (c *call) joins(prev, s *segment) bool {
	return s.silence == 0 && s.start == prev.end && s.rate == prev.rate &&
		s.bytes*prev.frames == prev.bytes*s.frames &&
		s.samples == nil && prev.samples == nil && len(c.rep.Digits) == 0
}

// segsCompact is how many played segments the buffer may keep at its
// head before they are let go.
const segsCompact = 32

// advance plays, up to t, the segments that end by then.
func (c *call) advance(t time.Duration) {
	for c.head < len(c.segs) && c.segs[c.head].end <= t {
		s := &c.segs[c.head]
		c.play(s, s.frames)
		c.segBytes -= s.bytes
		*s = segment{}
		c.head++
	}
	if c.head == len(c.segs) {
		c.segs, c.head = c.segs[:0], 0
	} else if c.head >= segsCompact && c.head > len(c.segs)/2 {
		// The buffer of a call that plays on never empties: the played
		// segments are let go once they are half of the slice, so that
		// it holds a few dozen segments, not thousands (at 10,000 calls
		// they were a third of the simulator's heap), with each
		// segment copied at most once per time its slice halves.
		n := copy(c.segs, c.segs[c.head:])
		clear(c.segs[n:])
		c.segs, c.head = c.segs[:n], 0
	}
}

// play records that frames of s were heard.
func (c *call) play(s *segment, frames int64) {
	c.rep.Played += float64(frames) / float64(s.rate)
	if frames > 0 && len(c.rep.Digits) > 0 {
		c.onPressHeard(s.arrived, s.start)
	}
	if c.rec == nil {
		return
	}
	if s.silence > 0 {
		c.rec.silence(int64(math.Round(s.silence.Seconds()*float64(s.rate))), s.rate)
	}
	if frames > 0 {
		c.rec.write(s.samples[:frames], s.rate)
	}
}

// cut empties the buffer at t: what played by then is heard, the rest is
// dropped.
func (c *call) cut(t time.Duration) {
	c.advance(t)
	for i := c.head; i < len(c.segs); i++ {
		s := &c.segs[i]
		var played int64
		if s.start < t {
			played = min(s.frames, int64((t-s.start).Seconds()*float64(s.rate)))
			if s.silence > 0 || played > 0 {
				c.play(s, played)
			}
		}
		c.rep.Dropped += float64(s.frames-played) / float64(s.rate)
	}
	clear(c.segs)
	c.segs, c.head, c.segBytes = c.segs[:0], 0, 0
	if c.playEnd > t {
		c.playEnd = t
	}
}

// buffered returns how much audio the buffer holds at t.
func (c *call) buffered(t time.Duration) (time.Duration, int64) {
	c.advance(t)
	var d time.Duration
	if c.playEnd > t {
		d = c.playEnd - t
	}
	b := c.segBytes
	if c.head < len(c.segs) {
		s := c.segs[c.head]
		if s.start < t && s.end > s.start {
			b -= int64(float64(s.bytes) * float64(t-s.start) / float64(s.end-s.start))
		}
	}
	if c.file != nil {
		b += c.file.fed - c.file.attributed
	}
	return d, b
}

// checkBuffer updates the buffer's high-water mark and enforces the limit.
func (c *call) checkBuffer(t time.Duration) {
	d, b := c.buffered(t)
	if d.Seconds() > c.rep.MaxBuffered.Seconds {
		c.rep.MaxBuffered.Seconds = d.Seconds()
	}
	if b > c.rep.MaxBuffered.Bytes {
		c.rep.MaxBuffered.Bytes = b
	}
	if b > c.opt.BufferLimit {
		msg := fmt.Sprintf("the playback buffer overflowed: %d bytes buffered, the limit is %d", b, c.opt.BufferLimit)
		c.log.Warn("ending the call", "reason", msg)
		c.finish(t, End{By: elks.ByAPI, Reason: elks.ReasonError, Message: msg})
	}
}

func (c *call) onSync(t time.Duration) {
	c.rep.Syncs.Requests++
	s := pendingSync{req: t}
	if f := c.file; f != nil && !f.done && f.fed > f.idleAt {
		s.file, s.fedAt = f.seq, f.fed
		f.feed.mark()
	} else {
		s.known = true
		s.due = max(t, c.playEnd)
	}
	c.syncs = append(c.syncs, s)
}

// resolveSyncs fixes the due time of the syncs waiting for file seq's
// bytes, up to consumed of them, once they have been decoded.
func (c *call) resolveSyncs(t time.Duration, seq int, consumed int64, done bool) {
	for i := range c.syncs {
		s := &c.syncs[i]
		if !s.known && s.file == seq && (done || consumed >= s.fedAt) {
			s.known, s.due = true, max(t, c.playEnd)
		}
	}
}

func (c *call) onInterrupt(t time.Duration) {
	c.rep.Interrupts++
	c.onPressInterrupt(t)
	c.closeFile(t, true)
	c.cut(t)
	c.dryByStop = true
	c.interrupted = true
	// The audio before every pending sync is gone: answer them now.
	for i := range c.syncs {
		c.syncs[i].known, c.syncs[i].due = true, t
	}
}
