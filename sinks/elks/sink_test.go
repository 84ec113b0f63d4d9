package elks

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/pipeline"
)

// sinkRun builds text and runs it until the test stops it; it returns the
// URL of calls once the sink listens, and the stop function.
func sinkRun(t *testing.T, text string) (string, *pipeline.Pipeline, func() error) {
	t.Helper()
	spec, err := pipeline.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	g, err := spec.Graph()
	if err != nil {
		t.Fatal(err)
	}
	k := g.Sink.Sink.(*Sink)
	addr := make(chan net.Addr, 1)
	k.Server().OnListen = func(a net.Addr) { addr <- a }
	k.Server().Logger, _ = sessTestLogger()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := pipeline.Build(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	stop := func() error { cancel(); return <-errc }
	select {
	case a := <-addr:
		return "ws://" + a.String() + k.Server().path(), p, stop
	case err := <-errc:
		cancel()
		t.Fatalf("the pipeline stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the sink did not listen")
	}
	return "", nil, nil
}

// `... | elks format=ulaw`: a call hears the pipeline converted to 8 kHz
// mono and µ-law coded, sample for sample.
func TestSinkServesPipeline(t *testing.T) {
	sessLeakCheck(t)
	const source = "tone 440 dur=700ms + tone 880 dur=300ms"
	url, p, stop := sinkRun(t, source+" | elks format=ulaw listen=127.0.0.1:0 path=/hold chunk=20ms")
	if d := p.Describe(); !strings.Contains(d, "elks format=ulaw") {
		t.Errorf("chain %s", d)
	}
	for i := 0; i < 2; i++ { // a fresh instance for every call
		peer := srvDial(t, url, replyAtOnce)
		<-peer.done
		r := peer.snapshot()
		g := sessGraph(t, source+" | elks format=ulaw listen=127.0.0.1:0")
		heard := r.heard(t, ULaw)
		sessSameAudio(t, heard, sessExpect(t, g, ULaw))
		// sending first; the last sync answered, then bye.
		if types := r.types(); len(heard) != 8000 || types[0] != "sending" || types[len(types)-2] != "sync" || types[len(types)-1] != "bye" {
			t.Errorf("call %d: %d samples; messages %v", i, len(heard), types)
		}
		if n := len(r.msgs); n < 50 {
			t.Errorf("%d messages for 50 chunks of 20 ms", n)
		}
	}
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v", err)
	}
}

func TestSinkElement(t *testing.T) {
	e, err := pipeline.DefaultRegistry.Lookup("elks", pipeline.KindSink)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"format", "listen", "path", "token", "chunk", "window", "checkpoint", "hangup", "record", "max-calls", "hello-timeout"} {
		if e.Param(name) == nil {
			t.Errorf("no parameter %s", name)
		}
	}
	spec, err := pipeline.Parse("tone 440 | elks")
	if err != nil {
		t.Fatal(err)
	}
	g, _ := spec.Graph()
	k := g.Sink.Sink.(*Sink)
	if w := k.Want(pipeline.Format{Rate: 44100, Channels: 2}); w != (pipeline.Format{Rate: 16000, Channels: 1}) {
		t.Errorf("default format wants %v", w)
	}
	if err := k.Run(context.Background(), nil); !errors.Is(err, ErrNeedsServe) {
		t.Errorf("Run: %v", err)
	}
	srv := k.Server()
	if srv.Addr != ":8095" || srv.path() != "/" || srv.KeepOpen || srv.Config.Window != 2*time.Second || srv.Config.Chunk != 100*time.Millisecond ||
		srv.Config.Ping != DefaultPing || srv.Config.RecordMax != DefaultRecordMax {
		t.Errorf("defaults %+v", srv)
	}
	spec, _ = pipeline.Parse("file x.mp3 | elks mp3 hangup=false token=t max-calls=3 record=r/{callid}.wav record-max=90m ping=0 dtmf=yes")
	g, err = spec.Graph()
	if err != nil {
		t.Fatal(err)
	}
	k = g.Sink.Sink.(*Sink)
	if w := k.Want(pipeline.Format{Rate: 44100, Channels: 2}); w != (pipeline.Format{Rate: 44100, Channels: 2}) {
		t.Errorf("mp3 wants %v", w)
	}
	if s := k.Server(); !s.KeepOpen || s.Token != "t" || s.MaxCalls != 3 || s.Config.Record != "r/{callid}.wav" ||
		s.Config.RecordMax != 90*time.Minute || s.Config.Ping >= 0 || !s.Config.DTMF {
		t.Errorf("parameters %+v", s)
	}
}

// Mistakes are found before the sink listens.
func TestSinkErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"tone 440 | elks chunk=2s", "out of range"},
		{"tone 440 | elks format=opus", `"opus" is not a format; Ogg Opus is format=ogg (one of pcm_8000`},
		{"tone 440 | elks format=wav listen=127.0.0.1:0", "tone 440 would change or generate audio"},
		{"file /no/such.wav | elks listen=127.0.0.1:0", "no such file"},
		{"tone 440 | elks listen=256.0.0.1:99999", "256.0.0.1"},
		{"file - | elks listen=127.0.0.1:0", "cannot read standard input"},
		{"tone 440 | elks path=/healthz", "path=/healthz is a probe endpoint"},
		{"tone 440 | elks record=calls/{bogus}.wav", "unknown placeholder {bogus}"},
		{"tone 440 | elks record=" + t.TempDir(), "is a folder"},
		{"tone 440 | elks record=calls/", "names a folder"},
		{"tone 440 | elks ping=5ms", "ping=5ms: want 0 (no pings) or at least 10ms"},
		{"tone 440 | elks record=x.wav record-max=13h", "out of range"},
	} {
		spec, err := pipeline.Parse(c.text)
		if err == nil {
			var g *pipeline.Graph
			if g, err = spec.Graph(); err == nil {
				var p *pipeline.Pipeline
				if p, err = pipeline.Build(context.Background(), g); err == nil {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					err = p.Run(ctx)
					cancel()
				}
			}
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want %q", c.text, err, c.want)
		}
	}
}
