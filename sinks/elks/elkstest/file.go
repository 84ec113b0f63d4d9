package elkstest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/elkspipe/elkspipe/internal/media"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sources"
)

// feedFile passes bytes of a wav or mp3 file to its decoder. Bytes after
// the end of a WAV file (its RIFF header gives its length) or after the
// decoder has finished are not the file's: they are ignored, and reported
// if they start another file.
func (c *call) feedFile(t time.Duration, data []byte) {
	f := c.file
	if len(f.head) < 12 {
		n := min(12-len(f.head), len(data))
		f.head = append(f.head, data[:n]...)
		if len(f.head) == 12 {
			c.checkFileKind(t, f)
			f.limit = riffEnd(f.head)
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
		f.marks = append(f.marks, arrival{end: f.fed, at: t})
		f.feed.push(data[:keep])
	}
	if extra := data[keep:]; len(extra) > 0 && f.extra < 12 {
		n := min(12-f.extra, len(extra))
		f.extraHead = append(f.extraHead, extra[:n]...)
		f.extra += n
		if f.extra == 12 && media.Sniff(f.extraHead) != "" {
			c.problem(t, FormatMismatch, "a second %s file after the end of the first without a new sending: ignored", f.format)
		}
	}
}

// riffEnd returns the length of the WAV file whose first 12 bytes are
// head, from its RIFF header, or 0 if it does not say.
func riffEnd(head []byte) int64 {
	if string(head[:4]) != "RIFF" || string(head[8:12]) != "WAVE" {
		return 0
	}
	size := binary.LittleEndian.Uint32(head[4:8])
	if size == 0 || size == 0xFFFFFFFF {
		return 0
	}
	return int64(size) + 8
}

func (c *call) checkFileKind(t time.Duration, f *sentFile) {
	kind := media.Sniff(f.head)
	if kind != "" && kind != string(f.format) {
		c.problem(t, FormatMismatch, "sending says %s but the bytes are %s", f.format, kind)
	}
}

// onFileEvent handles what a file decoder produced.
func (c *call) onFileEvent(f *sentFile, ev fileEvent, t time.Duration) {
	switch ev.kind {
	case fileSamples:
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
	case fileIdle:
		f.idleAt = ev.consumed
		f.waiting = true
		c.resolveSyncs(t, f.seq, ev.consumed, false)
	case fileDone:
		f.done = true
		f.attributed = f.fed
		if ev.err != nil && !f.aborted {
			c.problem(t, Undecodable, "%s file: %v", f.format, ev.err)
		}
		c.resolveSyncs(t, f.seq, 0, true)
	}
}

// closeFile ends the current wav/mp3 file: at its end (a new sending, the
// end of the call) the decoder gets the rest and the audio is queued;
// aborted (interrupt), the decoder is stopped and its audio dropped.
func (c *call) closeFile(t time.Duration, abort bool) {
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

// sentFile is one wav or mp3 file the application is sending: the bytes
// after a sending. A goroutine decodes it with sources.Decode as the bytes
// arrive, reading from a feed that blocks when it runs out; when it does,
// it tells the call how many bytes it has consumed, so that a sync waits
// until every byte before it has been decoded (and then played).
type sentFile struct {
	seq    int
	format elks.Format
	feed   *byteFeed
	events chan fileEvent
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
	marks      []arrival     // when the bytes not yet decoded arrived
	waiting    bool          // the decoder ran out since its last samples
	availAt    time.Duration // when its last samples were available
}

// arrival records that the file's bytes up to end had arrived at call
// time at.
type arrival struct {
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
func (f *sentFile) available(now time.Duration) time.Duration {
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

// Kinds of fileEvent.
const (
	fileSamples = iota
	fileIdle
	fileDone
)

// fileEvent is what a file decoder reports: decoded mono samples, that
// it ran out of bytes, or that it finished (err nil at the file's end).
type fileEvent struct {
	kind     int
	samples  []float32
	rate     int
	consumed int64
	err      error
}

func startFile(seq int, f elks.Format, quit <-chan struct{}) *sentFile {
	sf := &sentFile{seq: seq, format: f, events: make(chan fileEvent, 64), exited: make(chan struct{}), waiting: true}
	send := func(ev fileEvent) bool {
		select {
		case sf.events <- ev:
			return true
		case <-quit:
			return false
		}
	}
	d := &fileDecoder{send: send}
	sf.feed = newByteFeed(d.idle)
	d.feed = sf.feed
	go func() {
		defer close(sf.exited)
		err := d.run()
		if err == nil {
			d.flush()
		}
		send(fileEvent{kind: fileDone, err: err, consumed: sf.feed.consumed()})
	}()
	return sf
}

// fileDecoder is the goroutine that decodes one file. It collects
// samples in batches, and sends what it holds before it reports that it
// ran out of bytes, so that the call knows every sample decodable so far.
type fileDecoder struct {
	feed  *byteFeed
	send  func(fileEvent) bool
	batch []float32
	rate  int
	gone  bool // the call stopped listening
}

// fileBatch is the most samples sent in one event.
const fileBatch = 1024

func (d *fileDecoder) flush() {
	if len(d.batch) == 0 || d.gone {
		return
	}
	if !d.send(fileEvent{kind: fileSamples, samples: d.batch, rate: d.rate, consumed: d.feed.consumed()}) {
		d.gone = true
	}
	d.batch = nil
}

// idle is called by the feed, on the decoder's goroutine, when it runs out.
func (d *fileDecoder) idle(consumed int64) {
	d.flush()
	if !d.gone && !d.send(fileEvent{kind: fileIdle, consumed: consumed}) {
		d.gone = true
	}
}

// run decodes the file the feed delivers, mixed to mono. It returns nil
// at the end of the file.
func (d *fileDecoder) run() (err error) {
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
	read := fileBatch
	if media.Sniff(d.feed.head()) != "wav" {
		read = 1
	}
	buf := make([]float32, read*f.Channels)
	for !d.gone {
		n, err := pipeline.ReadSome(src, buf)
		if n > 0 {
			if d.batch == nil {
				d.batch = make([]float32, 0, fileBatch)
			}
			k := len(d.batch)
			d.batch = d.batch[:k+n]
			mixDown(d.batch[k:], buf[:n*f.Channels], f.Channels)
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

// mixDown averages the channels of interleaved samples into dst.
func mixDown(dst, src []float32, ch int) {
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
