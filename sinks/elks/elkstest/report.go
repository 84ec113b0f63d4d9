package elkstest

import (
	"time"

	"github.com/elkspipe/elkspipe/sinks/elks"
)

// Report is what the simulator saw during one call. Times are call
// time, in seconds.
type Report struct {
	URL    string `json:"url"`
	CallID string `json:"callid"`
	From   string `json:"from"`
	To     string `json:"to"`
	// Speed is the speed the call ran at.
	Speed float64 `json:"speed"`
	// Duration is the call's length, from hello to its end.
	Duration float64 `json:"duration"`
	// WallSeconds is the call's length on the wall clock.
	WallSeconds float64 `json:"wall_seconds"`
	// End says how the call ended.
	End End `json:"end"`

	// Audio is the audio the application sent (decoded length, messages,
	// bytes as sent).
	Audio Audio `json:"audio"`
	// Sendings and Listenings count the application's sending and
	// listening messages by format.
	Sendings   map[string]int `json:"sendings"`
	Listenings map[string]int `json:"listenings"`
	// FirstAudio is when the first audio started playing: the time to
	// first audio, which the caller spent in silence (and the recording
	// starts with). It is 0 too when no audio played (Played and Dropped
	// are then 0).
	FirstAudio float64 `json:"first_audio"`
	// Played is the audio the caller heard; Dropped the audio that was
	// buffered but not played, removed by an interrupt or the end of the
	// call.
	Played  float64 `json:"played"`
	Dropped float64 `json:"dropped"`
	// MaxBuffered is the most audio the buffer held.
	MaxBuffered Amount `json:"max_buffered"`
	// BufferLimit is the limit in force, in bytes.
	BufferLimit int64 `json:"buffer_limit"`
	// Gaps are the stretches of silence between pieces of audio.
	Gaps Gaps `json:"gaps"`
	// Syncs are the application's checkpoints and the answers to them.
	Syncs Syncs `json:"syncs"`
	// Interrupts counts the application's interrupt messages.
	Interrupts int `json:"interrupts"`
	// CallerAudio is what the simulator sent as the caller's voice.
	CallerAudio CallerAudio `json:"caller_audio"`
	// Echo, when the caller spoke and heard it back (an echo test), says
	// how late; nil otherwise.
	Echo *Echo `json:"echo,omitempty"`
	// Digits are the keys the caller pressed (Options.DTMF), in order of
	// time, each with what the caller heard after it.
	Digits []DigitReport `json:"digits,omitempty"`
	// Violations counts the application's protocol violations by kind
	// (malformed and unknown messages included); Problems describes the
	// first of them (at most 50).
	Violations map[ViolationKind]int `json:"violations"`
	Problems   []Problem             `json:"problems"`
	// LateMessages counts the messages that arrived after the simulator
	// had ended the call (in flight when it sent bye; not violations).
	LateMessages int `json:"late_messages"`
	// Record describes the recording of what the caller heard, if any.
	Record *Recording `json:"record,omitempty"`
}

// End says how a simulated call ended.
type End struct {
	// By is who ended the call: elks.ByApp (the application sent bye),
	// elks.ByAPI (the simulator did: reason "hangup" when the caller hung
	// up, at Duration or when the context was cancelled; "error" when the
	// buffer overflowed) or elks.ByDrop (the connection closed or broke
	// without bye).
	By elks.Party `json:"by"`
	// Reason and Message are those of the bye the simulator sent, if any.
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Error is the connection error when By is elks.ByDrop, or the
	// error that stopped the simulator from sending its bye.
	Error string `json:"error,omitempty"`
	// Cancelled is set when the call ended because the context was
	// cancelled.
	Cancelled bool `json:"cancelled,omitempty"`
}

// Audio counts the audio of one direction.
type Audio struct {
	Seconds  float64 `json:"seconds"`
	Messages int     `json:"messages"`
	Bytes    int64   `json:"bytes"`
}

