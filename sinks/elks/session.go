package elks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sources"
)

// Defaults and limits of a Config.
const (
	DefaultFormat       = PCM16000
	DefaultChunk        = 100 * time.Millisecond
	DefaultWindow       = 2 * time.Second
	DefaultCheckpoint   = 500 * time.Millisecond
	DefaultHelloTimeout = 10 * time.Second
	DefaultByeTimeout   = time.Second

	// MaxBytesInFlight caps the audio bytes (before base64) sent beyond
	// the last acknowledged checkpoint, whatever the window: the API ends
	// a call whose buffer passes 30 MB, and this keeps far below it.
	MaxBytesInFlight = 8 << 20

	// MaxMessageSize bounds the JSON of every audio message a session
	// sends; longer audio is split. The API documents no limit; 46elks'
	// own example sends 32 KiB of audio per message (about 44 KiB of JSON).
	MaxMessageSize = 48 << 10
)

// sessMaxRaw is the most audio bytes one message carries: its JSON stays
// within MaxMessageSize (base64 makes 4 bytes of 3), and it is even, so
// 16-bit samples are never split.
const sessMaxRaw = (MaxMessageSize - 64) / 4 * 3 &^ 1

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
	// Chunk is the audio carried by one message; default 100ms.
	Chunk time.Duration
	// Window and Checkpoint set the backpressure: a sync checkpoint goes
	// out at least every Checkpoint of audio (and at every loop iteration
	// and playlist item end), and sending pauses while the audio sent
	// beyond the last acknowledged checkpoint would pass Window +
	// Checkpoint. The API then never buffers more than Window +
	// Checkpoint, and the caller hears no gap while Window exceeds the
	// round trip to the API. Defaults 2s and 500ms.
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
	// never overwritten (a -1, -2... suffix is added).
	Record string
	// RecordFormat is the "listening" format asked for when recording;
	// default: Format when the API can send it and a decoder exists,
	// otherwise pcm_16000.
	RecordFormat Format
	// Logger receives the session's logs, each with the callid, from and
	// to of the call; default slog.Default().
	Logger *slog.Logger
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
	def(&c.Checkpoint, DefaultCheckpoint)
	def(&c.HelloTimeout, DefaultHelloTimeout)
	def(&c.ByeTimeout, DefaultByeTimeout)
	switch {
	case c.Chunk < time.Millisecond || c.Chunk > 2*time.Second:
		return c, fmt.Errorf("chunk %v out of range 1ms..2s", c.Chunk)
	case c.Window < 0 || c.Checkpoint < 0 || c.HelloTimeout < 0 || c.ByeTimeout < 0:
		return c, fmt.Errorf("negative duration in the session configuration")
	case c.Checkpoint < time.Millisecond:
		return c, fmt.Errorf("checkpoint %v is shorter than 1ms", c.Checkpoint)
	}
	if c.MaxBytes <= 0 || c.MaxBytes > MaxBytesInFlight {
		c.MaxBytes = MaxBytesInFlight
	}
	if c.RecordFormat == "" {
		c.RecordFormat = sessListenFormat(c.Format)
	} else if i, err := c.RecordFormat.Info(); err != nil {
		return c, err
	} else if !i.Listen {
		return c, fmt.Errorf("the API cannot send caller audio in format %s", c.RecordFormat)
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

// Errors of a Session.
var (
	// ErrCallOver is wrapped by the errors of a Session whose call has
	// ended (the API said bye, the connection dropped, or this side hung
	// up or closed it).
	ErrCallOver = errors.New("the call is over")
	// ErrInterrupted is returned by a Play that Interrupt stopped.
	ErrInterrupted = errors.New("playback interrupted")
	// ErrBusy is returned by a Play started while another is going on.
	ErrBusy = errors.New("the session is already playing")
)

// Who ended a call, the By of an End.
const (
	ByAPI   = "api"     // the API sent bye first
	ByApp   = "app"     // this side sent bye (Hangup)
	ByDrop  = "dropped" // the connection closed without a bye: a hangup
	ByClose = "closed"  // this side closed the connection without a bye
)

// End says how a call ended.
type End struct {
	// By is ByAPI, ByApp, ByDrop or ByClose.
	By string
	// Reason and Message are those of the API's bye when it sent one
	// ("hangup" for a dropped connection).
	Reason, Message string
}

// String describes the end for logs and errors.
func (e End) String() string {
	switch e.By {
	case ByAPI:
		return fmt.Sprintf("the API said bye (%s: %s)", e.Reason, e.Message)
	case ByApp:
		if e.Reason != "" {
			return fmt.Sprintf("hung up by the application (the API answered bye %s: %s)", e.Reason, e.Message)
		}
		return "hung up by the application"
	case ByDrop:
		return "the connection closed without bye: " + e.Message
	case ByClose:
		return "closed by the application: " + e.Message
	}
	return "the call is still going on"
}

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
}

