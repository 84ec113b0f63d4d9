package elks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/elkspipe/elkspipe/internal/media"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks"
	"github.com/elkspipe/elkspipe/sources"
	"github.com/elkspipe/elkspipe/transforms"
)

// ---- wav and mp3 files: decoded as their bytes arrive ----

// simFile is one wav or mp3 file the application is sending: the bytes
// after a sending. A goroutine decodes it with sources.Decode as the bytes
// arrive, reading from a feed that blocks when it runs out; when it does,
// it tells the call how many bytes it has consumed, so that a sync waits
// until every byte before it has been decoded (and then played).
type simFile struct {
	seq    int
	format Format
	feed   *simFeed
	events chan simFileEvent
	exited chan struct{}

	// The call's view, touched only by the call's goroutine.
	done       bool  // the decoder has finished (done event handled)
	aborted    bool  // interrupted: its audio is dropped
	fed        int64 // bytes received
	idleAt     int64 // bytes consumed when the decoder last ran out
	attributed int64 // bytes accounted to decoded audio
	head       []byte
	limit      int64 // the file's length from its header, 0 if unknown
	extra      int
	extraHead  []byte
	marks      []simMark     // when the bytes not yet decoded arrived
	waiting    bool          // the decoder ran out since its last samples
	availAt    time.Duration // when its last samples were available
}

// simMark records that the file's bytes up to end had arrived at call
// time at.
type simMark struct {
	end int64
	at  time.Duration
}

// available returns when the samples of the next event could have been
// decoded at the earliest. If the decoder ran out of bytes (it went idle at
// idleAt) since its last samples, they needed a byte that came later: they
// are available from the arrival of the first byte after idleAt. If not,
// they were decodable from bytes already there, as available as the
// samples before them (the decoder's read-ahead makes the bytes it
// consumed no guide to the bytes it needed). So the simulator's own
// decoding never shows as a gap, and a pause of the application does.
func (f *simFile) available(now time.Duration) time.Duration {
	if !f.waiting {
		return min(f.availAt, now)
	}
	f.waiting = false
	for len(f.marks) > 1 && f.marks[0].end <= f.idleAt {
		f.marks = f.marks[1:]
	}
	f.availAt = now
	if len(f.marks) > 0 {
		f.availAt = min(f.marks[0].at, now)
	}
	return f.availAt
}

// Kinds of simFileEvent.
const (
	simFileSamples = iota
	simFileIdle
	simFileDone
)

// simFileEvent is what a file decoder reports: decoded mono samples, that
// it ran out of bytes, or that it finished (err nil at the file's end).
type simFileEvent struct {
	kind     int
	samples  []float32
	rate     int
	consumed int64
	err      error
}

func simStartFile(seq int, f Format, quit <-chan struct{}) *simFile {
	sf := &simFile{seq: seq, format: f, events: make(chan simFileEvent, 64), exited: make(chan struct{}), waiting: true}
	send := func(ev simFileEvent) bool {
		select {
		case sf.events <- ev:
			return true
		case <-quit:
			return false
		}
	}
	d := &simFileDecoder{send: send}
	sf.feed = newSimFeed(d.idle)
	d.feed = sf.feed
	go func() {
		defer close(sf.exited)
		err := d.run()
		if err == nil {
			d.flush()
		}
		send(simFileEvent{kind: simFileDone, err: err, consumed: sf.feed.consumed()})
	}()
	return sf
}

// simFileDecoder is the goroutine that decodes one file. It collects
// samples in batches, and sends what it holds before it reports that it
// ran out of bytes, so that the call knows every sample decodable so far.
type simFileDecoder struct {
	feed  *simFeed
	send  func(simFileEvent) bool
	batch []float32
	rate  int
	gone  bool // the call stopped listening
}

// simFileBatch is the most samples sent in one event.
const simFileBatch = 1024

func (d *simFileDecoder) flush() {
	if len(d.batch) == 0 || d.gone {
		return
	}
	if !d.send(simFileEvent{kind: simFileSamples, samples: d.batch, rate: d.rate, consumed: d.feed.consumed()}) {
		d.gone = true
	}
	d.batch = nil
}

