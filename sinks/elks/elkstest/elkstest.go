package elkstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/elkspipe/elkspipe/pipeline"
)

// The simulator plays the part of the 46elks Realtime Voice API against an
// application (elkspipe's elks sink, or any other): it connects as the API
// does, sends hello, plays the audio it receives on a simulated clock,
// answers each sync once the audio before it has been played, obeys
// sending and interrupt, enforces the buffer limit, can speak as the
// caller, hangs up when told, records what the caller heard and reports
// what it saw. Where protocol.md leaves the API's behaviour open, these
// are its rules:
//
// Time. The call's clock runs Speed times faster than the wall clock from
// the moment hello is sent: call time = wall time since hello × Speed.
// Every duration in Options and Report is call time.
//
// Playback. The buffer is a queue of decoded audio. Audio that arrives
// while the buffer holds some is queued behind it; audio that arrives when
// it has run dry plays from its arrival. The moment the buffer runs dry is
// computed from the lengths of the queued audio (no polling), and each
// message is stamped by the goroutine that reads the socket as soon as it
// has been read. A gap is the time between the two, so its resolution is
// the wall-clock delay of reading a frame and taking the time (tens of
// microseconds, more on a loaded machine) times Speed: about 5 ms of call
// time at Speed 100. A sync is answered by a timer set for the moment the
// audio before it ends, plus RTT; it goes out late by the timer's latency
// times Speed. High speeds magnify the scheduling delays of the machine:
// to measure gaps, keep the wall-clock margin (window ÷ Speed) well above
// a millisecond.
//
// Gaps. A gap is silence between two pieces of audio: the buffer ran dry
// after audio had started, and audio came again. The silence after the
// application's last audio is not a gap (it may be done, or keeping the
// call open), nor is the silence after an interrupt, which it asked for.
//
// RTT. The whole round trip is added to sync answers rather than split
// between the two directions: for an application that waits for a sync
// before it sends more, the silence is the same. hello and bye are not
// delayed.
//
// wav and mp3. The bytes after a sending are one file, decoded by
// sources.Decode as they arrive. Decoded audio counts as arrived when its
// bytes did, so the simulator's decoding time never shows as a gap, but
// decoding must outrun the speed (MP3 at Speed 20 under the race detector
// does not). A sync waits until every byte before it has been decoded and
// that audio has played: the decoder is not given the bytes after a sync
// until it has used those before it, so its read-ahead cannot make a sync
// wait for later audio. A sync inside a frame (an application that cuts
// its pieces mid-frame) is answered once the whole frames before it have
// played.
// Bytes after the end of a WAV file (its RIFF header gives its length)
// are ignored, and reported if they start another file; MP3 has no length,
// so a second MP3 file without a new sending plays as a continuation. Buffered bytes count the file's bytes
// not yet played, attributed to the audio as the decoder consumes them.
//
// Interrupt. The buffer is emptied at once; pending syncs are answered
// right away (plus RTT): the audio before them is gone. Audio is ignored,
// and reported, until the next sending.
//
// Bye. When the application sends bye, the call ends at once (buffered
// audio is dropped) and the simulator answers with bye reason "done", the
// API's last message, then closes. When the caller hangs up (Duration, or
// ctx cancelled) it sends bye "hangup"; when the buffer overflows, bye
// "error". It then waits up to two seconds for the application to close
// its side, counting what still arrives, and closes the connection.
//
// Caller audio. Say is opened when the application sends listening,
// converted to the listening format's rate, mono, and sent in 20 ms
// messages, each when its 20 ms have passed on the call's clock. Without
// Say the caller is silent (no audio messages).
//
// Recording. What the caller heard, in time order: the audio as played,
// silence for gaps and after interrupts, from the first played sample to
// the last; the silence after the last audio is not recorded.

// DefaultBufferLimit is the API's documented limit on buffered audio, 30
// MB, counted as decimal megabytes of audio bytes as sent (before base64).
const DefaultBufferLimit = 30_000_000

// Defaults of Options.
const (
	DefaultFrom = "+46700000000"
	DefaultTo   = "+46766000000"
)

