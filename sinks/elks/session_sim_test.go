package elks_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
	"github.com/elkspipe/elkspipe/sources"
)

// The tests of this package run a real Session against elkstest, the
// simulator of the API, over elks.Pipe inside a testing/synctest bubble:
// both run on the bubble's fake clock, so every figure (gaps, buffer
// levels, latencies, how long a call takes) is exact. Tests that need the
// session's internals or wire-level scripts stay in package elks, with a
// scripted peer (wirePeer).

// simCall is a Session on a call with the simulator. Start it with
// startSim inside a synctest bubble.
type simCall struct {
	s    *elks.Session
	tap  *tap
	logs *elks.TestLogBuf
	rep  chan *elkstest.Report
}

// startSim starts the simulator with opt on one end of a Pipe and a
// Session with cfg on the other, tapped, and returns once the Session has
// the hello. The call id, caller and callee default to c1,
// +46700000001 and +46700000002; cfg.Logger to a buffer (simCall.logs).
func startSim(t *testing.T, cfg elks.Config, opt elkstest.Options) *simCall {
	t.Helper()
	if opt.CallID == "" {
		opt.CallID, opt.From, opt.To = "c1", "+46700000001", "+46700000002"
	}
	app, api := elks.Pipe()
	c := &simCall{tap: &tap{Transport: app}, rep: make(chan *elkstest.Report, 1)}
	go func() {
		r, err := elkstest.Run(context.Background(), api, opt)
		if err != nil {
			t.Error(err)
		}
		c.rep <- r
	}()
	if cfg.Logger == nil {
		c.logs = &elks.TestLogBuf{}
		cfg.Logger = slog.New(slog.NewTextHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := elks.StartSession(context.Background(), c.tap, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.s = s
	// A test that stops early leaves no goroutine behind in the bubble:
	// closing the session closes the Pipe, which ends the simulator.
	t.Cleanup(func() { s.Close() })
	return c
}

// report waits for the simulator to end the call and returns its report.
func (c *simCall) report() *elkstest.Report { return <-c.rep }

// playLimit bounds a play on the bubble's clock: a session that waits for
// ever fails its test at once instead of when the test binary times out.
const playLimit = time.Hour

// play does what a Server does with a GraphHandler of chain: it plays the
// chain, waits until the API has played it all, and hangs up. It returns
// the error of the play (context.DeadlineExceeded after playLimit).
func (c *simCall) play(t *testing.T, chain string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(c.s.Context(), playLimit)
	defer cancel()
	err := c.s.PlayGraph(ctx, elks.TestGraph(t, chain))
	if err == nil {
		err = c.s.Drain(ctx)
	}
	c.s.Hangup()
	return err
}

// expect returns the audio of chain as the caller should hear it in format
// f: converted to f's rate, mono, then through f's codec.
func expect(t testing.TB, chain string, f elks.Format) []float32 {
	t.Helper()
	return elks.TestExpect(t, elks.TestGraph(t, chain), f)
}

// sameAudio fails the test unless got and want are the same samples.
var sameAudio = elks.TestSameAudio

// near reports whether two figures in seconds are the same but for
// floating-point rounding.
func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

// tap is the application's end of a Transport that keeps a copy of every
// message written to it: what the Session sent, in order.
type tap struct {
	elks.Transport
	mu   sync.Mutex
	sent [][]byte
}

// WriteMessage keeps a copy of msg and writes it.
func (t *tap) WriteMessage(ctx context.Context, msg []byte) error {
	t.mu.Lock()
	t.sent = append(t.sent, bytes.Clone(msg))
	t.mu.Unlock()
	return t.Transport.WriteMessage(ctx, msg)
}

// messages returns the messages written so far, decoded.
func (t *tap) messages() []elks.Message {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]elks.Message, 0, len(t.sent))
	for _, b := range t.sent {
		m, err := elks.Unmarshal(b)
		if err != nil {
			m = elks.Unknown{T: "malformed: " + err.Error()}
		}
		out = append(out, m)
	}
	return out
}

// largest returns the size of the largest message written.
func (t *tap) largest() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, b := range t.sent {
		n = max(n, len(b))
	}
	return n
}

// types lists the types of the messages written, runs of audio shortened
// to one "audio".
func (t *tap) types() []string {
	var out []string
	for _, m := range t.messages() {
		if m.Type() == elks.TypeAudio && len(out) > 0 && out[len(out)-1] == elks.TypeAudio {
			continue
		}
		out = append(out, m.Type())
	}
	return out
}

// audio decodes the audio written in format f (PCM or G.711) and returns
// it with the length of the audio before each sync.
func (t *tap) audio(tb testing.TB, f elks.Format) (heard []float32, syncsAt []time.Duration) {
	tb.Helper()
	info, _ := f.Info()
	dec, err := elks.NewDecoder(f)
	if err != nil {
		tb.Fatal(err)
	}
	for _, m := range t.messages() {
		switch m := m.(type) {
		case elks.Audio:
			if heard, err = dec.Decode(heard, m.Data); err != nil {
				tb.Fatal(err)
			}
		case elks.Sync:
			syncsAt = append(syncsAt, time.Duration(len(heard))*time.Second/time.Duration(info.Rate))
		}
	}
	return heard, syncsAt
}

// files returns the bytes of audio after each sending: in a passthrough
// format, the files sent.
func (t *tap) files() [][]byte {
	var files [][]byte
	for _, m := range t.messages() {
		switch m := m.(type) {
		case elks.Sending:
			files = append(files, []byte{})
		case elks.Audio:
			if len(files) > 0 {
				files[len(files)-1] = append(files[len(files)-1], m.Data...)
			}
		}
	}
	return files
}

// writeWAV writes a WAV file of a sawtooth, 16-bit, and returns its path.
func writeWAV(t *testing.T, dir, name string, rate, channels int, dur time.Duration) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := sinks.NewWAVWriter(f, pipeline.Format{Rate: rate, Channels: channels}, sinks.WAVS16)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, int(int64(rate)*int64(dur)/int64(time.Second))*channels)
	for i := range x {
		x[i] = float32(i%97) / 200
	}
	if err := w.Write(x); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// readWAV reads the samples of a WAV file of mono audio.
func readWAV(t *testing.T, path string) []float32 {
	t.Helper()
	src, err := sources.File(path)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	if f := src.Format(); f.Channels != 1 {
		t.Fatalf("%s: %v", path, f)
	}
	return audiotest.MustReadAll(t, src)
}
