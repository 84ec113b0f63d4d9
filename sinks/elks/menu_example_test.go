package elks_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// A small menu handler: the prompt loops until the caller presses a key
// (hanging up after 10 s of silence); 1 interrupts it at once and plays
// the sales message, then the prompt again; # ends the call. Here the
// caller is the simulator, pressing 1 and then #, 5 times faster than
// real time. (The elks sink does the same from the command line:
// elks on-1="file sales.mp3" on-hash=hangup.)
func ExampleSession_WaitDigit() {
	prompt, _ := pipeline.OpenerText("tone 440 | loop")
	sales, _ := pipeline.OpenerText("tone 880 dur=1s")
	menu := func(ctx context.Context, s *elks.Session) error {
		for {
			pctx, cancel := context.WithCancel(ctx)
			played := make(chan error, 1)
			go func() { played <- s.PlayOpener(pctx, prompt) }()
			d, err := s.WaitDigit(ctx, 10*time.Second)
			s.Interrupt() // barge-in: what was queued of the prompt goes
			cancel()
			<-played
			switch {
			case errors.Is(err, elks.ErrDigitTimeout):
				return s.Hangup()
			case err != nil:
				return err
			}
			fmt.Println("pressed", d)
			switch d.Key {
			case '1':
				if err := s.PlayOpener(ctx, sales); err != nil {
					return err
				}
			case '#':
				return nil // the server plays out what was sent and hangs up
			}
		}
	}

	app, api := elks.Pipe()
	reports := make(chan *elkstest.Report, 1)
	go func() {
		r, _ := elkstest.Run(context.Background(), api, elkstest.Options{Speed: 5, Duration: time.Minute,
			DTMF: []elkstest.Press{{Key: '1', At: time.Second}, {Key: '#', At: 3 * time.Second}}})
		reports <- r
	}()
	s, err := elks.StartSession(context.Background(), app, elks.Config{Format: elks.ULaw, DTMF: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := menu(s.Context(), s); err != nil {
		fmt.Println(err)
	}
	s.Drain(s.Context())
	s.Hangup()
	s.Close()
	r := <-reports
	for _, d := range r.Digits {
		fmt.Printf("key %s: sent %v, interrupted %v\n", d.Key, d.Sent, d.Interrupt != nil)
	}
	// Output:
	// pressed 1
	// pressed #
	// key 1: sent true, interrupted true
	// key #: sent true, interrupted true
}
