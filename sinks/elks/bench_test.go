package elks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/elkspipe/elkspipe/pipeline"
)

var benchFormats = []Format{PCM8000, PCM16000, PCM24000, ULaw, ALaw}

// The per-call CPU of the hot path: encoding, chunking and base64 of one
// second of audio in 100 ms messages, into reused buffers.
func BenchmarkEncodeSecond(b *testing.B) {
	for _, f := range benchFormats {
		b.Run(string(f), func(b *testing.B) {
			info, _ := f.Info()
			enc, _ := NewEncoder(f)
			chunk := make([]float32, info.Rate/10)
			for i := range chunk {
				chunk[i] = float32(0.5 * math.Sin(float64(i)/7))
			}
			var raw, msg []byte
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				for range 10 {
					raw = enc.Encode(raw[:0], chunk)
					msg = AppendAudio(msg[:0], raw)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e9*100, "%core/call")
		})
	}
}

// benchTransport plays a prompt API: it discards audio and answers every
// sync at once.
type benchTransport struct {
	in     chan []byte
	closed chan struct{}
	once   sync.Once
}

func newBenchTransport() *benchTransport {
	t := &benchTransport{in: make(chan []byte, 16), closed: make(chan struct{})}
	t.in <- []byte(`{"t":"hello","callid":"bench","from":"+1","to":"+2"}`)
	return t
}

func (t *benchTransport) ReadMessage(ctx context.Context) ([]byte, error) {
	select {
	case m := <-t.in:
		return m, nil
	case <-t.closed:
		return nil, net.ErrClosed
	}
}

func (t *benchTransport) WriteMessage(ctx context.Context, m []byte) error {
	if bytes.Equal(m, msgSync) {
		select {
		case t.in <- msgSync:
		case <-t.closed:
			return net.ErrClosed
		}
	}
	return nil
}

func (t *benchTransport) Close() error {
	t.once.Do(func() { close(t.closed) })
	return nil
}

// benchSine is an endless-enough sine that allocates nothing.
type benchSine struct {
	rate   int
	frames int64
	n      int64
}

func (s *benchSine) Format() pipeline.Format { return pipeline.Format{Rate: s.rate, Channels: 1} }

func (s *benchSine) Read(p []float32) (int, error) {
	n := int(min(int64(len(p)), s.frames-s.n))
	for i := range n {
		p[i] = float32(0.5 * math.Sin(float64(s.n+int64(i))/7))
	}
	s.n += int64(n)
	if s.n == s.frames {
		return n, io.EOF
	}
	return n, nil
}

// A whole session, per second of audio: reading the source, encoding,
// the window, the writer goroutine and the transport.
func BenchmarkSessionSecond(b *testing.B) {
	for _, f := range benchFormats {
		b.Run(string(f), func(b *testing.B) {
			info, _ := f.Info()
			s, err := StartSession(context.Background(), newBenchTransport(), Config{Format: f, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			s.Play(context.Background(), &benchSine{rate: info.Rate, frames: int64(info.Rate)}) // warm the buffers
			b.ReportAllocs()
			b.ResetTimer()
			if err := s.Play(context.Background(), &benchSine{rate: info.Rate, frames: int64(b.N) * int64(info.Rate)}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := s.Drain(context.Background()); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// The memory a call holds while it plays: sessions, their buffers and
// goroutines, measured over many at once.
func BenchmarkCallMemory(b *testing.B) {
	const calls = 200
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()
		sessions := make([]*Session, calls)
		for i := range sessions {
			s, err := StartSession(context.Background(), newBenchTransport(), Config{Format: PCM24000, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			s.Play(context.Background(), &benchSine{rate: 24000, frames: 24000})
			sessions[i] = s
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/calls, "heap-B/call")
		b.ReportMetric(float64(after.StackInuse-before.StackInuse)/calls, "stack-B/call")
		b.ReportMetric(float64(runtime.NumGoroutine()-g0)/calls, "goroutines/call")
		for _, s := range sessions {
			s.Close()
		}
	}
}

// The per-call cost of playing a pipeline, per second of audio: a looped
// MP3 rendered by the call itself (private) or replayed from a shared
// rendering made before the timer starts (shared).
func BenchmarkPlayGraphSecond(b *testing.B) {
	mp3, err := filepath.Abs(filepath.Join("..", "..", "sources", "testdata", "mp3", "sine44m.mp3"))
	if err != nil {
		b.Fatal(err)
	}
	const loops = 20 // 11 s of audio
	chain := fmt.Sprintf("file %q | loop %d", mp3, loops)
	seconds := float64(loops) * 0.548571
	for _, f := range []Format{ULaw, PCM16000} {
		for _, shared := range []bool{false, true} {
			mode := "private"
			if shared {
				mode = "shared"
			}
			b.Run(string(f)+"/"+mode, func(b *testing.B) {
				cfg := Config{Format: f, Logger: slog.New(slog.DiscardHandler)}
				if shared {
					cfg.RenderCache = NewRenderCache(64 << 20)
				}
				s, err := StartSession(context.Background(), newBenchTransport(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				g := sessGraph(b, chain)
				if err := s.PlayGraph(context.Background(), g); err != nil { // warm: the rendering, the buffers
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if err := s.PlayGraph(context.Background(), g); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/seconds/1e6, "ms/call-s")
				if shared {
					if st := cfg.RenderCache.Stats(); st.SharedPlays < int64(b.N) {
						b.Fatalf("%d shared plays for %d plays", st.SharedPlays, b.N)
					}
				}
			})
		}
	}
}
