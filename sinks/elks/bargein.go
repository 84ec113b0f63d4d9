package elks

import (
	"context"
	"errors"

	"github.com/elkspipe/elkspipe/pipeline"
)

// bargeInHandler returns a Handler that plays a fresh instance of g and,
// at every key the caller presses (and with voice, whenever the caller
// starts talking), interrupts what the caller has not heard yet
// (Session.Interrupt): the pipeline plays on from where it had got to,
// after a fresh "sending". Once the pipeline has ended, it waits for its
// audio to play out, which a key or speech can still cut short. Only the
// sample formats can do this (newIVR refuses wav and mp3).
func bargeInHandler(g *pipeline.Graph, voice bool) Handler {
	return func(ctx context.Context, s *Session) error {
		src, _, err := g.Open(s.Observe(ctx))
		if err != nil {
			return err
		}
		defer pipeline.Close(src)
		stop := make(chan struct{})
		watched := make(chan struct{})
		go func() {
			defer s.survive("barge-in watcher")
			defer close(watched)
			for {
				select {
				case d := <-s.Digits():
					s.Logger().Info("barge-in", "digit", d.String())
					s.Interrupt()
				case sp := <-s.Speech():
					if voice && sp.Talking {
						s.Logger().Info("barge-in", "speech_at", sp.At, "level_dbfs", sp.Level)
						s.Interrupt()
					}
				case <-stop:
					return
				case <-s.Done():
					return
				}
			}
		}()
		defer func() { close(stop); <-watched }()
		for {
			err := s.Play(ctx, src)
			if err == nil {
				// The audio queued at the API can still be cut
				// while it plays out.
				return s.Drain(ctx)
			}
			if !errors.Is(err, ErrInterrupted) {
				return err
			}
		}
	}
}
