package elks

import (
	"context"
	"strconv"
	"strings"

	"github.com/elkspipe/elkspipe/pipeline"
)

// renderKey is what two calls must have in common to share a rendering:
// the pipeline (its share key, which names its files) and everything of
// the session that changes the bytes of its messages.
func renderKey(text string, cfg Config) string {
	var b strings.Builder
	b.WriteString(string(cfg.Format))
	b.WriteString(" bitrate=" + strconv.Itoa(cfg.Codec.Bitrate))
	b.WriteString(" complexity=" + strconv.Itoa(cfg.Codec.Complexity))
	b.WriteString(" frame=" + cfg.Codec.Frame.String())
	b.WriteString(" chunk=" + cfg.Chunk.String())
	b.WriteString("\n")
	b.WriteString(text)
	return b.String()
}

// playShared plays g from a shared rendering in s.cfg.RenderCache when
// it can; shared is false when it cannot (the pipeline is not
// deterministic, sharing is off, or this session's codec is not at the
// start of a stream), and g is then to be played privately. Its
// goroutine waits in replay for the whole play, so the work before it is
// in sharedTape, whose locals do not stay on the stack of every call.
func (s *Session) playShared(ctx context.Context, g *pipeline.Graph) (err error, shared bool) {
	sh, err, shared := s.sharedTape(ctx, g)
	if sh.tape == nil {
		return err, shared
	}
	defer sh.cache.release(sh.tape)
	defer sh.cur.close()
	defer s.endPlay()
	err = s.replay(ctx, sh.gen, sh.tape, sh.cur)
	if err != nil && !sh.stateless {
		// Stopped part-way: this session's codec never followed the
		// rendering's, so the next audio starts a fresh stream.
		s.mu.Lock()
		s.needSend = true
		s.mu.Unlock()
	}
	return err, true
}

// sharedPlay is a shared rendering a session has begun to play.
type sharedPlay struct {
	cache     *RenderCache
	tape      *tape
	cur       *tapeCursor
	gen       uint64 // the play's generation (beginPlay)
	stateless bool   // the session's codec keeps no state from message to message
}

// sharedTape finds or starts the shared rendering of g and begins a play
// of it (beginPlay). With no rendering to share it returns no tape and
// shared false; when the play cannot begin (the call is over) it returns
// no tape, the error and shared true. A play with a tape is the caller's
// to end: release the tape, close the cursor, endPlay.
func (s *Session) sharedTape(ctx context.Context, g *pipeline.Graph) (sh sharedPlay, err error, shared bool) {
	c := s.cfg.RenderCache
	if c == nil || s.info.File {
		return sharedPlay{}, nil, false
	}
	if s.heard != nil || s.echo != nil {
		// Both need the samples this call sends (beforeEncode).
		s.Logger().Debug("playing a private rendering: the call records what the caller heard or listens for speech over it")
		return sharedPlay{}, nil, false
	}
	text, ok := g.ShareKey()
	if !ok {
		s.Logger().Debug("playing a private rendering: a stage is not deterministic", "stage", text)
		return sharedPlay{}, nil, false
	}
	key := renderKey(text, s.cfg)
	t, cur := c.acquire(key, func() *tape { return newTape(key, text, c, g, s.cfg, s.info.Rate) })
	if t == nil {
		s.Logger().Debug("playing a private rendering: sharing is off for it", "pipeline", text)
		return sharedPlay{}, nil, false
	}
	// Until the play is returned, every way out (a panic too) ends what
	// was begun: the play, the cursor, the tape's hold.
	begun, returned := false, false
	defer func() {
		if returned {
			return
		}
		if begun {
			s.endPlay()
		}
		cur.close()
		c.release(t)
	}()
	gen, err := s.beginPlay(ctx)
	if err != nil {
		return sharedPlay{}, err, true
	}
	begun = true
	s.mu.Lock()
	_, stateless := s.enc.(pcmCodec)
	fresh := (s.needSend || stateless) && s.carry == 0
	s.mu.Unlock()
	if !fresh {
		// The codec goes on with the stream of an earlier Play: its
		// bytes are this call's own.
		s.Logger().Debug("playing a private rendering: the codec goes on from the previous play", "pipeline", text)
		return sharedPlay{}, nil, false
	}
	c.shared.Add(1)
	s.metrics.renderPlay(true)
	s.Logger().Debug("playing a shared rendering", "pipeline", text)
	returned = true
	return sharedPlay{cache: c, tape: t, cur: cur, gen: gen, stateless: stateless}, nil, true
}

// replay sends the items of t from cur on, as the private Play that made
// them would have: each audio message through the window (the shared
// bytes, not copied), a checkpoint at each boundary.
func (s *Session) replay(ctx context.Context, gen uint64, t *tape, cur *tapeCursor) error {
	for {
		select {
		case <-s.done:
			return s.stopErr(ctx)
		case <-ctx.Done():
			return s.stopErr(ctx)
		default:
		}
		it := cur.next()
		if it == nil {
			return s.replayEnded(t)
		}
		if it.msg == nil {
			s.checkpoint()
			continue
		}
		if err := s.sendMessage(ctx, gen, it.msg, false, it.n, it.d); err != nil {
			return err
		}
	}
}

// replayEnded leaves the session as the private Play would have at the
// end of the rendering: the next audio needs a fresh "sending" if the
// codec ended its stream, or else the codec goes on from where the
// rendering's left off.
func (s *Session) replayEnded(t *tape) error {
	if t.endErr != nil {
		return t.endErr
	}
	resume := t.endSend
	if !resume {
		switch enc := s.enc.(type) {
		case pcmCodec: // no state
		case stateCopier:
			resume = !enc.copyState(t.endEnc)
		default:
			resume = true
		}
	}
	if resume {
		s.mu.Lock()
		s.needSend = true
		s.mu.Unlock()
	}
	return nil
}

// stateCopier is an Encoder that can take over the state of another of
// its kind, so that a session's codec goes on from where a shared
// rendering's stopped.
type stateCopier interface {
	copyState(from Encoder) bool
}