// Session is one call of the Realtime Voice API, seen from the
// application: it waits for the API's hello, then plays audio to the
// caller with sync backpressure (see Config), records the caller if asked,
// and ends with a bye either way. Its methods are safe for concurrent use,
// but only one Play (or PlayFile, PlayGraph) runs at a time.
type Session struct {
	t     Transport
	cfg   Config
	info  FormatInfo
	enc   Encoder // nil for the file formats
	log   atomic.Pointer[slog.Logger]
	hello Hello

	ctx     context.Context
	cancel  context.CancelCauseFunc
	done    chan struct{} // closed when the call is over
	quit    chan struct{} // closed by Close: the writer stops
	endOnce sync.Once

	helloCh    chan sessHello
	readerDone chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once

	sendingMsg, listeningMsg []byte
	obs                      pipeline.Observer
	boundary                 atomic.Bool // a boundary event fired during a Read

	mu       sync.Mutex
	ended    bool
	end      End
	changed  chan struct{} // closed and replaced when a reply, interrupt or the end comes
	outq     []sessOut
	outSpare []sessOut
	outWake  chan struct{}
	playing  bool
	byeSent  bool
	hungUp   chan struct{} // made by the first Hangup, closed when it returns
	// hangupErr is the first Hangup's result, set before hungUp closes.
	hangupErr error
	gen       uint64 // interrupt generation
	needSend  bool   // a "sending" must precede the next audio
	win       window // the sync window
	stats     Stats

	// Owned by the playing goroutine.
	free    chan []byte
	nbufs   int
	raw     []byte
	pcm     []float32
	carry   time.Duration // audio of samples the codec kept for later
	rawPass []byte
}

type sessHello struct {
	h         Hello
	recording bool
}

// sessOut is one message for the writer: bytes, or a flush marker.
type sessOut struct {
	b      []byte
	pooled bool          // b goes back to the free list once written
	flush  chan struct{} // closed when every earlier message was written
}

// sessAudioBuffers is the number of audio messages that may wait for the
// writer: enough to keep it busy, few enough that memory stays small.
const sessAudioBuffers = 4

var (
	sessMsgSync      = []byte(`{"t":"sync"}`)
	sessMsgBye       = []byte(`{"t":"bye"}`)
	sessMsgInterrupt = []byte(`{"t":"interrupt"}`)
)

