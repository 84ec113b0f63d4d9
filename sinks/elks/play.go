package elks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sources"
)

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
	s.enqueueLocked(outMsg{b: msgSync})
	s.win.checkpoint(time.Now())
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
	if s.nbufs < audioBuffers {
		s.nbufs++
		return make([]byte, 0, audioMessageSize(n)), nil
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

// sendPiece sends raw audio bytes (at most maxRawPerMessage) that play for d,
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
	waited := false
	err = s.waitLocked(ctx, gen, true, func() bool {
		ok, askSync := s.win.admit(d, nb)
		if askSync {
			s.syncLocked() // no reply is coming that could make room
		}
		if !ok && !waited {
			waited = true
			s.metrics.stall()
		}
		return ok
	})
	if err != nil {
		s.free <- b[:0]
		return err
	}
	if s.needSend {
		s.enqueueLocked(outMsg{b: s.sendingMsg})
		s.needSend = false
	}
	s.enqueueLocked(outMsg{b: b, pooled: true})
	s.paceLocked(d)
	s.reckonLocked(d)
	due := s.win.send(d, nb)
	if s.heard != nil && len(s.heardPCM) > 0 {
		s.heard.add(s.heardPCM, s.win.sent.dur)
		s.heardPCM = s.heardPCM[:0]
	}
	st := &s.stats
	st.AudioSent += d
	s.metrics.sent(d)
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

// underrunSlack is how far a send may come after the audio before it
// has played, by the session's reckoning, before it counts as an
// underrun: the reckoning starts the API's playing at the first send, a
// network's delay earlier than the API does.
const underrunSlack = 100 * time.Millisecond

// paceLocked keeps the reckoning of when the audio sent in this Play ends
// playing, if the API plays it in real time from the first send, and
// counts an underrun when a piece goes out after that: the source fell
// behind real time and the caller heard a gap.
func (s *Session) paceLocked(d time.Duration) {
	now := time.Now()
	if s.playClock.IsZero() {
		s.playClock = now
	} else if late := now.Sub(s.playClock); late > underrunSlack {
		s.stats.Underruns++
		s.metrics.underrun()
		s.playClock = now
	} else if late > 0 {
		s.playClock = now
	}
	s.playClock = s.playClock.Add(d)
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
		n := min(maxRawPerMessage, total-off)
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
	s.playClock = time.Time{}
	s.heardOn, s.heardPCM = s.heard != nil, s.heardPCM[:0]
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
// ctx.Err() when ctx is done, src's errors, and an error wrapping
// io.ErrNoProgress when src returns no audio and no error
// pipeline.MaxEmptyReads times in a row. For the file formats (wav, mp3) use PlayFile or PlayGraph.
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
		if p = s.withCushion(p, rate); len(p) == 0 {
			return nil // silence the API does not need (cushion.go)
		}
		if s.heardOn {
			s.heardPCM = append(s.heardPCM, p...)
		}
		if s.echo != nil {
			s.echo.sent(p, time.Now())
		}
		s.raw = s.enc.Encode(s.raw[:0], p)
		return s.sendEncoded(ctx, gen, s.raw, frameDur(len(p), rate))
	}
	filled, empty := 0, 0
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
		if n > 0 {
			empty = 0
		} else if empty++; empty >= pipeline.MaxEmptyReads {
			return fmt.Errorf("the source returned no audio and no error %d times in a row: %w", empty, io.ErrNoProgress)
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
// PlayFile); anything else is an error naming the stage in the way. An
// interrupt that an exec program of the chain asked for does not end it:
// it plays on with what the program writes next.
func (s *Session) PlayGraph(ctx context.Context, g *pipeline.Graph) error {
	if s.info.File {
		plan, err := passthroughPlan(g, s.cfg.Format)
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
	for {
		err = s.Play(ctx, src)
		if !errors.Is(err, ErrInterrupted) || !s.execResumes() {
			return err // an exec program's interrupt plays on (exec_program.go)
		}
	}
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