// idle is called by the feed, on the decoder's goroutine, when it runs out.
func (d *simFileDecoder) idle(consumed int64) {
	d.flush()
	if !d.gone && !d.send(simFileEvent{kind: simFileIdle, consumed: consumed}) {
		d.gone = true
	}
}

// run decodes the file the feed delivers, mixed to mono. It returns nil
// at the end of the file.
func (d *simFileDecoder) run() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decoder panic: %v", p)
		}
	}()
	src, err := sources.Decode(d.feed)
	if err != nil {
		return err
	}
	defer pipeline.Close(src)
	f := src.Format()
	d.rate = f.Rate
	// The WAV decoder returns what it has; the MP3 decoder fills a read
	// before it returns, so it is read a frame at a time, so as not to
	// hold decoded samples back while it waits for bytes.
	read := simFileBatch
	if media.Sniff(d.feed.head()) != "wav" {
		read = 1
	}
	buf := make([]float32, read*f.Channels)
	for !d.gone {
		n, err := src.Read(buf)
		if n > 0 {
			if d.batch == nil {
				d.batch = make([]float32, 0, simFileBatch)
			}
			k := len(d.batch)
			d.batch = d.batch[:k+n]
			simMixDown(d.batch[k:], buf[:n*f.Channels], f.Channels)
			if cap(d.batch)-len(d.batch) < read {
				d.flush()
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return errors.New("call ended")
}

// simMixDown averages the channels of interleaved samples into dst.
func simMixDown(dst, src []float32, ch int) {
	if ch == 1 {
		copy(dst, src)
		return
	}
	for i := range dst {
		var sum float32
		for _, v := range src[i*ch : (i+1)*ch] {
			sum += v
		}
		dst[i] = sum / float32(ch)
	}
}

// errSimAborted is what an aborted feed returns to its decoder.
var errSimAborted = errors.New("interrupted")

// simFeed is an io.Reader of bytes pushed by another goroutine. Read blocks
// while it is empty, calling idle first (once per position).
type simFeed struct {
	mu     sync.Mutex
	cond   *sync.Cond
	buf    []byte
	off    int
	closed bool
	err    error
	read   int64
	idle   func(consumed int64)
	idled  int64 // position of the last idle call, -1 before any
	first  []byte
	// marks are the positions of the syncs inside the bytes pushed,
	// ascending: Read never crosses one, and reports reaching it through
	// idle as if the bytes ran out there, so that a sync is answered once
	// the audio decoded from the bytes before it has played, not the
	// audio after it that the decoder's read-ahead would otherwise take.
	marks []int64
}

// mark records a sync after the bytes pushed so far.
func (f *simFeed) mark() {
	f.mu.Lock()
	defer f.mu.Unlock()
	pos := f.read + int64(len(f.buf)-f.off)
	if pos > f.read && (len(f.marks) == 0 || f.marks[len(f.marks)-1] < pos) {
		f.marks = append(f.marks, pos)
	}
}

// head returns the first bytes pushed (up to 12).
func (f *simFeed) head() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.first
}

func newSimFeed(idle func(int64)) *simFeed {
	f := &simFeed{idle: idle, idled: -1}
	f.cond = sync.NewCond(&f.mu)
	return f
}

func (f *simFeed) push(b []byte) {
	f.mu.Lock()
	if f.off == len(f.buf) {
		f.buf, f.off = f.buf[:0], 0
	}
	f.buf = append(f.buf, b...)
	if len(f.first) < 12 {
		f.first = append(f.first, b[:min(len(b), 12-len(f.first))]...)
	}
	f.mu.Unlock()
	f.cond.Signal()
}

// close ends the stream after the bytes pushed so far.
func (f *simFeed) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.cond.Signal()
}

// abort makes every Read fail at once.
func (f *simFeed) abort() {
	f.mu.Lock()
	f.closed, f.err = true, errSimAborted
	f.mu.Unlock()
	f.cond.Signal()
}

func (f *simFeed) consumed() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.read
}

