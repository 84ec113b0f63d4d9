package elks

import (
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"
)

// echoFeed drives a session's cushion (withCushion and the reckoning
// that sendMessage does) with 20 ms pieces of caller audio at 16 kHz,
// as an echo plays them back, and keeps what the API would play: it
// plays a piece on arrival into an empty buffer, after the audio queued
// otherwise. The clock is synctest's.
type echoFeed struct {
	t       *testing.T
	s       *Session
	start   time.Time
	k       int           // pieces fed
	playEnd time.Time     // when the API's buffer runs dry
	gaps    int           // times it ran dry between pieces
	gapDur  time.Duration // silence heard in them
	latency time.Duration // of the last piece's first sample, after its due time
	maxLat  time.Duration
	sumLat  time.Duration // over the pieces sent
	sent    int
}

const feedPiece = 20 * time.Millisecond

// newEchoFeed returns a feed into a session with cfg whose caller
// element is open.
func newEchoFeed(t *testing.T, cfg Config) *echoFeed {
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	s := &Session{cfg: cfg, echoing: 1, callers: []*callerSource{newCallerSource(nil, 16000)}}
	return &echoFeed{t: t, s: s, start: time.Now()}
}

// feed sends the next piece (speech, or silence when quiet) late after
// its due time (pieces never overtake each other: a late piece holds up
// the next ones, as a stream does).
func (f *echoFeed) feed(late time.Duration, quiet bool) {
	due := f.start.Add(time.Duration(f.k) * feedPiece)
	f.k++
	if wait := time.Until(due.Add(late)); wait > 0 {
		time.Sleep(wait)
	}
	p := make([]float32, 320)
	if !quiet {
		for i := range p {
			p[i] = 0.1 * float32(1-2*(i%2)) // -20 dBFS: speech, for the voice detector
		}
	}
	n := len(p)
	out := f.s.withCushion(p, 16000)
	if len(out) == 0 {
		return
	}
	now := time.Now()
	d := frameDur(len(out), 16000)
	f.s.mu.Lock()
	f.s.reckonLocked(d)
	f.s.mu.Unlock()
	if !f.playEnd.IsZero() && now.After(f.playEnd) {
		f.gaps++
		f.gapDur += now.Sub(f.playEnd)
	}
	begin := now
	if f.playEnd.After(now) {
		begin = f.playEnd
	}
	f.playEnd = begin.Add(d)
	// The piece's own first sample plays after the cushion put before it.
	f.latency = f.playEnd.Add(-frameDur(n, 16000)).Sub(due)
	if len(out) < n {
		f.latency = f.playEnd.Add(-frameDur(len(out), 16000)).Sub(due)
	}
	f.maxLat = max(f.maxLat, f.latency)
	f.sumLat += f.latency
	f.sent++
}

// cushion returns the session's adaptive cushion and the largest it was.
func (f *echoFeed) cushion() (now, largest time.Duration) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	return f.s.adaptive.now, f.s.stats.Cushion
}

// Caller audio that comes 15 ms late every 100 ms leaves one gap (5 ms:
// the default cushion absorbs 10); the cushion then grows to 15 ms, and
// the same jitter leaves no gap for the rest of the call.
func TestCushionGrowsWithJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newEchoFeed(t, Config{})
		for k := range 500 { // 10 s
			late := time.Duration(0)
			if k%5 == 4 {
				late = 15 * time.Millisecond
			}
			f.feed(late, false)
		}
		if f.gaps != 1 || f.gapDur != 5*time.Millisecond {
			t.Errorf("%d gaps, %v in all; want one of 5 ms", f.gaps, f.gapDur)
		}
		if now, largest := f.cushion(); now != 15*time.Millisecond || largest != 15*time.Millisecond {
			t.Errorf("cushion %v (largest %v), want 15ms", now, largest)
		}
	})
}

// However late the caller's audio, the cushion grows no further than
// cushion-max (30 ms by default).
func TestCushionBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newEchoFeed(t, Config{})
		for k := range 250 {
			late := time.Duration(0)
			if k%10 == 9 {
				late = 80 * time.Millisecond
			}
			f.feed(late, k%50 > 40)
		}
		if now, largest := f.cushion(); now != DefaultCushionMax || largest != DefaultCushionMax {
			t.Errorf("cushion %v (largest %v), want %v", now, largest, DefaultCushionMax)
		}
		// A fixed cushion stays where it is.
		g := newEchoFeed(t, Config{CushionMax: -1})
		for k := range 100 {
			g.feed(time.Duration(k%10/9)*80*time.Millisecond, false)
		}
		if _, largest := g.cushion(); largest != DefaultCushion {
			t.Errorf("cushion-max=0: largest cushion %v, want %v", largest, DefaultCushion)
		}
	})
}

