package elks

import (
	"fmt"
	"sync/atomic"
	"time"
)

// The recording runs apart from the reader, in two stages, so that a slow
// disk never delays the reader, and with it the sync replies, and never
// corrupts the decoding of a stateful codec:
//
//   - the reader hands each message of caller audio to the decoder through
//     a bounded queue (record), and drops it when the queue is full, which
//     only happens when the decoder is starved of CPU;
//   - the decoder (recordLoop) decodes every message it gets, so a codec
//     with state (G.722, Ogg Opus) sees its stream whole, and hands the
//     samples to the writer, or leaves them out when the writer has fallen
//     recordQueue messages (about 5 s) behind;
//   - the writer (writeRecording) writes them to the WAV file.
//
// Audio left out is counted in Stats.RecordDropped and warned about
// (rate-limited): the recording is then shorter than the call.

// Bounds of the queues between the reader, the decoder and the writer.
const (
	// recordQueue is how many messages of caller audio may wait for
	// the decoder, and how many decoded ones for the disk: about 5 s at
	// the API's 20 ms per message.
	recordQueue = 256
	// recordQueueBytes bounds the bytes of the messages waiting for
	// the decoder, whatever their size.
	recordQueueBytes = 1 << 20
)

// recordMsg is one message of caller audio on its way to the decoder.
type recordMsg struct {
	data     []byte
	at       time.Time // when it arrived
	afterGap bool      // audio was left out before it
}

// recordFeed is the reader's side of a running recording.
type recordFeed struct {
	q      chan recordMsg
	queued atomic.Int64 // bytes in q
	gap    bool         // the reader left audio out since the last message queued
	full   atomic.Bool  // the recording reached its longest: queue nothing more
	done   chan struct{}
	drops  logLimiter // rate-limits the warnings about audio left out
}

// startRecorder starts the decoder and the writer of rec, and returns the
// queue that feeds them; the reader stops them with stopRecorder when the
// connection ends.
func (s *Session) startRecorder(rec *callRecorder) *recordFeed {
	rq := &recordFeed{q: make(chan recordMsg, recordQueue), done: make(chan struct{})}
	go s.recordLoop(rec, rq)
	return rq
}

// record hands one message of caller audio to the decoder, or leaves it
// out when the decoder has fallen too far behind. data must not be
// modified afterwards (Unmarshal returns audio in a slice of its own).
func (s *Session) record(rq *recordFeed, data []byte) {
	if rq.full.Load() {
		return
	}
	n := int64(len(data))
	if rq.queued.Add(n) <= recordQueueBytes {
		select {
		case rq.q <- recordMsg{data: data, at: time.Now(), afterGap: rq.gap}:
			rq.gap = false
			return
		default:
		}
	}
	rq.queued.Add(-n)
	rq.gap = true
	s.recordDropped(&rq.drops)
}

// recordDropped counts a message of caller audio left out of the
// recording, and warns about it (rate-limited by lim).
func (s *Session) recordDropped(lim *logLimiter) {
	s.mu.Lock()
	s.stats.RecordDropped++
	dropped := s.stats.RecordDropped
	s.mu.Unlock()
	if ok, _ := lim.allow(time.Now()); ok {
		s.Logger().Warn("the recording falls behind the caller's audio: audio left out", "dropped", dropped)
	}
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

// recordFull notes, once, that the recording reached RecordMax, and has
// the reader queue nothing more.
func (s *Session) recordFull(rec *callRecorder, rq *recordFeed) {
	if rq.full.Swap(true) {
		return
	}
	s.mu.Lock()
	s.stats.RecordFull = true
	s.mu.Unlock()
	s.Logger().Warn("the recording reached its longest: the rest of the call is not recorded",
		"path", rec.path, "record-max", s.cfg.RecordMax)
}

// stopRecorder lets the decoder and the writer finish what is queued,
// then waits until the recording is complete. A disk that never comes
// back keeps it waiting, as it would keep any write to the file.
func (s *Session) stopRecorder(rq *recordFeed) {
	close(rq.q)
	<-rq.done
}

// recordLoop is the decoder: it decodes the caller audio queued on rq
// until the queue is closed, hands the samples to the writer, then waits
// for the writer to complete the recording.
func (s *Session) recordLoop(rec *callRecorder, rq *recordFeed) {
	defer close(rq.done)
	toDisk := make(chan []float32, recordQueue)
	free := make(chan []float32, recordQueue+1)
	written := make(chan struct{})
	go s.writeRecording(rec, toDisk, free, written)
	defer func() {
		close(toDisk)
		<-written
		rec.close()
	}()
	var lim, drops, ahead logLimiter
	budget := newRecordBudget(rec.rate, s.cfg.RecordMax)
	nbufs := 0
	for m := range rq.q {
		rq.queued.Add(-int64(len(m.data)))
		if budget.full() {
			continue
		}
		pcm, err := rec.decode(m.data, m.afterGap)
		if err != nil {
			s.malformed(&lim, fmt.Errorf("caller audio: %w", err))
		}
		if len(pcm) == 0 {
			continue
		}
		keep, why := budget.admit(m.at, len(pcm))
		if why == cutAhead {
			s.recordAhead(frameDur(len(pcm)-keep, rec.rate), &ahead)
		}
		if budget.full() {
			s.recordFull(rec, rq)
		}
		if pcm = pcm[:keep]; keep == 0 {
			continue
		}
		var buf []float32
		select {
		case buf = <-free:
		default:
			if nbufs == cap(free) {
				s.recordDropped(&drops) // every buffer waits for the disk
				continue
			}
			nbufs++
		}
		buf = append(buf[:0], pcm...)
		select {
		case toDisk <- buf:
		default:
			free <- buf
			s.recordDropped(&drops)
		}
	}
}

// writeRecording is the writer: it writes the samples queued on toDisk
// until the queue is closed, returning each buffer on free, and closes
// written when done.
func (s *Session) writeRecording(rec *callRecorder, toDisk <-chan []float32, free chan<- []float32, written chan<- struct{}) {
	defer close(written)
	for pcm := range toDisk {
		if s.hooks.recordWrite != nil {
			s.hooks.recordWrite()
		}
		d := rec.write(pcm)
		free <- pcm
		if d > 0 {
			s.mu.Lock()
			s.stats.Recorded += d
			s.mu.Unlock()
		}
	}
}
