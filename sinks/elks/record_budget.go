package elks

import "time"

// recordAhead is how far the caller's audio may run ahead of the call's
// clock before the recording leaves it out. The API sends the caller's
// audio as it is spoken, so a recording can only outgrow the time since
// its first message by the network's jitter; a peer that sends faster
// (at wire speed, 2 hours of "audio" in 8 s) would otherwise fill the
// disk. 5 s absorbs any burst after a stall. (elkstest at Speed > 1 speaks
// faster than real time, so a recording of its caller keeps at most this
// much beyond the wall-clock time.)
const recordAhead = 5 * time.Second

// DefaultRecordMax is the longest recording of one call unless
// Config.RecordMax says otherwise: 4 hours, 460 MB at 16 kHz, well below
// the 4 GiB a WAV file can hold at every listening rate.
const DefaultRecordMax = 4 * time.Hour

// maxRecordMax is the longest RecordMax: a 16-bit mono WAV file at the
// highest listening rate (48 kHz, Ogg Opus) holds at most 2^32 bytes,
// about 12.4 hours.
const maxRecordMax = 12 * time.Hour

// recordBudget decides how much of the caller's decoded audio the
// recording keeps: never more than the call's clock plus recordAhead,
// never more than max in all. It is a pure type: the decoder calls admit
// with the time each message arrived.
type recordBudget struct {
	rate    int           // frames per second of the decoded audio
	ahead   time.Duration // how far the audio may run ahead of the clock
	max     int64         // most frames in all
	start   time.Time     // arrival of the first message
	started bool
	kept    int64 // frames admitted so far
}

// newRecordBudget returns the budget of a recording at rate frames per
// second, at most max long.
func newRecordBudget(rate int, max time.Duration) recordBudget {
	return recordBudget{rate: rate, ahead: recordAhead, max: durFrames(max, rate)}
}

// Why admit left audio out.
const (
	keptAll  = iota
	cutAhead // the audio ran more than recordAhead ahead of the clock
	cutAtMax // the recording reached its longest
)

// admit returns how many of n frames, decoded from a message that arrived
// at, the recording keeps (the first ones), and why it left the rest out.
func (b *recordBudget) admit(at time.Time, n int) (keep int, why int) {
	if !b.started {
		b.start, b.started = at, true
	}
	limit := durFrames(max(0, at.Sub(b.start))+b.ahead, b.rate)
	why = cutAhead
	if b.max < limit {
		limit, why = b.max, cutAtMax
	}
	keep = int(max(0, min(int64(n), limit-b.kept)))
	b.kept += int64(keep)
	if keep == n {
		why = keptAll
	}
	return keep, why
}

// full reports whether the recording has reached its longest: nothing
// more will be kept.
func (b *recordBudget) full() bool { return b.kept >= b.max }

// durFrames converts a duration to whole frames at rate, rounding down.
// Durations beyond a day count as a day: no budget is that long.
func durFrames(d time.Duration, rate int) int64 {
	d = min(d, 24*time.Hour)
	return int64(d) * int64(rate) / int64(time.Second)
}