func (f *simFeed) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.marks) > 0 && f.marks[0] <= f.read {
		f.marks = f.marks[1:]
		if f.idled != f.read && f.off < len(f.buf) {
			// At a sync, with bytes after it: report as if they ran out.
			f.idled = f.read
			pos := f.read
			f.mu.Unlock()
			f.idle(pos)
			f.mu.Lock()
		}
	}
	for f.off == len(f.buf) && !f.closed {
		if f.idled != f.read {
			f.idled = f.read
			pos := f.read
			f.mu.Unlock()
			f.idle(pos)
			f.mu.Lock()
			continue
		}
		f.cond.Wait()
	}
	if f.err != nil {
		return 0, f.err
	}
	if f.off == len(f.buf) {
		return 0, io.EOF
	}
	end := len(f.buf)
	if len(f.marks) > 0 {
		end = min(end, f.off+int(f.marks[0]-f.read))
	}
	n := copy(p, f.buf[f.off:end])
	f.off += n
	f.read += int64(n)
	return n, nil
}

// ---- the recording of what the caller heard ----

// simRecorder writes what the caller heard to a 16-bit mono WAV file, at
// one rate: audio at other rates goes through a resampler, which runs in
// its own goroutine while audio at that rate lasts.
type simRecorder struct {
	path  string
	file  *os.File
	w     *sinks.WAVWriter
	rate  int // the recording's rate, 0 until the first audio
	fixed int // the rate asked for, 0 for the first audio's
	conv  *simConverter
	zeros []float32
	err   error
}

func simCreateRecorder(path string, rate int) (*simRecorder, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cannot create the recording: %v", err)
	}
	return &simRecorder{path: path, file: f, fixed: rate}, nil
}

// discard removes a recording whose call never happened.
func (r *simRecorder) discard() {
	if r == nil {
		return
	}
	r.file.Close()
	os.Remove(r.path)
}

func (r *simRecorder) fail(err error) {
	if r.err == nil && err != nil {
		r.err = err
	}
}

// start writes the header, at the first audio.
func (r *simRecorder) start(rate int) {
	r.rate = r.fixed
	if r.rate == 0 {
		r.rate = rate
	}
	w, err := sinks.NewWAVWriter(r.file, pipeline.Format{Rate: r.rate, Channels: 1}, sinks.WAVS16)
	if err != nil {
		r.fail(err)
		return
	}
	r.w = w
}

// write records mono samples at rate.
func (r *simRecorder) write(samples []float32, rate int) {
	if r.err != nil {
		return // reported at the end
	}
	if r.w == nil {
		if r.start(rate); r.w == nil {
			return
		}
	}
	if r.conv != nil && r.conv.rate != rate {
		r.fail(r.conv.finish())
		r.conv = nil
	}
	if rate == r.rate {
		r.fail(r.w.Write(samples))
		return
	}
	if r.conv == nil {
		conv, err := simStartConverter(rate, r.rate, r.w)
		if err != nil {
			r.fail(err)
			return
		}
		r.conv = conv
	}
	r.conv.push(samples)
}

// silence records n frames of silence at rate.
func (r *simRecorder) silence(n int64, rate int) {
	if r.zeros == nil {
		r.zeros = make([]float32, 4096)
	}
	for n > 0 {
		k := min(n, int64(len(r.zeros)))
		r.write(r.zeros[:k], rate)
		n -= k
	}
}

// close finishes the file and describes it.
func (r *simRecorder) close() *SimRecording {
	if r.conv != nil {
		r.fail(r.conv.finish())
		r.conv = nil
	}
	if r.w == nil && r.err == nil {
		// Nothing was heard: an empty recording.
		rate := r.fixed
		if rate == 0 {
			rate = 8000
		}
		r.start(rate)
	}
	if r.w != nil {
		r.fail(r.w.Close())
	}
	r.fail(r.file.Close())
	rec := &SimRecording{Path: r.path, Rate: r.rate}
	if r.w != nil {
		rec.Seconds = float64(r.w.Frames()) / float64(r.rate)
	}
	if r.err != nil {
		rec.Error = r.err.Error()
	}
	return rec
}

// simConverter resamples pushed audio into the recording.
type simConverter struct {
	rate int
	ch   chan []float32
	done chan error
}

