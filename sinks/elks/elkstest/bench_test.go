//go:build unix

package elkstest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
)

// BenchmarkCall measures what one simulated call costs the simulator
// over a real WebSocket on loopback: per operation, a call of 10 s at
// ulaw (100 audio messages of 100 ms and a sync after every fifth,
// answered, then the application's bye), run at speed 1000. The application is a minimal one in the
// same process that sends pre-encoded messages, so its share is small and
// the same from one simulator to the next: compare the figures of two
// versions of the simulator on the same machine. The time per operation
// is mostly the call's pacing; cpu-ms/op is the process's CPU (user and
// system) per call, the application's included.
func BenchmarkCall(b *testing.B) {
	const messages = 100
	audio := elks.AppendAudio(nil, make([]byte, 800)) // 100 ms of µ-law
	sending := []byte(`{"t":"sending","format":"ulaw"}`)
	syncMsg := []byte(`{"t":"sync"}`)
	bye := []byte(`{"t":"bye"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		if _, _, err := c.Read(ctx); err != nil { // hello
			return
		}
		answered := make(chan struct{})
		go func() { // the simulator's sync answers
			defer close(answered)
			for range messages / 5 {
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
			}
		}()
		c.Write(ctx, websocket.MessageText, sending)
		for i := range messages {
			if c.Write(ctx, websocket.MessageText, audio) != nil {
				return
			}
			if i%5 == 4 && c.Write(ctx, websocket.MessageText, syncMsg) != nil {
				return
			}
		}
		<-answered
		c.Write(ctx, websocket.MessageText, bye)
		c.Close(websocket.StatusNormalClosure, "")
	}))
	defer srv.Close()
	opt := elkstest.Options{URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/", Speed: 1000}
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		r, err := elkstest.Call(context.Background(), opt)
		if err != nil {
			b.Fatal(err)
		}
		if r.Audio.Messages != messages || r.Syncs.Answered != messages/5 {
			b.Fatalf("%d audio messages, %d syncs answered", r.Audio.Messages, r.Syncs.Answered)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