// Options configures a simulated call.
type Options struct {
	// URL is the application's WebSocket URL, such as
	// ws://127.0.0.1:8095/?token=s3cret (http and https work too).
	URL string
	// CallID, From and To go in the hello message. CallID defaults to 32
	// random hex digits, From to DefaultFrom, To to DefaultTo.
	CallID, From, To string
	// Speed is how many times faster than real time the call runs; 0
	// means 1.
	Speed float64
	// Duration is how long the caller stays on the line, in call time:
	// then the simulator hangs up with bye reason "hangup". 0 means until
	// the application ends the call.
	Duration time.Duration
	// RTT is the round-trip delay added to every sync answer, in call
	// time.
	RTT time.Duration
	// BufferLimit is the most audio the simulator buffers, in bytes as
	// sent; more ends the call with bye reason "error". 0 means
	// DefaultBufferLimit.
	BufferLimit int64
	// Record, if set, is the path of a WAV file (16-bit mono) that
	// receives what the caller heard: the audio as played, with silence
	// for gaps, from the first played sample to the last. "{callid}" in
	// the path is replaced by the call id.
	Record string
	// RecordRate is the sample rate of the recording; 0 means the rate of
	// the first audio played. Audio at other rates is resampled.
	RecordRate int
	// Say, if set, is the caller's voice: once the application sends
	// listening, the simulator opens it and sends its audio in the
	// listening format, in 20 ms messages paced at Speed.
	Say pipeline.Opener
	// Logger receives the simulator's logs; nil means none.
	Logger *slog.Logger
}

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
	// FirstAudio is when the first audio started playing.
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
	// By is who ended the call: "app" (it sent bye), "caller" (the
	// simulator hung up: Duration reached or the context cancelled),
	// "api" (the simulator ended it with an error, such as a buffer
	// overflow) or "connection" (the connection closed or broke without
	// bye).
	By string `json:"by"`
	// Reason and Message are those of the bye the simulator sent, if any.
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Error is the connection error when By is "connection", or the
	// error that stopped the simulator from sending its bye.
	Error string `json:"error,omitempty"`
	// Cancelled is set when the call ended because the context was
	// cancelled.
	Cancelled bool `json:"cancelled,omitempty"`
}

// Who ended a call, the values of End.By.
const (
	ByApp        = "app"
	ByCaller     = "caller"
	ByAPI        = "api"
	ByConnection = "connection"
)

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
}

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
	// At is the call time at which the buffer ran dry; Heard is the same
	// moment as a position in what the caller heard (and in the
	// recording).
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
	// BinaryFrame: a binary WebSocket frame; the protocol is text only.
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

// simMaxProblems bounds Report.Problems.
const simMaxProblems = 50

// simMaxMessage is the largest message the protocol allows (64 KiB of JSON).
const simMaxMessage = 64 << 10

// simReadLimit is the largest message the simulator reads: far above the
// protocol's limit, so that oversize messages are reported rather than
// ending the connection.
const simReadLimit = 16 << 20

// simDialTimeout bounds the connection and the WebSocket handshake.
const simDialTimeout = 10 * time.Second

// Call runs one simulated call against the application at opt.URL and
// returns its report. It returns an error without a report when the call
// could not be made (bad options, the connection refused, the upgrade
// rejected, the recording not creatable). Whatever the application does
// afterwards, the call runs and is reported: misbehaviour is in the
// report, not in the error. When ctx is cancelled the simulator hangs up
// (bye reason "hangup") and returns the report with ctx's error. Every
// goroutine it starts has ended when it returns.
func Call(ctx context.Context, opt Options) (*Report, error) {
	opt, err := opt.simNormalize()
	if err != nil {
		return nil, err
	}
	rec, err := simCreateRecorder(opt.Record, opt.RecordRate)
	if err != nil {
		return nil, err
	}
	conn, err := simDial(ctx, opt.URL)
	if err != nil {
		rec.discard()
		return nil, err
	}
	c := simNewCall(opt, conn, rec)
	c.run(ctx)
	if ctx.Err() != nil && c.rep.End.Cancelled {
		return c.rep, ctx.Err()
	}
	return c.rep, nil
}

// Calls runs n simulated calls at once, each as Call would with
// opt, and returns their reports in order. Each call gets its own call id
// (opt.CallID followed by "-1", "-2", ... when set, random otherwise) and,
// when recording, its own file: "{callid}" or "{n}" (the call's number)
// in opt.Record are replaced, and if neither is there the number is added
// before the extension (heard-1.wav). Calls that could not be made have a
// nil report, and their errors are joined in the returned error.
func Calls(ctx context.Context, opt Options, n int) ([]*Report, error) {
	if n < 1 {
		return nil, fmt.Errorf("%d calls: want at least 1", n)
	}
	if n == 1 {
		r, err := Call(ctx, opt)
		return []*Report{r}, err
	}
	reports := make([]*Report, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		o := opt
		if opt.CallID != "" {
			o.CallID = opt.CallID + "-" + strconv.Itoa(i+1)
		} else {
			o.CallID = simRandomID()
		}
		o.Record = simRecordPath(opt.Record, i+1, o.CallID)
		wg.Go(func() {
			r, err := Call(ctx, o)
			reports[i] = r
			if err != nil && r == nil {
				errs[i] = fmt.Errorf("call %d: %w", i+1, err)
			} else if err != nil {
				errs[i] = err
			}
		})
	}
	wg.Wait()
	// Cancellation is one error, not n.
	if ctx.Err() != nil {
		for i, e := range errs {
			if errors.Is(e, ctx.Err()) && reports[i] != nil {
				errs[i] = nil
			}
		}
		if errors.Join(errs...) == nil {
			return reports, ctx.Err()
		}
	}
	return reports, errors.Join(errs...)
}

