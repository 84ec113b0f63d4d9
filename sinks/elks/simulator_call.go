package elks

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/coder/websocket"

	"github.com/elkspipe/elkspipe/internal/media"
)

// simWriteTimeout bounds every write to the application: an application
// that stops reading cannot stall the simulator for longer.
const simWriteTimeout = 5 * time.Second

// simCloseGrace is how long the simulator waits, after the call's last
// message, for the application to close its side before closing the
// connection itself.
const simCloseGrace = 2 * time.Second

// simByeLinger is how long the simulator keeps reading after the
// application's bye before it starts the close handshake. Closing
// discards whatever the peer sends during the handshake, so without this
// pause messages the application wrongly sends after its bye would go
// unreported. An application that closes its side at once (as elkspipe
// does) ends the pause at once.
const simByeLinger = 500 * time.Millisecond

// simInbound is one frame read from the application, stamped with the
// wall-clock time it was read; err ends the stream.
type simInbound struct {
	typ  websocket.MessageType
	data []byte
	at   time.Time
	err  error
}

// simSeg is a piece of decoded audio in the playback buffer, playing from
// start to end (call time).
type simSeg struct {
	start, end time.Duration
	frames     int64
	rate       int
	bytes      int64         // audio bytes as sent that it stands for
	samples    []float32     // mono samples, kept only when recording
	silence    time.Duration // heard before it: the buffer had run dry
}

// simSync is a pending sync request.
type simSync struct {
	req   time.Duration // when it was read
	due   time.Duration // when the audio before it ends
	known bool          // due is known (false while a file decodes)
	file  int           // the file whose bytes it waits for
	fedAt int64         // the bytes of that file received before it
}

// simCall is one simulated call. Its state belongs to the goroutine that
// runs it; the reader, the caller's voice, file decoders and the
// recording's resampler run beside it and talk to it through channels.
type simCall struct {
	opt   SimOptions
	conn  *websocket.Conn
	rep   *SimReport
	log   *slog.Logger
	start time.Time // wall time of hello: call time 0
	speed float64

	in         chan simInbound
	quit       chan struct{} // closed when the call no longer reads in
	readCancel context.CancelFunc
	readerDone chan struct{}

	// Playback buffer.
	segs      []simSeg
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
	format      Format
	decodable   bool
	dec         Decoder
	interrupted bool
	file        *simFile
	fileSeq     int

	syncs     []simSync
	latencies []time.Duration

	rec *simRecorder
	say *simSay

	ended bool
	endAt time.Duration
}

func simNewCall(opt SimOptions, conn *websocket.Conn, rec *simRecorder) *simCall {
	c := &simCall{
		opt:   opt,
		conn:  conn,
		log:   opt.Logger.With("callid", opt.CallID, "from", opt.From, "to", opt.To),
		speed: opt.Speed,
		in:    make(chan simInbound, 64),
		quit:  make(chan struct{}),
		rec:   rec,
		rep: &SimReport{
			URL: SimRedact(opt.URL), CallID: opt.CallID, From: opt.From, To: opt.To,
			Speed:       opt.Speed,
			BufferLimit: opt.BufferLimit,
			Sendings:    map[string]int{},
			Listenings:  map[string]int{},
			Violations:  map[SimViolationKind]int{},
			Problems:    []SimProblem{},
			Gaps:        SimGaps{List: []SimGap{}},
		},
	}
	return c
}

// callTime converts a wall-clock time to call time.
func (c *simCall) callTime(w time.Time) time.Duration {
	return time.Duration(float64(w.Sub(c.start)) * c.speed)
}

func (c *simCall) now() time.Duration { return c.callTime(time.Now()) }

// wallAt is the wall-clock time at which the call's clock reads t.
func (c *simCall) wallAt(t time.Duration) time.Time {
	return c.start.Add(time.Duration(math.Ceil(float64(t) / c.speed)))
}

