package elks_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"

	"github.com/coder/websocket"

	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	_ "github.com/elkspipe/elkspipe/sources"
	_ "github.com/elkspipe/elkspipe/transforms"
)

// A service that chooses the audio by the number called: here a call to
// the sales line hears a 440 Hz tone, any other a 1 kHz one. The "API" is
// a WebSocket client that sends hello, answers every sync at once and
// prints what the server sends.
func ExampleServer() {
	sales, err := pipeline.OpenerText("tone 440 dur=300ms")
	if err != nil {
		fmt.Println(err)
		return
	}
	other, err := pipeline.OpenerText("tone 1k dur=300ms")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := &elks.Server{
		Config: elks.Config{Format: elks.ULaw},
		Logger: slog.New(slog.DiscardHandler),
		Handler: func(ctx context.Context, s *elks.Session) error {
			if s.Hello().To == "+46766861234" {
				return s.PlayOpener(ctx, sales)
			}
			return s.PlayOpener(ctx, other)
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln) }()

	c, _, err := websocket.Dial(ctx, "ws://"+ln.Addr().String()+"/", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	c.Write(ctx, websocket.MessageText, []byte(`{"t":"hello","callid":"c1","from":"+46701234567","to":"+46766861234"}`))
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			break
		}
		m, err := elks.Unmarshal(b)
		if err != nil {
			fmt.Println(err)
			break
		}
		switch m := m.(type) {
		case elks.Audio:
			fmt.Println("audio:", len(m.Data), "bytes")
		case elks.Sync:
			fmt.Println(string(b))
			c.Write(ctx, websocket.MessageText, b) // played at once
		default:
			fmt.Println(string(b))
		}
		if m.Type() == elks.TypeBye {
			c.Close(websocket.StatusNormalClosure, "")
			break
		}
	}
	stop()
	fmt.Println("Serve:", <-done)
	// Output:
	// {"t":"sending","format":"ulaw"}
	// audio: 800 bytes
	// audio: 800 bytes
	// audio: 800 bytes
	// {"t":"sync"}
	// {"t":"bye"}
	// Serve: <nil>
}

// A Session runs one call over any Transport; here over Pipe, in memory,
// with the other end playing the API: it sends hello, answers every sync
// and counts the audio. The application plays half a second of a tone,
// waits until it has been heard (Drain) and hangs up.
func ExampleSession() {
	app, api := elks.Pipe()
	ctx := context.Background()
	heard := make(chan int)
	go func() {
		api.WriteMessage(ctx, []byte(`{"t":"hello","callid":"c1","from":"+46701234567","to":"+46766861234"}`))
		bytes := 0
		for {
			b, err := api.ReadMessage(ctx)
			if err != nil {
				break
			}
			m, err := elks.Unmarshal(b)
			if err != nil {
				continue
			}
			switch m := m.(type) {
			case elks.Audio:
				bytes += len(m.Data)
			case elks.Sync:
				api.WriteMessage(ctx, b) // the audio before it has been played
			case elks.Bye:
				api.Close()
			}
		}
		heard <- bytes
	}()

	s, err := elks.StartSession(ctx, app, elks.Config{Format: elks.PCM8000, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	fmt.Println("call from", s.Hello().From)
	tone, err := pipeline.OpenerText("tone 440 dur=500ms")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := s.PlayOpener(ctx, tone); err != nil {
		fmt.Println(err)
	}
	if err := s.Drain(ctx); err != nil {
		fmt.Println(err)
	}
	st := s.Stats()
	fmt.Println("sent:", st.AudioSent, "in", st.Messages, "messages;", st.SyncReplies, "of", st.Syncs, "syncs answered")
	s.Hangup()
	fmt.Println("the API heard", <-heard, "bytes")
	fmt.Println("ended by:", s.End().By)
	// Output:
	// call from +46701234567
	// sent: 500ms in 5 messages; 1 of 1 syncs answered
	// the API heard 8000 bytes
	// ended by: app
}

// Marshal and Unmarshal are the protocol on its own: one JSON object per
// message, its type in "t".
func ExampleMarshal() {
	b, err := elks.Marshal(elks.Sending{Format: elks.G722})
	fmt.Println(string(b), err)

	m, err := elks.Unmarshal([]byte(`{"t":"bye","reason":"hangup","message":"the caller hung up"}`))
	fmt.Printf("%T %+v %v\n", m, m, err)

	_, err = elks.Unmarshal([]byte(`{"data":"AAAA"}`))
	fmt.Println(err)
	// Output:
	// {"t":"sending","format":"g722"} <nil>
	// elks.Bye {Reason:hangup Message:the caller hung up} <nil>
	// malformed message: no "t" field
}

// NewEncoder and NewDecoder convert between samples and a format's bytes:
// 20 ms of a 1 kHz tone is 160 bytes of µ-law (8 kHz, a byte a sample),
// 320 of 8 kHz PCM (2 bytes a sample) and 160 of G.722 (16 kHz, 4 bits a
// sample).
func ExampleNewEncoder() {
	for _, f := range []elks.Format{elks.ULaw, elks.PCM8000, elks.G722} {
		info, err := f.Info()
		if err != nil {
			fmt.Println(err)
			return
		}
		n := info.Rate / 50 // 20 ms
		samples := make([]float32, n)
		for i := range samples {
			samples[i] = float32(0.5 * math.Sin(2*math.Pi*1000*float64(i)/float64(info.Rate)))
		}
		enc, err := elks.NewEncoder(f)
		if err != nil {
			fmt.Println(err)
			return
		}
		data := enc.Encode(nil, samples)
		dec, err := elks.NewDecoder(f)
		if err != nil {
			fmt.Println(err)
			return
		}
		back, err := dec.Decode(nil, data)
		fmt.Printf("%s: %d Hz, %d samples -> %d bytes -> %d samples, %v\n", f, info.Rate, n, len(data), len(back), err)
	}
	// Output:
	// ulaw: 8000 Hz, 160 samples -> 160 bytes -> 160 samples, <nil>
	// pcm_8000: 8000 Hz, 160 samples -> 320 bytes -> 160 samples, <nil>
	// g722: 16000 Hz, 320 samples -> 160 bytes -> 320 samples, <nil>
}
