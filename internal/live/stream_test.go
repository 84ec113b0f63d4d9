package live_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elkspipe/elkspipe/internal/live"
	"github.com/elkspipe/elkspipe/internal/testlog"
	"github.com/elkspipe/elkspipe/internal/wav"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sources"
)

// station is a test radio: an endless 8 kHz mono WAV stream sent in real
// time, 20 ms at a time, whose samples tell the station's clock (a ramp
// that climbs 1/8000 a frame modulo 1), so that a test can tell which
// moment of the broadcast a listener hears. Handler decides what each
// connection does.
type station struct {
	start   time.Time
	conns   atomic.Int64 // requests seen
	open    atomic.Int64 // connections streaming now
	metaReq atomic.Int64 // requests that asked for ICY metadata
	// plan returns, for the n-th request (from 1), the status to answer
	// and how long to stream before cutting the connection (0: no end).
	plan func(n int64) (status int, for_ time.Duration)
}

const stationRate = 8000

func newStation(t *testing.T, plan func(n int64) (int, time.Duration)) (*station, *httptest.Server) {
	st := &station{start: time.Now(), plan: plan}
	srv := httptest.NewServer(st)
	t.Cleanup(srv.Close)
	return st, srv
}

// value is the ramp's sample at frame i of the station's clock, never 0
// (which is silence).
func value(i int64) float32 { return float32(i%stationRate+1) / (stationRate + 1) }

func (st *station) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := st.conns.Add(1)
	if r.Header.Get("Icy-MetaData") == "1" {
		st.metaReq.Add(1)
	}
	status, dur := http.StatusOK, time.Duration(0)
	if st.plan != nil {
		status, dur = st.plan(n)
	}
	if status != http.StatusOK {
		http.Error(w, "down", status)
		return
	}
	st.open.Add(1)
	defer st.open.Add(-1)
	w.Header().Set("Content-Type", "audio/wav")
	hdr, _ := wav.HeaderBytes(pipeline.Format{Rate: stationRate, Channels: 1}, wav.SampleFormat{Bits: 16})
	w.Write(hdr)
	began := time.Now()
	pos := int64(time.Since(st.start).Seconds() * stationRate)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	buf := make([]byte, 0, 2*stationRate)
	s := make([]float32, 0, stationRate)
	for {
		now := int64(time.Since(st.start).Seconds() * stationRate)
		s = s[:0]
		for ; pos < now; pos++ {
			s = append(s, value(pos))
		}
		buf = buf[:2*len(s)]
		wav.Encode(buf, s, wav.SampleFormat{Bits: 16})
		if _, err := w.Write(buf); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		if dur > 0 && time.Since(began) > dur {
			return
		}
		select {
		case <-tick.C:
		case <-r.Context().Done():
			return
		}
	}
}