// After one late message the cushion shrinks back by 5 ms every 5 s
// without a gap, and the latency it had added is won back in the
// caller's pauses (silence shortened): the echo ends up 10 ms behind
// again, with no gap on the way.
func TestCushionShrinksWhenCalm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newEchoFeed(t, Config{})
		for k := range 25 * 50 { // 25 s
			late := time.Duration(0)
			if k == 20 {
				late = 25 * time.Millisecond
			}
			f.feed(late, k%50 >= 30) // 600 ms of speech, 400 ms of silence
			if k == 21 {
				if now, _ := f.cushion(); now != 25*time.Millisecond {
					t.Fatalf("cushion %v after a message 25 ms late, want 25ms", now)
				}
			}
		}
		if f.gaps != 1 {
			t.Errorf("%d gaps, want the one of the late message", f.gaps)
		}
		if now, largest := f.cushion(); now != DefaultCushion || largest != 25*time.Millisecond {
			t.Errorf("cushion %v (largest %v), want %v (25ms)", now, largest, DefaultCushion)
		}
		if f.latency != DefaultCushion {
			t.Errorf("the echo is %v behind at the end, want %v", f.latency, DefaultCushion)
		}
	})
}

// A stall of 600 ms while the caller talks on without a pause: the echo
// cannot wait for silence, so with max-lag=200ms what puts it more than
// that behind its cushion is dropped and counted, and it comes back to
// within max-lag of the cushion; without max-lag (the default) it stays
// 600 ms behind.
func TestEchoMaxLag(t *testing.T) {
	run := func(cfg Config) (*echoFeed, Stats) {
		f := newEchoFeed(t, cfg)
		for k := range 250 { // 5 s of speech
			late := time.Duration(0)
			if k == 50 {
				late = 600 * time.Millisecond
			}
			f.feed(late, false)
		}
		return f, f.s.stats
	}
	synctest.Test(t, func(t *testing.T) {
		const maxLag = 200 * time.Millisecond
		f, st := run(Config{MaxLag: maxLag})
		if st.CallerDropped < 300*time.Millisecond || st.CallerDropped > 500*time.Millisecond {
			t.Errorf("dropped %v, want about 600 ms less max-lag", st.CallerDropped)
		}
		if f.latency > DefaultCushionMax+maxLag+feedPiece {
			t.Errorf("the echo is %v behind at the end, want within max-lag of the cushion", f.latency)
		}
		g, st := run(Config{})
		if st.CallerDropped != 0 || g.latency < 600*time.Millisecond {
			t.Errorf("no max-lag: dropped %v, the echo %v behind; want nothing dropped, 600 ms behind", st.CallerDropped, g.latency)
		}
	})
}

// An echo's Caller source keeps no more than max-lag and a chunk for a
// player that fell behind: the oldest is dropped, counted, and taken off
// the echo's debt.
func TestCallerSourceKeep(t *testing.T) {
	cfg, err := Config{MaxLag: 100 * time.Millisecond, Chunk: 20 * time.Millisecond, ListenFormat: PCM16000}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	s := &Session{cfg: cfg, readerGone: true}
	c := s.caller(true)
	c.ended = false // as if the call went on
	s.callers = []*callerSource{c}
	s.liveDebt = time.Second
	msg := make([]float32, 320)
	for i := range 20 { // 400 ms, numbered
		for j := range msg {
			msg[j] = float32(i)
		}
		s.feedCallerSources(msg)
	}
	got := make([]float32, 16000)
	n, err := c.Read(got)
	if err != nil || n != 120*16 {
		t.Fatalf("read %d samples (%v), want the last 120 ms (1920)", n, err)
	}
	if got[0] != 14 || got[n-1] != 19 {
		t.Errorf("held messages %v..%v, want 14..19", got[0], got[n-1])
	}
	if s.stats.CallerDropped != 280*time.Millisecond || s.liveDebt != 720*time.Millisecond {
		t.Errorf("dropped %v, debt %v; want 280ms, 720ms", s.stats.CallerDropped, s.liveDebt)
	}
	if s.echoing != 1 {
		t.Errorf("echoing %d, want 1", s.echoing)
	}
	c.Close()
	if s.echoing != 0 {
		t.Errorf("echoing %d after Close, want 0", s.echoing)
	}
}

