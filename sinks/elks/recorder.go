package elks

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Bounds of the queue between the reader and the recorder.
const (
	// sessRecordQueue is how many messages of caller audio may wait for
	// the recorder: about 5 s at the API's 20 ms per message.
	sessRecordQueue = 256
	// sessRecordQueueBytes bounds the bytes of those messages, whatever
	// their size.
	sessRecordQueueBytes = 1 << 20
)

// sessHooks lets tests reach inside a session; the zero value is what
// StartSession uses.
type sessHooks struct {
	// recordWrite, when set, is called by the recorder before it
	// writes each message: a test makes the disk slow or stuck with it.
	recordWrite func()
}

// sessRecordFeed is the reader's side of a running recorder.
type sessRecordFeed struct {
	q      chan []byte
	queued atomic.Int64 // bytes in q
	done   chan struct{}
	drops  sessLimiter // rate-limits the warnings about dropped audio
}

// startRecorder starts the goroutine that writes rec, and returns the
// queue that feeds it; the reader stops it with stopRecorder when the
// connection ends. The recording has a goroutine of its own so that a
// slow disk never delays the reader, and with it the sync replies: the
// reader hands each message of caller audio over (record) and drops it,
// counted in Stats.RecordDropped, when the queue is full.
func (s *Session) startRecorder(rec *sessRecorder) *sessRecordFeed {
	rq := &sessRecordFeed{q: make(chan []byte, sessRecordQueue), done: make(chan struct{})}
	go s.recordLoop(rec, rq)
	return rq
}

// record hands one message of caller audio to the recorder, or drops it
// when the recorder has fallen too far behind. data must not be modified
// afterwards (Unmarshal returns audio in a slice of its own).
func (s *Session) record(rq *sessRecordFeed, data []byte) {
	n := int64(len(data))
	if rq.queued.Add(n) <= sessRecordQueueBytes {
		select {
		case rq.q <- data:
			return
		default:
		}
	}
	rq.queued.Add(-n)
	s.mu.Lock()
	s.stats.RecordDropped++
	dropped := s.stats.RecordDropped
	s.mu.Unlock()
	if ok, _ := rq.drops.allow(time.Now()); ok {
		s.Logger().Warn("the recording falls behind the caller's audio: audio left out", "dropped", dropped)
	}
}

// stopRecorder lets the recorder write what is queued, then waits until
// it has completed the recording and returned.
func (s *Session) stopRecorder(rq *sessRecordFeed) {
	close(rq.q)
	<-rq.done
}

// recordLoop writes the caller audio queued on rq until the queue is
// closed, then completes the recording.
func (s *Session) recordLoop(rec *sessRecorder, rq *sessRecordFeed) {
	defer close(rq.done)
	defer rec.close()
	var lim sessLimiter
	for data := range rq.q {
		if s.hooks.recordWrite != nil {
			s.hooks.recordWrite()
		}
		d, err := rec.write(data)
		rq.queued.Add(-int64(len(data)))
		if err != nil {
			s.malformed(&lim, fmt.Errorf("caller audio: %w", err))
		}
		if d > 0 {
			s.mu.Lock()
			s.stats.Recorded += d
			s.mu.Unlock()
		}
	}
}