// testOptions are quick settings for tests.
func testOptions(log *testlog.Buffer) live.Options {
	return live.Options{
		Decode:     sources.Decode,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Linger: 100 * time.Millisecond, StallTimeout: 2 * time.Second,
		Log: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// readFor reads l for d of its own pace (Read blocks while it is ahead of
// real time) and returns the samples.
func readFor(t *testing.T, l pipeline.Source, d time.Duration) []float32 {
	t.Helper()
	var out []float32
	p := make([]float32, 160)
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		n, err := l.Read(p)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		out = append(out, p[:n]...)
	}
	return out
}

// silentRuns returns the length in frames of the longest run of zeros.
func longestSilence(s []float32) int {
	best, run := 0, 0
	for _, v := range s {
		if v == 0 {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}

// checkRamp checks that s, apart from silence, is the station's ramp in
// order: every sample one step above the one before (modulo 1), or a jump
// forward where audio was dropped or silence came; it returns the jumps.
func rampJumps(s []float32) int {
	jumps := 0
	prev := float32(-1)
	for _, v := range s {
		if v == 0 {
			continue
		}
		if prev >= 0 {
			d := v - prev
			if d < 0 {
				d += float32(stationRate) / (stationRate + 1) // the ramp's period
			}
			if d < 0.5/(stationRate+1) || d > 1.5/(stationRate+1) {
				jumps++
			}
		}
		prev = v
	}
	return jumps
}

func TestStreamPlaysLiveAudioOfNow(t *testing.T) {
	st, srv := newStation(t, nil)
	var log testlog.Buffer
	o := testOptions(&log)
	o.Prefill = 500 * time.Millisecond // half the ramp's period: told apart from now and from the start
	s := live.New(o)
	defer s.Close()
	ctx := context.Background()
	a, err := s.Open(ctx, srv.URL+"/hold.wav")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if f := a.Format(); f != (pipeline.Format{Rate: stationRate, Channels: 1}) {
		t.Fatalf("format %v", f)
	}
	got := readFor(t, a, 500*time.Millisecond)
	if len(got) < stationRate/4 {
		t.Fatalf("only %d frames in 500 ms", len(got))
	}
	if j := rampJumps(got); j > 0 {
		t.Errorf("the audio jumps %d times: not the stream in order", j)
	}
	time.Sleep(time.Second)
	b, err := s.Open(ctx, srv.URL+"/hold.wav")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Since(st.start).Seconds()
	p := make([]float32, 80)
	n, err := b.Read(p)
	if err != nil || n == 0 {
		t.Fatalf("read: %d, %v", n, err)
	}
	// b starts with the newest Prefill (0.5 s) of the stream, not its
	// beginning 1.5 s ago: the ramp tells the moment.
	heard := float64(p[0]) // seconds modulo 1 of the station clock
	want := now - 0.5
	diff := heard - (want - float64(int(want)))
	if diff > 0.5 {
		diff -= 1
	} else if diff < -0.5 {
		diff += 1
	}
	if diff < -0.2 || diff > 0.2 {
		t.Errorf("the second listener starts at %.3f s (mod 1) of the broadcast, want about %.3f", heard, want)
	}
	if c := st.conns.Load(); c != 1 {
		t.Errorf("%d connections for two listeners, want 1", c)
	}
	if st.metaReq.Load() != 1 {
		t.Error("the request did not ask for ICY metadata (Icy-MetaData: 1)")
	}
}

func TestStreamSharesOneConnectionAndClosesAfterLinger(t *testing.T) {
	st, srv := newStation(t, nil)
	var log testlog.Buffer
	s := live.New(testOptions(&log))
	defer s.Close()
	u := srv.URL + "/hold.wav"
	var wg sync.WaitGroup
	var ls []pipeline.Source
	for range 5 {
		l, err := s.Open(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	for _, l := range ls {
		wg.Go(func() {
			if got := readFor(t, l, 400*time.Millisecond); rampJumps(got) > 0 {
				t.Error("a listener's audio jumps")
			}
		})
	}
	wg.Wait()
	if c := st.conns.Load(); c != 1 {
		t.Fatalf("%d connections for 5 listeners, want 1", c)
	}
	if n := s.Stats(u).Listeners; n != 5 {
		t.Errorf("Stats.Listeners = %d, want 5", n)
	}
	for _, l := range ls {
		pipeline.Close(l)
	}
	deadline := time.Now().Add(5 * time.Second)
	for st.open.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the connection is still open 5 s after the last listener left (linger 100 ms)")
		}
		time.Sleep(10 * time.Millisecond)
	}
	l, err := s.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if c := st.conns.Load(); c != 2 {
		t.Errorf("%d connections after a listener came back, want 2", c)
	}
}

func TestStreamOutageIsSilenceThenResumes(t *testing.T) {
	// The first connection plays 600 ms and is cut; the next two attempts
	// get 503; the fourth plays on.
	st, srv := newStation(t, func(n int64) (int, time.Duration) {
		switch n {
		case 1:
			return http.StatusOK, 600 * time.Millisecond
		case 2, 3:
			return http.StatusServiceUnavailable, 0
		}
		return http.StatusOK, 0
	})
	var log testlog.Buffer
	s := live.New(testOptions(&log))
	defer s.Close()
	u := srv.URL + "/hold.wav"
	l, err := s.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := readFor(t, l, 2500*time.Millisecond)
	if c := st.conns.Load(); c != 4 {
		t.Fatalf("%d requests, want 4 (one cut, two refused, one that plays)", c)
	}
	// Audio, then silence for the outage (the 50 + 100 ms backoffs and
	// more), then audio again.
	first, last := -1, -1
	for i, v := range got {
		if v != 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 || last < len(got)-stationRate/2 {
		t.Fatalf("no audio at the end: the stream did not resume (audio in %d..%d of %d)", first, last, len(got))
	}
	if gap := longestSilence(got[first:last]); gap < stationRate/10 {
		t.Errorf("longest silence between the audio %d frames: the outage is not silence", gap)
	}
	stats := s.Stats(u)
	if stats.Connections != 2 || stats.Drops != 1 || stats.Padded == 0 {
		t.Errorf("stats %+v, want 2 connections, 1 drop, padded frames", stats)
	}
	text := log.String()
	if !strings.Contains(text, "level=WARN msg=\"live stream dropped") || !strings.Contains(text, "level=INFO msg=\"live stream reconnected\"") {
		t.Errorf("log lacks the drop warning or the reconnection:\n%s", text)
	}
	if !strings.Contains(text, "attempts=3") {
		t.Errorf("the reconnection does not count 3 attempts:\n%s", text)
	}
}

func TestStreamReconnectBackoffIsBounded(t *testing.T) {
	var mu sync.Mutex
	var times []time.Time
	st, srv := newStation(t, func(n int64) (int, time.Duration) {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		if n == 1 {
			return http.StatusOK, 200 * time.Millisecond
		}
		return http.StatusBadGateway, 0
	})
	var log testlog.Buffer
	s := live.New(testOptions(&log))
	l, err := s.Open(context.Background(), srv.URL+"/x.wav")
	if err != nil {
		t.Fatal(err)
	}
	readFor(t, l, 2*time.Second)
	l.Close()
	s.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(times) < 6 {
		t.Fatalf("only %d attempts in 2 s with backoff 50..200 ms", len(times))
	}
	// After the drop (times[1] is the first retry): 50, 100, 200, 200...
	want := 50 * time.Millisecond
	for i := 2; i < len(times); i++ {
		gap := times[i].Sub(times[i-1])
		if gap < want-5*time.Millisecond {
			t.Errorf("retry %d came %v after the one before, want at least %v", i, gap, want)
		}
		if gap > 200*time.Millisecond+time.Second {
			t.Errorf("retry %d came %v after the one before: the backoff is not bounded by 200 ms", i, gap)
		}
		want = min(2*want, 200*time.Millisecond)
	}
	_ = st
}

func TestStreamSlowListenerDropsAndCounts(t *testing.T) {
	_, srv := newStation(t, nil)
	var log testlog.Buffer
	o := testOptions(&log)
	o.MaxLag = 300 * time.Millisecond
	o.Prefill = 100 * time.Millisecond
	s := live.New(o)
	defer s.Close()
	u := srv.URL + "/x.wav"
	fast, err := s.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	slow, err := s.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	got := readFor(t, fast, 1500*time.Millisecond) // slow reads nothing meanwhile
	if rampJumps(got) > 0 {
		t.Error("the listener that keeps up lost audio")
	}
	p := make([]float32, 4000)
	n, err := slow.Read(p)
	if err != nil {
		t.Fatal(err)
	}
	// The slow one gets the newest audio, about Prefill of it, not 1.5 s.
	if n > 2*stationRate/10+stationRate/10 {
		t.Errorf("the slow listener got %d frames at once, want about %d", n, stationRate/10)
	}
	dropped, _ := slow.Counts()
	if dropped < stationRate {
		t.Errorf("the slow listener dropped %d frames, want more than 1 s", dropped)
	}
	if d, _ := fast.Counts(); d != 0 {
		t.Errorf("the fast listener dropped %d frames", d)
	}
}

func TestStreamFirstConnectionErrors(t *testing.T) {
	var log testlog.Buffer
	s := live.New(testOptions(&log))
	defer s.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body>radio</body></html>"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for path, want := range map[string]string{
		"/gone": "HTTP 404 Not Found",
		"/page": "not a WAV, MP3 or FLAC file",
	} {
		_, err := s.Open(context.Background(), srv.URL+path)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", path, err, want)
		}
	}
	srv.Close()
	_, err := s.Open(context.Background(), srv.URL+"/gone")
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("a closed server: err = %v, want connection refused", err)
	}
}

func TestStreamOpenCancelled(t *testing.T) {
	// A server that answers the headers and never sends audio.
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	var log testlog.Buffer
	s := live.New(testOptions(&log))
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Open(ctx, srv.URL)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

// A first connection that answers but sends no audio before it ends is
// the opening's error, not an endless wait.
func TestStreamFirstConnectionWithoutAudio(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr, _ := wav.HeaderBytes(pipeline.Format{Rate: 8000, Channels: 1}, wav.SampleFormat{Bits: 16})
		w.Write(hdr) // a header, and the end
	}))
	defer srv.Close()
	var log testlog.Buffer
	s := live.New(testOptions(&log))
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := s.Open(ctx, srv.URL)
	if err == nil || !strings.Contains(err.Error(), "the server ended the stream") {
		t.Fatalf("err = %v, want the end of the stream", err)
	}
}

// A first connection that answers and then sends nothing fails the
// opening after the stall timeout, naming it.
func TestStreamFirstConnectionStalls(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/mpeg")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	var log testlog.Buffer
	o := testOptions(&log)
	o.StallTimeout = 300 * time.Millisecond
	s := live.New(o)
	defer s.Close()
	start := time.Now()
	_, err := s.Open(context.Background(), srv.URL)
	if err == nil || err.Error() != "stalled: no data for 300ms" {
		t.Fatalf("err = %v, want the stall", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the stall took %v to end the opening", d)
	}
}
