package elks

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sources"
)

// recSay sends samples as caller audio in format f, 20 ms per message,
// one message every 20 ms as the API does (in a bubble, on its clock).
func recSay(t *testing.T, p *wirePeer, f Format, samples []float32) {
	t.Helper()
	info, _ := f.Info()
	enc, err := NewEncoder(f)
	if err != nil {
		t.Fatal(err)
	}
	step := info.Rate / 50
	for i := 0; i < len(samples); i += step {
		if i > 0 {
			time.Sleep(20 * time.Millisecond)
		}
		data := enc.Encode(nil, samples[i:min(i+step, len(samples))])
		p.t.WriteMessage(context.Background(), AppendAudio(nil, data))
	}
}

// recTone is a test signal: a 440 Hz tone at rate.
func recTone(t *testing.T, rate int, dur string) []float32 {
	t.Helper()
	g := sessGraph(t, "tone 440 dur="+dur+" rate="+strconv.Itoa(rate))
	src, _, err := g.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	return audiotest.MustReadAll(t, src)
}

// recRead decodes a recording with the project's WAV reader.
func recRead(t *testing.T, path string) (pipeline.Format, []float32) {
	t.Helper()
	src, err := sources.File(path)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pipeline.Close(src)
	return src.Format(), audiotest.MustReadAll(t, src)
}

// sessQuantize rounds samples to 16 bits as the project does.
func sessQuantize(x []float32) []float32 {
	enc, _ := NewEncoder(PCM16000)
	dec, _ := NewDecoder(PCM16000)
	out, _ := dec.Decode(nil, enc.Encode(nil, x))
	return out
}

// A recording is a valid WAV even when the connection drops mid-call;
// undecodable caller audio is counted and skipped.
func TestRecordSurvivesDrop(t *testing.T) {
	dir := t.TempDir()
	sessLeakCheck(t)
	url, _ := srvTest(t, &Server{Config: Config{Format: PCM16000, Record: dir + "/{callid}.wav"},
		Handler: GraphHandler(srvEndlessGraph(&srvSourceCloser{Endless: audiotest.Endless{F: pipeline.Format{Rate: 16000, Channels: 1}}}))})
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Write(ctx, websocket.MessageText, []byte(`{"t":"hello","callid":"../../evil","from":"+1","to":"+2"}`))
	said := recTone(t, 16000, "700ms")
	enc, _ := NewEncoder(PCM16000)
	c.Write(ctx, websocket.MessageText, AppendAudio(nil, enc.Encode(nil, said[:5000])))
	c.Write(ctx, websocket.MessageText, AppendAudio(nil, []byte{1, 2, 3})) // odd bytes: not 16-bit audio
	c.Write(ctx, websocket.MessageText, AppendAudio(nil, enc.Encode(nil, said[5000:])))
	path := filepath.Join(dir, "______evil.wav")
	srvWait(t, "the recording", func() bool {
		st, err := os.Stat(path)
		return err == nil && st.Size() >= 44+2*int64(len(said))
	})
	// Valid while the call goes on (as if the process died now).
	if _, got := recRead(t, path); len(got) != len(said) {
		t.Errorf("mid-call the recording holds %d samples", len(got))
	}
	c.CloseNow()
	srvWait(t, "the call to end", func() bool {
		_, got := recRead(t, path)
		return len(got) == len(said)
	})
	_, got := recRead(t, path)
	sessSameAudio(t, got, sessQuantize(said))
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files: %v", entries)
	}
}

// A recording's path: the template's fields filled with safe values, and
// the listening format matched to the sending format.
func TestRecordPath(t *testing.T) {
	h := Hello{CallID: "a1/../b", From: "+46 70-123", To: `C:\x`}
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("x", 3600))
	got := recordPath("rec/{to}/{from}_{callid}_{time}.wav", h, at)
	if want := "rec/C__x/+46_70-123_a1____b_20250304T040607Z.wav"; got != want {
		t.Errorf("recordPath = %q, want %q", got, want)
	}
	if got := recordPath("{callid}.wav", Hello{}, at); got != "unknown.wav" {
		t.Errorf("empty callid: %q", got)
	}
	if got := recordPath("{from}", Hello{From: strings.Repeat("9", 500)}, at); len(got) != 64 {
		t.Errorf("long value kept %d characters", len(got))
	}
	for send, want := range map[Format]Format{PCM8000: PCM8000, ULaw: ULaw, WAV: PCM16000, MP3: PCM16000, G722: G722} {
		if got := listenFormat(send); got != want {
			t.Errorf("listening for %s: %s, want %s", send, got, want)
		}
	}
}

// Recordings are never overwritten.
func TestRecordNoOverwrite(t *testing.T) {
	dir := t.TempDir()
	log, _ := sessTestLogger()
	var paths []string
	for i := 0; i < 3; i++ {
		r, err := openRecorder(dir+"/same.wav", Hello{}, PCM8000, time.Now(), log)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, filepath.Base(r.path))
		r.close()
	}
	if strings.Join(paths, " ") != "same.wav same-1.wav same-2.wav" {
		t.Errorf("paths %v", paths)
	}
	if _, err := openRecorder("/proc/no/such/dir/x.wav", Hello{}, PCM8000, time.Now(), log); err == nil {
		t.Error("recording into an impossible path succeeded")
	}
}

