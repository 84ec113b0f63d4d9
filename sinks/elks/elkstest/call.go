package elkstest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elkspipe/elkspipe/sinks/elks"
)

// writeTimeout bounds every write to the application: an application
// that stops reading cannot stall the simulator for longer.
const writeTimeout = 5 * time.Second

// closeGrace is how long the simulator waits, after the call's last
// message, for the application to close its side before closing the
// connection itself.
const closeGrace = 2 * time.Second

// byeLinger is how long the simulator keeps reading after the
// application's bye before it starts the close handshake. Closing
// discards whatever the peer sends during the handshake, so without this
// pause messages the application wrongly sends after its bye would go
// unreported. An application that closes its side at once (as elkspipe
// does) ends the pause at once.
const byeLinger = 500 * time.Millisecond

// inbound is one message read from the application, stamped with the
// wall-clock time it was read. bad is a message the transport could not
// read (a binary frame); err ends the stream.
type inbound struct {
	data []byte
	at   time.Time
	bad  error
	err  error
}

// pendingSync is a pending sync request.
type pendingSync struct {
	req   time.Duration // when it was read
	due   time.Duration // when the audio before it ends
	known bool          // due is known (false while a file decodes)
	file  int           // the file whose bytes it waits for
	fedAt int64         // the bytes of that file received before it
}

// call is one simulated call. Its state belongs to the goroutine that
// runs it; the reader, the caller's voice, file decoders and the
// recording's resampler run beside it and talk to it through channels.
type call struct {
	opt   Options
	conn  *sender
	rep   *Report
	log   *slog.Logger
	start time.Time // wall time of hello: call time 0
	speed float64

	in         chan *batch
	free       chan *batch   // batches handled, returned by the loop for the reader to reuse
	quit       chan struct{} // closed when the call no longer reads in
	readCancel context.CancelFunc
	stopRead   func() // ends a read in progress: readCancel, or aborts the connection
	readerDone chan struct{}

	// Playback buffer.
	segs      []segment
	head      int   // index of the first unplayed segment
	segBytes  int64 // bytes of segs[head:]
	playEnd   time.Duration
	started   bool          // audio has played
	firstAt   time.Duration // call time of the first audio
	dryByStop bool          // the buffer was emptied on purpose (interrupt)
	scratch   []float32
	wire      []byte // audio bytes of the last message, reused

	// What the application sends.
	haveSending bool
	format      elks.Format
	decodable   bool
	dec         elks.Decoder
	interrupted bool
	file        *sentFile
	fileSeq     int

	syncs   []pendingSync
	latency latencyStats

	rec *recorder
	say *voice
	// The energy of what the caller said and heard, for Report.Echo.
	said, heard envelope

	ended bool
	endAt time.Duration
}

func newCall(opt Options, t elks.Transport, rec *recorder) *call {
	c := &call{
		opt:   opt,
		conn:  newSender(t),
		log:   opt.Logger.With("callid", opt.CallID, "from", opt.From, "to", opt.To),
		speed: opt.Speed,
		in:    make(chan *batch, inboundQueue),
		free:  make(chan *batch, keptBatches),
		quit:  make(chan struct{}),
		rec:   rec,
		rep: &Report{
			URL: redact(opt.URL), CallID: opt.CallID, From: opt.From, To: opt.To,
			Speed:       opt.Speed,
			BufferLimit: opt.BufferLimit,
			Sendings:    map[string]int{},
			Listenings:  map[string]int{},
			Violations:  map[ViolationKind]int{},
			Problems:    []Problem{},
			Gaps:        Gaps{List: []Gap{}},
			Digits:      newDigitReports(opt.DTMF),
		},
	}
	return c
}

// callTime converts a wall-clock time to call time.
func (c *call) callTime(w time.Time) time.Duration {
	return time.Duration(float64(w.Sub(c.start)) * c.speed)
}

func (c *call) now() time.Duration { return c.callTime(time.Now()) }

// wallAt is the wall-clock time at which the call's clock reads t.
func (c *call) wallAt(t time.Duration) time.Time {
	return c.start.Add(time.Duration(math.Ceil(float64(t) / c.speed)))
}

