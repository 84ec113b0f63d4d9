package elkstest_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// Call the application served on 127.0.0.1, as 46elks would: it plays
// half a second of tone, waits until it has been played and hangs up.
func ExampleCall() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	handler, err := elks.TextHandler("tone 440 dur=500ms")
	if err != nil {
		log.Fatal(err)
	}
	srv := &elks.Server{
		Handler: handler,
		// One message holds the whole tone: no gap is possible, however
		// loaded the machine.
		Config: elks.Config{Format: elks.PCM16000, Chunk: 500 * time.Millisecond},
		Logger: slog.New(slog.DiscardHandler),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()

	r, err := elkstest.Call(ctx, elkstest.Options{URL: "ws://" + ln.Addr().String() + "/", Speed: 5})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("ended by %s; played %.1f s, gaps %d, syncs answered %d\n", r.End.By, r.Played, r.Gaps.Count, r.Syncs.Answered)
	cancel()
	<-served
	// Output:
	// ended by app; played 0.5 s, gaps 0, syncs answered 1
}

// Run the simulator against an elks.Session in the same process, over
// elks.Pipe: no network, and under testing/synctest no real time either.
func ExampleRun() {
	ctx := context.Background()
	app, api := elks.Pipe()
	reports := make(chan *elkstest.Report, 1)
	go func() {
		r, err := elkstest.Run(ctx, api, elkstest.Options{Speed: 10, RTT: 200 * time.Millisecond})
		if err != nil {
			log.Fatal(err)
		}
		reports <- r
	}()

	s, err := elks.StartSession(ctx, app, elks.Config{Format: elks.ULaw, Chunk: 500 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("hello from", s.Hello().From)
	tone, err := pipeline.OpenerText("tone 440 dur=500ms")
	if err != nil {
		log.Fatal(err)
	}
	if err := s.PlayOpener(ctx, tone); err != nil {
		log.Fatal(err)
	}
	s.Drain(ctx)
	s.Hangup()

	r := <-reports
	fmt.Printf("ended by %s; played %.1f s of %s, gaps %d, violations %d\n", r.End.By, r.Played, s.Format(), r.Gaps.Count, len(r.Violations))
	// Output:
	// hello from +46700000000
	// ended by app; played 0.5 s of ulaw, gaps 0, violations 0
}
