package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
	"github.com/elkspipe/elkspipe/sources"
)

// serveApp serves a test application on 127.0.0.1 for every call: handle
// gets each message the simulator sends (hello first) and a function to
// send; the call ends when the simulator closes the connection.
func serveApp(t *testing.T, handle func(m elks.Message, send func(elks.Message))) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		send := func(m elks.Message) {
			b, err := elks.Marshal(m)
			if err != nil {
				t.Error(err)
				return
			}
			conn.Write(context.Background(), websocket.MessageText, b)
		}
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			m, err := elks.Unmarshal(b)
			if err != nil {
				t.Errorf("the simulator sent %q: %v", b, err)
				return
			}
			handle(m, send)
		}
	})}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
		wg.Wait()
	})
	return "ws://" + ln.Addr().String() + "/"
}

// serveToneApp plays one second of 440 Hz at 8 kHz, syncs, and hangs up
// when the sync comes back.
func serveToneApp(t *testing.T) (string, []float32) {
	src, err := sources.Tone(sources.ToneOptions{Freq: 440, Amp: 0.5, Dur: time.Second, Rate: 8000, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := src(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tone := audiotest.MustReadAll(t, s)
	enc, _ := elks.NewEncoder(elks.PCM8000)
	wire := enc.Encode(nil, tone)
	// What the simulator decodes: the 16-bit samples.
	dec, _ := elks.NewDecoder(elks.PCM8000)
	heard, _ := dec.Decode(nil, wire)
	url := serveApp(t, func(m elks.Message, send func(elks.Message)) {
		switch m.(type) {
		case elks.Hello:
			// One message: no stall of the test machine can open a gap.
			send(elks.Sending{Format: elks.PCM8000})
			send(elks.Audio{Data: wire})
			send(elks.Sync{})
		case elks.Sync:
			send(elks.Bye{})
		}
	})
	return url, heard
}

// simulate runs `elkspipe simulate` with args and returns its exit status,
// standard output and standard error.
func simulate(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := runSimulate(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestSimulateJSONAndRecording(t *testing.T) {
	url, tone := serveToneApp(t)
	rec := filepath.Join(t.TempDir(), "heard.wav")
	// Flags before and after the URL.
	code, out, errOut := simulate(t, "--speed", "20", url, "--json", "--record", rec, "--rtt", "100ms", "--callid", "abc")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r elkstest.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if r.CallID != "abc" || r.End.By != elks.ByApp || r.Syncs.Answered != 1 || r.Gaps.Count != 0 || r.Sendings["pcm_8000"] != 1 {
		t.Errorf("report %+v", r)
	}
	if math.Abs(r.Played-1) > 1e-9 || r.Record == nil || r.Record.Path != rec {
		t.Errorf("played %.3f, record %+v", r.Played, r.Record)
	}
	// The sync waits for the second of audio and the round trip.
	if r.Syncs.MaxLatency < 0.9 || r.Syncs.MaxLatency > 1.5 {
		t.Errorf("sync latency %.3f s", r.Syncs.MaxLatency)
	}
	src, err := sources.WAV(rec)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	heard := afterFirstAudio(t, audiotest.MustReadAll(t, src), 8000, &r)
	pipeline.Close(src)
	if d := audiotest.MaxDiff(heard, tone); len(heard) != len(tone) || d != 0 {
		t.Errorf("recording: %d samples (want %d), max diff %g", len(heard), len(tone), d)
	}
}

func TestSimulateText(t *testing.T) {
	url, _ := serveToneApp(t)
	code, out, errOut := simulate(t, url, "--speed", "20")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"call ", "from +46700000000 to +46766000000", "the application sent bye", "gaps: none", "syncs: 1 requested, 1 answered", "protocol violations: none", "pcm_8000 ×1"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestSimulateHangupAndSay(t *testing.T) {
	var mu sync.Mutex
	var got []float32
	var bye []byte
	url := serveApp(t, func(m elks.Message, send func(elks.Message)) {
		mu.Lock()
		defer mu.Unlock()
		switch m := m.(type) {
		case elks.Hello:
			send(elks.Listening{Format: elks.ULaw})
		case elks.Audio:
			dec, _ := elks.NewDecoder(elks.ULaw)
			got, _ = dec.Decode(got, m.Data)
		case elks.Bye:
			bye, _ = elks.Marshal(m)
		}
	})
	// 1 s of voice in a 2 s call: at 4×, a quarter of a second of wall
	// time to spare for a loaded machine.
	code, out, errOut := simulate(t, url, "--duration", "2s", "--speed", "4", "--say", "tone 1k dur=1s | gain -6dB", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r elkstest.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.End.By != elks.ByAPI || r.Duration != 2 || r.CallerAudio.Messages != 50 || r.CallerAudio.Format != "ulaw" {
		t.Errorf("report %+v", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if string(bye) != `{"t":"bye","reason":"hangup","message":"the caller hung up"}` {
		t.Errorf("bye %s", bye)
	}
	if len(got) != 8000 {
		t.Fatalf("%d samples of caller audio", len(got))
	}
	x := make([]float64, len(got))
	for i, v := range got {
		x[i] = float64(v)
	}
	if f := audiotest.Frequency(x, 8000, 500, 2000); math.Abs(f-1000) > 0.5 {
		t.Errorf("caller audio at %.2f Hz", f)
	}
	if amp, _, _ := audiotest.SineFit(x, 1000, 8000); math.Abs(amp-0.5*math.Pow(10, -6.0/20)) > 0.01 {
		t.Errorf("caller audio amplitude %.3f", amp)
	}
}

func TestSimulateCalls(t *testing.T) {
	url, _ := serveToneApp(t)
	dir := t.TempDir()
	code, out, errOut := simulate(t, url, "--speed", "10", "--calls", "3", "--json", "--record", filepath.Join(dir, "{n}.wav"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v struct {
		Calls   []elkstest.Report
		Summary elkstest.Summary
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Calls) != 3 || v.Summary.Calls != 3 || v.Summary.EndedBy["app"] != 3 || v.Summary.Gaps != 0 {
		t.Errorf("%+v", v)
	}
	for i, r := range v.Calls {
		if want := filepath.Join(dir, string(rune('1'+i))+".wav"); r.Record == nil || r.Record.Path != want || math.Abs(r.Record.Seconds-1-r.FirstAudio) > 1.0/8000 {
			t.Errorf("call %d record %+v", i, r.Record)
		}
	}
	if l := v.Summary.SimulatorLag; l == nil || l.Max <= 0 || l.Max > 60 {
		t.Errorf("the simulator's own lag: %+v, want measured", l)
	}
	code, out, _ = simulate(t, url, "--speed", "20", "--calls", "2")
	if code != exitOK || !strings.Contains(out, "call 2: call ") || !strings.Contains(out, "summary: 2 calls") ||
		!strings.Contains(out, "\nsimulator lag: max ") {
		t.Errorf("text:\n%s", out)
	}
}

func TestSimulateErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "ws://" + ln.Addr().String() + "/hold"
	ln.Close()
	code, out, errOut := simulate(t, closed)
	if code != exitFailed || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, closed) || !strings.Contains(errOut, "connection refused") {
		t.Errorf("refused: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, args := range [][]string{
		{},
		{"--speed"},
		{"ws://x/", "extra"},
		{"ws://x/", "--nope"},
		{"ftp://x/"},
		{"ws://x/", "--speed", "-2"},
		{"ws://x/", "--duration", "soon"},
		{"ws://x/", "--buffer-limit", "lots"},
		{"ws://x/", "--calls", "0"},
		{"ws://x/", "--say", "tone 440", "--say-file", "a.wav"},
		{"ws://x/", "--say", "tnoe 440"},
		{"ws://x/", "--say", "tone 440 | wav out.wav"},
		{"ws://x/", "--dtmf", "x@1s"},
		{"ws://x/", "--dtmf", "1@2s,2@2.05s"},
	} {
		if code, _, errOut := simulate(t, args...); code != exitUsage || errOut == "" {
			t.Errorf("%q: exit %d, stderr %q", args, code, errOut)
		}
	}
	missing := filepath.Join(t.TempDir(), "none.wav")
	if code, _, errOut := simulate(t, "ws://127.0.0.1:1/", "--say-file", missing); code != exitFailed || !strings.Contains(errOut, "caller's voice") || !strings.Contains(errOut, missing) {
		t.Errorf("missing say file: exit %d, %q (want the file named)", code, errOut)
	}
	// A plain HTTP server is not a WebSocket endpoint: say so.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) }))
	defer plain.Close()
	url := "ws" + strings.TrimPrefix(plain.URL, "http") + "/x"
	if code, _, errOut := simulate(t, url); code != exitFailed || !strings.Contains(errOut, url+" answered 200 OK to the WebSocket upgrade: it is not a WebSocket endpoint") {
		t.Errorf("plain HTTP server: exit %d, %q", code, errOut)
	}
	if code, _, _ := simulate(t, "-h"); code != exitOK {
		t.Errorf("-h: exit %d", code)
	}
}

func TestSimulateSizes(t *testing.T) {
	for in, want := range map[string]int64{"30MB": 30_000_000, "30mb": 30_000_000, "500kB": 500_000, "1MiB": 1 << 20, "123": 123, "2.5M": 2_500_000, "64KiB": 65536} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MB", "-1MB", "0", "1TB", "1e30GB", "x"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q): no error", bad)
		}
	}
}

func TestSimulateInterrupted(t *testing.T) {
	url := serveApp(t, func(elks.Message, func(elks.Message)) {})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var out, errOut bytes.Buffer
	code := runSimulate(ctx, []string{url, "--duration", "0"}, &out, &errOut)
	if code != exitInterrupted || !strings.Contains(out.String(), "the caller hung up (interrupted)") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}
