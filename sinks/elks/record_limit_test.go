package elks

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// A peer that sends the caller's audio at wire speed (one minute of it in
// no time at all) gets 5 s into the recording, not a minute: the rest ran
// ahead of the call's clock and is counted, with one warning. Before the
// budget, the whole minute went to disk (2 hours in 8 s over loopback).
func TestRecordFloodAheadOfTheClock(t *testing.T) {
	dir := t.TempDir()
	second := sessQuantize(recTone(t, 16000, "1s"))
	enc, _ := NewEncoder(PCM16000)
	msg := AppendAudio(nil, enc.Encode(nil, second))
	synctest.Test(t, func(t *testing.T) {
		s, p, logs := sessCall(t, Config{Format: PCM16000, Record: dir + "/{callid}.wav"}, nil)
		for range 60 {
			p.t.WriteMessage(context.Background(), msg)
			synctest.Wait() // the decoder keeps up: nothing is dropped for the queue
		}
		// Real time moves on: 2 s later, the next 2 s are kept.
		time.Sleep(2 * time.Second)
		for range 3 {
			p.t.WriteMessage(context.Background(), msg)
			synctest.Wait()
		}
		p.hangup()
		<-s.Done()
		s.Close()
		st := s.Stats()
		if st.Recorded != 7*time.Second || st.RecordAhead != 56*time.Second || st.RecordDropped != 0 || st.RecordFull {
			t.Errorf("recorded %v, left out %v ahead, %d dropped, full %v; want 7s, 56s, 0, false",
				st.Recorded, st.RecordAhead, st.RecordDropped, st.RecordFull)
		}
		if n := strings.Count(logs.String(), "caller audio arrives faster than real time"); n != 5 {
			t.Errorf("%d warnings about 56 messages cut, want the limiter's burst of 5:\n%s", n, logs)
		}
	})
	f, got := recRead(t, filepath.Join(dir, "c1.wav"))
	if f.Rate != 16000 || len(got) != 7*16000 {
		t.Fatalf("recording: %v, %d samples, want 7 s", f, len(got))
	}
	sessSameAudio(t, got[:5*16000], append(append(append(append(append([]float32{}, second...), second...), second...), second...), second...))
}

// A recording stops at RecordMax, says so once, and the reader queues no
// more of the call's audio to the decoder.
func TestRecordStopsAtRecordMax(t *testing.T) {
	dir := t.TempDir()
	said := recTone(t, 16000, "3s")
	synctest.Test(t, func(t *testing.T) {
		s, p, logs := sessCall(t, Config{Format: PCM16000, Record: dir + "/{callid}.wav", RecordMax: 2 * time.Second}, nil)
		recSay(t, p, PCM16000, said)
		synctest.Wait()
		p.hangup()
		<-s.Done()
		s.Close()
		st := s.Stats()
		if st.Recorded != 2*time.Second || !st.RecordFull || st.RecordAhead != 0 || st.AudioReceived != 3*32000 {
			t.Errorf("stats %+v; want 2 s recorded of 3 s received, full", st)
		}
		if n := strings.Count(logs.String(), "the recording reached its longest"); n != 1 {
			t.Errorf("%d notes about the longest recording, want 1:\n%s", n, logs)
		}
	})
	f, got := recRead(t, filepath.Join(dir, "c1.wav"))
	if f.Rate != 16000 || len(got) != 2*16000 {
		t.Fatalf("recording: %v, %d samples, want 2 s", f, len(got))
	}
	sessSameAudio(t, got, sessQuantize(said[:2*16000]))
}

// RecordMax is checked with the rest of the configuration.
func TestRecordMaxRange(t *testing.T) {
	for _, d := range []time.Duration{-time.Second, 13 * time.Hour} {
		if _, err := (Config{RecordMax: d}).withDefaults(); err == nil || !strings.Contains(err.Error(), "record-max") {
			t.Errorf("RecordMax %v: err %v", d, err)
		}
	}
	c, err := Config{}.withDefaults()
	if err != nil || c.RecordMax != DefaultRecordMax {
		t.Errorf("default RecordMax %v, %v", c.RecordMax, err)
	}
}
