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
// therefore starts with a cushion of silence: the pieces after it find
// that much still queued, and may arrive that late with no gap. It adds
// the cushion to the echo's latency, once per stretch of audio that
// starts from silence.
//
// For an exec program the cushion is Config.Cushion (10 ms by default).
// For an echo (the caller element played back, as in `caller | elks`) it
// adapts to the jitter seen, between Config.Cushion and Config.CushionMax
// (30 ms by default): each time the API's buffer ran dry — caller audio
// came later than the cushion — the cushion grows by the dry spell, which
// is what it would have taken to leave no gap, up to CushionMax; after
// cushionCalm in which every piece found more than cushionStep still
// queued at the API (beyond the latency it owes, below), so that a
// cushion one step smaller would have absorbed the same jitter, it
// shrinks by cushionStep, down to Cushion again. So a quiet network keeps
// the echo 10 ms behind the caller, and a jittery one or a busy machine
// gets the cushion it needs, within the latency budget CushionMax sets.
//
// The echo's latency is also won back after it grew. A message later than
// the cushion (or a backlog of them, after the server was starved of CPU
// or the window stalled) is a gap after all, and everything after it
// plays that much later: the latency grows by the dry spell and the new
// cushion, a debt the session keeps; a cushion that shrinks adds the
// difference to the debt as well. While there is debt and the API holds
// more than the cushion and the piece, a piece of silence (below
// vad.MinLevel, −45 dBFS: a pause, the line's noise) is not sent: the
// latency returns to the cushion in the caller's next pauses, without
// time-stretching any speech. Audio that was never late (a pad's
// silence) is never left out. A caller who never pauses gives no silence
// to leave out, though: with Config.MaxLag set, while the debt exceeds
// it pieces are left out whatever they hold, and counted in
// Stats.CallerDropped, so that the echo is never more than MaxLag behind
// its cushion for long; and an echo's Caller source keeps no more than
// MaxLag and a chunk of caller audio for a player that fell behind
// (caller.go), dropping the oldest. It is off by default: under heavy
// jitter (bench/echo.sh on a starved machine) dropping speech cost more
// gaps than it won latency (docs/performance.md).
//
// The session reckons what the API holds from what it sent, as if every
// message reached the API at once. A message that reaches it late (a
// delay on the way to the API: a retransmission, the API's machine
// busy) runs its buffer dry there, and everything after plays later: a
// latency the reckoning does not see. The sync replies show it: when a
// reply comes, the API has played up to its checkpoint and holds what
// was sent after it, which is more than the reckoning says by the
// reply's own delay and by any such latency. The least difference seen
// in the call is taken for the reply's delay (the baseline), and what
// replyLagRuns replies in a row agree on beyond it (so not one late
// reply) for latency the API added: the reckoning holds it, and as it
// grows it becomes debt, won back in the caller's pauses like the
// session's own; once the replies agree that it shrank (the API's buffer
// ran dry and it caught up), the reckoning and the debt let it go again,
// so that noise in the replies' delay does not add up.

// Defaults of the cushion.
const (
	// DefaultCushion is the silence a live piece sent into an empty
	// buffer starts with unless Config.Cushion says otherwise, and the
	// least an echo's adaptive cushion shrinks to.
	DefaultCushion = 10 * time.Millisecond
	// DefaultCushionMax is the most an echo's cushion grows to unless
	// Config.CushionMax says otherwise: with 20 ms chunks, the echo
	// stays within one chunk and 20 ms of the caller.
	DefaultCushionMax = 30 * time.Millisecond
)

// The adaptive cushion's shrinking: by cushionStep after each cushionCalm
// in which it was never used up to within cushionStep.
const (
	cushionCalm = 5 * time.Second
	cushionStep = 5 * time.Millisecond
)

// adaptiveCushion is the cushion of an echo: the session's, guarded by
// its mutex.
type adaptiveCushion struct {
	now time.Duration // the cushion in use; 0 until the first piece
	at  time.Time     // when it last grew or shrank
	// headroom is the least audio the API held beyond the debt when a
	// piece came, since at; valid when seen.
	headroom time.Duration
	seen     bool
}

// saw notes that a piece came while the API held held, of which
// debt is latency owed.
func (c *adaptiveCushion) saw(held, debt time.Duration) {
	if h := held - max(0, debt); !c.seen || h < c.headroom {
		c.headroom, c.seen = h, true
	}
}

// replyLagRuns is how many sync replies in a row must agree before the
// session changes what it takes for latency the API added.
const replyLagRuns = 3

// replyLag learns, from the sync replies, latency the API added (see
// above): the session's, guarded by its mutex.
type replyLag struct {
	// base is the least difference seen between what the API held at a
	// reply and the reckoning without what was learned: the replies'
	// own delay.
	base   time.Duration
	based  bool
	recent [replyLagRuns]time.Duration // the last differences beyond base
	n      int                         // replies seen since the reckoning restarted
	// learned is the latency taken from the replies, which the
	// reckoning holds.
	learned time.Duration
}

