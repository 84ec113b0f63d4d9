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
// When the caller's audio is played back (the caller element, as in
// `caller | elks`, not an exec program, whose pauses are its own), the
// echo's latency is also won back after it grew. A message later than the
// cushion (or a backlog of them, after the server was starved of CPU or
// the window stalled) is a gap after all, and everything after it plays
// that much later: the latency grows by the dry spell and the new
// cushion, a debt the session keeps. While there is debt and the API
// holds more than the cushion and the piece, a piece of silence (below
// vad.MinLevel, −45 dBFS: a pause, the line's noise) is not sent: the
// latency returns to normal in the caller's next pauses. Speech is never
// left out, nor audio that was never late (a pad's silence).

// DefaultCushion is the silence a live piece sent into an empty buffer
// starts with unless Config.Cushion says otherwise.
const DefaultCushion = 10 * time.Millisecond

// withCushion returns p, or p after the cushion when a Caller source is
// open and the API has played everything sent, or nothing when p is
// silence left out to win latency back (see above). The result is valid
// until the next call. It is called by the playing goroutine.
func (s *Session) withCushion(p []float32, rate int) []float32 {
	if len(p) == 0 {
		return p
	}
	d := frameDur(len(p), rate)
	s.mu.Lock()
	defer s.mu.Unlock()
	cushion := max(0, s.cfg.Cushion)
	if len(s.callers) == 0 {
		return p
	}
	held := s.liveEnd.Sub(time.Now())
	if held > 0 {
		if s.echoing > 0 && s.liveDebt > 0 && held >= cushion+d && vad.Level(p) < vad.MinLevel {
			s.liveDebt -= d
			return nil
		}
		return p
	}
	// The API's buffer is empty: a new stretch of audio.
	if s.echoing > 0 && !s.liveEnd.IsZero() {
		s.liveDebt += -held + cushion
	}
	if cushion == 0 {
		return p
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
