package elks

import (
	"context"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"
)

// When the disk falls behind, the audio left out of a recording is
// decoded all the same: a stateful codec (G.722 here) decodes the audio
// after the gap exactly as it would have without one. The caller speaks
// in real time (a message every 20 ms), the disk is stuck for the first
// 8 s and then moves again: the recording holds the first messages that
// fit the queue and the last 2 s, each sample as a decoder of the whole
// stream makes it.
func TestRecordGapKeepsDecoderState(t *testing.T) {
	dir := t.TempDir()
	said := recTone(t, 16000, "10s")
	const step, stuck, total = 320, 400, 500 // 20 ms messages at 16 kHz
	enc, err := NewEncoder(G722)
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([][]byte, total)
	for i := range msgs {
		msgs[i] = enc.Encode(nil, said[i*step:(i+1)*step])
	}
	dec, err := NewDecoder(G722)
	if err != nil {
		t.Fatal(err)
	}
	var whole []float32
	for _, m := range msgs {
		if whole, err = dec.Decode(whole, m); err != nil {
			t.Fatal(err)
		}
	}

	var dropped int
	synctest.Test(t, func(t *testing.T) {
		disk := &recDisk{gate: make(chan struct{})}
		s, p, _ := sessCallHooks(t, Config{Format: G722, Record: dir + "/{callid}.wav"}, disk.hooks(), nil)
		say := func(from, to int) {
			for _, m := range msgs[from:to] {
				p.t.WriteMessage(context.Background(), AppendAudio(nil, m))
				time.Sleep(20 * time.Millisecond)
			}
		}
		say(0, stuck)
		dropped = s.Stats().RecordDropped
		close(disk.gate)
		synctest.Wait() // the disk catches up
		say(stuck, total)
		p.hangup()
		<-s.Done()
		s.Close()
	})
	// The writer holds one message, stuck in its write, and the queue
	// listenQueue more; the rest of the first 8 s is left out.
	kept := listenQueue + 1
	if dropped != stuck-kept {
		t.Fatalf("%d messages left out, want %d", dropped, stuck-kept)
	}
	want := append(append([]float32(nil), whole[:kept*step]...), whole[stuck*step:]...)
	f, got := recRead(t, filepath.Join(dir, "c1.wav"))
	if f.Rate != 16000 {
		t.Fatalf("recording at %v", f)
	}
	sessSameAudio(t, got, sessQuantize(want))
}