// run plays the call to its end and fills c.rep.
func (c *call) run(ctx context.Context) {
	hello, _ := elks.Marshal(elks.Hello{CallID: c.opt.CallID, From: c.opt.From, To: c.opt.To})
	c.start = time.Now()
	readCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.readCancel, c.stopRead = cancel, cancel
	if a, ok := c.conn.t.(aborter); ok {
		// Its reads end when it is aborted: they need no context, which
		// would cost every read a registration with it.
		readCtx, c.stopRead = context.Background(), a.abort
	}
	c.readerDone = make(chan struct{})
	go c.reader(readCtx)
	c.log.Info("simulated call started", "url", redact(c.opt.URL), "speed", c.speed)
	if err := c.write(hello); err != nil {
		c.endConnection(0, err)
	} else {
		c.loop(ctx)
	}
	c.shutdown()
}

// reader reads messages until the connection ends, stamping each. The
// messages it finds already buffered after one (those an application
// wrote at once: its window of audio and a sync) go to the loop as one
// batch: a handoff per message was a fifth of the simulator's CPU at
// 10,000 calls.
func (c *call) reader(ctx context.Context) {
	defer close(c.readerDone)
	buffered, _ := c.conn.t.(messageBufferer)
	grower, _ := c.conn.t.(readBufferGrower)
	appender, _ := c.conn.t.(messageAppender)
	large := false // a message of largeMessage or more was read: the read buffer should grow
	for {
		if large && grower != nil && grower.growReadBuffer() {
			grower = nil
		}
		b := c.batch()
		for {
			ev, err := c.read(ctx, b, appender)
			switch {
			case err == nil:
				large = large || len(ev.data) >= largeMessage
				b.evs = append(b.evs, ev)
			case errors.Is(err, elks.ErrMalformed):
				ev.bad = err
				b.evs = append(b.evs, ev)
			default:
				ev.err = err
				b.evs = append(b.evs, ev)
			}
			if err != nil && ev.bad == nil || buffered == nil || len(b.evs) >= maxBatch || !buffered.messageBuffered() {
				break
			}
		}
		ended := b.evs[len(b.evs)-1].err != nil // read before the loop owns b
		select {
		case c.in <- b:
		case <-c.quit:
			return
		}
		if ended {
			return
		}
	}
}

// read reads the next message into b's buffer, stamped with the time it
// was read: through appender where the transport is one, else copied
// there from the transport's own buffer (which its next read reuses).
func (c *call) read(ctx context.Context, b *batch, appender messageAppender) (inbound, error) {
	if appender == nil {
		data, err := c.conn.t.ReadMessage(ctx)
		ev := inbound{at: time.Now()}
		if err == nil {
			ev.data = b.keep(data)
		}
		return ev, err
	}
	start := len(b.data)
	var err error
	b.data, err = appender.appendMessage(ctx, b.data)
	ev := inbound{at: time.Now()}
	if err == nil {
		ev.data = b.data[start:len(b.data):len(b.data)]
	}
	return ev, err
}

// messageAppender is a transport that reads a message into the caller's
// buffer, after what it holds, and returns the buffer with it (grown, it
// may be a new array): the reader's batch gathers its messages without
// copying them. At 3,000 calls of pcm_16000 that copy was a tenth of the
// simulator's CPU.
type messageAppender interface {
	appendMessage(ctx context.Context, dst []byte) ([]byte, error)
}

// messageBufferer is a transport that can tell whether its next message
// is already buffered whole, so that reading it will not wait.
type messageBufferer interface{ messageBuffered() bool }

// readBufferGrower is a transport whose read buffer can grow, once it
// holds nothing; it reports whether it grew.
type readBufferGrower interface{ growReadBuffer() bool }

// largeMessage is the size of a message (100 ms of pcm_8000 and more)
// after which the reader grows its transport's read buffer, so that a
// batch of them comes in with one read and goes to the loop at once: at
// 3,000 calls of pcm_16000 that cut the simulator's CPU by a quarter. The
// buffer stays small (8 kB) for G.711, whose batches fit.
const largeMessage = 2 << 10