// run plays the call to its end and fills c.rep.
func (c *simCall) run(ctx context.Context) {
	hello, _ := Marshal(Hello{CallID: c.opt.CallID, From: c.opt.From, To: c.opt.To})
	c.start = time.Now()
	readCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.readCancel = cancel
	c.readerDone = make(chan struct{})
	go c.reader(readCtx)
	c.log.Info("simulated call started", "url", SimRedact(c.opt.URL), "speed", c.speed)
	if err := c.write(hello); err != nil {
		c.endConnection(0, err)
	} else {
		c.loop(ctx)
	}
	c.shutdown()
}

// reader reads frames until the connection ends, stamping each.
func (c *simCall) reader(ctx context.Context) {
	defer close(c.readerDone)
	for {
		typ, data, err := c.conn.Read(ctx)
		ev := simInbound{typ: typ, data: data, at: time.Now(), err: err}
		select {
		case c.in <- ev:
		case <-c.quit:
			return
		}
		if err != nil {
			return
		}
	}
}

func (c *simCall) write(msg []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), simWriteTimeout)
	defer cancel()
	return c.conn.Write(ctx, websocket.MessageText, msg)
}

// loop is the call's event loop.
func (c *simCall) loop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
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
		var wake <-chan time.Time
		target, ok := c.nextWake()
		if ok {
			timer.Reset(time.Until(c.wallAt(target)))
			wake = timer.C
		}
		var fileEvents <-chan simFileEvent
		if c.file != nil && !c.file.done {
			fileEvents = c.file.events
		}
		select {
		case ev := <-c.in:
			c.onInbound(ev)
		case ev := <-fileEvents:
			c.onFileEvent(c.file, ev, c.now())
		case <-wake:
			c.onWake(max(c.now(), target))
		case <-ctx.Done():
			t := c.now()
			if c.opt.Duration > 0 {
				t = min(t, c.opt.Duration)
			}
			c.hangup(t, true)
		}
		timer.Stop()
	}
}

