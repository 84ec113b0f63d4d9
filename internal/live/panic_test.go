package live_test

import (
	"context"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/live"
	"github.com/elkspipe/elkspipe/internal/testlog"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sources"
)

// panicky is a decoded stream whose Read panics once it has read after
// reads: a decoder's defect that the stream's bytes found.
type panicky struct {
	pipeline.Source
	after int
}

func (p *panicky) Read(buf []float32) (int, error) {
	if p.after--; p.after < 0 {
		panic("index out of range in the decoder")
	}
	return p.Source.Read(buf)
}

// A decoder that panics on the stream's first connection does not end
// the process: the panic is logged with its stack, the connection is
// lost like any other, and the stream reconnects and plays on; its
// listener hears a short silence.
func TestStreamDecoderPanicReconnects(t *testing.T) {
	st, srv := newStation(t, nil)
	var log testlog.Buffer
	opt := testOptions(&log)
	var decodes atomic.Int64
	opt.Decode = func(r io.Reader) (pipeline.Source, error) {
		src, err := sources.Decode(r)
		if err != nil || decodes.Add(1) > 1 {
			return src, err
		}
		return &panicky{Source: src, after: 20}, nil
	}
	s := live.New(opt)
	defer s.Close()
	u := srv.URL + "/hold.wav"
	l, err := s.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := readFor(t, l, 2*time.Second)
	if c := st.conns.Load(); c != 2 {
		t.Errorf("%d requests, want 2 (the one whose decoder panicked, and the next)", c)
	}
	last := -1
	for i, v := range got {
		if v != 0 {
			last = i
		}
	}
	if last < len(got)-stationRate/2 {
		t.Errorf("no audio at the end: the stream did not resume (last audio at %d of %d)", last, len(got))
	}
	if s := s.Stats(u); s.Connections != 2 || s.Drops != 1 {
		t.Errorf("stats %+v, want 2 connections and 1 drop", s)
	}
	text := log.String()
	for _, want := range []string{
		`level=ERROR msg="live stream: decoding panicked"`,
		`panic="index out of range in the decoder" stack="goroutine`,
		`err="decoding panicked: index out of range in the decoder"`,
		`msg="live stream reconnected"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the log lacks %s:\n%s", want, text)
		}
	}
}