// StartSession runs a call over t: it starts the goroutine that reads t
// and the one that writes it, waits for the API's hello (up to
// cfg.HelloTimeout), opens the recording and sends "listening" if
// cfg.Record is set, and returns. The call's context (Context) derives
// from ctx. On error t is closed. Call Close when done with the session.
func StartSession(ctx context.Context, t Transport, cfg Config) (*Session, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Close()
		return nil, err
	}
	s := &Session{
		t: t, cfg: cfg,
		done: make(chan struct{}), quit: make(chan struct{}),
		helloCh:    make(chan sessHello, 1),
		readerDone: make(chan struct{}), writerDone: make(chan struct{}),
		changed: make(chan struct{}), outWake: make(chan struct{}, 1),
		free:     make(chan []byte, sessAudioBuffers),
		needSend: true,
		win:      newWindow(cfg.Window+cfg.Checkpoint, cfg.Checkpoint, cfg.MaxBytes),
	}
	s.info, _ = cfg.Format.Info()
	if !s.info.File {
		if s.enc, err = NewEncoderOptions(cfg.Format, cfg.Codec); err != nil {
			t.Close()
			return nil, err
		}
	}
	s.sendingMsg, _ = Marshal(Sending{Format: cfg.Format})
	s.listeningMsg, _ = Marshal(Listening{Format: cfg.RecordFormat})
	s.log.Store(cfg.Logger)
	s.obs = s.observe
	s.ctx, s.cancel = context.WithCancelCause(ctx)
	go s.readLoop()
	go s.writeLoop()

	timer := time.NewTimer(cfg.HelloTimeout)
	defer timer.Stop()
	select {
	case h := <-s.helloCh:
		s.hello = h.h
		if h.recording {
			s.mu.Lock()
			s.enqueueLocked(sessOut{b: s.listeningMsg})
			s.mu.Unlock()
		}
		return s, nil
	case <-s.done:
		s.Close()
		return nil, fmt.Errorf("the call ended before the API's hello: %s", s.End())
	case <-timer.C:
		s.finish(End{By: ByClose, Message: "no hello"})
		s.Close()
		return nil, fmt.Errorf("no hello from the API within %v", cfg.HelloTimeout)
	case <-ctx.Done():
		s.finish(End{By: ByClose, Message: "cancelled before hello"})
		s.Close()
		return nil, ctx.Err()
	}
}

// Hello returns the API's hello: the call's id, caller and callee.
func (s *Session) Hello() Hello { return s.hello }

// Format returns the format of the audio sent to the caller.
func (s *Session) Format() Format { return s.cfg.Format }

// Logger returns the session's logger, which adds callid, from and to to
// every line.
func (s *Session) Logger() *slog.Logger { return s.log.Load() }

// Context returns the call's context: cancelled when the call ends (its
// cause wraps ErrCallOver) or the context given to StartSession is.
func (s *Session) Context() context.Context { return s.ctx }

// Done returns a channel closed when the call is over.
func (s *Session) Done() <-chan struct{} { return s.done }

// End says how the call ended; its By is "" while the call goes on.
func (s *Session) End() End {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.end
}

// Stats returns a snapshot of the session's counters.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Observe returns a context for opening sources (an Opener, Graph.Open)
// whose loop iterations and playlist items become checkpoints of this
// session when the sources are played with Play.
func (s *Session) Observe(ctx context.Context) context.Context {
	return pipeline.WithObserver(ctx, s.obs)
}

func (s *Session) observe(e pipeline.Event) {
	switch e.Kind {
	case pipeline.ItemEnded, pipeline.IterationEnded:
		s.boundary.Store(true)
	case pipeline.ItemSkipped:
		s.Logger().Warn("playlist item skipped", "event", e.String())
		return
	}
	s.Logger().Debug("stream event", "event", e.String())
}

// finish records how the call ended, once, and wakes everything waiting.
// Done is closed and the call's context cancelled before the waiters
// wake, under s.mu with the ended flag: whoever sees the call over by one
// of them (a Play that returned ErrCallOver, say) sees it over by all.
func (s *Session) finish(e End) {
	s.endOnce.Do(func() {
		s.mu.Lock()
		s.ended, s.end = true, e
		close(s.done)
		s.cancel(s.endErr(e))
		s.broadcastLocked()
		s.mu.Unlock()
		lvl := slog.LevelInfo
		if e.By == ByAPI && e.Reason == ReasonError {
			lvl = slog.LevelWarn
		}
		s.Logger().Log(context.Background(), lvl, "call ended", "by", e.By, "reason", e.Reason, "message", e.Message)
	})
}

func (s *Session) endErr(e End) error { return fmt.Errorf("%w: %s", ErrCallOver, e) }

func (s *Session) broadcastLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Session) enqueueLocked(m sessOut) {
	s.outq = append(s.outq, m)
	select {
	case s.outWake <- struct{}{}:
	default:
	}
}

