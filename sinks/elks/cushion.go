package elks

import (
	"time"

	"github.com/elkspipe/elkspipe/internal/vad"
)

// The cushion of live audio. The API plays audio as it arrives when its
// buffer is empty. A pipeline that plays the caller's audio back (an echo
// test, `caller | elks`) or an exec program's replies sends each piece as
// the caller's next 20 ms message comes in, so the API's buffer is empty
// at every arrival, and any lateness of a message — the network's jitter,
// a busy machine — is a gap the caller hears. While a Caller source is
// open, a piece sent into an empty buffer (by the session's reckoning)
// therefore starts with a cushion of silence (Config.Cushion, 10 ms by
// default): the pieces after it find that much still queued, and may
// arrive that late with no gap. It adds the cushion to the echo's
// latency, once per stretch of audio that starts from silence.
//
// A message later than the cushion is a gap after all, and everything
// after it plays that much later: the echo's latency grows by the gap and
// the new cushion, a debt that the session keeps (a dry spell longer than
// liveGapMax is a pause of the source, not a late message, and adds
// none). To pay it back, a piece of silence (below vad.MinLevel, −45
// dBFS: a pause, the line's noise) is not sent while there is debt and
// the API holds more than the cushion and the piece: the latency returns
// to the cushion in the caller's next pauses. Audio that was never late
// (a pad's silence, a program's pauses) is never left out.

// DefaultCushion is the silence a live piece sent into an empty buffer
// starts with unless Config.Cushion says otherwise.
const DefaultCushion = 10 * time.Millisecond

// liveGapMax is the longest dry spell that counts as lateness.
const liveGapMax = 200 * time.Millisecond

// withCushion returns p, or p after the cushion when a Caller source is
// open and the API has played everything sent, or nothing when
// p is silence left out to pay back lateness (see above). The result is
// valid until the next call. It is called by the playing goroutine.
func (s *Session) withCushion(p []float32, rate int) []float32 {
	if len(p) == 0 {
		return p
	}
	d := frameDur(len(p), rate)
	s.mu.Lock()
	defer s.mu.Unlock()
	cushion := max(0, s.cfg.Cushion)
	if len(s.callers) == 0 || cushion == 0 {
		return p
	}
	held := s.liveEnd.Sub(time.Now())
	if held > 0 {
		if s.liveDebt > 0 && held >= cushion+d && vad.Level(p) < vad.MinLevel {
			s.liveDebt -= d
			return nil
		}
		return p
	}
	if !s.liveEnd.IsZero() && -held < liveGapMax {
		s.liveDebt += -held + cushion
	}
	n := int(int64(rate) * int64(cushion) / int64(time.Second))
	s.cushion = append(append(s.cushion[:0], make([]float32, n)...), p...)
	return s.cushion
}

// reckonLocked notes that audio playing for d went out now: when the
// API's buffer is empty again, if it plays from arrival.
func (s *Session) reckonLocked(d time.Duration) {
	now := time.Now()
	if s.liveEnd.Before(now) {
		s.liveEnd = now
	}
	s.liveEnd = s.liveEnd.Add(d)
}
