package elks

import (
	"fmt"
	"sync/atomic"
	"time"
)

// The caller's audio. Once the session has asked for it ("listening": at
// hello when recording, or at the first Session.Caller), every audio
// message the reader gets goes to one decoder goroutine (listenLoop)
// through a bounded queue, so that the reader, and with it the sync
// replies, never waits for the consumers:
//
//   - the reader hands each message to the decoder (listen), and drops it
//     when the queue is full, which only happens when the decoder is
//     starved of CPU; the decoder then starts afresh, as a stateful codec
//     (G.722, Ogg Opus) must not take the next message for the
//     continuation of what came before the gap;
//   - the decoder decodes every message it gets and hands the samples to
//     the recording (record_loop.go), which has a writer of its own, and
//     to every open Caller source, each of which keeps the last second
//     and drops the oldest beyond (caller.go).

// Bounds of the queue between the reader and the decoder.
const (
	// listenQueue is how many messages of caller audio may wait for the
	// decoder: about 5 s at the API's 20 ms per message.
	listenQueue = 256
	// listenQueueBytes bounds the bytes of the messages waiting for the
	// decoder, whatever their size.
	listenQueueBytes = 1 << 20
)

// listenMsg is one message of caller audio on its way to the decoder.
type listenMsg struct {
	data     []byte
	at       time.Time // when it arrived
	afterGap bool      // audio was left out before it
}

// listenFeed is the reader's side of the caller's audio.
type listenFeed struct {
	q      chan listenMsg
	queued atomic.Int64 // bytes in q
	gap    bool         // the reader left audio out since the last message queued (reader only)
	// idle says that nothing needs the audio now (the recording is full
	// and no Caller source is open): the reader queues nothing.
	idle  atomic.Bool
	done  chan struct{} // closed when the decoder and the recording are done
	drops logLimiter    // rate-limits the warnings about audio left out (reader only)
}

// startListeningLocked asks the API for the caller's audio and starts its
// decoder, and the recording's writer when rec is set; the caller holds
// s.mu. The reader stops them (stopListening) when the connection ends.
func (s *Session) startListeningLocked(rec *callRecorder) error {
	dec, err := NewDecoder(s.cfg.ListenFormat)
	if err != nil {
		return err
	}
	var digits *digitDetector
	if s.cfg.DTMF {
		if digits, err = newDigitDetector(s.listenInfo().Rate); err != nil {
			return err
		}
	}
	var speech *speechDetector
	if s.cfg.Speech {
		if speech, err = newSpeechDetector(s.listenInfo().Rate); err != nil {
			return err
		}
	}
	lf := &listenFeed{q: make(chan listenMsg, listenQueue), done: make(chan struct{})}
	s.listening = lf
	s.enqueueLocked(outMsg{b: s.listeningMsg})
	go s.listenLoop(lf, dec, rec, digits, speech)
	return nil
}

// listen hands one message of caller audio to the decoder, or leaves it
// out when the decoder has fallen too far behind. data must not be
// modified afterwards (Unmarshal returns audio in a slice of its own).
func (s *Session) listen(lf *listenFeed, data []byte) {
	if lf.idle.Load() {
		lf.gap = true
		return
	}
	n := int64(len(data))
	if lf.queued.Add(n) <= listenQueueBytes {
		select {
		case lf.q <- listenMsg{data: data, at: time.Now(), afterGap: lf.gap}:
			lf.gap = false
			return
		default:
		}
	}
	lf.queued.Add(-n)
	lf.gap = true
	s.listenDropped(&lf.drops)
}

// listenDropped counts a message of caller audio left out because the
// decoder fell too far behind, and warns about it (rate-limited by lim).
func (s *Session) listenDropped(lim *logLimiter) {
	s.countDropped(lim, "the caller's audio falls behind: audio left out")
}

// countDropped counts caller audio left out (Stats.RecordDropped) and
// logs msg about it, as lim allows.
func (s *Session) countDropped(lim *logLimiter, msg string) {
	s.mu.Lock()
	s.stats.RecordDropped++
	dropped := s.stats.RecordDropped
	s.mu.Unlock()
	if ok, _ := lim.allow(time.Now()); ok {
		s.Logger().Warn(msg, "dropped", dropped)
	}
}

// stopListening lets the decoder and the recording finish what is
// queued, then waits until the recording is complete and every Caller
// source has seen the end. A disk that never comes back keeps it waiting,
// as it would keep any write to the file.
func (s *Session) stopListening(lf *listenFeed) {
	close(lf.q)
	<-lf.done
}

// listenLoop is the decoder: it decodes the caller audio queued on lf
// until the queue is closed and hands the samples to the DTMF detector
// (when digits is set), the speech detector (when speech is set), the recording (when rec is set) and the open
// Caller sources; then it ends the sources and waits for the recording
// to be complete.
func (s *Session) listenLoop(lf *listenFeed, dec Decoder, rec *callRecorder, digits *digitDetector, speech *speechDetector) {
	defer s.survive("listener")
	defer close(lf.done)
	defer s.endCallerSources()
	var w *recordWriter
	if rec != nil {
		w = s.startRecordWriter(rec)
		defer w.stop()
	}
	var lim logLimiter
	var pcm []float32
	for m := range lf.q {
		lf.queued.Add(-int64(len(m.data)))
		if m.afterGap {
			dec.Reset()
		}
		var err error
		if pcm, err = dec.Decode(pcm[:0], m.data); err != nil {
			s.malformed(&lim, fmt.Errorf("caller audio: %w", err))
		}
		if len(pcm) == 0 {
			continue
		}
		if digits != nil {
			s.detectDigits(digits, pcm)
		}
		if speech != nil {
			s.detectSpeech(speech, pcm)
		}
		taps := s.feedCallerSources(pcm)
		full := true
		if w != nil {
			full = w.record(pcm, m.at)
		}
		lf.idle.Store(full && taps == 0 && digits == nil && speech == nil)
	}
}