// recDisk is a disk that is slow (each write of the recorder takes
// delay) or stuck (each waits for gate to close).
type recDisk struct {
	gate  chan struct{}
	delay time.Duration
}

// hooks returns session hooks that make each write of the recorder wait
// on the disk.
func (d *recDisk) hooks() testHooks {
	return testHooks{recordWrite: func() {
		if d.gate != nil {
			<-d.gate
		}
		time.Sleep(d.delay)
	}}
}

// recPlayAndDrain plays 3 s of tone and waits until the API has answered
// every sync; it returns how long that took: nothing on the bubble's
// clock when the session reads the replies as they come, since the
// scripted peer answers each at once.
func recPlayAndDrain(t *testing.T, s *Session) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	if err := s.PlayGraph(ctx, sessGraph(t, "tone 440 dur=3s")); err != nil {
		t.Fatalf("Play: %v", err)
	}
	if err := s.Drain(ctx); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	return time.Since(start)
}

// A stuck disk never delays the sync replies: the caller's audio waits in
// a bounded queue, and what does not fit is left out of the recording and
// counted. Once the disk moves again, the recording holds, complete and
// valid, the audio that was queued.
func TestRecordStuckDiskKeepsReplies(t *testing.T) {
	dir := t.TempDir()
	said := recTone(t, 16000, "10s") // 500 messages of 20 ms
	const sent, step = 500, 320
	var kept int
	synctest.Test(t, func(t *testing.T) {
		disk := &recDisk{gate: make(chan struct{})}
		s, p, logs := sessCallHooks(t, Config{Format: PCM16000, Record: dir + "/{callid}.wav"}, disk.hooks(), nil)
		recSay(t, p, PCM16000, said)
		took := recPlayAndDrain(t, s)
		st := s.Stats()
		if took != 0 || st.SyncReplies == 0 || st.SyncReplies != st.Syncs {
			t.Errorf("with the disk stuck, 3 s of audio took %v to play; stats %+v", took, st)
		}
		// The queue holds listenQueue messages and the recorder one
		// more, stuck in its write.
		if st.RecordDropped < sent-listenQueue-1 || st.RecordDropped > sent-listenQueue {
			t.Errorf("%d messages dropped, want %d or one less", st.RecordDropped, sent-listenQueue)
		}
		if st.AudioReceived != sent*step*2 {
			t.Errorf("received %d bytes of caller audio", st.AudioReceived)
		}
		if !strings.Contains(logs.String(), "the recording falls behind") {
			t.Errorf("no warning about the dropped audio:\n%s", logs)
		}
		kept = sent - st.RecordDropped
		close(disk.gate)
		p.hangup()
		<-s.Done()
		s.Close()
		if st := s.Stats(); st.Recorded != time.Duration(kept)*20*time.Millisecond {
			t.Errorf("recorded %v of %d messages", st.Recorded, kept)
		}
	})
	f, got := recRead(t, filepath.Join(dir, "c1.wav"))
	if f.Rate != 16000 || len(got) != kept*step {
		t.Fatalf("recording: %v, %d samples, want %d", f, len(got), kept*step)
	}
	sessSameAudio(t, got, sessQuantize(said[:kept*step]))
}

// A merely slow disk (here 2.5 times slower than the caller speaks)
// delays neither the sync replies nor loses audio: Close waits for the
// recording to be written, complete.
func TestRecordSlowDisk(t *testing.T) {
	dir := t.TempDir()
	said := recTone(t, 16000, "3s") // 150 messages of 20 ms
	synctest.Test(t, func(t *testing.T) {
		disk := &recDisk{delay: 50 * time.Millisecond}
		s, p, _ := sessCallHooks(t, Config{Format: PCM16000, Record: dir + "/{callid}.wav"}, disk.hooks(), nil)
		recSay(t, p, PCM16000, said)
		// Writing it all takes 7.5 s: the replies must not wait for it.
		if took := recPlayAndDrain(t, s); took != 0 {
			t.Errorf("with a slow disk, 3 s of audio took %v to play", took)
		}
		if st := s.Stats(); st.Recorded >= 3*time.Second {
			t.Errorf("the slow disk wrote %v already: the test proves nothing", st.Recorded)
		}
		p.hangup()
		<-s.Done()
		s.Close()
		if st := s.Stats(); st.Recorded != 3*time.Second || st.RecordDropped != 0 {
			t.Errorf("after Close: recorded %v, dropped %d", st.Recorded, st.RecordDropped)
		}
	})
	f, got := recRead(t, filepath.Join(dir, "c1.wav"))
	if f.Rate != 16000 || len(got) != len(said) {
		t.Fatalf("recording: %v, %d samples, want %d", f, len(got), len(said))
	}
	sessSameAudio(t, got, sessQuantize(said))
}
