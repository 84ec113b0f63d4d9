package elks

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The heard track at 1000 frames per second, so that a frame is a
// millisecond: each piece is filled with its own value, and the track is
// rendered as runs of "value@start-end" in ms (silence left out).
func TestHeardTrack(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	piece := func(v float32, n int) []float32 {
		p := make([]float32, n)
		for i := range p {
			p[i] = v
		}
		return p
	}
	type step func(h *heardTrack)
	add := func(v float32, n, sentAt, endPos int) step {
		return func(h *heardTrack) { h.add(piece(v, n), ms(sentAt), ms(endPos)) }
	}
	anchor := func(pos, at int) step { return func(h *heardTrack) { h.anchor(ms(pos), ms(at)) } }
	interrupt := func(at int) step { return func(h *heardTrack) { h.interrupt(ms(at)) } }
	finish := func(at int) step { return func(h *heardTrack) { h.finish(ms(at)) } }
	force := func(until int) step { return func(h *heardTrack) { h.force(ms(until)) } }
	for _, c := range []struct {
		name  string
		steps []step
		want  string
		lag   time.Duration
	}{
		{
			// An echo: 20 ms pieces sent every 20 ms, each playing on
			// arrival; the reply at 70 ms shows a 10 ms lag.
			name:  "on arrival",
			steps: []step{add(1, 20, 0, 20), add(2, 20, 20, 40), add(3, 20, 40, 60), anchor(60, 70)},
			want:  "1@10-30 2@30-50 3@50-70", lag: ms(10),
		},
		{
			// A window's burst: five 100 ms pieces sent at once at 1 s;
			// the first reply (after 200 ms) comes at 1.25 s, so the
			// audio began at 1.05 s; the next is back to back.
			name: "burst",
			steps: []step{add(1, 100, 1000, 100), add(2, 100, 1000, 200), add(3, 100, 1000, 300),
				add(4, 100, 1000, 400), add(5, 100, 1000, 500), anchor(200, 1250), anchor(500, 1560)},
			want: "1@1050-1150 2@1150-1250 3@1250-1350 4@1350-1450 5@1450-1550", lag: ms(50),
		},
		{
			// A gap: the source fell behind; the second piece went out
			// after the first had played and played on arrival.
			name:  "gap",
			steps: []step{add(1, 100, 0, 100), add(2, 100, 300, 200), anchor(200, 410)},
			want:  "1@10-110 2@310-410", lag: ms(10),
		},
		{
			// An interrupt at 150 ms (reaching the API 10 ms later, by
			// the last lag) cuts what played and drops the rest.
			name: "interrupt",
			steps: []step{add(1, 20, 0, 20), anchor(20, 30), add(2, 100, 40, 120), add(3, 100, 40, 220),
				interrupt(150), add(4, 50, 200, 270), anchor(270, 260)},
			want: "1@10-30 2@50-150 3@150-160 4@210-260", lag: ms(10),
		},
		{
			// The call ends at 100 ms with audio queued: what would have
			// played after is cut.
			name:  "finish",
			steps: []step{add(1, 200, 0, 200), finish(100)},
			want:  "1@0-100",
		},
		{
			// No reply: force places the pieces that would have started
			// before 150 ms, by the lag so far (none).
			name:  "force",
			steps: []step{add(1, 100, 0, 100), add(2, 100, 0, 200), add(3, 100, 0, 300), force(150)},
			want:  "1@0-100 2@100-200",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := &heardTrack{rate: 1000}
			for _, s := range c.steps {
				s(h)
			}
			out := make([]float32, 2000)
			h.take(0, out)
			if got := runs(out); got != c.want {
				t.Errorf("heard %s, want %s", got, c.want)
			}
			if h.lag != c.lag {
				t.Errorf("lag %v, want %v", h.lag, c.lag)
			}
		})
	}
}

// runs renders samples as runs of equal non-zero values.
func runs(x []float32) string {
	var parts []string
	for i := 0; i < len(x); {
		j := i
		for j < len(x) && x[j] == x[i] {
			j++
		}
		if x[i] != 0 {
			parts = append(parts, fmt.Sprintf("%g@%d-%d", x[i], i, j))
		}
		i = j
	}
	return strings.Join(parts, " ")
}

// take hands out each frame once, and what it handed out stays: audio
// placed later never lands before it (the writer has written it).
func TestHeardTrackTakeInParts(t *testing.T) {
	h := &heardTrack{rate: 1000}
	h.add([]float32{1, 1, 1, 1}, 0, 4*time.Millisecond)
	h.anchor(4*time.Millisecond, 6*time.Millisecond) // plays at 2-6 ms
	a := make([]float32, 4)
	h.take(0, a)
	if runs(a) != "1@2-4" {
		t.Errorf("first part %s", runs(a))
	}
	h.add([]float32{2, 2}, 0, 6*time.Millisecond)
	h.finish(20 * time.Millisecond) // sent "at 0": placed after what was taken
	b := make([]float32, 6)
	h.take(4, b)
	if runs(b) != "1@0-2 2@2-4" {
		t.Errorf("second part %s", runs(b))
	}
	if s := h.settled(3 * time.Millisecond); s != 8*time.Millisecond {
		t.Errorf("settled %v, want 8ms (the end of the audio placed)", s)
	}
}