// batch is messages read one after another without waiting, handled by
// the loop together. Their bytes lie one after another in data (and in
// the buffers data outgrew).
type batch struct {
	evs  []inbound
	data []byte
}

// keep copies data into the batch's buffer and returns the copy. When
// the buffer is full a larger one follows it; the messages before stay
// where they are.
func (b *batch) keep(data []byte) []byte {
	if len(b.data)+len(data) > cap(b.data) {
		b.data = make([]byte, 0, max(2*cap(b.data), len(data), minBatchBuffer))
	}
	start := len(b.data)
	b.data = append(b.data, data...)
	return b.data[start:len(b.data):len(b.data)]
}

// inboundQueue is how many batches of messages read the reader may hold
// ahead of the call's loop.
const inboundQueue = 8

// maxBatch is the most messages in a batch.
const maxBatch = 32

// batch returns an empty batch: one the loop is done with, or a new one.
func (c *call) batch() *batch {
	select {
	case b := <-c.free:
		b.evs, b.data = b.evs[:0], b.data[:0]
		return b
	default:
	}
	return &batch{data: make([]byte, 0, minBatchBuffer)}
}

// keptBatches is how many batches a call keeps for reuse: enough for
// those handled one by one as they come, while those of a burst (the
// seconds of audio an application sends at the start) are let go.
const keptBatches = 2

// minBatchBuffer is the smallest buffer of a batch: a batch of five
// 100 ms messages of G.711 and a sync fits. Buffers grown past
// maxKeptBatchBuffer by a burst are not kept.
const (
	minBatchBuffer     = 8 << 10
	maxKeptBatchBuffer = 32 << 10
)

// recycle gives a batch handled back to the reader.
func (c *call) recycle(b *batch) {
	if cap(b.data) > maxKeptBatchBuffer {
		return
	}
	clear(b.evs) // lets go of the errors
	select {
	case c.free <- b:
	default:
	}
}

func (c *call) write(msg []byte) error { return c.conn.send(msg) }

// sender writes the simulator's messages, one at a time: the call and the
// caller's voice both write, and a Transport takes one writer at a time.
type sender struct {
	mu      sync.Mutex
	t       elks.Transport
	timeout time.Duration // writeTimeout

	// For a transport that can be aborted (the simulator's WebSocket),
	// writes go without a context and a watchdog timer, reused from write
	// to write, aborts the connection when one takes longer than
	// writeTimeout: a context per write would cost every write a timer
	// and a registration with it.
	abort    func()
	watchdog *time.Timer
	timedOut atomic.Bool
}

func newSender(t elks.Transport) *sender {
	s := &sender{t: t, timeout: writeTimeout}
	if a, ok := t.(aborter); ok {
		s.abort = a.abort
	}
	return s
}

// send writes msg, giving up after writeTimeout.
func (s *sender) send(msg []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.abort == nil {
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		defer cancel()
		return s.t.WriteMessage(ctx, msg)
	}
	if s.watchdog == nil {
		s.watchdog = time.AfterFunc(s.timeout, func() {
			s.timedOut.Store(true)
			s.abort()
		})
	} else {
		s.watchdog.Reset(s.timeout)
	}
	err := s.t.WriteMessage(context.Background(), msg)
	s.watchdog.Stop()
	if err != nil && s.timedOut.Load() {
		return fmt.Errorf("the application did not take a message for %v: %w", s.timeout, context.DeadlineExceeded)
	}
	return err
}

// stop stops the watchdog for good.
func (s *sender) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watchdog != nil {
		s.watchdog.Stop()
	}
}

