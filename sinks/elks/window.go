package elks

import "time"

// window is the sync window of a session: the bookkeeping that keeps the
// audio buffered at the API bounded, in the manner of the flow-control
// structs of net/http's HTTP/2 code. It is a plain value with no locks,
// channels, clock or logging: the session holds one under its mutex, asks
// it what to do, sends the messages, waits, wakes and logs around it.
//
// Positions count audio time and bytes (before base64) since the start of
// the call. Audio is sent (sent) and, now and then, followed by a
// checkpoint: a "sync" message, which the API answers once the audio
// before it has been played. Replies come first in first out (ack), and
// each moves the acknowledged position to its checkpoint; what lies
// between the acknowledged and the sent positions is in flight. A piece
// of audio is admitted while the audio in flight and the piece stay
// within limit in time and maxBytes in bytes, and always when nothing is
// in flight, so a piece longer than the window still goes out.
//
// An interrupt (the API clears its buffer) voids the checkpoints pending:
// their replies, if the API sends any, are discarded as stale. If the API
// dropped the voided checkpoints instead, the replies taken for stale
// were in fact answers to later checkpoints; stalled, called when no
// reply came for a long time, credits them to the oldest pending ones.
type window struct {
	limit    time.Duration // the most audio in flight: Window + Checkpoint
	every    time.Duration // the checkpoint interval
	maxBytes int64         // the most bytes in flight

	sent, acked, synced windowPos
	pending             []checkpointPos // checkpoints sent and not yet answered, oldest first
	stale               int             // replies to voided checkpoints still expected
	discarded           int             // replies discarded as stale since the interrupt
}

// windowPos is a position in the audio sent: its time and its bytes.
type windowPos struct {
	dur   time.Duration
	bytes int64
}

// checkpointPos is a checkpoint: the position it follows and when it was
// sent (a value the caller gives: the window has no clock).
type checkpointPos struct {
	windowPos
	at time.Time
}

// newWindow returns an empty window that keeps at most limit of audio
// and maxBytes bytes in flight, with a checkpoint at least every every.
func newWindow(limit, every time.Duration, maxBytes int64) window {
	return window{limit: limit, every: every, maxBytes: maxBytes}
}

// admit reports whether a piece of n bytes that plays for d may go out
// now. When it may not and no reply is coming that could make room (no
// checkpoint pending, audio sent since the last one), askSync is true:
// the caller should send a checkpoint. With checkpoints pending, their
// replies make room; a sync then would only split the checkpoint
// spacing, and the splits would compound over a long call.
func (w *window) admit(d time.Duration, n int64) (ok, askSync bool) {
	inDur, inBytes := w.inFlight()
	if inDur <= 0 && inBytes <= 0 {
		return true, false // always room for one piece
	}
	if inDur+d <= w.limit && inBytes+n <= w.maxBytes {
		return true, false
	}
	return false, len(w.pending) == 0 && w.unsynced()
}

// send records a piece of n bytes that plays for d as sent, and reports
// whether a checkpoint is due after it (see syncDue).
func (w *window) send(d time.Duration, n int64) (syncDue bool) {
	w.sent.dur += d
	w.sent.bytes += n
	return w.syncDue()
}

// syncDue reports whether the audio sent since the last checkpoint fills
// the checkpoint interval, or a quarter of the byte limit.
func (w *window) syncDue() bool {
	return w.sent.dur-w.synced.dur >= w.every || w.sent.bytes-w.synced.bytes >= w.maxBytes/4
}

// dueBefore reports whether a checkpoint should go before a piece that
// plays for d: audio went out since the last one, and with the piece it
// would pass the checkpoint interval.
func (w *window) dueBefore(d time.Duration) bool {
	return w.unsynced() && w.sent.dur-w.synced.dur+d > w.every
}

// unsynced reports whether audio went out since the last checkpoint.
func (w *window) unsynced() bool {
	return w.sent.dur > w.synced.dur || w.sent.bytes > w.synced.bytes
}

// checkpoint records a checkpoint sent at at, after the audio sent so
// far.
func (w *window) checkpoint(at time.Time) {
	w.pending = append(w.pending, checkpointPos{w.sent, at})
	w.synced = w.sent
}

// ackResult says what a sync reply answered.
type ackResult int

const (
	ackMatched    ackResult = iota // the oldest pending checkpoint
	ackStale                       // a checkpoint voided by an interrupt: discarded
	ackUnexpected                  // nothing: no checkpoint was pending
)

// ack takes a sync reply: it answers a voided checkpoint while such
// replies are expected, otherwise the oldest pending checkpoint, whose
// position becomes the acknowledged one; sentAt is then when that
// checkpoint was sent.
func (w *window) ack() (r ackResult, sentAt time.Time) {
	switch {
	case w.stale > 0:
		w.stale--
		w.discarded++
		return ackStale, time.Time{}
	case len(w.pending) > 0:
		c := w.pending[0]
		w.acked = c.windowPos
		n := copy(w.pending, w.pending[1:])
		w.pending = w.pending[:n]
		return ackMatched, c.at
	}
	return ackUnexpected, time.Time{}
}

// interrupt records that the API's buffer was cleared: the pending
// checkpoints are void (their replies will be discarded), nothing is in
// flight any more, and all the audio sent counts as checkpointed.
func (w *window) interrupt() {
	w.stale += len(w.pending)
	w.pending = w.pending[:0]
	w.discarded = 0
	w.acked, w.synced = w.sent, w.sent
}

// stalled handles a wait that saw no reply for longer than the window can
// explain. If replies were discarded as answers to voided checkpoints
// while checkpoints are pending, the API evidently dropped the voided
// ones and the discarded replies answered ours: they are credited to the
// oldest pending checkpoints, and credited says how many. Either way no
// more replies to voided checkpoints are expected.
func (w *window) stalled() (credited int) {
	if w.discarded > 0 && len(w.pending) > 0 {
		credited = min(w.discarded, len(w.pending))
		w.acked = w.pending[credited-1].windowPos
		k := copy(w.pending, w.pending[credited:])
		w.pending = w.pending[:k]
	}
	w.stale, w.discarded = 0, 0
	return credited
}

// drained reports whether every checkpoint sent has been answered.
func (w *window) drained() bool { return len(w.pending) == 0 }

// waiting returns the number of checkpoints pending.
func (w *window) waiting() int { return len(w.pending) }

// inFlight returns the audio sent beyond the acknowledged position.
func (w *window) inFlight() (time.Duration, int64) {
	return w.sent.dur - w.acked.dur, w.sent.bytes - w.acked.bytes
}
