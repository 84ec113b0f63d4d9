package elks

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults and limits of a Config.
const (
	DefaultFormat       = PCM16000
	DefaultChunk        = 100 * time.Millisecond
	DefaultWindow       = 2 * time.Second
	DefaultCheckpoint   = 500 * time.Millisecond
	DefaultHelloTimeout = 10 * time.Second
	DefaultByeTimeout   = time.Second

	// DefaultFileCheckpoint is the checkpoint interval of the file
	// formats (wav, mp3), whose pieces grow with the room in the window
	// up to 32 KiB (see Config.Chunk). A file's end is a checkpoint
	// anyway, so a short looped file (a 5 s WAV of 8 kHz, as in 46elks'
	// looping example) goes out in the example's three pieces and one
	// sync per iteration, where a 500 ms interval took ten of each. The
	// API then buffers at most Window + 5 s (112 KB of such a WAV or of
	// a 128 kbit/s MP3, 1.2 MB of 44.1 kHz stereo WAV: far from its 30
	// MB). The gap margin does not depend on it: the caller hears no gap
	// while Window exceeds the round trip by a chunk.
	DefaultFileCheckpoint = 5 * time.Second

	// MaxBytesInFlight caps the audio bytes (before base64) sent beyond
	// the last acknowledged checkpoint, whatever the window: the API ends
	// a call whose buffer passes 30 MB, and this keeps far below it.
	MaxBytesInFlight = 8 << 20

	// MaxMessageSize bounds the JSON of every audio message a session
	// sends; longer audio is split. The API documents no limit; 46elks'
	// own example sends 32 KiB of audio per message (about 44 KiB of JSON).
	MaxMessageSize = 48 << 10
)

// maxRawPerMessage is the most audio bytes one message carries: its JSON stays
// within MaxMessageSize (base64 makes 4 bytes of 3), and it is even, so
// 16-bit samples are never split.
const maxRawPerMessage = (MaxMessageSize - 64) / 4 * 3 &^ 1

// Config configures a Session. The zero value is usable: every zero field
// takes its default.
type Config struct {
	// Format is the format of the audio sent to the caller; default
	// pcm_16000. For wav and mp3 the files are passed through untouched
	// (PlayFile, PlayGraph).
	Format Format
	// Codec tunes the encoder of formats with settings (Ogg Opus: bit
	// rate, complexity, frame); zero fields take the codec's defaults.
	Codec CodecOptions
	// Chunk is the audio carried by one message; default 100ms. In the
	// file formats (wav, mp3) it is the shortest piece of a file: a
	// piece carries what the window has room for, up to the next
	// checkpoint and 32 KiB.
	Chunk time.Duration
	// Window and Checkpoint set the backpressure: a sync checkpoint goes
	// out at least every Checkpoint of audio (and at every loop iteration
	// and playlist item end), and sending pauses while the audio sent
	// beyond the last acknowledged checkpoint would pass Window +
	// Checkpoint. The API then never buffers more than Window +
	// Checkpoint, and the caller hears no gap while Window exceeds the
	// round trip to the API by a chunk. Defaults 2s and 500ms; in the
	// file formats (wav, mp3) the checkpoint defaults to
	// DefaultFileCheckpoint (5s).
	Window, Checkpoint time.Duration
	// MaxBytes caps the audio bytes in flight (before base64); default
	// and upper bound MaxBytesInFlight.
	MaxBytes int64
	// HelloTimeout bounds the wait for the API's hello; default 10s.
	HelloTimeout time.Duration
	// ByeTimeout bounds how long Hangup waits for its bye to go out, and
	// then for the API's bye; default 1s.
	ByeTimeout time.Duration
	// Record, when set, is the path of a WAV file per call that receives
	// the caller's audio (decoded, mono, 16-bit). {callid}, {from}, {to}
	// and {time} are replaced (the peer's values reduced to safe file-name
	// characters); missing directories are created; an existing file is
	// never overwritten (a -1, -2... suffix is added). The file is
	// written apart from the call: a disk that falls seconds behind
	// loses audio (counted in Stats.RecordDropped) rather than delay
	// the call.
	Record string
	// DTMF detects the keys the caller presses in the caller's audio
	// (46elks sends no message for them): the session asks for the audio
	// at hello, logs each digit and hands it to Session.Digits.
	DTMF bool
	// Cushion is the silence that live audio sent into the API's empty
	// buffer starts with, while a Caller source is open (an echo, an
	// exec program): later pieces may arrive that much late with no gap,
	// and the echo is that much later. Default DefaultCushion; negative:
	// none. See docs/operations.md, "The caller's audio".
	Cushion time.Duration
	// Speech detects when the caller starts and stops talking, by the
	// energy of the caller's audio (see Session.Speech): the session asks
	// for the audio at hello and hands each change to Session.Speech.
	Speech bool
	// Ping is how often the session pings the API, so that a call with
	// nothing to send survives the proxies that cut idle connections:
	// Ping after the call starts, then Ping after each pong. A pong must
	// come back within the same period, or the call is dropped (End.By
	// ByDrop). Default DefaultPing; negative: no pings. Only
	// transports that implement Pinger are pinged.
	Ping time.Duration
	// RecordMax is the longest recording of a call, default
	// DefaultRecordMax, at most 12 h (what a WAV file can hold). Caller
	// audio that arrives faster than real time is left out as well: a
	// recording never runs more than 5 s ahead of the time since the
	// caller's first audio (Stats.RecordAhead, Stats.RecordFull).
	RecordMax time.Duration
	// ListenFormat is the "listening" format in which the caller's audio
	// is asked for, when recording (Record) or hearing the caller
	// (Session.Caller); default: Format when the API can send it and a
	// decoder exists, otherwise pcm_16000.
	ListenFormat Format
	// RecordMode says what the recording holds: RecordCaller (the
	// default) the caller's audio, mono; RecordBoth a stereo file with
	// the caller on the left and what the caller heard on the right, on
	// the call's clock: each piece of audio sent is placed where the
	// sync replies show it played (it plays on arrival into an empty
	// buffer, after the audio queued before it otherwise), cut where an
	// interrupt discarded it, with silence where nothing played. The
	// heard side is the audio as sent, before the codec. Not for wav and
	// mp3, which pass files through undecoded.
	RecordMode RecordMode
	// Metrics, when set, counts the session's audio, sync round trips,
	// stalls, underruns and protocol errors (a Server sets its own).
	Metrics *Metrics
	// Logger receives the session's logs, each with the callid, from and
	// to of the call; default slog.Default().
	Logger *slog.Logger
	// RenderCache, when set, lets PlayGraph share one rendering of a
	// deterministic pipeline among the calls that play it in the same
	// format (see RenderCache and docs/sharing.md); nil: every call
	// renders its own. The elks sink sets DefaultRenderCache.
	RenderCache *RenderCache
	// CushionMax is how far the cushion of an echo (the caller element
	// played back) grows after caller audio came later than it: the
	// cushion adapts to the jitter seen, between Cushion and CushionMax
	// (see cushion.go). Default DefaultCushionMax; a value not above
	// Cushion (negative, say) keeps the cushion fixed.
	CushionMax time.Duration
	// MaxLag, when above 0, bounds how far an echo falls behind the
	// caller beyond its cushion after late or starved caller audio:
	// beyond it the oldest caller audio is dropped (Stats.CallerDropped)
	// rather than played late (see cushion.go). 0, the default: no bound
	// but the caller source's second; the delay is won back in the
	// caller's pauses only.
	MaxLag time.Duration
}