// CallerAudio is the caller's audio the simulator sent.
type CallerAudio struct {
	Audio
	Format string `json:"format,omitempty"`
	Error  string `json:"error,omitempty"`
	// NeverAsked is set when the simulator had a voice or keys to send
	// (Options.Say, Options.DTMF) but the application never asked for
	// the caller's audio (no listening message), so none was sent: no
	// key reached it.
	NeverAsked bool `json:"never_asked,omitempty"`
	// Late counts the messages the simulator sent more than LateBound
	// after their time, its own goroutines not run in time (a busy
	// machine); MaxLate is the latest, in seconds. Caller audio sent late
	// reaches the application late whatever it does: gaps in an echo of
	// it may be the simulator's own.
	Late    int     `json:"late,omitempty"`
	MaxLate float64 `json:"max_late,omitempty"`
}

// LateBound is how late the simulator may send a message of caller
// audio before it counts in CallerAudio.Late.
const LateBound = 10 * time.Millisecond

// Amount is an amount of buffered audio.
type Amount struct {
	Seconds float64 `json:"seconds"`
	Bytes   int64   `json:"bytes"`
}

// Gaps summarizes the gaps of a call.
type Gaps struct {
	Count   int     `json:"count"`
	Seconds float64 `json:"seconds"`
	List    []Gap   `json:"list"`
}

// Gap is one stretch of silence between two pieces of audio.
type Gap struct {
	// At is the call time at which the buffer ran dry, which is also
	// its position in the recording (that starts at the call's start);
	// Heard is the same moment as a position in the audio the caller
	// heard from the first audio on (At less Report.FirstAudio).
	At    float64 `json:"at"`
	Heard float64 `json:"heard"`
	// Seconds is how long the silence lasted.
	Seconds float64 `json:"seconds"`
}

// Syncs summarizes the syncs of a call. Latency runs from the moment a
// request was read to the moment its answer was sent.
type Syncs struct {
	Requests   int     `json:"requests"`
	Answered   int     `json:"answered"`
	MinLatency float64 `json:"min_latency"`
	AvgLatency float64 `json:"avg_latency"`
	MaxLatency float64 `json:"max_latency"`
}

// Recording describes the recording of what the caller heard.
type Recording struct {
	Path    string  `json:"path"`
	Rate    int     `json:"rate"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
}

// ViolationKind names a kind of protocol violation by the application.
type ViolationKind string

// The violations the simulator detects.
const (
	// Malformed: a text frame that is not a protocol message (not
	// JSON, no "t", fields of the wrong type, bad base64).
	Malformed ViolationKind = "malformed"
	// UnknownType: a message whose "t" the protocol does not know.
	UnknownType ViolationKind = "unknown-type"
	// Unexpected: a message only the API sends (hello).
	Unexpected ViolationKind = "unexpected-message"
	// BinaryFrame: a binary WebSocket frame (a message the transport
	// could not read, an error wrapping elks.ErrMalformed); the protocol
	// is text only.
	BinaryFrame ViolationKind = "binary-frame"
	// Oversize: a message of more than 64 KiB of JSON.
	Oversize ViolationKind = "oversize"
	// BadFormat: sending or listening with an unknown format, or one
	// not allowed in that direction (listening wav).
	BadFormat ViolationKind = "bad-format"
	// Undecodable: audio the simulator could not decode (a format with
	// no codec in this build, a partial sample, a broken file).
	Undecodable ViolationKind = "undecodable"
	// FormatMismatch: wav or mp3 bytes that are not a file of that
	// kind, or a second file sent without a new sending.
	FormatMismatch ViolationKind = "format-mismatch"
	// AudioBeforeSending: audio before any sending.
	AudioBeforeSending ViolationKind = "audio-before-sending"
	// AudioAfterInterrupt: audio after an interrupt and before the next
	// sending (ignored, as the API does).
	AudioAfterInterrupt ViolationKind = "audio-after-interrupt"
	// AfterBye: a message after a bye (the application's or the
	// simulator's).
	AfterBye ViolationKind = "after-bye"
)

// Problem is one protocol violation, at a call time in seconds.
type Problem struct {
	At     float64       `json:"at"`
	Kind   ViolationKind `json:"kind"`
	Detail string        `json:"detail"`
}

// maxProblems bounds Report.Problems.
const maxProblems = 50