func simStartConverter(from, to int, w *sinks.WAVWriter) (*simConverter, error) {
	c := &simConverter{rate: from, ch: make(chan []float32, 16), done: make(chan error, 1)}
	src := &simPushSource{format: pipeline.Format{Rate: from, Channels: 1}, ch: c.ch}
	rs, err := transforms.ResampleSource(src, to, 0)
	if err != nil {
		return nil, fmt.Errorf("resampling the recording from %d Hz to %d Hz: %v", from, to, err)
	}
	go func() {
		buf := make([]float32, 4096)
		var werr error
		for {
			n, err := rs.Read(buf)
			if n > 0 && werr == nil {
				werr = w.Write(buf[:n])
			}
			if err != nil {
				if err != io.EOF && werr == nil {
					werr = err
				}
				break
			}
		}
		for range c.ch { // drain what is left after an error
		}
		c.done <- werr
	}()
	return c, nil
}

func (c *simConverter) push(samples []float32) {
	c.ch <- append([]float32(nil), samples...)
}

// finish flushes the resampler and waits for its goroutine.
func (c *simConverter) finish() error {
	close(c.ch)
	return <-c.done
}

// simPushSource is a Source of the samples pushed into ch; it ends when ch
// is closed.
type simPushSource struct {
	format pipeline.Format
	ch     chan []float32
	cur    []float32
	eof    bool
}

func (s *simPushSource) Format() pipeline.Format { return s.format }

func (s *simPushSource) Read(p []float32) (int, error) {
	if len(p) == 0 {
		return 0, pipeline.ErrShortBuffer
	}
	for len(s.cur) == 0 {
		if s.eof {
			return 0, io.EOF
		}
		b, ok := <-s.ch
		if !ok {
			s.eof = true
			return 0, io.EOF
		}
		s.cur = b
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

// ---- the caller's voice ----

// simSayChunk is the length of each message of caller audio.
const simSayChunk = 20 * time.Millisecond

// simSay sends the caller's audio in one listening format, paced on the
// call's clock, from its own goroutine.
type simSay struct {
	format Format
	stopCh chan struct{}
	done   chan simSayStats
}

type simSayStats struct {
	SimAudio
	err string
}

func simStartSay(open pipeline.Opener, f Format, rate int, enc Encoder, conn *websocket.Conn, speed float64) *simSay {
	s := &simSay{format: f, stopCh: make(chan struct{}), done: make(chan simSayStats, 1)}
	go func() {
		s.done <- s.run(open, rate, enc, conn, speed)
	}()
	return s
}

// stop ends the voice and returns what it sent.
func (s *simSay) stop() simSayStats {
	close(s.stopCh)
	return <-s.done
}

func (s *simSay) run(open pipeline.Opener, rate int, enc Encoder, conn *websocket.Conn, speed float64) (st simSayStats) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stopCh:
			cancel()
		case <-ctx.Done():
		}
	}()
	src, err := open(ctx)
	if err != nil {
		st.err = "opening the caller's audio: " + err.Error()
		return st
	}
	conv, _, err := pipeline.Convert(src, pipeline.Format{Rate: rate, Channels: 1})
	if err != nil {
		pipeline.Close(src)
		st.err = "converting the caller's audio: " + err.Error()
		return st
	}
	src = conv
	defer pipeline.Close(src)
	chunk := int(int64(rate) * int64(simSayChunk) / int64(time.Second))
	buf := make([]float32, chunk)
	var wire, msg []byte
	start := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for k := int64(1); ; k++ {
		n, rerr := pipeline.ReadFull(src, buf)
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			st.err = "reading the caller's audio: " + rerr.Error()
			return st
		}
		if n == 0 {
			return st
		}
		wire = enc.Encode(wire[:0], buf[:n])
		if rerr != nil {
			wire = enc.Flush(wire)
		}
		msg = AppendAudio(msg[:0], wire)
		// Chunk k is sent when its 20 ms have passed on the call's clock.
		timer.Reset(time.Until(start.Add(time.Duration(float64(k) * float64(simSayChunk) / speed))))
		select {
		case <-timer.C:
		case <-s.stopCh:
			return st
		}
		wctx, wcancel := context.WithTimeout(context.Background(), simWriteTimeout)
		err := conn.Write(wctx, websocket.MessageText, msg)
		wcancel()
		if err != nil {
			return st // the call sees the connection end
		}
		st.Messages++
		st.Bytes += int64(len(wire))
		st.Seconds += float64(n) / float64(rate)
		if rerr != nil {
			return st
		}
	}
}