// loop is the call's event loop. Its timer is set again only when the
// time of the next wake changes, not at every message.
func (c *call) loop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	armed, isArmed := time.Duration(0), false // the call time the timer is set for
	for !c.ended {
		t := c.now()
		if c.opt.Duration > 0 && t >= c.opt.Duration {
			c.onWake(c.opt.Duration)
			continue
		}
		c.answerSyncs(t)
		if c.ended {
			break
		}
		target, ok := c.nextWake()
		switch {
		case !ok && isArmed:
			timer.Stop()
			isArmed = false
		case ok && (!isArmed || target != armed):
			timer.Reset(time.Until(c.wallAt(target)))
			armed, isArmed = target, true
		}
		var wake <-chan time.Time
		if isArmed {
			wake = timer.C
		}
		var fileEvents <-chan fileEvent
		if c.file != nil && !c.file.done {
			fileEvents = c.file.events
		}
		select {
		case b := <-c.in:
			c.onBatch(b)
		case ev := <-fileEvents:
			c.onFileEvent(c.file, ev, c.now())
		case <-wake:
			isArmed = false
			c.onWake(max(c.now(), target))
		case <-ctx.Done():
			t := c.now()
			if c.opt.Duration > 0 {
				t = min(t, c.opt.Duration)
			}
			c.hangup(t, true)
		}
	}
}

// nextWake returns the next call time at which the simulator acts by
// itself: the next sync answer, or the hangup.
func (c *call) nextWake() (time.Duration, bool) {
	var t time.Duration
	ok := false
	if len(c.syncs) > 0 && c.syncs[0].known {
		t, ok = c.syncs[0].due+c.opt.RTT, true
	}
	if c.opt.Duration > 0 && (!ok || c.opt.Duration < t) {
		t, ok = c.opt.Duration, true
	}
	return t, ok
}

func (c *call) onWake(t time.Duration) {
	if c.opt.Duration > 0 && t >= c.opt.Duration {
		c.answerSyncs(c.opt.Duration)
		if !c.ended {
			c.hangup(c.opt.Duration, false)
		}
		return
	}
	c.answerSyncs(t)
}

// answerSyncs answers, in order, every sync whose answer is due by t.
func (c *call) answerSyncs(t time.Duration) {
	for len(c.syncs) > 0 && c.syncs[0].known && c.syncs[0].due+c.opt.RTT <= t {
		s := c.syncs[0]
		n := copy(c.syncs, c.syncs[1:]) // keeps the array for the next syncs
		c.syncs = c.syncs[:n]
		if err := c.write(syncAnswer); err != nil {
			c.endConnection(t, err)
			return
		}
		c.rep.Syncs.Answered++
		c.latency.add(max(c.now(), t) - s.req)
	}
}

// syncAnswer is the message that answers a sync, and the form of a sync
// that the simulator reads without the JSON decoder.
var syncAnswer, _ = elks.Marshal(elks.Sync{})

// problem records a protocol violation.
func (c *call) problem(t time.Duration, kind ViolationKind, format string, args ...any) {
	c.rep.Violations[kind]++
	detail := fmt.Sprintf(format, args...)
	if len(c.rep.Problems) < maxProblems {
		c.rep.Problems = append(c.rep.Problems, Problem{At: t.Seconds(), Kind: kind, Detail: detail})
	}
	if c.rep.Violations[kind] <= 3 {
		c.log.Warn("protocol violation by the application", "kind", string(kind), "detail", detail, "at", t.Seconds())
	}
}

// onBatch handles a batch of messages read. Those after one that ended
// the call came after its end.
func (c *call) onBatch(b *batch) {
	for _, ev := range b.evs {
		if c.ended {
			c.afterBye(ev)
		} else {
			c.onInbound(ev)
		}
	}
	c.recycle(b)
}

