package elks

import (
	"context"
	"errors"

	"github.com/elkspipe/elkspipe/pipeline"
)

// bargeInHandler returns a Handler that plays a fresh instance of g and,
// at every key the caller presses, interrupts what the caller has not
// heard yet (Session.Interrupt): the pipeline plays on from where it had
// got to, after a fresh "sending". Only the sample formats can do this
// (newIVR refuses wav and mp3).
func bargeInHandler(g *pipeline.Graph) Handler {
	return func(ctx context.Context, s *Session) error {
		src, _, err := g.Open(s.Observe(ctx))
		if err != nil {
			return err
		}
		defer pipeline.Close(src)
		stop := make(chan struct{})
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			for {
				select {
				case d := <-s.Digits():
					s.Logger().Info("barge-in", "digit", d.String())
					s.Interrupt()
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
			if !errors.Is(err, ErrInterrupted) {
				return err
			}
		}
	}
}