// readLoop reads the API's messages until the connection ends.
func (s *Session) readLoop() {
	defer close(s.readerDone)
	var rec *sessRecorder
	defer func() {
		if rec != nil {
			rec.close()
		}
	}()
	var lim sessLimiter
	gotHello := false
	for {
		b, err := s.t.ReadMessage(context.Background())
		if err != nil {
			if errors.Is(err, ErrMalformed) {
				s.malformed(&lim, err)
				continue
			}
			s.mu.Lock()
			byeSent := s.byeSent
			s.mu.Unlock()
			if byeSent {
				s.finish(End{By: ByApp}) // the API closed after our bye
				return
			}
			msg := "the connection closed"
			if err != io.EOF {
				msg = err.Error()
			}
			s.finish(End{By: ByDrop, Reason: ReasonHangup, Message: msg})
			return
		}
		if bytes.Equal(b, sessMsgSync) { // the common reply, without JSON decoding
			s.onReply()
			continue
		}
		m, err := Unmarshal(b)
		if err != nil {
			s.malformed(&lim, err)
			continue
		}
		switch m := m.(type) {
		case Hello:
			if gotHello {
				s.unexpected(&lim, "a second hello")
				continue
			}
			gotHello = true
			s.log.Store(s.cfg.Logger.With("callid", m.CallID, "from", m.From, "to", m.To))
			if s.cfg.Record != "" {
				var err error
				rec, err = openRecorder(s.cfg.Record, m, s.cfg.RecordFormat, time.Now(), s.Logger())
				if err != nil {
					s.Logger().Error("cannot record the call", "err", err)
				} else {
					s.Logger().Info("recording the caller", "path", rec.path, "format", string(s.cfg.RecordFormat))
				}
			}
			s.helloCh <- sessHello{h: m, recording: rec != nil}
		case Sync:
			s.onReply()
		case Audio:
			s.mu.Lock()
			s.stats.AudioReceived += int64(len(m.Data))
			s.mu.Unlock()
			if rec != nil {
				d, err := rec.write(m.Data)
				if err != nil {
					s.malformed(&lim, fmt.Errorf("caller audio: %w", err))
				}
				s.mu.Lock()
				s.stats.Recorded += d
				s.mu.Unlock()
			}
		case Bye:
			s.mu.Lock()
			by := ByAPI
			if s.byeSent {
				by = ByApp
			}
			s.mu.Unlock()
			s.finish(End{By: by, Reason: m.Reason, Message: m.Message})
			s.t.Close() // the API's bye is its last message
		case Unknown:
			s.unexpected(&lim, fmt.Sprintf("unknown message type %q", m.T))
		default:
			s.unexpected(&lim, fmt.Sprintf("a %q message, which only applications send", m.Type()))
		}
	}
}

func (s *Session) malformed(lim *sessLimiter, err error) {
	s.mu.Lock()
	s.stats.Malformed++
	s.mu.Unlock()
	if ok, skipped := lim.allow(time.Now()); ok {
		s.Logger().Warn("malformed message from the API, ignored", "err", err, "suppressed", skipped)
	}
}

func (s *Session) unexpected(lim *sessLimiter, what string) {
	s.mu.Lock()
	s.stats.Unknown++
	s.mu.Unlock()
	if ok, skipped := lim.allow(time.Now()); ok {
		s.Logger().Warn("ignored "+what, "suppressed", skipped)
	}
}

// sessLimiter lets the first few lines through, then one per period.
type sessLimiter struct {
	n       int
	last    time.Time
	skipped int
}

func (l *sessLimiter) allow(now time.Time) (bool, int) {
	const burst, period = 5, 10 * time.Second
	l.n++
	if l.n <= burst || now.Sub(l.last) >= period {
		l.last = now
		k := l.skipped
		l.skipped = 0
		return true, k
	}
	l.skipped++
	return false, 0
}

// onReply matches a sync reply to the oldest checkpoint.
func (s *Session) onReply() {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.win.ack() {
	case ackStale:
		s.stats.StaleReplies++
	case ackMatched:
		s.stats.SyncReplies++
	case ackUnexpected:
		s.stats.UnexpectedReplies++
		s.Logger().Debug("sync reply with no checkpoint pending")
	}
	s.broadcastLocked()
}

// sessWriteGrace is how long a failed write leaves the reader to end the
// call itself before the call is taken as dropped.
const sessWriteGrace = time.Second