// The latency learned from the sync replies follows what three replies
// in a row agree on, up and down: a reply delay that comes and goes does
// not add up to debt, while one that stays is learned once.
func TestReplyLagFollowsReplies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &Session{echoing: 1}
		s.win.sent.dur = time.Hour
		const base = 30 * time.Millisecond
		reply := func(lag time.Duration) {
			now := time.Now()
			held := 20*time.Millisecond + s.replyLag.learned // what the reckoning holds
			s.liveEnd = now.Add(held)
			s.win.acked.dur = s.win.sent.dur - (held - s.replyLag.learned + base + lag)
			s.replyLocked(now)
			time.Sleep(500 * time.Millisecond)
		}
		var most time.Duration
		for range 10 {
			for _, lag := range []time.Duration{0, 40, 40, 40, 0, 0, 0} {
				reply(lag * time.Millisecond)
				most = max(most, s.liveDebt)
			}
		}
		if s.replyLag.learned != 0 || most != 40*time.Millisecond {
			t.Errorf("learned %v, debt up to %v; want 0, 40ms", s.replyLag.learned, most)
		}
		for _, lag := range []time.Duration{10, 60, 60, 60, 10, 60, 60} {
			reply(lag * time.Millisecond)
		}
		if s.replyLag.learned != 60*time.Millisecond || s.liveDebt != 60*time.Millisecond {
			t.Errorf("learned %v, debt %v after a lasting lag; want 60ms each", s.replyLag.learned, s.liveDebt)
		}
	})
}

// measuredLateness is how late the simulator's voice sent the caller's
// messages in bench/echo.sh at 200 calls on the shared 2-core machine
// (load average 2.4): the share of messages within each bound.
var measuredLateness = []struct {
	upTo  time.Duration
	share float64
}{
	{500 * time.Microsecond, 0.474}, {time.Millisecond, 0.080}, {2 * time.Millisecond, 0.105},
	{5 * time.Millisecond, 0.151}, {10 * time.Millisecond, 0.102}, {20 * time.Millisecond, 0.057},
	{50 * time.Millisecond, 0.024}, {100 * time.Millisecond, 0.002}, {200 * time.Millisecond, 0.003},
	{500 * time.Millisecond, 0.002},
}

// drawLateness draws a lateness from measuredLateness (uniform within
// its bucket).
func drawLateness(r *rand.Rand) time.Duration {
	u := r.Float64()
	lo := time.Duration(0)
	for _, b := range measuredLateness {
		if u < b.share {
			return lo + time.Duration(r.Int64N(int64(b.upTo-lo)))
		}
		u -= b.share
		lo = b.upTo
	}
	return lo
}

// On the lateness the simulator's caller audio had in bench/echo.sh at
// 200 calls, 100 calls of 20 s (600 ms of speech, 400 ms of silence,
// every second) hear far fewer gaps with the adaptive cushion than with
// the fixed 10 ms one, for a few milliseconds more of echo delay.
func TestCushionOnMeasuredJitter(t *testing.T) {
	run := func(cfg Config) (gaps int, gapDur, latency time.Duration) {
		r := rand.New(rand.NewPCG(1, 2))
		var sum time.Duration
		var n int
		for range 100 {
			synctest.Test(t, func(t *testing.T) {
				f := newEchoFeed(t, cfg)
				for k := range 1000 {
					f.feed(drawLateness(r), k%50 >= 30)
				}
				gaps += f.gaps
				gapDur += f.gapDur
				sum += f.sumLat
				n += f.sent
			})
		}
		return gaps, gapDur, sum / time.Duration(n)
	}
	fg, fd, fl := run(Config{CushionMax: -1})
	ag, ad, al := run(Config{})
	t.Logf("fixed 10 ms cushion: %d gaps, %v in all, echo %v behind on average", fg, fd, fl)
	t.Logf("adaptive cushion (up to 30 ms): %d gaps, %v in all, echo %v behind on average", ag, ad, al)
	if ag*2 > fg {
		t.Errorf("the adaptive cushion left %d gaps, the fixed one %d: want at most half", ag, fg)
	}
}