func (c *call) onInbound(ev inbound) {
	t := c.callTime(ev.at)
	if ev.err != nil {
		c.endConnection(t, ev.err)
		return
	}
	if c.opt.Duration > 0 && t >= c.opt.Duration {
		// The caller hung up before this arrived.
		c.hangup(c.opt.Duration, false)
		c.afterBye(ev)
		return
	}
	if ev.bad != nil {
		c.problem(t, BinaryFrame, "%v (the protocol sends JSON text frames)", ev.bad)
		return
	}
	if len(ev.data) > maxMessage {
		c.problem(t, Oversize, "a message of %d bytes (keep messages within 64 KiB of JSON)", len(ev.data))
	}
	if data, ok := c.fastAudio(ev.data); ok {
		c.onAudio(t, data)
		return
	}
	if bytes.Equal(ev.data, syncAnswer) { // a sync, in the form Marshal writes
		c.onSync(t)
		return
	}
	m, err := elks.Unmarshal(ev.data)
	if err != nil {
		c.problem(t, Malformed, "%v (message starts %q)", err, msgHead(ev.data))
		return
	}
	switch m := m.(type) {
	case elks.Audio:
		c.onAudio(t, m.Data)
	case elks.Sync:
		c.onSync(t)
	case elks.Sending:
		c.onSending(t, m.Format)
	case elks.Listening:
		c.onListening(t, m.Format)
	case elks.Interrupt:
		c.onInterrupt(t)
	case elks.Bye:
		c.log.Info("the application ended the call")
		c.finish(t, End{By: elks.ByApp, Reason: elks.ReasonDone, Message: "the application ended the call"})
	case elks.Hello:
		c.problem(t, Unexpected, "hello comes from the API, not the application")
	case elks.Unknown:
		c.problem(t, UnknownType, "unknown message type %q", m.T)
	}
}

// audioPrefix and audioSuffix frame an audio message in the form
// AppendAudio writes.
const (
	audioPrefix = `{"t":"audio","data":"`
	audioSuffix = `"}`
)

// fastAudio decodes an audio message in the canonical form AppendAudio
// writes without the JSON decoder, into a buffer it reuses. Anything else
// (other spacing, escapes, fields) is left to Unmarshal, with the same
// result.
func (c *call) fastAudio(b []byte) ([]byte, bool) {
	if len(b) < len(audioPrefix)+len(audioSuffix) || string(b[:len(audioPrefix)]) != audioPrefix ||
		string(b[len(b)-len(audioSuffix):]) != audioSuffix {
		return nil, false
	}
	// Neither check of the base64 below accepts a quote or a backslash:
	// a message with escapes or more fields goes to Unmarshal.
	enc := b[len(audioPrefix) : len(b)-len(audioSuffix)]
	if c.countsOnly() {
		// Nothing reads the bytes of this message, only their number:
		// the base64 is checked, not decoded.
		n, ok := checkedBase64.len(enc)
		if !ok {
			return nil, false // Unmarshal reports it
		}
		if cap(c.wire) < n {
			c.wire = make([]byte, n)
		}
		return c.wire[:n], true
	}
	n := base64.StdEncoding.DecodedLen(len(enc))
	if cap(c.wire) < n {
		c.wire = make([]byte, n)
	}
	k, err := base64.StdEncoding.Decode(c.wire[:n], enc)
	if err != nil {
		return nil, false
	}
	return c.wire[:k], true
}

// countsOnly reports whether the audio of the next message only counts:
// decodeAudio's shortcut, when no file is being received and nothing
// keeps or compares the samples.
func (c *call) countsOnly() bool {
	return c.haveSending && !c.interrupted && c.decodable && c.file == nil &&
		c.rec == nil && !c.compares() && sampleSize(c.format) > 0
}

// base64Len checks that enc is standard base64 with padding, as
// base64.StdEncoding.Decode accepts it (enc holds no line breaks), and
// returns the length of what it decodes to.
func base64Len(enc []byte) (int, bool) {
	if len(enc)%4 != 0 {
		return 0, false
	}
	pad := base64Padding(enc)
	// Four independent accumulators over groups of eight bytes let the
	// loads overlap; one accumulator made every byte wait for the last.
	body := enc[:len(enc)-pad]
	var b0, b1, b2, b3 byte
	for len(body) >= 8 {
		b0 |= base64Invalid[body[0]] | base64Invalid[body[4]]
		b1 |= base64Invalid[body[1]] | base64Invalid[body[5]]
		b2 |= base64Invalid[body[2]] | base64Invalid[body[6]]
		b3 |= base64Invalid[body[3]] | base64Invalid[body[7]]
		body = body[8:]
	}
	for _, b := range body {
		b0 |= base64Invalid[b]
	}
	return len(enc)/4*3 - pad, b0|b1|b2|b3 == 0
}

