package elks

import (
	"context"
	"errors"
	"fmt"
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
// then assumed never to come (see stalledLocked). timer, when not nil,
// is the playing goroutine's own timer for that, kept between waits
// (made at the first), and the wait is woken by s.roomWake, not by a
// channel of its own: a playing call waits at every sync reply.
func (s *Session) waitLocked(ctx context.Context, gen uint64, checkGen bool, cond func() bool, timer **time.Timer) error {
	warned := false
	for {
		if err := s.stopErrLocked(ctx, gen, checkGen); err != nil {
			return err
		}
		if cond() {
			return nil
		}
		var ch <-chan struct{} = s.roomWake
		if timer == nil {
			ch = s.changedLocked()
		}
		s.mu.Unlock()
		stall := s.cfg.Window + s.cfg.Checkpoint + 2*time.Second
		var t *time.Timer
		switch {
		case timer == nil:
			t = time.NewTimer(stall)
		case *timer == nil:
			t = time.NewTimer(stall)
			*timer = t
		default:
			t = *timer
			t.Reset(stall) // stopped after the last wait: nothing stale in its channel
		}
		fired := false
		select {
		case <-ch:
		case <-s.done:
		case <-ctx.Done():
		case <-t.C:
			fired = true
		}
		t.Stop()
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
	return s.sendMessage(ctx, gen, AppendAudio(b, raw), true, int64(len(raw)), d)
}

// sendMessage sends msg, an audio message of nb raw bytes that play for
// d, after waiting for room in the window; a pooled msg goes back to the
// free list once written, any other is never modified (a shared
// rendering's). It must be called by the playing goroutine, without s.mu.
func (s *Session) sendMessage(ctx context.Context, gen uint64, b []byte, pooled bool, nb int64, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.waitRoomLocked(ctx, gen, d, nb); err != nil {
		if pooled {
			s.free <- b[:0]
		}
		return err
	}
	s.queueAudioLocked(b, pooled, nb, d)
	return nil
}

// queueAudioLocked queues an audio message that the window has room for,
// with a "sending" before it when one is due and a checkpoint after it
// when one is: see sendMessage. It is apart from sendMessage, which waits
// for the room, so that its locals are not on the stack of a playing
// call while it waits.
func (s *Session) queueAudioLocked(b []byte, pooled bool, nb int64, d time.Duration) {
	if s.needSend {
		s.enqueueLocked(outMsg{b: s.sendingMsg})
		s.needSend = false
	}
	s.enqueueLocked(outMsg{b: b, pooled: pooled})
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
}

// waitRoomLocked waits, s.mu held, until the window admits d of audio
// in nb bytes (asking for a sync when no reply is coming that could make
// room), counting a stall the first time it has to wait.
func (s *Session) waitRoomLocked(ctx context.Context, gen uint64, d time.Duration, nb int64) error {
	waited := false
	return s.waitLocked(ctx, gen, true, func() bool {
		ok, askSync := s.win.admit(d, nb)
		if askSync {
			s.syncLocked() // no reply is coming that could make room
		}
		if !ok && !waited {
			waited = true
			s.metrics.stall()
		}
		return ok
	}, &s.waitTimer)
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
	r := newRenderer(src, s.enc, s.info.Rate, s.cfg.Chunk, &s.boundary, s.pcm, s.raw)
	r.carry = &s.carry
	r.prepare = s.beforeEncode
	defer func() { s.pcm, s.raw = r.pcm, r.raw }()
	return s.render(ctx, r, sessionOut{s, ctx, gen})
}

// beforeEncode is what a private Play does with each chunk before it is
// encoded: the cushion of live audio (cushion.go), the heard track of
// record-mode=both (heard.go) and the reference of the echo guard of
// speech detection (speech.go). It returns the samples to send: none for
// silence the API does not need. A shared rendering has none of these
// (playShared leaves such calls private).
func (s *Session) beforeEncode(p []float32) []float32 {
	if p = s.withCushion(p, s.info.Rate); len(p) == 0 {
		return nil
	}
	if s.heardOn {
		s.heardPCM = append(s.heardPCM, p...)
	}
	if s.echo != nil {
		s.echo.sent(p, time.Now())
	}
	return p
}

// render runs r into out until the stream ends (then, if the codec ended
// its stream, the next audio gets a fresh "sending"), r or out fail, or
// the call ends or ctx is done.
func (s *Session) render(ctx context.Context, r *renderer, out renderOut) error {
	for {
		select {
		case <-s.done:
			return s.stopErr(ctx)
		case <-ctx.Done():
			return s.stopErr(ctx)
		default:
		}
		done, err := r.step(out)
		if !done {
			continue
		}
		if err == nil && r.ended {
			s.mu.Lock()
			s.needSend = true
			s.mu.Unlock()
		}
		return err
	}
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
// it plays on with what the program writes next. With Config.RenderCache
// set, a deterministic chain plays from a rendering shared with the other
// calls that play it (see RenderCache): the same messages, made once.
func (s *Session) PlayGraph(ctx context.Context, g *pipeline.Graph) error {
	if s.info.File {
		plan, err := passthroughPlan(g, s.cfg.Format)
		if err != nil {
			return err
		}
		return s.playPlan(ctx, plan)
	}
	if err, shared := s.playShared(ctx, g); shared {
		return err
	}
	if s.cfg.RenderCache != nil {
		s.cfg.RenderCache.private.Add(1)
	}
	s.metrics.renderPlay(false)
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
	return s.waitLocked(ctx, 0, false, s.win.drained, nil)
}
