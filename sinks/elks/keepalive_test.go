package elks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
)

// An idle call stays up as long as the API answers the pings; once the
// API stops reading, the next ping goes unanswered and the call ends as
// dropped one period later, logged. Pings every 20 s: the peer answers
// until 130 s, the ping at 140 s waits in vain, the call ends at 160 s.
func TestKeepaliveDropsASilentPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		app, api := Pipe()
		b, _ := Marshal(Hello{CallID: "idle", From: "+1", To: "+2"})
		api.WriteMessage(context.Background(), b)
		log, logs := sessTestLogger()
		s, err := StartSession(context.Background(), app, Config{Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 130*time.Second)
			defer cancel()
			for {
				if _, err := api.ReadMessage(ctx); err != nil {
					return
				}
			}
		}()
		select {
		case <-s.Done():
		case <-time.After(time.Hour):
			t.Fatal("the call outlived its silent peer")
		}
		if took := time.Since(start); took != 160*time.Second {
			t.Errorf("the call ended after %v, want 160s (a ping at 140 s unanswered for 20 s)", took)
		}
		if e := s.End(); e.By != ByDrop || e.Message != "no answer to a ping within 20s" {
			t.Errorf("end %+v", e)
		}
		if !strings.Contains(logs.String(), "the API stopped answering") {
			t.Errorf("no log line:\n%s", logs)
		}
	})
}

// Config.Ping < 0 turns the pings off: a silent peer keeps the call.
func TestKeepaliveOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		app, api := Pipe()
		b, _ := Marshal(Hello{CallID: "idle"})
		api.WriteMessage(context.Background(), b)
		log, _ := sessTestLogger()
		s, err := StartSession(context.Background(), app, Config{Logger: log, Ping: -1})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour)
		select {
		case <-s.Done():
			t.Fatalf("the call ended: %v", s.End())
		default:
		}
		s.Close()
	})
}

// The session answers pings too (its reader does), so either side may
// ping over a Pipe.
func TestPipePingIsAnsweredByTheReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := a.(Pinger).Ping(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a ping nobody reads: %v", err)
		}
		go b.ReadMessage(context.Background())
		if err := a.(Pinger).Ping(context.Background()); err != nil {
			t.Errorf("a ping the reader answers: %v", err)
		}
		b.Close()
		if err := a.(Pinger).Ping(context.Background()); err == nil {
			t.Error("a ping over a closed pipe succeeded")
		}
	})
}

// Over a real WebSocket, a client that reads (coder/websocket answers
// pings in its reader) keeps its idle call; one that stops reading is
// dropped after a ping period without answer.
func TestKeepaliveOverWebSocket(t *testing.T) {
	sessLeakCheck(t)
	ended := make(chan End, 2)
	log, logs := sessTestLogger()
	url, _ := srvTest(t, &Server{Logger: log, Config: Config{Ping: 500 * time.Millisecond},
		Handler: func(ctx context.Context, s *Session) error {
			<-s.Done()
			ended <- s.End()
			return nil
		}})
	ctx := context.Background()
	dial := func(id string) *websocket.Conn {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(ctx, websocket.MessageText, []byte(`{"t":"hello","callid":"`+id+`","from":"+1","to":"+2"}`))
		return c
	}
	reader, silent := dial("reader"), dial("silent")
	defer reader.CloseNow()
	defer silent.CloseNow()
	go func() {
		for {
			if _, _, err := reader.Read(ctx); err != nil {
				return
			}
		}
	}()
	select {
	case e := <-ended:
		if e.By != ByDrop || !strings.Contains(e.Message, "ping") {
			t.Errorf("the silent client's call ended: %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the silent client's call outlived 20 pings")
	}
	// 4 more periods: the reading client's call is still up.
	time.Sleep(2 * time.Second)
	select {
	case e := <-ended:
		t.Fatalf("the reading client's call ended: %+v\n%s", e, logs)
	default:
	}
	reader.Close(websocket.StatusNormalClosure, "")
	<-ended
}

// Between its pings a call has no goroutine for them: 100 idle sessions
// pinging every 20 s run their reader and writer, two goroutines each,
// and no more. (The garbage collector scans every goroutine's stack; at
// 10,000 calls a third goroutine per call lengthens every collection.)
// A ping, when it comes, runs and is answered all the same.
func TestKeepaliveCostsNoGoroutineBetweenPings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const calls = 100
		var pings atomic.Int64
		before := runtime.NumGoroutine()
		sessions := make([]*Session, calls)
		apis := make([]Transport, calls)
		for i := range sessions {
			app, api := Pipe()
			b, _ := Marshal(Hello{CallID: fmt.Sprint("idle-", i)})
			api.WriteMessage(context.Background(), b)
			s, err := StartSession(context.Background(), countPings{app, &pings}, Config{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			sessions[i], apis[i] = s, api
		}
		synctest.Wait()
		if n := runtime.NumGoroutine() - before; n > 2*calls {
			t.Errorf("%d goroutines for %d idle calls, want at most %d (a reader and a writer each)", n, calls, 2*calls)
		}
		// The API reads (the pings are answered by its reader) for two
		// periods: every call pinged twice and is still up, and no
		// goroutine was added.
		for _, api := range apis {
			go func() {
				for {
					if _, err := api.ReadMessage(context.Background()); err != nil {
						return
					}
				}
			}()
		}
		time.Sleep(2*DefaultPing + time.Second)
		synctest.Wait()
		if n := pings.Load(); n != 2*calls {
			t.Errorf("%d pings answered in two periods of %d calls, want %d", n, calls, 2*calls)
		}
		for i, s := range sessions {
			if e := s.End(); e.By != "" {
				t.Fatalf("call %d ended while its pings were answered: %+v", i, e)
			}
		}
		if n := runtime.NumGoroutine() - before; n > 3*calls {
			t.Errorf("%d goroutines for %d idle calls and their API readers after two pings, want at most %d", n, calls, 3*calls)
		}
		for _, s := range sessions {
			s.Close()
		}
		for _, api := range apis {
			api.Close()
		}
	})
}

// countPings is a Transport whose answered pings are counted.
type countPings struct {
	Transport
	n *atomic.Int64
}

func (c countPings) Ping(ctx context.Context) error {
	err := c.Transport.(Pinger).Ping(ctx)
	if err == nil {
		c.n.Add(1)
	}
	return err
}
