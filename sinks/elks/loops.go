package elks

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"
)

// readLoop reads the API's messages until the connection ends. It never
// waits for the disk: the caller's audio goes to the recorder through a
// bounded queue (see startRecorder), and the recorder has finished when
// readLoop returns.
func (s *Session) readLoop() {
	defer s.survive("reader")
	defer close(s.readerDone)
	defer func() {
		s.mu.Lock()
		s.readerGone = true
		lf := s.listening
		s.mu.Unlock()
		if lf != nil {
			s.stopListening(lf)
		}
	}()
	var lim logLimiter
	gotHello := false
	for {
		b, err := s.t.ReadMessage(context.Background())
		if err != nil {
			if errors.Is(err, ErrMalformed) {
				s.malformed(&lim, err)
				continue
			}
			s.readEnded(err)
			return
		}
		if bytes.Equal(b, msgSync) { // the common reply, without JSON decoding
			s.onReply()
			continue
		}
		if data, ok := fastAudioData(b); ok { // the common audio, likewise
			s.onAudio(data)
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
			s.onHello(m)
		case Sync:
			s.onReply()
		case Audio:
			s.onAudio(m.Data)
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

// readEnded ends the call when its connection has: err is why reading
// failed.
func (s *Session) readEnded(err error) {
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
}

// onHello takes the call's hello: the call's log names it, and what the
// call does with the caller's audio starts. It is a function of its own
// so that its locals do not stay on the stack of readLoop, which waits
// for the next message for the whole call.
func (s *Session) onHello(m Hello) {
	s.helloSeen.Store(true)
	orig := m
	m = m.truncated()
	s.log.Store(s.cfg.Logger.With("callid", m.CallID, "from", m.From, "to", m.To))
	if m != orig {
		s.Logger().Warn("hello fields truncated: 46elks sends short call ids and E.164 numbers",
			"max_bytes", maxHelloField, "callid_bytes", len(orig.CallID), "from_bytes", len(orig.From), "to_bytes", len(orig.To))
	}
	if s.cfg.Record != "" {
		s.startRecording(m)
	}
	if s.cfg.DTMF || s.cfg.Speech {
		var err error
		s.mu.Lock()
		if s.listening == nil {
			err = s.startListeningLocked(nil)
		}
		s.mu.Unlock()
		if err != nil {
			s.Logger().Error("cannot listen to the caller", "err", err)
		}
	}
	s.helloCh <- m
}

// onAudio takes a message of caller audio; data is its own.
func (s *Session) onAudio(data []byte) {
	s.mu.Lock()
	s.stats.AudioReceived += int64(len(data))
	lf := s.listening
	s.mu.Unlock()
	if lf != nil {
		s.listen(lf, data)
	}
}

// The form of an audio message that 46elks and AppendAudio write.
const (
	audioPrefix = `{"t":"audio","data":"`
	audioSuffix = `"}`
)

// fastAudioData decodes an audio message of the form 46elks writes,
// {"t":"audio","data":"..."}, without the JSON decoder, into a new
// slice. Anything else (other spacing or fields, escapes, bad base64) is
// left to Unmarshal (ok false), which decodes the same messages alike.
func fastAudioData(b []byte) (data []byte, ok bool) {
	if !bytes.HasPrefix(b, []byte(audioPrefix)) || !bytes.HasSuffix(b, []byte(audioSuffix)) ||
		len(b) < len(audioPrefix)+len(audioSuffix) {
		return nil, false
	}
	enc := b[len(audioPrefix) : len(b)-len(audioSuffix)]
	if bytes.IndexByte(enc, '\\') >= 0 || bytes.IndexByte(enc, '"') >= 0 {
		return nil, false
	}
	data = make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
	n, err := base64.StdEncoding.Decode(data, enc)
	if err != nil {
		return nil, false
	}
	return data[:n], true
}

func (s *Session) malformed(lim *logLimiter, err error) {
	s.metrics.m.protocolError(protoMalformed)
	s.mu.Lock()
	s.stats.Malformed++
	s.mu.Unlock()
	if ok, skipped := lim.allow(time.Now()); ok {
		s.Logger().Warn("malformed message from the API, ignored", "err", err, "suppressed", skipped)
	}
}

func (s *Session) unexpected(lim *logLimiter, what string) {
	s.metrics.m.protocolError(protoUnexpected)
	s.mu.Lock()
	s.stats.Unknown++
	s.mu.Unlock()
	if ok, skipped := lim.allow(time.Now()); ok {
		s.Logger().Warn("ignored "+what, "suppressed", skipped)
	}
}

// logLimiter lets the first few lines through, then one per period.
type logLimiter struct {
	n       int
	last    time.Time
	skipped int
}

func (l *logLimiter) allow(now time.Time) (bool, int) {
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
	res, sentAt := s.win.ack()
	switch res {
	case ackStale:
		s.stats.StaleReplies++
	case ackMatched:
		s.stats.SyncReplies++
		s.replyLocked(time.Now())
		if s.heard != nil {
			s.heard.anchor(s.win.acked.dur)
		}
		s.metrics.syncReply(time.Since(sentAt))
	case ackUnexpected:
		s.stats.UnexpectedReplies++
		s.Logger().Debug("sync reply with no checkpoint pending")
	}
	s.broadcastLocked()
}

// writeGrace is how long a failed write leaves the reader to end the
// call itself before the call is taken as dropped.
const writeGrace = time.Second

// writeFailed ends the call as dropped, unless the reader ends it first:
// when the API says bye and closes the connection, a write may fail before
// the reader has handed over the bye, and the call ended by the API's bye,
// not by a drop. The reader sees the closed connection after that bye at
// the latest; the grace period covers a connection that fails writes but
// never reads.
func (s *Session) writeFailed(err error) {
	e := End{By: ByDrop, Reason: ReasonHangup, Message: "writing: " + err.Error()}
	go func() {
		defer s.survive("write failure's timer")
		t := time.NewTimer(writeGrace)
		defer t.Stop()
		select {
		case <-s.done:
		case <-t.C:
			s.finish(e)
			s.t.Close()
		}
	}()
}

// keptOutBatch is the longest queue of messages the writer keeps for
// reuse: a window's refill (five audio messages and a sync) fits. The
// queue of a call's first seconds (25 messages and more) goes: a queue
// holds pointers, and 10,000 calls kept 17 MB of them for each garbage
// collection to scan.
const keptOutBatch = 16

// writeQueued writes the queued messages in order, in batches, until the
// queue is empty. It runs only while there is something to write: a
// call spends almost all of its life waiting for the API, and a writer
// goroutine parked meanwhile was a stack per call for every garbage
// collection to scan (a third of the server's goroutines).
func (s *Session) writeQueued() {
	defer s.survive("writer")
	defer s.writers.Done()
	for {
		s.mu.Lock()
		if len(s.outq) == 0 {
			s.writing = false
			s.mu.Unlock()
			return
		}
		batch := s.outq
		s.outq = s.outSpare[:0]
		s.mu.Unlock()
		// The batch goes out with one write where the transport can
		// gather writes; a flush marker sends what came before it.
		bw, batching := s.t.(batchWriter)
		open := false
		endBatch := func() {
			if !open {
				return
			}
			open = false
			if err := bw.endBatch(); err != nil && s.writeErr == nil {
				s.writeErr = err
				s.writeFailed(err)
			}
		}
		for i, m := range batch {
			switch {
			case m.flush != nil:
				endBatch()
				close(m.flush)
			case s.writeErr == nil:
				if batching && !open {
					bw.beginBatch()
					open = true
				}
				s.writeErr = s.t.WriteMessage(context.Background(), m.b)
				if s.writeErr != nil {
					s.writeFailed(s.writeErr)
				}
			}
			if m.pooled {
				s.free <- m.b[:0]
			}
			batch[i] = outMsg{}
		}
		endBatch()
		s.mu.Lock()
		s.outSpare = nil
		if cap(batch) <= keptOutBatch {
			s.outSpare = batch[:0]
		}
		s.mu.Unlock()
	}
}