// writeFailed ends the call as dropped, unless the reader ends it first:
// when the API says bye and closes the connection, a write may fail before
// the reader has handed over the bye, and the call ended by the API's bye,
// not by a drop. The reader sees the closed connection after that bye at
// the latest; the grace period covers a connection that fails writes but
// never reads.
func (s *Session) writeFailed(err error) {
	e := End{By: ByDrop, Reason: ReasonHangup, Message: "writing: " + err.Error()}
	go func() {
		t := time.NewTimer(sessWriteGrace)
		defer t.Stop()
		select {
		case <-s.done:
		case <-t.C:
			s.finish(e)
			s.t.Close()
		}
	}()
}

// writeLoop writes queued messages in order until Close.
func (s *Session) writeLoop() {
	defer close(s.writerDone)
	var werr error
	for {
		s.mu.Lock()
		for len(s.outq) == 0 {
			s.mu.Unlock()
			select {
			case <-s.outWake:
			case <-s.quit:
				return
			}
			s.mu.Lock()
		}
		batch := s.outq
		s.outq = s.outSpare[:0]
		s.mu.Unlock()
		for i, m := range batch {
			switch {
			case m.flush != nil:
				close(m.flush)
			case werr == nil:
				werr = s.t.WriteMessage(context.Background(), m.b)
				if werr != nil {
					s.writeFailed(werr)
				}
			}
			if m.pooled {
				s.free <- m.b[:0]
			}
			batch[i] = sessOut{}
		}
		s.mu.Lock()
		s.outSpare = batch[:0]
		s.mu.Unlock()
	}
}

// stopErrLocked returns why playing must stop, or nil.
func (s *Session) stopErrLocked(ctx context.Context, gen uint64, checkGen bool) error {
	switch {
	case s.ended:
		return s.endErr(s.end)
	case s.byeSent:
		return fmt.Errorf("%w: hanging up", ErrCallOver)
	case ctx.Err() != nil:
		return ctx.Err()
	case checkGen && s.gen != gen:
		return ErrInterrupted
	}
	return nil
}

// waitLocked waits, s.mu held on entry and return, until cond holds or
// playing must stop. A wait with no reply for longer than the window can
// explain is a stall: replies to checkpoints voided by an interrupt are
// then assumed never to come (see stalledLocked).
func (s *Session) waitLocked(ctx context.Context, gen uint64, checkGen bool, cond func() bool) error {
	warned := false
	for {
		if err := s.stopErrLocked(ctx, gen, checkGen); err != nil {
			return err
		}
		if cond() {
			return nil
		}
		ch := s.changed
		s.mu.Unlock()
		timer := time.NewTimer(s.cfg.Window + s.cfg.Checkpoint + 2*time.Second)
		fired := false
		select {
		case <-ch:
		case <-s.done:
		case <-ctx.Done():
		case <-timer.C:
			fired = true
		}
		timer.Stop()
		s.mu.Lock()
		if fired {
			s.stalledLocked(&warned)
		}
	}
}

// stalledLocked handles a wait that saw no reply for a long time. If
// replies were discarded as answers to checkpoints voided by an interrupt,
// the API evidently dropped those checkpoints and the discarded replies
// answered ours: they are credited to the oldest pending checkpoints.
func (s *Session) stalledLocked(warned *bool) {
	if n := s.win.stalled(); n > 0 {
		s.Logger().Info("the API dropped the checkpoints voided by the interrupt; crediting its replies", "replies", n)
		s.broadcastLocked()
		return
	}
	if !*warned {
		*warned = true
		s.Logger().Warn("no sync reply from the API for a long time; still waiting", "pending", s.win.waiting())
	}
}

// syncLocked sends a checkpoint.
func (s *Session) syncLocked() {
	s.enqueueLocked(sessOut{b: sessMsgSync})
	s.win.checkpoint()
	s.stats.Syncs++
}

// checkpoint sends a sync if audio went out since the last one.
func (s *Session) checkpoint() {
	s.mu.Lock()
	if !s.ended && !s.byeSent && s.win.unsynced() {
		s.syncLocked()
	}
	s.mu.Unlock()
}

// checkpointBefore sends a sync if the audio sent since the last one and
// d more would pass the checkpoint interval.
func (s *Session) checkpointBefore(d time.Duration) {
	s.mu.Lock()
	if !s.ended && !s.byeSent && s.win.dueBefore(d) {
		s.syncLocked()
	}
	s.mu.Unlock()
}

