package elks

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
)

// A Caller source delivers the caller's audio in order; one nobody reads
// keeps the last second and counts what it dropped, while the call goes
// on; at the end of the call, Read returns what is held, then io.EOF.
func TestCallerSource(t *testing.T) {
	said := sessQuantize(recTone(t, 16000, "3s"))
	synctest.Test(t, func(t *testing.T) {
		s, p, _ := sessCall(t, Config{Format: PCM16000}, nil)
		c := s.Caller()
		if c.Format() != (pipeline.Format{Rate: 16000, Channels: 1}) {
			t.Fatalf("format %v", c.Format())
		}
		synctest.Wait()
		if got := p.snapshot().msgs; len(got) != 1 || got[0] != `{"t":"listening","format":"pcm_16000"}` {
			t.Fatalf("messages %v, want listening", got)
		}
		// A reader that keeps up gets every sample, in order.
		recSay(t, p, PCM16000, said[:16000])
		synctest.Wait()
		got := make([]float32, 32000)
		n, err := c.Read(got)
		if err != nil || n != 16000 {
			t.Fatalf("read %d, %v", n, err)
		}
		sessSameAudio(t, got[:n], said[:16000])
		// One that stops reading keeps the last second.
		recSay(t, p, PCM16000, said[16000:])
		synctest.Wait()
		if st := s.Stats(); st.CallerDropped != time.Second {
			t.Errorf("dropped %v, want 1s", st.CallerDropped)
		}
		p.hangup()
		<-s.Done()
		s.Close()
		n, err = c.Read(got)
		if err != nil || n != 16000 {
			t.Fatalf("after the call: read %d, %v", n, err)
		}
		sessSameAudio(t, got[:n], said[32000:])
		if n, err := c.Read(got); n != 0 || err != io.EOF {
			t.Errorf("at the end: %d, %v; want io.EOF", n, err)
		}
		c.Close()
		// A Caller of a call that is over is at its end at once.
		if n, err := s.Caller().Read(got); n != 0 || err != io.EOF {
			t.Errorf("Caller after the call: %d, %v", n, err)
		}
	})
}

// Close wakes a Read that waits for audio, and the session stops feeding
// the source.
func TestCallerSourceClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _, _ := sessCall(t, Config{}, nil)
		c := s.Caller()
		errc := make(chan error, 1)
		go func() {
			_, err := c.Read(make([]float32, 100))
			errc <- err
		}()
		synctest.Wait()
		c.Close()
		if err := <-errc; err == nil {
			t.Error("a closed source's Read returned no error")
		}
		s.mu.Lock()
		n := len(s.callers)
		s.mu.Unlock()
		if n != 0 {
			t.Errorf("%d sources still fed after Close", n)
		}
	})
}

// Outside a pipeline that serves calls, the caller element is refused
// when the pipeline is built, saying why; the elks sink's start-up check
// opens it as a source of the listening format.
func TestCallerElement(t *testing.T) {
	spec, err := pipeline.Parse("caller | null")
	if err != nil {
		t.Fatal(err)
	}
	g, err := spec.Graph()
	if err != nil {
		t.Fatal(err)
	}
	_, err = pipeline.Build(context.Background(), g)
	if !errors.Is(err, ErrNoCall) || !strings.Contains(err.Error(), "caller") {
		t.Errorf("caller | null: %v", err)
	}
	if !pipeline.IsConfigError(err) {
		t.Errorf("not a build error (exit 2): %v", err)
	}
	src, err := openCaller(context.WithValue(context.Background(), checkKey{}, PCM24000))
	if err != nil || src.Format() != (pipeline.Format{Rate: 24000, Channels: 1}) {
		t.Fatalf("start-up check: %v, %v", src, err)
	}
	if n, err := src.Read(make([]float32, 10)); n != 0 || err != io.EOF {
		t.Errorf("start-up check source read %d, %v", n, err)
	}
	if err := pipeline.Close(src); err != nil {
		t.Errorf("closing the start-up check's source: %v", err)
	}
}
