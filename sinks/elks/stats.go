package elks

import (
	"time"
)

// Stats counts what a session did, for logs and tests.
type Stats struct {
	// AudioSent and BytesSent measure the audio sent to the caller (bytes
	// before base64); Messages counts the audio messages.
	AudioSent time.Duration
	BytesSent int64
	Messages  int64
	// Syncs counts the checkpoints sent; SyncReplies the replies matched
	// to them; StaleReplies the replies to checkpoints voided by an
	// interrupt (discarded); UnexpectedReplies those with no checkpoint
	// pending.
	Syncs, SyncReplies, StaleReplies, UnexpectedReplies int
	// MaxInFlight and MaxBytesInFlight are the most audio that was ever
	// sent beyond the last acknowledged checkpoint: an upper bound of what
	// the API buffered.
	MaxInFlight      time.Duration
	MaxBytesInFlight int64
	// Underruns counts the times the source fell behind real time while
	// playing: a piece went out after the audio before it had played,
	// by the session's reckoning, so the caller heard a gap.
	Underruns int
	// Interrupts counts Interrupt calls.
	Interrupts int
	// Malformed counts messages from the API that could not be read;
	// Unknown those of an unknown or unexpected type. Both are logged
	// (rate-limited) and otherwise ignored.
	Malformed, Unknown int
	// AudioReceived counts the bytes of caller audio received; Recorded
	// the audio written to the recording.
	AudioReceived int64
	Recorded      time.Duration
	// RecordDropped counts the messages of caller audio left out of the
	// recording because writing it fell too far behind (a slow disk):
	// the session never lets the recording delay its reading.
	RecordDropped int
	// RecordAhead is the caller audio left out of the recording because
	// it arrived faster than real time (more than 5 s ahead of the time
	// since its first message).
	RecordAhead time.Duration
	// RecordFull reports that the recording reached Config.RecordMax:
	// the rest of the call was not recorded.
	RecordFull bool
	// Digits counts the keys the caller pressed (Config.DTMF).
	Digits int
	// Speech counts the times the caller started talking
	// (Config.Speech).
	Speech int
	// CallerDropped is the caller's audio that Caller sources dropped
	// because their reader fell more than a second behind, or that an
	// echo dropped because it fell more than Config.MaxLag behind (when
	// set).
	CallerDropped time.Duration
	// Cushion is the largest cushion an echo's live audio had (see
	// Config.CushionMax): above Config.Cushion, caller audio came late.
	Cushion time.Duration
}