// getBuf returns a message buffer from the free list, waiting for the
// writer when all are in use. New buffers fit a message of n audio bytes;
// AppendAudio grows them if a later message is longer.
func (s *Session) getBuf(ctx context.Context, n int) ([]byte, error) {
	select {
	case b := <-s.free:
		return b, nil
	default:
	}
	if s.nbufs < sessAudioBuffers {
		s.nbufs++
		return make([]byte, 0, AudioMessageSize(n)), nil
	}
	select {
	case b := <-s.free:
		return b, nil
	case <-s.done:
	case <-ctx.Done():
	}
	return nil, s.stopErr(ctx)
}

// stopErr says why playing must stop, once the call is over or ctx is
// done: the end of the call first, as a call's context is cancelled when
// the call ends.
func (s *Session) stopErr(ctx context.Context) error {
	select {
	case <-s.done:
		return s.endErr(s.End())
	default:
		return ctx.Err()
	}
}

// sendPiece sends raw audio bytes (at most sessMaxRaw) that play for d,
// after waiting for room in the window. A "sending" goes first when one
// is due. It must be called by the playing goroutine, without s.mu.
func (s *Session) sendPiece(ctx context.Context, gen uint64, raw []byte, d time.Duration) error {
	b, err := s.getBuf(ctx, len(raw))
	if err != nil {
		return err
	}
	b = AppendAudio(b, raw)
	nb := int64(len(raw))
	s.mu.Lock()
	defer s.mu.Unlock()
	err = s.waitLocked(ctx, gen, true, func() bool {
		ok, askSync := s.win.admit(d, nb)
		if askSync {
			s.syncLocked() // no reply is coming that could make room
		}
		return ok
	})
	if err != nil {
		s.free <- b[:0]
		return err
	}
	if s.needSend {
		s.enqueueLocked(sessOut{b: s.sendingMsg})
		s.needSend = false
	}
	s.enqueueLocked(sessOut{b: b, pooled: true})
	due := s.win.send(d, nb)
	st := &s.stats
	st.AudioSent += d
	st.BytesSent += nb
	st.Messages++
	inDur, inBytes := s.win.inFlight()
	st.MaxInFlight = max(st.MaxInFlight, inDur)
	st.MaxBytesInFlight = max(st.MaxBytesInFlight, inBytes)
	if due {
		s.syncLocked()
	}
	return nil
}

// sendEncoded sends raw, which plays for d, split into messages that
// stay within MaxMessageSize.
func (s *Session) sendEncoded(ctx context.Context, gen uint64, raw []byte, d time.Duration) error {
	d += s.carry
	s.carry = 0
	if len(raw) == 0 {
		s.carry = d // the codec keeps the samples for a later frame
		return nil
	}
	total := len(raw)
	var done time.Duration
	for off := 0; off < total; {
		n := min(sessMaxRaw, total-off)
		end := time.Duration(int64(d) * int64(off+n) / int64(total))
		if err := s.sendPiece(ctx, gen, raw[off:off+n], end-done); err != nil {
			return err
		}
		done = end
		off += n
	}
	return nil
}

// beginPlay claims the session for one Play and returns the interrupt
// generation it plays in.
func (s *Session) beginPlay(ctx context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.stopErrLocked(ctx, 0, false); err != nil {
		return 0, err
	}
	if s.playing {
		return 0, ErrBusy
	}
	s.playing = true
	if s.needSend && s.enc != nil {
		s.enc.Reset()
	}
	s.boundary.Store(false)
	return s.gen, nil
}

func (s *Session) endPlay() {
	s.mu.Lock()
	s.playing = false
	s.mu.Unlock()
}

// frameDur is the duration of n frames at rate, rounded up so that the
// window never undercounts.
func frameDur(n, rate int) time.Duration {
	return time.Duration((int64(n)*int64(time.Second) + int64(rate) - 1) / int64(rate))
}