// withDefaults fills the zero fields and checks the others.
func (c Config) withDefaults() (Config, error) {
	if c.Format == "" {
		c.Format = DefaultFormat
	}
	info, err := c.Format.Info()
	if err != nil {
		return c, err
	}
	if !info.Send {
		return c, fmt.Errorf("format %s cannot be sent to the API", c.Format)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Chunk, DefaultChunk)
	def(&c.Window, DefaultWindow)
	if info.File {
		def(&c.Checkpoint, DefaultFileCheckpoint)
	}
	def(&c.Checkpoint, DefaultCheckpoint)
	def(&c.HelloTimeout, DefaultHelloTimeout)
	def(&c.ByeTimeout, DefaultByeTimeout)
	def(&c.RecordMax, DefaultRecordMax)
	def(&c.Ping, DefaultPing)
	def(&c.Cushion, DefaultCushion)
	def(&c.CushionMax, DefaultCushionMax)
	switch {
	case c.Chunk < time.Millisecond || c.Chunk > 2*time.Second:
		return c, fmt.Errorf("chunk %v out of range 1ms..2s", c.Chunk)
	case c.Ping > 0 && c.Ping < 10*time.Millisecond:
		return c, fmt.Errorf("ping %v is shorter than 10ms", c.Ping)
	case c.Window < 0 || c.Checkpoint < 0 || c.HelloTimeout < 0 || c.ByeTimeout < 0:
		return c, fmt.Errorf("negative duration in the session configuration")
	case c.Checkpoint < time.Millisecond:
		return c, fmt.Errorf("checkpoint %v is shorter than 1ms", c.Checkpoint)
	case c.Cushion > time.Second:
		return c, fmt.Errorf("cushion %v is longer than 1s", c.Cushion)
	case c.CushionMax > time.Second:
		return c, fmt.Errorf("cushion-max %v is longer than 1s", c.CushionMax)
	case c.MaxLag > callerKeep:
		return c, fmt.Errorf("max-lag %v is longer than the %v of caller audio a source keeps", c.MaxLag, callerKeep)
	case c.RecordMax < 0 || c.RecordMax > maxRecordMax:
		return c, fmt.Errorf("record-max %v out of range 0..%v (a WAV file holds at most 4 GiB)", c.RecordMax, maxRecordMax)
	}
	if c.MaxBytes <= 0 || c.MaxBytes > MaxBytesInFlight {
		c.MaxBytes = MaxBytesInFlight
	}
	if c.ListenFormat == "" {
		c.ListenFormat = listenFormat(c.Format)
	} else if i, err := c.ListenFormat.Info(); err != nil {
		return c, err
	} else if !i.Listen {
		return c, fmt.Errorf("the API cannot send caller audio in format %s", c.ListenFormat)
	}
	if err := checkRecordMode(c.RecordMode, info, c.Record); err != nil {
		return c, err
	}
	if c.Record != "" {
		if err := checkRecordTemplate(c.Record); err != nil {
			return c, err
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}