// simRecordPath gives call n its own recording path.
func simRecordPath(path string, n int, callid string) string {
	if path == "" {
		return ""
	}
	if strings.Contains(path, "{n}") || strings.Contains(path, "{callid}") {
		return strings.ReplaceAll(path, "{n}", strconv.Itoa(n))
	}
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-" + strconv.Itoa(n) + ext
}

// Check reports whether o is usable, without connecting: the URL's form
// and the ranges of the numbers.
func (o Options) Check() error {
	_, err := o.simNormalize()
	return err
}

func (o Options) simNormalize() (Options, error) {
	if o.URL == "" {
		return o, errors.New("no URL to call")
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		return o, fmt.Errorf("bad URL %q: %v", redact(o.URL), err)
	}
	switch u.Scheme {
	case "ws", "wss", "http", "https":
	default:
		return o, fmt.Errorf("bad URL %q: want ws://HOST:PORT/PATH (or wss://)", redact(o.URL))
	}
	if u.Host == "" {
		return o, fmt.Errorf("bad URL %q: no host", redact(o.URL))
	}
	if o.Speed == 0 {
		o.Speed = 1
	}
	if o.Speed < 0 || o.Speed > 1e6 || o.Speed != o.Speed {
		return o, fmt.Errorf("speed %g out of range (0, 1000000]", o.Speed)
	}
	if o.Duration < 0 || o.RTT < 0 {
		return o, errors.New("negative duration or RTT")
	}
	if o.BufferLimit == 0 {
		o.BufferLimit = DefaultBufferLimit
	}
	if o.BufferLimit < 0 {
		return o, fmt.Errorf("negative buffer limit %d", o.BufferLimit)
	}
	if o.RecordRate != 0 {
		if err := (pipeline.Format{Rate: o.RecordRate, Channels: 1}).Validate(); err != nil {
			return o, fmt.Errorf("record rate: %v", err)
		}
	}
	if o.CallID == "" {
		o.CallID = simRandomID()
	}
	if o.From == "" {
		o.From = DefaultFrom
	}
	if o.To == "" {
		o.To = DefaultTo
	}
	o.Record = strings.ReplaceAll(o.Record, "{callid}", simSafeName(o.CallID))
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// simSafeName keeps a call id usable in a file name.
func simSafeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.', r == '+':
			return r
		}
		return '_'
	}, s)
}

// simRandomID returns 32 random hex digits, like 46elks' call ids.
func simRandomID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// simRedactRE finds the value of a token in a URL's query.
var simRedactRE = regexp.MustCompile(`([?&][Tt][Oo][Kk][Ee][Nn]=)[^&#]*`)

// redact returns u with the value of its token parameter hidden, for
// reports and logs: ws://h/p?token=s3cret becomes ws://h/p?token=xxx.
func redact(u string) string { return simRedactRE.ReplaceAllString(u, "${1}xxx") }

// simDial connects to the application, as 46elks does for every call.
func simDial(ctx context.Context, u string) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, simDialTimeout)
	defer cancel()
	conn, resp, err := websocket.Dial(dctx, u, nil)
	u = redact(u)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			hint := ""
			switch resp.StatusCode {
			case http.StatusUnauthorized, http.StatusForbidden:
				hint = " (wrong or missing ?token=)"
			case http.StatusNotFound:
				hint = " (wrong path?)"
			}
			return nil, fmt.Errorf("cannot connect to %s: the server answered %s%s", u, resp.Status, hint)
		}
		return nil, fmt.Errorf("cannot connect to %s: %v", u, simDialCause(err))
	}
	conn.SetReadLimit(simReadLimit)
	return conn, nil
}

// simDialCause trims the layers coder/websocket and net/http wrap around
// the reason a connection failed ("connection refused").
func simDialCause(err error) string {
	s := err.Error()
	for _, cause := range []string{"connection refused", "no such host", "i/o timeout", "context deadline exceeded", "context canceled", "network is unreachable", "connection reset by peer"} {
		if strings.Contains(s, cause) {
			return cause
		}
	}
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}