// Play sends src to the caller until it ends, then returns; the audio may
// still be playing at the API (Drain waits for it). src is converted to
// the session's rate, mono, when it is not already; Play does not close
// it. Loop iterations and playlist items of a src opened with a context
// from Observe end with a checkpoint. Play returns ErrInterrupted when
// Interrupt stops it, an error wrapping ErrCallOver when the call ends,
// ctx.Err() when ctx is done, and src's errors. For the file formats
// (wav, mp3) use PlayFile or PlayGraph.
func (s *Session) Play(ctx context.Context, src pipeline.Source) error {
	if s.enc == nil {
		return fmt.Errorf("format %s passes files through untouched: use PlayFile or PlayGraph", s.cfg.Format)
	}
	want := pipeline.Format{Rate: s.info.Rate, Channels: 1}
	if src.Format() != want {
		conv, _, err := pipeline.Convert(src, want)
		if err != nil {
			return err
		}
		src = conv // closing it would close src: left open, as promised
	}
	gen, err := s.beginPlay(ctx)
	if err != nil {
		return err
	}
	defer s.endPlay()
	rate := s.info.Rate
	frames := max(1, int((int64(rate)*int64(s.cfg.Chunk)+int64(time.Second)/2)/int64(time.Second)))
	if cap(s.pcm) < frames {
		s.pcm = make([]float32, frames)
	}
	buf := s.pcm[:frames]
	send := func(p []float32) error {
		s.raw = s.enc.Encode(s.raw[:0], p)
		return s.sendEncoded(ctx, gen, s.raw, frameDur(len(p), rate))
	}
	filled := 0
	for {
		select {
		case <-s.done:
			return s.stopErr(ctx)
		case <-ctx.Done():
			return s.stopErr(ctx)
		default:
		}
		n, rerr := src.Read(buf[filled:])
		if n < 0 || n > frames-filled {
			return fmt.Errorf("source returned %d frames for a %d-frame buffer", n, frames-filled)
		}
		if s.boundary.Swap(false) {
			// The boundary lies before the frames this Read returned.
			if filled > 0 {
				if err := send(buf[:filled]); err != nil {
					return err
				}
			}
			s.checkpoint()
			copy(buf, buf[filled:filled+n])
			filled = n
		} else {
			filled += n
		}
		if filled == frames {
			if err := send(buf); err != nil {
				return err
			}
			filled = 0
		}
		if rerr == io.EOF {
			if filled > 0 {
				if err := send(buf[:filled]); err != nil {
					return err
				}
			}
			return s.flushEncoder(ctx, gen)
		}
		if rerr != nil {
			return rerr
		}
	}
}

// flushEncoder sends what the codec still holds; a codec that ends its
// stream there gets a fresh "sending" before the next audio.
func (s *Session) flushEncoder(ctx context.Context, gen uint64) error {
	s.raw = s.enc.Flush(s.raw[:0])
	if len(s.raw) == 0 {
		s.carry = 0
		return nil
	}
	if err := s.sendEncoded(ctx, gen, s.raw, 0); err != nil {
		return err
	}
	s.mu.Lock()
	s.needSend = true
	s.mu.Unlock()
	return nil
}

// PlayOpener opens a source with a context from Observe (so that its
// loop iterations and playlist items become checkpoints), plays it with
// Play and closes it.
func (s *Session) PlayOpener(ctx context.Context, open pipeline.Opener) error {
	src, err := open(s.Observe(ctx))
	if err != nil {
		return err
	}
	defer pipeline.Close(src)
	return s.Play(ctx, src)
}

// PlayGraph plays one fresh instance of g's source chain (its sink, if
// any, is ignored). For the file formats the chain must be plain files
// and playlists, optionally looped, whose bytes go out untouched (see
// PlayFile); anything else is an error naming the stage in the way.
func (s *Session) PlayGraph(ctx context.Context, g *pipeline.Graph) error {
	if s.info.File {
		plan, err := sessPassthroughPlan(g, s.cfg.Format)
		if err != nil {
			return err
		}
		return s.playPlan(ctx, plan)
	}
	src, _, err := g.Open(s.Observe(ctx))
	if err != nil {
		return err
	}
	defer pipeline.Close(src)
	return s.Play(ctx, src)
}