// base64Padding counts the = at the end of enc, at most two.
func base64Padding(enc []byte) int {
	pad := 0
	for pad < 2 && len(enc) > pad && enc[len(enc)-1-pad] == '=' {
		pad++
	}
	return pad
}

// base64Invalid is 1 for every byte outside the standard alphabet.
var base64Invalid = func() (t [256]byte) {
	for i := range t {
		t[i] = 1
	}
	for _, b := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t[b] = 0
	}
	return t
}()

// msgHead returns the start of a message, for problem reports.
func msgHead(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

func (c *call) onSending(t time.Duration, f elks.Format) {
	c.closeFile(t, false)
	if c.ended { // the end of the last file overflowed the buffer
		return
	}
	c.rep.Sendings[string(f)]++
	c.haveSending, c.format, c.interrupted, c.decodable, c.dec = true, f, false, false, nil
	info, err := f.Info()
	switch {
	case err != nil:
		c.problem(t, BadFormat, "sending: %v", err)
	case !info.Send:
		c.problem(t, BadFormat, "sending: the API does not accept %s audio", f)
	case info.File:
		c.fileSeq++
		c.file = startFile(c.fileSeq, f, c.quit)
		c.decodable = true
	default:
		dec, err := elks.NewDecoder(f)
		if err != nil {
			c.problem(t, Undecodable, "format %s not decodable by this simulator build: %v", f, err)
			return
		}
		dec.Reset()
		c.dec, c.decodable = dec, true
	}
}

func (c *call) onListening(t time.Duration, f elks.Format) {
	c.rep.Listenings[string(f)]++
	info, err := f.Info()
	switch {
	case err != nil:
		c.problem(t, BadFormat, "listening: %v", err)
		return
	case !info.Listen:
		c.problem(t, BadFormat, "listening: the API does not send %s audio", f)
		return
	}
	if c.opt.Say == nil && len(c.rep.Digits) == 0 {
		return
	}
	if c.say != nil {
		if c.say.format == f {
			return
		}
		c.stopSay()
	}
	tones, err := pressTones(c.rep.Digits, t, info.Rate)
	if err != nil {
		c.rep.CallerAudio.Error = "the keys' tones: " + err.Error()
		c.rep.CallerAudio.Format = string(f)
		return
	}
	enc, err := elks.NewEncoder(f)
	if err != nil {
		c.rep.CallerAudio.Error = fmt.Sprintf("format %s not encodable by this simulator build: %v", f, err)
		c.rep.CallerAudio.Format = string(f)
		return
	}
	c.say = startVoice(c.opt.Say, tones, f, info.Rate, enc, c.conn, c.speed, t)
}

func (c *call) stopSay() {
	if c.say == nil {
		return
	}
	st := c.say.stop()
	ca := &c.rep.CallerAudio
	ca.Format = string(c.say.format)
	ca.Messages += st.Messages
	ca.Bytes += st.Bytes
	ca.Seconds += st.Seconds
	ca.Late += st.late
	ca.MaxLate = max(ca.MaxLate, st.maxLate.Seconds())
	if len(c.said) == 0 {
		c.said = st.said
	}
	if st.err != "" {
		ca.Error = st.err
	}
	for _, t := range c.say.tones {
		if t.pos < st.frames {
			c.rep.Digits[t.index].Sent = true
		}
	}
	c.say = nil
}

// stop ends the call at t, once: the file being received is closed, the
// buffer cut and the caller's voice stopped. It reports false if the call
// had already ended.
func (c *call) stop(t time.Duration) bool {
	if c.ended {
		return false
	}
	c.closeFile(t, true)
	c.cut(t)
	c.stopSay()
	c.ended, c.endAt = true, t
	return true
}

// finish ends the call at t: the buffer is cut, the simulator's bye sent.
func (c *call) finish(t time.Duration, end End) {
	if !c.stop(t) {
		return
	}
	c.rep.End = end
	msg, _ := elks.Marshal(elks.Bye{Reason: end.Reason, Message: end.Message})
	if err := c.write(msg); err != nil {
		c.rep.End.Error = "sending bye: " + err.Error()
	}
	c.log.Info("simulated call ended", "by", end.By, "reason", end.Reason, "message", end.Message)
}

// hangup ends the call as the caller does.
func (c *call) hangup(t time.Duration, cancelled bool) {
	c.finish(t, End{By: elks.ByAPI, Reason: elks.ReasonHangup, Message: "the caller hung up", Cancelled: cancelled})
}

// endConnection ends the call because the connection closed or broke.
func (c *call) endConnection(t time.Duration, err error) {
	if !c.stop(t) {
		return
	}
	msg := closeMessage(err)
	c.rep.End = End{By: elks.ByDrop, Message: msg, Error: err.Error()}
	c.log.Warn("simulated call ended", "by", "connection", "message", msg, "err", err)
}

// afterBye records a message that came after the call ended.
func (c *call) afterBye(ev inbound) {
	if ev.err != nil {
		return
	}
	what := "a binary frame"
	if ev.bad == nil {
		what = "a malformed message"
		if m, err := elks.Unmarshal(ev.data); err == nil {
			what = fmt.Sprintf("a %q message", m.Type())
		}
	}
	if c.rep.End.By != elks.ByApp {
		// In flight when the simulator ended the call: not the
		// application's fault.
		c.rep.LateMessages++
		return
	}
	c.problem(c.endAt, AfterBye, "%s after the application's bye", what)
}

// shutdown closes the connection and waits for every goroutine.
func (c *call) shutdown() {
	c.stopSay()
	c.closeFile(c.endAt, true)
	if c.rep.End.By == elks.ByApp {
		c.lingerAfterBye()
	}
	closed := make(chan struct{})
	go func() {
		c.conn.t.Close()
		close(closed)
	}()
	grace := time.NewTimer(closeGrace)
	defer grace.Stop()
	readerDone := c.readerDone
	for readerDone != nil {
		select {
		case b := <-c.in:
			for _, ev := range b.evs {
				c.afterBye(ev)
			}
		case <-readerDone:
			readerDone = nil
		case <-grace.C:
			c.stopRead() // ends the read (a WebSocket's with the connection)
		}
	}
	c.readCancel()
	close(c.quit)
	<-closed
	c.conn.stop()
	c.finishReport()
}

// lingerAfterBye reads what the application sends after its bye, until
// it closes the connection or byeLinger passes.
func (c *call) lingerAfterBye() {
	linger := time.NewTimer(byeLinger)
	defer linger.Stop()
	for {
		select {
		case b := <-c.in:
			for _, ev := range b.evs {
				c.afterBye(ev)
				if ev.err != nil {
					return
				}
			}
		case <-linger.C:
			return
		}
	}
}

// finishReport fills in the figures computed at the end.
func (c *call) finishReport() {
	r := c.rep
	r.Duration = c.endAt.Seconds()
	r.WallSeconds = time.Since(c.start).Seconds()
	if l := c.latency; l.n > 0 {
		r.Syncs.MinLatency, r.Syncs.MaxLatency = l.min.Seconds(), l.max.Seconds()
		r.Syncs.AvgLatency = (l.sum / time.Duration(l.n)).Seconds()
	}
	if (c.opt.Say != nil || len(r.Digits) > 0) && len(r.Listenings) == 0 {
		r.CallerAudio.NeverAsked = true
	}
	if c.rec != nil {
		r.Record = c.rec.close()
	}
	if len(c.said) > 0 && len(c.heard) > 0 {
		r.Echo = measureEcho(c.said, c.heard)
	}
}

// latencyStats sums up the latencies of a call's sync answers in
// constant memory.
type latencyStats struct {
	n             int
	min, max, sum time.Duration
}

func (l *latencyStats) add(d time.Duration) {
	if l.n == 0 || d < l.min {
		l.min = d
	}
	l.max = max(l.max, d)
	l.sum += d
	l.n++
}

// maxMessage is the largest message the protocol allows (64 KiB of JSON).
const maxMessage = 64 << 10