// nextWake returns the next call time at which the simulator acts by
// itself: the next sync answer, or the hangup.
func (c *simCall) nextWake() (time.Duration, bool) {
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

func (c *simCall) onWake(t time.Duration) {
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
func (c *simCall) answerSyncs(t time.Duration) {
	for len(c.syncs) > 0 && c.syncs[0].known && c.syncs[0].due+c.opt.RTT <= t {
		s := c.syncs[0]
		c.syncs = c.syncs[1:]
		msg, _ := Marshal(Sync{})
		if err := c.write(msg); err != nil {
			c.endConnection(t, err)
			return
		}
		c.rep.Syncs.Answered++
		c.latencies = append(c.latencies, max(c.now(), t)-s.req)
	}
	if len(c.syncs) == 0 {
		c.syncs = nil
	}
}

// problem records a protocol violation.
func (c *simCall) problem(t time.Duration, kind SimViolationKind, format string, args ...any) {
	c.rep.Violations[kind]++
	detail := fmt.Sprintf(format, args...)
	if len(c.rep.Problems) < simMaxProblems {
		c.rep.Problems = append(c.rep.Problems, SimProblem{At: t.Seconds(), Kind: kind, Detail: detail})
	}
	if c.rep.Violations[kind] <= 3 {
		c.log.Warn("protocol violation by the application", "kind", string(kind), "detail", detail, "at", t.Seconds())
	}
}

func (c *simCall) onInbound(ev simInbound) {
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
	if ev.typ != websocket.MessageText {
		c.problem(t, SimBinaryFrame, "a binary frame of %d bytes (the protocol sends JSON text frames)", len(ev.data))
		return
	}
	if len(ev.data) > simMaxMessage {
		c.problem(t, SimOversize, "a message of %d bytes (keep messages within 64 KiB of JSON)", len(ev.data))
	}
	if data, ok := c.fastAudio(ev.data); ok {
		c.onAudio(t, data)
		return
	}
	m, err := Unmarshal(ev.data)
	if err != nil {
		c.problem(t, SimMalformed, "%v (message starts %q)", err, simHead(ev.data))
		return
	}
	switch m := m.(type) {
	case Audio:
		c.onAudio(t, m.Data)
	case Sync:
		c.onSync(t)
	case Sending:
		c.onSending(t, m.Format)
	case Listening:
		c.onListening(t, m.Format)
	case Interrupt:
		c.onInterrupt(t)
	case Bye:
		c.log.Info("the application ended the call")
		c.finish(t, SimEnd{By: SimEndedByApp, Reason: ReasonDone, Message: "the application ended the call"})
	case Hello:
		c.problem(t, SimUnexpected, "hello comes from the API, not the application")
	case Unknown:
		c.problem(t, SimUnknownType, "unknown message type %q", m.T)
	}
}

// simAudioPrefix and simAudioSuffix frame an audio message in the form
// AppendAudio writes.
const (
	simAudioPrefix = `{"t":"audio","data":"`
	simAudioSuffix = `"}`
)

// fastAudio decodes an audio message in the canonical form AppendAudio
// writes without the JSON decoder, into a buffer it reuses. Anything else
// (other spacing, escapes, fields) is left to Unmarshal, with the same
// result.
func (c *simCall) fastAudio(b []byte) ([]byte, bool) {
	if len(b) < len(simAudioPrefix)+len(simAudioSuffix) || string(b[:len(simAudioPrefix)]) != simAudioPrefix ||
		string(b[len(b)-len(simAudioSuffix):]) != simAudioSuffix {
		return nil, false
	}
	enc := b[len(simAudioPrefix) : len(b)-len(simAudioSuffix)]
	if bytes.IndexByte(enc, '\\') >= 0 || bytes.IndexByte(enc, '"') >= 0 {
		return nil, false
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

// simHead returns the start of a message, for problem reports.
func simHead(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

func (c *simCall) onSending(t time.Duration, f Format) {
	c.closeFile(t, false)
	if c.ended { // the end of the last file overflowed the buffer
		return
	}
	c.rep.Sendings[string(f)]++
	c.haveSending, c.format, c.interrupted, c.decodable, c.dec = true, f, false, false, nil
	info, err := f.Info()
	switch {
	case err != nil:
		c.problem(t, SimBadFormat, "sending: %v", err)
	case !info.Send:
		c.problem(t, SimBadFormat, "sending: the API does not accept %s audio", f)
	case info.File:
		c.fileSeq++
		c.file = simStartFile(c.fileSeq, f, c.quit)
		c.decodable = true
	default:
		dec, err := NewDecoder(f)
		if err != nil {
			c.problem(t, SimUndecodable, "format %s not decodable by this simulator build: %v", f, err)
			return
		}
		dec.Reset()
		c.dec, c.decodable = dec, true
	}
}

func (c *simCall) onListening(t time.Duration, f Format) {
	c.rep.Listenings[string(f)]++
	info, err := f.Info()
	switch {
	case err != nil:
		c.problem(t, SimBadFormat, "listening: %v", err)
		return
	case !info.Listen:
		c.problem(t, SimBadFormat, "listening: the API does not send %s audio", f)
		return
	}
	if c.opt.Say == nil {
		return
	}
	if c.say != nil {
		if c.say.format == f {
			return
		}
		c.stopSay()
	}
	enc, err := NewEncoder(f)
	if err != nil {
		c.rep.CallerAudio.Error = fmt.Sprintf("format %s not encodable by this simulator build: %v", f, err)
		c.rep.CallerAudio.Format = string(f)
		return
	}
	c.say = simStartSay(c.opt.Say, f, info.Rate, enc, c.conn, c.speed)
}

func (c *simCall) stopSay() {
	if c.say == nil {
		return
	}
	st := c.say.stop()
	ca := &c.rep.CallerAudio
	ca.Format = string(c.say.format)
	ca.Messages += st.Messages
	ca.Bytes += st.Bytes
	ca.Seconds += st.Seconds
	if st.err != "" {
		ca.Error = st.err
	}
	c.say = nil
}

func (c *simCall) onAudio(t time.Duration, data []byte) {
	c.rep.Audio.Messages++
	c.rep.Audio.Bytes += int64(len(data))
	switch {
	case !c.haveSending:
		c.problem(t, SimAudioBeforeSending, "audio (%d bytes) before any sending: ignored", len(data))
		return
	case c.interrupted:
		c.problem(t, SimAudioAfterInterrupt, "audio (%d bytes) after interrupt and before a new sending: ignored", len(data))
		return
	case !c.decodable:
		return // reported at the sending
	}
	if c.file != nil {
		c.feedFile(t, data)
	} else {
		c.decodeAudio(t, data)
	}
	if !c.ended {
		c.checkBuffer(t)
	}
}

// decodeAudio plays a message of a sample format (PCM, G.711, ...).
func (c *simCall) decodeAudio(t time.Duration, data []byte) {
	info, _ := c.format.Info()
	dst := c.scratch[:0]
	if c.rec != nil {
		dst = make([]float32, 0, len(data)) // kept until played
	}
	out, err := c.dec.Decode(dst, data)
	if err != nil {
		c.problem(t, SimUndecodable, "%s audio: %v", c.format, err)
		return
	}
	frames := int64(len(out))
	if c.rec == nil {
		c.scratch, out = out[:0], nil
	}
	c.addAudio(t, frames, info.Rate, int64(len(data)), out)
}

// simDur is the length of frames at rate.
func simDur(frames int64, rate int) time.Duration {
	return time.Duration(frames * int64(time.Second) / int64(rate))
}

// addAudio queues decoded audio that arrived at t.
func (c *simCall) addAudio(t time.Duration, frames int64, rate int, bytes int64, samples []float32) {
	c.rep.Audio.Seconds += float64(frames) / float64(rate)
	if frames == 0 {
		return
	}
	c.advance(t)
	s := simSeg{frames: frames, rate: rate, bytes: bytes, samples: samples}
	if c.playEnd >= t || !c.started {
		s.start = max(c.playEnd, t)
		if !c.started {
			c.started, c.firstAt = true, t
			c.rep.FirstAudio = t.Seconds()
		}
	} else {
		s.start = t
		s.silence = t - c.playEnd
		if !c.dryByStop {
			g := SimGap{At: c.playEnd.Seconds(), Heard: (c.playEnd - c.firstAt).Seconds(), Seconds: s.silence.Seconds()}
			c.rep.Gaps.Count++
			c.rep.Gaps.Seconds += g.Seconds
			if len(c.rep.Gaps.List) < 1000 {
				c.rep.Gaps.List = append(c.rep.Gaps.List, g)
			}
			if c.rep.Gaps.Count <= 3 {
				c.log.Warn("playback ran dry", "at", g.At, "seconds", g.Seconds)
			}
		}
	}
	c.dryByStop = false
	s.end = s.start + simDur(frames, rate)
	c.playEnd = s.end
	c.segs = append(c.segs, s)
	c.segBytes += bytes
}

// advance plays, up to t, the segments that end by then.
func (c *simCall) advance(t time.Duration) {
	for c.head < len(c.segs) && c.segs[c.head].end <= t {
		s := &c.segs[c.head]
		c.play(s, s.frames)
		c.segBytes -= s.bytes
		*s = simSeg{}
		c.head++
	}
	if c.head == len(c.segs) {
		c.segs, c.head = c.segs[:0], 0
	} else if c.head > 1024 && c.head > len(c.segs)/2 {
		n := copy(c.segs, c.segs[c.head:])
		clear(c.segs[n:])
		c.segs, c.head = c.segs[:n], 0
	}
}

// play records that frames of s were heard.
func (c *simCall) play(s *simSeg, frames int64) {
	c.rep.Played += float64(frames) / float64(s.rate)
	if c.rec == nil {
		return
	}
	if s.silence > 0 {
		c.rec.silence(int64(math.Round(s.silence.Seconds()*float64(s.rate))), s.rate)
	}
	if frames > 0 {
		c.rec.write(s.samples[:frames], s.rate)
	}
}

// cut empties the buffer at t: what played by then is heard, the rest is
// dropped.
func (c *simCall) cut(t time.Duration) {
	c.advance(t)
	for i := c.head; i < len(c.segs); i++ {
		s := &c.segs[i]
		var played int64
		if s.start < t {
			played = min(s.frames, int64((t-s.start).Seconds()*float64(s.rate)))
			if s.silence > 0 || played > 0 {
				c.play(s, played)
			}
		}
		c.rep.Dropped += float64(s.frames-played) / float64(s.rate)
	}
	clear(c.segs)
	c.segs, c.head, c.segBytes = c.segs[:0], 0, 0
	if c.playEnd > t {
		c.playEnd = t
	}
}

// buffered returns how much audio the buffer holds at t.
func (c *simCall) buffered(t time.Duration) (time.Duration, int64) {
	c.advance(t)
	var d time.Duration
	if c.playEnd > t {
		d = c.playEnd - t
	}
	b := c.segBytes
	if c.head < len(c.segs) {
		s := c.segs[c.head]
		if s.start < t && s.end > s.start {
			b -= int64(float64(s.bytes) * float64(t-s.start) / float64(s.end-s.start))
		}
	}
	if c.file != nil {
		b += c.file.fed - c.file.attributed
	}
	return d, b
}

// checkBuffer updates the buffer's high-water mark and enforces the limit.
func (c *simCall) checkBuffer(t time.Duration) {
	d, b := c.buffered(t)
	if d.Seconds() > c.rep.MaxBuffered.Seconds {
		c.rep.MaxBuffered.Seconds = d.Seconds()
	}
	if b > c.rep.MaxBuffered.Bytes {
		c.rep.MaxBuffered.Bytes = b
	}
	if b > c.opt.BufferLimit {
		msg := fmt.Sprintf("the playback buffer overflowed: %d bytes buffered, the limit is %d", b, c.opt.BufferLimit)
		c.log.Warn("ending the call", "reason", msg)
		c.finish(t, SimEnd{By: SimEndedByAPI, Reason: ReasonError, Message: msg})
	}
}

func (c *simCall) onSync(t time.Duration) {
	c.rep.Syncs.Requests++
	s := simSync{req: t}
	if f := c.file; f != nil && !f.done && f.fed > f.idleAt {
		s.file, s.fedAt = f.seq, f.fed
		f.feed.mark()
	} else {
		s.known = true
		s.due = max(t, c.playEnd)
	}
	c.syncs = append(c.syncs, s)
}

// resolveSyncs fixes the due time of the syncs waiting for file seq's
// bytes, up to consumed of them, once they have been decoded.
func (c *simCall) resolveSyncs(t time.Duration, seq int, consumed int64, done bool) {
	for i := range c.syncs {
		s := &c.syncs[i]
		if !s.known && s.file == seq && (done || consumed >= s.fedAt) {
			s.known, s.due = true, max(t, c.playEnd)
		}
	}
}

func (c *simCall) onInterrupt(t time.Duration) {
	c.rep.Interrupts++
	c.closeFile(t, true)
	c.cut(t)
	c.dryByStop = true
	c.interrupted = true
	// The audio before every pending sync is gone: answer them now.
	for i := range c.syncs {
		c.syncs[i].known, c.syncs[i].due = true, t
	}
}

// feedFile passes bytes of a wav or mp3 file to its decoder. Bytes after
// the end of a WAV file (its RIFF header gives its length) or after the
// decoder has finished are not the file's: they are ignored, and reported
// if they start another file.
func (c *simCall) feedFile(t time.Duration, data []byte) {
	f := c.file
	if len(f.head) < 12 {
		n := min(12-len(f.head), len(data))
		f.head = append(f.head, data[:n]...)
		if len(f.head) == 12 {
			c.checkFileKind(t, f)
			f.limit = simRIFFEnd(f.head)
		}
	}
	keep := int64(len(data))
	switch {
	case f.done:
		keep = 0
	case f.limit > 0:
		keep = max(0, min(keep, f.limit-f.fed))
	}
	if keep > 0 {
		f.fed += keep
		f.marks = append(f.marks, simMark{end: f.fed, at: t})
		f.feed.push(data[:keep])
	}
	if extra := data[keep:]; len(extra) > 0 && f.extra < 12 {
		n := min(12-f.extra, len(extra))
		f.extraHead = append(f.extraHead, extra[:n]...)
		f.extra += n
		if f.extra == 12 && media.Sniff(f.extraHead) != "" {
			c.problem(t, SimFormatMismatch, "a second %s file after the end of the first without a new sending: ignored", f.format)
		}
	}
}

// simRIFFEnd returns the length of the WAV file whose first 12 bytes are
// head, from its RIFF header, or 0 if it does not say.
func simRIFFEnd(head []byte) int64 {
	if string(head[:4]) != "RIFF" || string(head[8:12]) != "WAVE" {
		return 0
	}
	size := binary.LittleEndian.Uint32(head[4:8])
	if size == 0 || size == 0xFFFFFFFF {
		return 0
	}
	return int64(size) + 8
}

func (c *simCall) checkFileKind(t time.Duration, f *simFile) {
	kind := media.Sniff(f.head)
	if kind != "" && kind != string(f.format) {
		c.problem(t, SimFormatMismatch, "sending says %s but the bytes are %s", f.format, kind)
	}
}

// onFileEvent handles what a file decoder produced.
func (c *simCall) onFileEvent(f *simFile, ev simFileEvent, t time.Duration) {
	switch ev.kind {
	case simFileSamples:
		bytes := ev.consumed - f.attributed
		f.attributed = ev.consumed
		if f.aborted || c.ended {
			return
		}
		var kept []float32
		if c.rec != nil {
			kept = ev.samples
		}
		t = f.available(t)
		c.addAudio(t, int64(len(ev.samples)), ev.rate, bytes, kept)
		if !c.ended {
			c.checkBuffer(t)
		}
	case simFileIdle:
		f.idleAt = ev.consumed
		f.waiting = true
		c.resolveSyncs(t, f.seq, ev.consumed, false)
	case simFileDone:
		f.done = true
		f.attributed = f.fed
		if ev.err != nil && !f.aborted {
			c.problem(t, SimUndecodable, "%s file: %v", f.format, ev.err)
		}
		c.resolveSyncs(t, f.seq, 0, true)
	}
}

// closeFile ends the current wav/mp3 file: at its end (a new sending, the
// end of the call) the decoder gets the rest and the audio is queued;
// aborted (interrupt), the decoder is stopped and its audio dropped.
func (c *simCall) closeFile(t time.Duration, abort bool) {
	f := c.file
	if f == nil {
		return
	}
	c.file = nil
	if !f.done && len(f.head) > 0 && len(f.head) < 12 {
		c.checkFileKind(t, f)
	}
	if abort {
		f.aborted = true
		f.feed.abort()
	} else {
		f.feed.close()
	}
	for !f.done {
		ev := <-f.events
		c.onFileEvent(f, ev, max(t, c.now()))
	}
	<-f.exited
	if !abort {
		c.checkBuffer(max(t, c.now()))
	}
}

// finish ends the call at t: the buffer is cut, the simulator's bye sent.
func (c *simCall) finish(t time.Duration, end SimEnd) {
	if c.ended {
		return
	}
	c.closeFile(t, true)
	c.cut(t)
	c.stopSay()
	c.ended, c.endAt = true, t
	c.rep.End = end
	msg, _ := Marshal(Bye{Reason: end.Reason, Message: end.Message})
	if err := c.write(msg); err != nil {
		c.rep.End.Error = "sending bye: " + err.Error()
	}
	c.log.Info("simulated call ended", "by", end.By, "reason", end.Reason, "message", end.Message)
}

// hangup ends the call as the caller does.
func (c *simCall) hangup(t time.Duration, cancelled bool) {
	c.finish(t, SimEnd{By: SimEndedByCaller, Reason: ReasonHangup, Message: "the caller hung up", Cancelled: cancelled})
}

// endConnection ends the call because the connection closed or broke.
func (c *simCall) endConnection(t time.Duration, err error) {
	if c.ended {
		return
	}
	c.closeFile(t, true)
	c.cut(t)
	c.stopSay()
	c.ended, c.endAt = true, t
	msg := "the connection broke without bye"
	if s := websocket.CloseStatus(err); s != -1 {
		msg = fmt.Sprintf("the application closed the WebSocket (status %d) without bye", int(s))
	}
	c.rep.End = SimEnd{By: SimEndedByConnection, Message: msg, Error: err.Error()}
	c.log.Warn("simulated call ended", "by", "connection", "message", msg, "err", err)
}

// afterBye records a message that came after the call ended.
func (c *simCall) afterBye(ev simInbound) {
	if ev.err != nil {
		return
	}
	what := "a binary frame"
	if ev.typ == websocket.MessageText {
		what = "a malformed message"
		if m, err := Unmarshal(ev.data); err == nil {
			what = fmt.Sprintf("a %q message", m.Type())
		}
	}
	if c.rep.End.By != SimEndedByApp {
		// In flight when the simulator ended the call: not the
		// application's fault.
		c.rep.LateMessages++
		return
	}
	c.problem(c.endAt, SimAfterBye, "%s after the application's bye", what)
}

// shutdown closes the connection and waits for every goroutine.
func (c *simCall) shutdown() {
	c.stopSay()
	c.closeFile(c.endAt, true)
	if c.rep.End.By == SimEndedByApp {
		c.lingerAfterBye()
	}
	closed := make(chan struct{})
	go func() {
		c.conn.Close(websocket.StatusNormalClosure, "")
		close(closed)
	}()
	grace := time.NewTimer(simCloseGrace)
	defer grace.Stop()
	readerDone := c.readerDone
	for readerDone != nil {
		select {
		case ev := <-c.in:
			c.afterBye(ev)
		case <-readerDone:
			readerDone = nil
		case <-grace.C:
			c.readCancel() // closes the connection
		}
	}
	c.readCancel()
	close(c.quit)
	<-closed
	c.finishReport()
}

// lingerAfterBye reads what the application sends after its bye, until
// it closes the connection or simByeLinger passes.
func (c *simCall) lingerAfterBye() {
	linger := time.NewTimer(simByeLinger)
	defer linger.Stop()
	for {
		select {
		case ev := <-c.in:
			c.afterBye(ev)
			if ev.err != nil {
				return
			}
		case <-linger.C:
			return
		}
	}
}

// finishReport fills in the figures computed at the end.
func (c *simCall) finishReport() {
	r := c.rep
	r.Duration = c.endAt.Seconds()
	r.WallSeconds = time.Since(c.start).Seconds()
	if n := len(c.latencies); n > 0 {
		lo, hi, sum := c.latencies[0], c.latencies[0], time.Duration(0)
		for _, l := range c.latencies {
			lo, hi, sum = min(lo, l), max(hi, l), sum+l
		}
		r.Syncs.MinLatency, r.Syncs.MaxLatency = lo.Seconds(), hi.Seconds()
		r.Syncs.AvgLatency = (sum / time.Duration(n)).Seconds()
	}
	if c.rec != nil {
		r.Record = c.rec.close()
	}
}
