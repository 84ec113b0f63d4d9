package elkstest

import (
	"log/slog"
	"math"
	"testing"
	"time"
)

// A call that only counts what it hears keeps one segment for the audio
// that plays on without a break, however many messages brought it, and
// still tells how much is buffered, what played and what a cut dropped;
// a gap starts a new segment, and a call that records keeps one segment
// per message (each holds its samples).
func TestSegmentsJoin(t *testing.T) {
	const rate = 8000
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	newTestCall := func() *call {
		return newCall(Options{Logger: slog.New(slog.DiscardHandler), Speed: 1}, nil, nil)
	}

	c := newTestCall()
	// A start burst of 25 messages of 100 ms at 0 s, then 5 more at 1 s.
	for range 25 {
		c.addAudio(0, rate/10, rate, 800, nil)
	}
	for range 5 {
		c.addAudio(ms(1000), rate/10, rate, 800, nil)
	}
	if n := len(c.segs) - c.head; n != 1 {
		t.Fatalf("%d segments for 3 s of audio that plays on, want 1", n)
	}
	if d, b := c.buffered(ms(1500)); d != ms(1500) || b != 12000 {
		t.Errorf("buffered at 1.5 s: %v, %d bytes; want 1.5s, 12000", d, b)
	}
	c.cut(ms(2000))
	if c.rep.Played != 2 || c.rep.Dropped != 1 {
		t.Errorf("after a cut at 2 s: played %v s, dropped %v s; want 2 and 1", c.rep.Played, c.rep.Dropped)
	}

	// Audio after the buffer ran dry is a gap, and a segment of its own.
	c = newTestCall()
	c.addAudio(0, rate/10, rate, 800, nil)
	c.addAudio(ms(300), rate/10, rate, 800, nil)
	c.addAudio(ms(300), rate/10, rate, 800, nil)
	if c.rep.Gaps.Count != 1 || len(c.segs)-c.head != 1 {
		t.Fatalf("%d gaps, %d segments buffered; want 1 and 1", c.rep.Gaps.Count, len(c.segs)-c.head)
	}
	if s := c.segs[c.head]; s.start != ms(300) || s.end != ms(500) || s.frames != rate/5 || s.silence != ms(200) {
		t.Errorf("the audio after the gap: %+v; want 200 ms from 300 ms, after 200 ms of silence", s)
	}
	c.advance(ms(1000))
	if math.Abs(c.rep.Played-0.3) > 1e-9 {
		t.Errorf("played %v s, want 0.3", c.rep.Played)
	}

	// Audio of another bitrate is not joined: the bytes buffered stay
	// those of what has not played (100 ms of 2,000 bytes, then 900 ms
	// of 100 bytes a 100 ms; at 150 ms, 850 bytes are left).
	c = newTestCall()
	c.addAudio(0, rate/10, rate, 2000, nil)
	for range 9 {
		c.addAudio(0, rate/10, rate, 100, nil)
	}
	if n := len(c.segs) - c.head; n != 2 {
		t.Errorf("%d segments for audio at two bitrates, want 2", n)
	}
	if _, b := c.buffered(ms(150)); b != 850 {
		t.Errorf("%d bytes buffered at 150 ms, want 850", b)
	}

	// Samples kept for a recording are not joined.
	c = newTestCall()
	for range 3 {
		c.addAudio(0, rate/10, rate, 800, make([]float32, rate/10))
	}
	if n := len(c.segs) - c.head; n != 3 {
		t.Errorf("%d segments for 3 recorded messages, want 3", n)
	}
}
