package elks_test

import (
	"path/filepath"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/elkspipe/elkspipe/internal/audiotest"
	"github.com/elkspipe/elkspipe/pipeline"
	"github.com/elkspipe/elkspipe/sinks/elks"
	"github.com/elkspipe/elkspipe/sinks/elks/elkstest"
	"github.com/elkspipe/elkspipe/sources"
)

// record= writes what the caller said to a WAV per call, in the format
// asked for with "listening" (matched to the sending format): the
// simulated caller speaks 1.5 s of tone in 20 ms messages on the bubble's
// clock, and the recording holds it exactly as the codec decodes it.
func TestSessionRecordsCaller(t *testing.T) {
	for _, c := range []struct {
		send, listen elks.Format
		rate         int
	}{
		{elks.PCM8000, elks.PCM8000, 8000}, {elks.PCM24000, elks.PCM24000, 24000},
		{elks.ULaw, elks.ULaw, 8000}, {elks.ALaw, elks.ALaw, 8000}, {elks.WAV, elks.PCM16000, 16000},
	} {
		t.Run(string(c.send), func(t *testing.T) {
			dir := t.TempDir()
			said := "tone 440 dur=1.5s rate=" + strconv.Itoa(c.rate)
			say, err := pipeline.OpenerText(said)
			if err != nil {
				t.Fatal(err)
			}
			synctest.Test(t, func(t *testing.T) {
				cfg := elks.Config{Format: c.send, Record: dir + "/calls/{from}-{callid}.wav"}
				call := startSim(t, cfg, elkstest.Options{Say: say, Duration: 2 * time.Second})
				r := call.report()
				<-call.s.Done()
				call.s.Close()
				if m := call.tap.messages(); len(m) == 0 || m[0] != (elks.Listening{Format: c.listen}) {
					t.Errorf("messages %v: want listening %s first", m, c.listen)
				}
				ca, st := r.CallerAudio, call.s.Stats()
				if ca.Format != string(c.listen) || ca.Messages != 75 || !near(ca.Seconds, 1.5) || ca.Error != "" || r.Listenings[string(c.listen)] != 1 {
					t.Errorf("caller audio %+v, listenings %v", ca, r.Listenings)
				}
				if st.AudioReceived != ca.Bytes || st.Recorded != 1500*time.Millisecond || st.RecordDropped != 0 || st.Malformed != 0 {
					t.Errorf("the simulator sent %d bytes; session stats %+v", ca.Bytes, st)
				}
				if e := call.s.End(); e.By != elks.ByAPI || r.End.By != elks.ByAPI {
					t.Errorf("end %+v, simulator's end %+v", e, r.End)
				}
			})
			src, err := sources.File(filepath.Join(dir, "calls", "+46700000001-c1.wav"))(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer pipeline.Close(src)
			if f := src.Format(); f != (pipeline.Format{Rate: c.rate, Channels: 1}) {
				t.Errorf("recording in %v", f)
			}
			sameAudio(t, audiotest.MustReadAll(t, src), expect(t, said, c.listen))
		})
	}
}