// replyLocked takes a sync reply that came now, the window already
// moved to its checkpoint: for an echo, it keeps what the reckoning
// takes for latency the API added equal to what the last replyLagRuns
// replies agree on (their least when above it, their largest when
// below), moving the reckoning and the debt by the change (see above).
func (s *Session) replyLocked(now time.Time) {
	r := &s.replyLag
	if s.echoing == 0 || s.liveEnd.IsZero() {
		r.n, r.learned = 0, 0
		return
	}
	inFlight, _ := s.win.inFlight()
	raw := inFlight - max(0, s.liveEnd.Sub(now)) + r.learned
	if !r.based || raw < r.base {
		r.base, r.based = raw, true
	}
	r.recent[r.n%replyLagRuns] = raw - r.base
	if r.n++; r.n < replyLagRuns {
		return
	}
	lo, hi := r.recent[0], r.recent[0]
	for _, v := range r.recent[1:] {
		lo, hi = min(lo, v), max(hi, v)
	}
	var change time.Duration
	switch {
	case lo > r.learned+time.Millisecond:
		change = lo - r.learned
	case hi < r.learned-time.Millisecond:
		change = hi - r.learned
	default:
		return
	}
	r.learned += change
	if s.liveEnd.Before(now) {
		s.liveEnd = now
	}
	s.liveEnd = s.liveEnd.Add(change)
	s.liveDebt = max(0, s.liveDebt+change)
}

// withCushion returns p, or p after the cushion when a Caller source is
// open and the API has played everything sent, or nothing when p is
// left out to win latency back (see above). The result is valid until
// the next call. It is called by the playing goroutine.
func (s *Session) withCushion(p []float32, rate int) []float32 {
	if len(p) == 0 {
		return p
	}
	d := frameDur(len(p), rate)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.callers) == 0 {
		return p
	}
	now := time.Now()
	cushion := s.cushionLocked(now)
	held := s.liveEnd.Sub(now)
	if held > 0 {
		if s.echoing > 0 {
			s.adaptive.saw(held, s.liveDebt)
		}
		if s.echoing == 0 || s.liveDebt <= 0 || held <= cushion {
			return p
		}
		if s.cfg.MaxLag > 0 && s.liveDebt > s.cfg.MaxLag && held >= cushion+d {
			s.liveDebt -= d
			s.stats.CallerDropped += d
			return nil
		}
		if vad.Level(p) >= vad.MinLevel {
			return p
		}
		// Silence: left out, or shortened by what the API holds beyond
		// the cushion, as far as the debt goes.
		cut := int(int64(rate) * int64(min(s.liveDebt, held-cushion)) / int64(time.Second))
		if cut >= len(p) {
			s.liveDebt -= d
			return nil
		}
		s.liveDebt -= frameDur(cut, rate)
		return p[cut:]
	}
	// The API's buffer is empty: a new stretch of audio.
	if s.echoing > 0 && !s.liveEnd.IsZero() {
		s.liveDebt += -held + cushion
		cushion = s.growCushionLocked(-held, now)
		s.replyLag.learned = 0 // the reckoning starts afresh
	}
	if cushion == 0 {
		return p
	}
	n := int(int64(rate) * int64(cushion) / int64(time.Second))
	s.cushion = append(append(s.cushion[:0], make([]float32, n)...), p...)
	return s.cushion
}

// cushionLocked returns the cushion in use at now: Config.Cushion, or an
// echo's adaptive cushion, shrunk by a step if it has been calm long
// enough (the step is added to the debt, won back in the caller's
// pauses).
func (s *Session) cushionLocked(now time.Time) time.Duration {
	least := max(0, s.cfg.Cushion)
	if s.echoing == 0 {
		return least
	}
	s.stats.Cushion = max(s.stats.Cushion, least)
	if s.cfg.CushionMax <= least {
		return least
	}
	c := &s.adaptive
	if c.now == 0 {
		c.now, c.at = least, now
	}
	if c.now > least && now.Sub(c.at) >= cushionCalm {
		if c.seen && c.headroom > cushionStep {
			shrunk := max(least, c.now-cushionStep)
			s.liveDebt += c.now - shrunk
			c.now = shrunk
		}
		c.at, c.seen = now, false
	}
	return c.now
}

// growCushionLocked grows an echo's adaptive cushion after the API's
// buffer ran dry for dry, and returns the cushion in use.
func (s *Session) growCushionLocked(dry time.Duration, now time.Time) time.Duration {
	least := max(0, s.cfg.Cushion)
	if s.cfg.CushionMax <= least {
		return least
	}
	c := &s.adaptive
	dry = (dry + time.Millisecond - 1).Truncate(time.Millisecond) // whole milliseconds, rounded up
	c.now, c.at, c.seen = min(s.cfg.CushionMax, c.now+dry), now, false
	s.stats.Cushion = max(s.stats.Cushion, c.now)
	return c.now
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