// PlayFile plays the WAV or MP3 file at path. For the formats wav and mp3
// its bytes go out untouched, in pieces, after a "sending" and followed
// by a checkpoint (the file's type must match the format); for the others
// it is decoded and played like any source.
func (s *Session) PlayFile(ctx context.Context, path string) error {
	if s.info.File {
		gen, err := s.beginPlay(ctx)
		if err != nil {
			return err
		}
		defer s.endPlay()
		return s.sendFile(ctx, gen, path)
	}
	err := s.PlayOpener(ctx, func(ctx context.Context) (pipeline.Source, error) {
		src, err := sources.File(path)(ctx)
		if err != nil {
			return nil, err
		}
		return pipeline.Label(fmt.Sprintf("file %q", path), src), nil
	})
	return pipeline.StageErr(fmt.Sprintf("file %q", path), err)
}

// Drain sends a checkpoint if audio went out since the last one and waits
// until the API has answered every checkpoint: all the audio sent has
// been played.
func (s *Session) Drain(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.stopErrLocked(ctx, 0, false); err != nil {
		return err
	}
	if s.win.unsynced() {
		s.syncLocked()
	}
	return s.waitLocked(ctx, 0, false, s.win.drained)
}

// Interrupt clears the API's playback buffer at once: it sends
// "interrupt", stops the Play going on (which returns ErrInterrupted),
// voids the checkpoints pending (replies to them, if the API sends any,
// are discarded) and makes the next audio start with a fresh "sending".
func (s *Session) Interrupt() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.stopErrLocked(context.Background(), 0, false); err != nil {
		return err
	}
	s.enqueueLocked(sessOut{b: sessMsgInterrupt})
	s.win.interrupt()
	s.needSend = true
	s.gen++
	s.stats.Interrupts++
	s.broadcastLocked()
	return nil
}

// Hangup ends the call from this side: it stops any Play, PlayFile,
// PlayGraph or Drain (they return an error wrapping ErrCallOver), sends
// "bye", waits up to the configured ByeTimeout for the bye to be written
// and as long again for the API's bye, and closes the session. It does
// not wait for the audio sent to be played: call Drain first for that.
// It may be called from any goroutine: the bye goes out once, and a
// Hangup called while another is going on waits for that one and returns
// its result. On a call already over it only closes the session.
func (s *Session) Hangup() error {
	s.mu.Lock()
	if s.hungUp != nil {
		first := s.hungUp
		s.mu.Unlock()
		<-first
		return s.hangupErr
	}
	hungUp := make(chan struct{})
	s.hungUp = hungUp
	if s.ended {
		s.mu.Unlock()
		s.hangupErr = s.Close()
		close(hungUp)
		return s.hangupErr
	}
	s.byeSent = true
	flushed := make(chan struct{})
	s.enqueueLocked(sessOut{b: sessMsgBye})
	s.enqueueLocked(sessOut{flush: flushed})
	s.broadcastLocked()
	s.mu.Unlock()
	timer := time.NewTimer(s.cfg.ByeTimeout)
	defer timer.Stop()
	select {
	case <-flushed:
		timer.Reset(s.cfg.ByeTimeout)
		select {
		case <-s.done:
		case <-timer.C:
		}
	case <-s.done:
	case <-s.writerDone:
	case <-timer.C:
	}
	s.finish(End{By: ByApp})
	s.hangupErr = s.Close()
	close(hungUp)
	return s.hangupErr
}

// ending reports whether the call is over or a Hangup has begun: either
// way no more audio goes out.
func (s *Session) ending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended || s.byeSent
}

// Close ends the session without a bye (if the call is not over yet),
// closes the connection and waits for the session's goroutines. Call it
// when done with a session; it is safe to call more than once.
func (s *Session) Close() error {
	s.finish(End{By: ByClose, Message: "the session was closed"})
	var err error
	s.closeOnce.Do(func() {
		err = s.t.Close()
		close(s.quit)
		<-s.readerDone
		<-s.writerDone
		st := s.Stats()
		s.Logger().Debug("session closed", "audio_sent", st.AudioSent, "syncs", st.Syncs,
			"max_in_flight", st.MaxInFlight, "malformed", st.Malformed, "unknown", st.Unknown)
	})
	return err
}
