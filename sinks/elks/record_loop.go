package elks

import (
	"sync/atomic"
	"time"
)

// recordQueueAudio bounds the decoded audio waiting for the disk, whatever
// the size of the messages it came in: 10 s, so that a stuck disk holds
// at most that much memory per call (256 messages of 3 s of Ogg Opus
// would otherwise be 150 MB).
const recordQueueAudio = 10 * time.Second

// The recording takes the caller's audio from the decoder (listen.go) and
// writes it on a goroutine of its own, so that a slow disk delays neither
// the reader nor the decoder: the decoder hands the samples to the writer,
// or leaves them out when the writer has fallen listenQueue messages
// (about 5 s) behind. Audio left out is counted in Stats.RecordDropped and
// warned about (rate-limited): the recording is then shorter than the
// call. Before that, the recording's budget (record_budget.go) keeps what
// a peer sends faster than real time, or beyond RecordMax, out of it.

// recordWriter is the decoder's side of a running recording.
type recordWriter struct {
	s       *Session
	rec     *callRecorder
	budget  recordBudget
	toDisk  chan recordChunk
	free    chan []float32
	written chan struct{}
	nbufs   int
	queued  atomic.Int64 // samples waiting for the disk
	limit   int64        // the most samples that may wait
	drops   logLimiter   // warnings about audio the disk could not take
	ahead   logLimiter   // warnings about audio ahead of the call's clock
}

// startRecordWriter starts the writer of rec.
func (s *Session) startRecordWriter(rec *callRecorder) *recordWriter {
	w := &recordWriter{
		s: s, rec: rec,
		budget:  newRecordBudget(rec.rate, s.cfg.RecordMax),
		toDisk:  make(chan recordChunk, listenQueue),
		free:    make(chan []float32, listenQueue+1),
		written: make(chan struct{}),
		limit:   durFrames(recordQueueAudio, rec.rate),
	}
	go s.writeRecording(rec, w.toDisk, w.free, w.written, &w.queued)
	return w
}

// record hands decoded caller audio that arrived at to the writer, as far
// as the budget and the disk allow, and reports whether the recording is
// full (it takes nothing more).
func (w *recordWriter) record(pcm []float32, at time.Time) (full bool) {
	if w.budget.full() {
		return true
	}
	s := w.s
	keep, why := w.budget.admit(at, len(pcm))
	if why == cutAhead {
		s.recordAhead(frameDur(len(pcm)-keep, w.rec.rate), &w.ahead)
	}
	if w.budget.full() {
		s.recordFull(w.rec)
	}
	if pcm = pcm[:keep]; keep == 0 {
		return w.budget.full()
	}
	if w.queued.Load()+int64(len(pcm)) > w.limit {
		s.recordDropped(&w.drops) // the disk is 10 s behind
		return w.budget.full()
	}
	var buf []float32
	select {
	case buf = <-w.free:
	default:
		if w.nbufs == cap(w.free) {
			s.recordDropped(&w.drops) // every buffer waits for the disk
			return w.budget.full()
		}
		w.nbufs++
	}
	buf = append(buf[:0], pcm...)
	w.queued.Add(int64(len(buf)))
	select {
	case w.toDisk <- recordChunk{pcm: buf, at: at}:
	default:
		w.queued.Add(-int64(len(buf)))
		w.free <- buf
		s.recordDropped(&w.drops)
	}
	return w.budget.full()
}

// stop lets the writer write what is queued, then completes the file.
func (w *recordWriter) stop() {
	close(w.toDisk)
	<-w.written
	w.rec.close()
}

// recordDropped counts decoded caller audio left out of the recording
// because the disk fell behind, and warns about it (rate-limited by lim).
func (s *Session) recordDropped(lim *logLimiter) {
	s.countDropped(lim, "the recording falls behind the caller's audio: audio left out")
}

// recordAhead counts caller audio left out of the recording because it
// ran ahead of the call's clock (d of it), and warns about it
// (rate-limited by lim).
func (s *Session) recordAhead(d time.Duration, lim *logLimiter) {
	s.mu.Lock()
	s.stats.RecordAhead += d
	total := s.stats.RecordAhead
	s.mu.Unlock()
	if ok, skipped := lim.allow(time.Now()); ok {
		s.Logger().Warn("caller audio arrives faster than real time: what runs ahead of the call's clock is left out of the recording",
			"ahead", recordAhead, "left_out", total, "suppressed", skipped)
	}
}

// recordFull notes that the recording reached RecordMax, and says so.
func (s *Session) recordFull(rec *callRecorder) {
	s.mu.Lock()
	s.stats.RecordFull = true
	s.mu.Unlock()
	s.Logger().Warn("the recording reached its longest: the rest of the call is not recorded",
		"path", rec.path, "record-max", s.cfg.RecordMax)
}

// recordChunk is decoded caller audio on its way to the disk, with the
// time its message arrived.
type recordChunk struct {
	pcm []float32
	at  time.Time
}

// writeRecording is the writer: it writes the samples queued on toDisk
// until the queue is closed, returning each buffer on free and counting
// them out of queued, and closes written when done. A two-sided recording
// also writes, every bothTick, what the caller heard while no caller audio
// comes.
func (s *Session) writeRecording(rec *callRecorder, toDisk <-chan recordChunk, free chan<- []float32, written chan<- struct{}, queued *atomic.Int64) {
	defer s.survive("recording writer")
	defer close(written)
	var tick <-chan time.Time
	if rec.stereo != nil {
		t := time.NewTicker(bothTick)
		defer t.Stop()
		tick = t.C
	}
	for {
		var c recordChunk
		var ok bool
		select {
		case c, ok = <-toDisk:
		case now := <-tick:
			rec.tick(now)
			continue
		}
		if !ok {
			return
		}
		pcm := c.pcm
		queued.Add(-int64(len(pcm)))
		if s.hooks.recordWrite != nil {
			s.hooks.recordWrite()
		}
		d := rec.write(pcm, c.at)
		free <- pcm
		if d > 0 {
			s.mu.Lock()
			s.stats.Recorded += d
			s.mu.Unlock()
		}
	}
}
